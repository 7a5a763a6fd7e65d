"""Parse and format amounts of money in 元 (yuan) as two-decimal Decimals."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
# Numeric(14, 2) holds at most 12 integer digits.
MAX_YUAN = Decimal("999999999999.99")
_STRIP = str.maketrans("", "", ",，  ¥￥元")


class MoneyError(ValueError):
    """An amount that is not a valid, non-negative sum of 元."""


def parse_yuan(value: object, label: str = "金额") -> Decimal:
    """Return `value` (number or text such as "1,234.50") as Decimal 元 rounded to the cent."""
    if value is None or isinstance(value, bool):
        raise MoneyError(f"{label}未填写或格式不正确")
    if isinstance(value, float):
        text = repr(value)  # repr gives the shortest round-tripping text, so 0.1 stays 0.1
    elif isinstance(value, int | Decimal):
        text = str(value)
    elif isinstance(value, str):
        text = value.translate(_STRIP)
    else:
        raise MoneyError(f"{label}格式不正确：{value!r}")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise MoneyError(f"{label}格式不正确：{value}") from None
    if not amount.is_finite():
        raise MoneyError(f"{label}格式不正确：{value}")
    if amount < 0:
        raise MoneyError(f"{label}不能为负数：{value}")
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if amount > MAX_YUAN:
        raise MoneyError(f"{label}超出允许范围：{value}")
    return amount


def yuan_str(amount: Decimal) -> str:
    """Return the plain two-decimal text of an amount, e.g. "1234567.50" (for task data)."""
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):f}"


def format_yuan(amount: Decimal) -> str:
    """Return the amount with thousands separators and two decimals, e.g. "1,234,567.50"."""
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"


def wan_yuan_text(amount: Decimal) -> str:
    """Return an amount in 万元 as a rule states it, e.g. "500万元" or "312.5万元"."""
    wan = (amount / 10000).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP).normalize()
    return f"{wan:f}万元"


def yuan_text(amount: Decimal) -> str:
    """Return an amount as a message or document writes it, e.g. "1,234,567.50元" (every handler text)."""
    return f"{format_yuan(amount)}元"


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿")


def _four_digits(group: int) -> str:
    """Spell 0 < group < 10000 in capital numerals, with 零 for inner gaps."""
    text, gap = "", False
    for position in range(3, -1, -1):
        digit = group // 10**position % 10
        if digit == 0:
            gap = bool(text)
            continue
        if gap:
            text += "零"
            gap = False
        text += _DIGITS[digit] + _SMALL_UNITS[position]
    return text


def yuan_in_words(amount: Decimal) -> str:
    """Return the amount in capital Chinese numerals, e.g. 壹佰贰拾叁万肆仟伍佰陆拾柒元整."""
    cents = int(amount.quantize(CENT, rounding=ROUND_HALF_UP) * 100)
    whole, fraction = divmod(cents, 100)
    text = ""
    if whole:
        groups = [whole // 10 ** (4 * i) % 10**4 for i in range(3)]  # below 10^12 fits three groups
        need_zero = False
        for index in range(2, -1, -1):
            group = groups[index]
            if group == 0:
                need_zero = bool(text)
                continue
            if text and (need_zero or group < 1000):
                text += "零"
            text += _four_digits(group) + _BIG_UNITS[index]
            need_zero = False
        text += "元"
    jiao, fen = divmod(fraction, 10)
    if not fraction:
        return (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    return text
