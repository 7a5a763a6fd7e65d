"""The web service: Flask app factory wiring the API, pages, auth and the embedded worker."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask

from handlers import ON_TERMINATE, REGISTRY
from processes.clock import ManualClock, SystemClock
from processes.runtime import Runtime
from processes.store.db import make_engine, make_sessionmaker
from service import db
from service.converters import RowId

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = {
    "DATABASE_URL": f"sqlite:///{Path(os.getcwd()) / 'egovflow.db'}",
    "BPMN_DIR": str(ROOT / "bpmn"),
    "FORMS_DIR": str(ROOT / "forms"),
    "SCRIPT_TIMEOUT": 1.0,
    "MAX_CONTENT_LENGTH": 30 * 1024 * 1024,
    "CLOCK": "system",
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_WINDOW_S": 300,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "JSON_AS_ASCII": False,
}


PLACEHOLDER_SECRETS = {"change-me"}  # what docker/compose.yaml falls back to so that `config` works


def create_app(overrides: dict | None = None) -> Flask:
    """Build an app; gunicorn runs it as `gunicorn 'service:create_app()'`."""
    app = Flask(__name__)
    app.url_map.converters["int"] = RowId  # before any route is added: every <int:…> id is bounded
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("EGOVFLOW")  # EGOVFLOW_DATABASE_URL=postgresql+psycopg://...
    app.config.update(overrides or {})  # tests pass settings last, so they win
    if not app.config.get("SECRET_KEY") or app.config["SECRET_KEY"] in PLACEHOLDER_SECRETS:
        # Fail at boot, not at first login; the compose file's placeholder is no key (docker/compose.yaml).
        raise RuntimeError("EGOVFLOW_SECRET_KEY is not set")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]  # forms list their fields in the schema's order
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("spiff").setLevel(logging.WARNING)  # it logs every task state change at INFO

    engine = make_engine(app.config["DATABASE_URL"])
    clock = ManualClock() if app.config["CLOCK"] == "manual" else SystemClock()
    app.extensions["egovflow"] = db.State(
        engine=engine,
        sessions=make_sessionmaker(engine),
        runtime=Runtime(
            REGISTRY,
            clock=clock,
            script_timeout=float(app.config["SCRIPT_TIMEOUT"]),
            on_terminate=ON_TERMINATE,
        ),
    )
    db.init_app(app)

    from service import auth, errors, input_guard
    from service.api import init_api
    from service.web import init_web

    auth.init_app(app)  # who calls, before what they sent is read
    input_guard.init_app(app)
    init_api(app)
    errors.init_app(app)  # after the API, so our JSON error shape replaces flask-smorest's
    init_web(app)
    return app
