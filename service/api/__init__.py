"""The REST API (flask-smorest): OpenAPI 3 at /api/openapi.json, a readable docs page at /api/docs."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from service.converters import RowId, row_id_schema

SPEC = {
    "info": {
        "description": "六安市电子政务项目全生命周期流程平台 API。浏览器用会话登录，程序用 "
        "`Authorization: Bearer <令牌>`。错误统一为 `{code, status, message, errors}`。"
    },
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session"},
        }
    },
    "security": [{"bearer": []}, {"session": []}],
}


def init_api(app: Flask) -> Api:
    """Register every API blueprint on the app."""
    app.config.setdefault("API_TITLE", "egovflow 六安市电子政务项目全生命周期流程平台")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = Api(app, spec_kwargs=SPEC)
    api.register_converter(RowId, row_id_schema)
    from service.api import (
        accounts,
        admin,
        attachments,
        auth,
        catalog,
        dashboard,
        experts,
        instances,
        migrations,
        projects,
        tasks,
    )

    modules = (
        auth, catalog, instances, migrations, tasks, attachments,
        admin, accounts, experts, projects, dashboard,
    )  # fmt: skip
    for module in modules:
        api.register_blueprint(module.blp)
    app.extensions["egovflow_api"] = api
    return api
