"""Refuse input no database can store, and API bodies the API would not read.

PostgreSQL rejects a NUL inside any text value and an Infinity or NaN inside a JSON document, and Python's
JSON parser accepts all three (`1e999` reads as infinity); a lone UTF-16 surrogate (`"\\ud800"`) parses as
well but cannot be encoded for any database or response. Such a value reaching a column would fail the
request with a 500 after work was done; refusing it up front gives a field-level 422 and writes nothing.
A body nested deeper than any form is refused before it can exhaust the parser's recursion. An API call
whose body is not JSON (nor a multipart upload) is a 415: the API would otherwise ignore the body and act
on its defaults (a migration that was meant as a dry run).
"""

from __future__ import annotations

import math
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import UnsupportedMediaType

from processes.errors import FormInvalid

NUL_MESSAGE = "不能包含空字符(\\0)"
NUMBER_MESSAGE = "不能是无穷大或非数字"
SURROGATE_MESSAGE = "包含无效字符(不成对的 Unicode 代理项)"
MAX_DEPTH = 64  # far beyond any form or argument here
DEPTH_MESSAGE = f"嵌套层数过多(最多 {MAX_DEPTH} 层)"


class _Deep(Exception):
    """A value nested deeper than MAX_DEPTH."""


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return NUL_MESSAGE
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return SURROGATE_MESSAGE
    return None


def unstorable_fields(value: Any, path: str = "") -> dict[str, list[str]]:
    """Return the paths (dotted; list items by index) of the values in `value` no database can store."""
    found: dict[str, list[str]] = {}
    pending = [(value, path, 0)]  # walked without recursion: depth is bounded, not the stack
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise _Deep(path)
        if isinstance(value, str):
            if problem := _text_problem(value):
                found[path] = [problem]
        elif isinstance(value, float):
            if not math.isfinite(value):
                found[path] = [NUMBER_MESSAGE]
        elif isinstance(value, dict):
            for key, item in value.items():
                key = str(key)
                inner = f"{path}.{key}" if path else key
                if problem := _text_problem(key):
                    found[path] = [problem]  # named by its parent: the key itself cannot be shown
                else:
                    pending.append((item, inner, depth + 1))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                pending.append((item, f"{path}.{index}" if path else str(index), depth + 1))
    return found


def _json_body() -> Any:
    """The request's JSON body (None when absent or malformed: the view's parser reports that)."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise FormInvalid({"": [DEPTH_MESSAGE]}) from None


def init_app(app: Flask) -> None:
    """Check every request's query string, form fields and JSON body before the view runs."""

    @app.before_request
    def _refuse_unstorable() -> None:
        api_body = request.path.startswith("/api/") and request.content_length
        readable = request.is_json or request.mimetype == "multipart/form-data"
        if api_body and request.method in ("POST", "PUT", "PATCH") and not readable:
            raise UnsupportedMediaType()  # service/errors.py says what the API reads
        fields = list(request.args.lists())
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            fields += request.form.lists()
            fields += [(key, [f.filename or ""]) for key, f in request.files.items(multi=True)]
        found = {}
        for key, values in fields:
            if problems := unstorable_fields([key, *values]):
                found[key] = next(iter(problems.values()))
        if request.is_json:
            try:
                found.update(unstorable_fields(_json_body()))
            except _Deep:
                found[""] = [DEPTH_MESSAGE]
        if found:
            raise FormInvalid(found)
