"""Parse a page's query string with the API's argument schema, keeping the errors for the page to show."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from werkzeug.datastructures import MultiDict

from service.api.schemas import FieldMessage


def field_title(schema: ma.Schema, name: str) -> str:
    """Return the Chinese title a schema's field declares (`metadata={"title": …}`), else its name."""
    field = schema.fields.get(name)
    return str(field.metadata.get("title") or name) if field is not None else name


def load_args(schema: ma.Schema, query: MultiDict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Return (valid arguments, {field: message naming it by its title}); an invalid field is dropped.

    A message the schema wrote for people (a FieldMessage, such as a lower bound above its upper one) is
    shown as it is, once, under the first field it names; any other invalid field is named with its value.
    """
    raw = {k: v for k, v in query.items() if v.strip() != ""}
    errors: dict[str, str] = {}
    # Checks across fields run only once every field is valid, so dropping fields can reveal more errors.
    while True:
        try:
            return schema.load(raw, unknown=ma.EXCLUDE), errors
        except ma.ValidationError as err:
            messages = err.messages if isinstance(err.messages, dict) else {}
            bad = set(messages) & set(raw) or set(raw)
            if not bad:
                raise
            # In the order the form shows the fields (the schema's), not alphabetically by their names.
            ordered = [name for name in schema.fields if name in bad] + sorted(bad - set(schema.fields))
            shown = set(errors.values())
            for field in ordered:
                message = _message(schema, field, raw[field], messages.get(field))
                if message not in shown:
                    errors[field] = message
                    shown.add(message)
            raw = {k: v for k, v in raw.items() if k not in bad}


def _message(schema: ma.Schema, field: str, value: str, messages: Any) -> str:
    own = [m for m in messages if isinstance(m, FieldMessage)] if isinstance(messages, list) else []
    if own:
        return f"{'；'.join(own)}，已忽略"
    return f"{field_title(schema, field)}「{value}」不是有效的取值，已忽略"


ORDERS = {"asc": "升序", "desc": "降序"}  # the choices of a list page's sort direction
# Arguments that page or sort a list rather than narrow it.
NOT_FILTERS = frozenset({"page", "page_size", "sort", "order"})


def filters_set(schema: ma.Schema, query: MultiDict[str, str]) -> int:
    """Return how many of a list's filters the query sets (paging and sorting are not filters)."""
    return sum(1 for k, v in query.items() if k in schema.fields and k not in NOT_FILTERS and v.strip())
