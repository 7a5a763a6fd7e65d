"""How a person reads the values a handler returns: one JSON-Schema-like property per result key.

A handler module declares `RETURNS` as {result key: property}. The property uses the vocabulary of the
forms' JSON Schemas (`title`, `x-unit`, `oneOf`, `items`, `properties`), so the instance history reads
handler results and form fields alike; `x-internal` marks a key only admins need to see, `x-confidential`
one the unit under review must not see (who reviews it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Property = dict[str, Any]


def text(title: str) -> Property:
    """A value shown as it is (a number, a date, a name, a 文号)."""
    return {"title": title}


def when(title: str) -> Property:
    """A point in time (ISO text), shown in Beijing time."""
    return {"title": title, "type": "string", "format": "date-time"}


def flag(title: str) -> Property:
    """A yes/no value, shown as 是/否."""
    return {"title": title, "type": "boolean"}


def money(title: str) -> Property:
    """An amount of 元, shown with thousands separators."""
    return {"title": title, "type": "number", "x-unit": "元"}


def choice(title: str, labels: Mapping[str, str]) -> Property:
    """A code shown by its Chinese label."""
    return {"title": title, "oneOf": [{"const": code, "title": label} for code, label in labels.items()]}


def listing(title: str, item: Property | None = None) -> Property:
    """A list, each item read by `item` (plain text when not given)."""
    return {"title": title, "type": "array", "items": item or {}}


def record(title: str, **properties: Property) -> Property:
    """An object whose keys are read by `properties`."""
    return {"title": title, "type": "object", "properties": properties}


def internal(prop: Property) -> Property:
    """Mark a key as an internal detail (a row id, a seed, a login name) that only admins see."""
    return {**prop, "x-internal": True}


def confidential(prop: Property) -> Property:
    """Mark a key the unit under review does not see (the experts drawn for its project)."""
    return {**prop, "x-confidential": True}
