"""Parse a page's query string with the API's argument schema, keeping the errors for the page to show."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from werkzeug.datastructures import MultiDict


def field_title(schema: ma.Schema, name: str) -> str:
    """Return the Chinese title a schema's field declares (`metadata={"title": …}`), else its name."""
    field = schema.fields.get(name)
    return str(field.metadata.get("title") or name) if field is not None else name


def load_args(schema: ma.Schema, query: MultiDict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return (valid arguments, {field: message naming it by its title}); an invalid field is dropped."""
    raw = {k: v for k, v in query.items() if v.strip() != ""}
    try:
        return schema.load(raw, unknown=ma.EXCLUDE), {}
    except ma.ValidationError as err:
        bad = set(err.messages) if isinstance(err.messages, dict) else set(raw)
        # In the order the form shows the fields (the schema's), not alphabetically by their names.
        ordered = [name for name in schema.fields if name in bad] + sorted(bad - set(schema.fields))
        errors = {
            field: f"{field_title(schema, field)}「{raw.get(field, '')}」不是有效的取值，已忽略"
            for field in ordered
        }
        return schema.load({k: v for k, v in raw.items() if k not in bad}, unknown=ma.EXCLUDE), errors
