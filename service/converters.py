"""URL converters: `<int:…>` ids bounded to what a database key holds."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map

MAX_ROW_ID = 2**31 - 1  # the keys are INTEGER columns; PostgreSQL refuses a larger bound value


class RowId(IntegerConverter):
    """A non-negative integer id; a larger number matches no route (404) instead of failing in the driver."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(url_map, *args, **kwargs)


def row_id_schema(converter: RowId) -> dict[str, Any]:
    """The OpenAPI schema of a `RowId` path parameter."""
    return {"type": "integer", "minimum": 0, "maximum": converter.max}
