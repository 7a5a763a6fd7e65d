"""Server-rendered pages (Jinja, zh-CN) with JavaScript islands from service/static/dist."""

from __future__ import annotations

from flask import Flask

from service.web import accounts, admin, dashboard, experts, formatting, instances, pages, projects, tasks


def init_web(app: Flask) -> None:
    """Register the filters and the page blueprints."""
    formatting.init_app(app)
    app.add_template_global(pages.waiting_tasks, "waiting_tasks")
    accounts.init_app(app)
    for module in (pages, tasks, instances, projects, dashboard, admin, accounts, experts):
        app.register_blueprint(module.bp)
