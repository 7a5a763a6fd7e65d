"""Read loosely typed task-data values (numbers from forms may arrive as text) into Python types."""

from decimal import Decimal, InvalidOperation


def as_int(value: object) -> int | None:
    """Return an int from an int or integral text/number; None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def as_decimal(value: object) -> Decimal | None:
    """Return a finite Decimal from a number or numeric text; None if it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def as_text_list(value: object) -> list[str]:
    """Return a list of non-empty stripped strings from a list or a comma/、 separated text."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace("，", ",").replace("、", ",").split(",")
    if not isinstance(value, list | tuple):
        raise ValueError(f"应为列表：{value!r}")
    return [str(item).strip() for item in value if str(item).strip()]
