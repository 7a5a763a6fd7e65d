"""Validate 统一社会信用代码 (unified social credit codes) by GB 32100-2015."""

import re

# The 31 code characters: digits and capitals without I, O, S, V, Z; a character's value is its index.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_SHAPE = re.compile(rf"[{ALPHABET}]{{2}}[0-9]{{6}}[{ALPHABET}]{{10}}")


def check_char(first17: str) -> str:
    """Return the check character for the first 17 characters of a code."""
    total = sum(ALPHABET.index(ch) * weight for ch, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: object) -> bool:
    """Return True if `code` is an 18-character code with a correct check character."""
    if not isinstance(code, str) or not _SHAPE.fullmatch(code):
        return False
    return check_char(code[:17]) == code[17]
