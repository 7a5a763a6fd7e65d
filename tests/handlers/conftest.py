"""Fixtures for handler tests: a fresh SQLite database per test and a handler context on it."""

from dataclasses import replace

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session

from handlers.context import HandlerContext
from handlers.experts import seed_experts
from handlers.models import DomainBase
from tests.handlers.handler_support import NOW, call, declaration


@pytest.fixture
def session(tmp_path):
    """A Session on its own SQLite file with the domain tables, rolled back at the end."""
    engine = create_engine(f"sqlite:///{tmp_path / 'domain.db'}")

    # pysqlite opens transactions lazily and so breaks SAVEPOINT; let SQLAlchemy emit BEGIN itself.
    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN")

    DomainBase.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
        session.rollback()
    engine.dispose()


@pytest.fixture
def ctx(session):
    """The context the engine would pass: instance 1, clock at 2026-11-25 10:00 Beijing time."""
    return HandlerContext(
        session=session, now=NOW, instance_id=1, process_id="project_lifecycle", task_id="task-1"
    )


@pytest.fixture
def experts(session):
    """The demo expert pool."""
    return seed_experts(session, NOW)


@pytest.fixture
def make_project(ctx):
    """Register a project through the handler (each call as its own instance) and return its id."""
    counter = iter(range(100, 1000))

    def make(status: str | None = None, **overrides) -> str:
        own = replace(ctx, instance_id=next(counter))
        project_id = call("register_project", own, project=declaration(**overrides))["project_id"]
        if status:
            call("update_project", own, project_id=project_id, status=status)
        return project_id

    return make
