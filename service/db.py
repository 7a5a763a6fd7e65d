"""One database Session per request, kept on `g` and closed at teardown."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from processes.runtime import Runtime


@dataclass
class State:
    """What the app shares between requests (kept in app.extensions["egovflow"])."""

    engine: Engine
    sessions: sessionmaker[Session]
    runtime: Runtime


def state() -> State:
    """Return the app's shared state."""
    return current_app.extensions["egovflow"]


def get_session() -> Session:
    """Return this request's Session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = state().sessions()
    return g.db_session


def runtime() -> Runtime:
    """Return the app's runtime."""
    return state().runtime


def init_app(app: Flask) -> None:
    """Close the request's Session when the app context ends."""

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()
