"""Fixtures: a fresh database per test (SQLite file, or a PostgreSQL schema in CI), an app, API clients."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from handlers.models import DomainBase
from processes import engine
from processes.seed import DEMO_PASSWORD, seed_demo
from processes.store.models import Base
from service import create_app
from service.auth import hash_password


def pytest_configure(config: pytest.Config) -> None:
    """Check every state the suite writes against SpiffWorkflow's own converter (see engine.dump_state)."""
    engine.VERIFY_STATE = True


ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("EGOVFLOW_DATABASE_URL", "")


@contextmanager
def fresh_database(folder: Path, prefix: str = "t") -> Iterator[str]:
    """Yield the URL of a database nobody else uses: a new SQLite file, or a new PostgreSQL schema in CI."""
    if not PG_URL.startswith("postgresql"):
        yield f"sqlite:///{folder / 'test.db'}"
        return
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """A database only this test uses."""
    with fresh_database(tmp_path) as url:
        yield url


def make_app(url: str, **overrides: object):  # noqa: ANN201
    """Create an app on `url` with its tables and the demo accounts."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": url,
            "CLOCK": "manual",
            "LOGIN_MAX_FAILURES": 1000,
            **overrides,
        }
    )
    state = app.extensions["egovflow"]
    Base.metadata.create_all(state.engine)
    DomainBase.metadata.create_all(state.engine)
    with state.sessions() as session:
        seed_demo(session, _cached_hash, state.runtime.clock.now())
        session.commit()
    return app


_HASHES: dict[str, str] = {}


def _cached_hash(password: str) -> str:
    if password not in _HASHES:
        _HASHES[password] = hash_password(password)
    return _HASHES[password]


@pytest.fixture
def app(db_url: str):  # noqa: ANN201
    """A new app on its own empty database, with roles, lanes, demo organisations and accounts."""
    app = make_app(db_url)
    yield app
    app.extensions["egovflow"].engine.dispose()


class ApiClient:
    """A test client logged in as one demo user, sending the CSRF header on writes."""

    def __init__(self, app, username: str, password: str = DEMO_PASSWORD) -> None:  # noqa: ANN001
        self.client = app.test_client()
        self.username = username
        response = self.client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.get_json()
        self.csrf = response.get_json()["csrf_token"]

    def get(self, url: str, **kwargs: object):  # noqa: ANN201
        """GET a URL."""
        return self.client.get(url, **kwargs)

    def post(self, url: str, json: object = None, **kwargs: object):  # noqa: ANN201
        """POST JSON with the CSRF header."""
        headers = {"X-CSRFToken": self.csrf}
        return self.client.post(url, json=json if json is not None else {}, headers=headers, **kwargs)

    def put(self, url: str, json: object = None):  # noqa: ANN201
        """PUT JSON with the CSRF header."""
        return self.client.put(url, json=json, headers={"X-CSRFToken": self.csrf})

    def patch(self, url: str, json: object = None):  # noqa: ANN201
        """PATCH JSON with the CSRF header."""
        return self.client.patch(url, json=json, headers={"X-CSRFToken": self.csrf})


@pytest.fixture
def login(app):  # noqa: ANN001, ANN201
    """Return a factory of logged-in API clients: `login("dsj_clerk")`."""
    return lambda username: ApiClient(app, username)


@pytest.fixture
def clock(app):  # noqa: ANN001, ANN201
    """The app's manual clock."""
    return app.extensions["egovflow"].runtime.clock


def deploy(client: ApiClient, files: dict[str, str]):  # noqa: ANN201
    """Deploy a bundle through the API and return the response."""
    return client.post("/api/v1/deployments", json={"files": files})
