"""Refuse input no database can store: NUL characters and non-finite numbers.

PostgreSQL rejects a NUL inside any text value and an Infinity or NaN inside a JSON document, and Python's
JSON parser accepts all three (`1e999` reads as infinity). Such a value reaching a column would fail the
request with a 500 after work was done; refusing it up front gives a field-level 422 and writes nothing.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Flask, request

from processes.errors import FormInvalid

NUL_MESSAGE = "不能包含空字符(\\0)"
NUMBER_MESSAGE = "不能是无穷大或非数字"


def unstorable_fields(value: Any, path: str = "") -> dict[str, list[str]]:
    """Return the paths (dotted; list items by index) of the values in `value` no database can store."""
    found: dict[str, list[str]] = {}
    if isinstance(value, str):
        if "\x00" in value:
            found[path] = [NUL_MESSAGE]
    elif isinstance(value, float):
        if not math.isfinite(value):
            found[path] = [NUMBER_MESSAGE]
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                found[inner] = [NUL_MESSAGE]
            found.update(unstorable_fields(item, inner))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.update(unstorable_fields(item, f"{path}.{index}" if path else str(index)))
    return found


def init_app(app: Flask) -> None:
    """Check every request's query string, form fields and JSON body before the view runs."""

    @app.before_request
    def _refuse_unstorable() -> None:
        fields = list(request.args.lists())
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            fields += request.form.lists()
        found = {key: [NUL_MESSAGE] for key, values in fields if unstorable_fields([key, *values])}
        if request.is_json:
            found.update(unstorable_fields(request.get_json(silent=True)))
        if found:
            raise FormInvalid(found)
