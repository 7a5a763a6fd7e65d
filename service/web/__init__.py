"""Server-rendered pages (Jinja, zh-CN) with JavaScript islands from service/static/dist."""

from __future__ import annotations

from flask import Flask

from service.web import pages


def init_web(app: Flask) -> None:
    """Register the page blueprint."""
    app.register_blueprint(pages.bp)
