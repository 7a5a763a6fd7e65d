"""Hot read statements compiled once per database and run on the session's DB-API connection.

A few reads run on every API call: who the caller is, the next task after a completion, and which
version a start runs and whether the caller may start it. Through `Session.execute` each costs several
times the query itself (statement caching, ORM result machinery, one object per row). `Prepared` keeps the
statement written in SQLAlchemy, so the rule it encodes has one definition shared with the ORM queries, but
compiles it once per dialect and runs the string on the connection the session already holds: same
transaction, plain tuples back.

Only values the driver binds as they are may be passed (ints, strings, None); enum members are turned into
their string values. Result values come back as the driver gives them (SQLite: 0/1 for booleans).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from processes.store.db import flush_pending


class Prepared:
    """A statement compiled once per dialect, run on the session's driver connection."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, dict[str, Any], tuple[str, ...] | None]] = {}

    def rows(self, session: Session, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run the statement with `params` in the session's transaction and return every row."""
        flush_pending(session)  # what autoflush would have done before an ORM query
        connection = session.connection()
        sql, defaults, order = self._for(connection.dialect)
        values = {**defaults, **params}
        cursor = connection.connection.driver_connection.cursor()
        try:
            cursor.execute(sql, [values[name] for name in order] if order is not None else values)
            return cursor.fetchall()
        finally:
            cursor.close()

    def first(self, session: Session, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row, or None."""
        rows = self.rows(session, params)
        return rows[0] if rows else None

    def scalar(self, session: Session, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, or None."""
        row = self.first(session, params)
        return row[0] if row is not None else None

    def _for(self, dialect: Dialect) -> tuple[str, dict[str, Any], tuple[str, ...] | None]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            # Render the expanding IN lists of fixed values; the caller's parameters stay placeholders.
            placeholders = {name: None for name, value in compiled.params.items() if value is None}
            expanded = compiled.construct_expanded_state(placeholders)
            defaults = {
                name: _plain(value)
                for name, value in expanded.parameters.items()
                if name not in placeholders  # a parameter left out is an error, not a silent NULL
            }
            order = tuple(expanded.positiontup) if expanded.positiontup is not None else None
            found = self._compiled[dialect.name] = (expanded.statement, defaults, order)
        return found


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
