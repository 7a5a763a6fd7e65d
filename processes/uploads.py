"""Uploads as form data references them: {id, filename, sha256, kind?} objects anywhere in a value."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def upload_refs(value: Any) -> Iterator[dict[str, Any]]:
    """Yield every object in `value` that references an upload: a numeric id, a file name and a SHA-256."""
    if isinstance(value, list):
        for child in value:
            yield from upload_refs(child)
        return
    if not isinstance(value, dict):
        return
    ident = value.get("id")
    if (
        value.get("filename")
        and value.get("sha256")
        and isinstance(ident, int | str)
        and not isinstance(ident, bool)
        and str(ident).isdigit()
    ):
        yield value
    for child in value.values():
        yield from upload_refs(child)


def upload_ids(value: Any) -> list[int]:
    """The ids of the uploads `value` references, each once."""
    return list(dict.fromkeys(int(ref["id"]) for ref in upload_refs(value)))
