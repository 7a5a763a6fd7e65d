"""Parse a page's query string with the API's argument schema, keeping the errors for the page to show."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from werkzeug.datastructures import MultiDict


def load_args(schema: ma.Schema, query: MultiDict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return (valid arguments, {field: message}); an invalid field is dropped so the rest still filters."""
    raw = {k: v for k, v in query.items() if v.strip() != ""}
    try:
        return schema.load(raw, unknown=ma.EXCLUDE), {}
    except ma.ValidationError as err:
        bad = set(err.messages) if isinstance(err.messages, dict) else set(raw)
        errors = {field: f"「{raw.get(field, '')}」不是有效的取值，已忽略" for field in sorted(bad)}
        return schema.load({k: v for k, v in raw.items() if k not in bad}, unknown=ma.EXCLUDE), errors
