"""The REST API (flask-smorest): OpenAPI 3 at /api/openapi.json, a readable docs page at /api/docs."""

from __future__ import annotations

from http import HTTPStatus

from flask import Flask
from flask_smorest import Api

from service.api.schemas import ErrorSchema
from service.api.summaries import SUMMARIES
from service.converters import RowId, row_id_schema

SPEC = {
    "info": {
        "description": "六安市电子政务项目全生命周期流程平台 API。浏览器用会话登录，程序用 "
        "`Authorization: Bearer <令牌>`。错误统一为 `{code, status, message, errors, detail}`："
        "code 为英文错误类别，status 为 HTTP 状态码，message 为中文说明，"
        "errors 为逐字段的中文消息，detail 为冲突等情形的补充信息。"
    },
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "session"},
        }
    },
    "security": [{"bearer": []}, {"session": []}],
}


class _Api(Api):
    """flask-smorest's Api with our error shape, `{code, status, message, errors, detail}`, in the spec."""

    ERROR_SCHEMA = ErrorSchema


# The answers any operation may give besides its own (service/errors.py), by flask-smorest's response names.
SUCCESS_WORDS = {"OK": "成功", "Created": "已创建", "No Content": "成功，无内容"}
ERROR_WORDS = {
    "DEFAULT_ERROR": "其他错误",
    "UNAUTHORIZED": "未登录或令牌无效",
    "FORBIDDEN": "没有权限（或须先修改初始密码）",
    "NOT_FOUND": "不存在或无权查看",
    "CONFLICT": "与当前状态冲突（已被他人办理、已认领、已挂起等），detail 说明原因",
    "UNSUPPORTED_MEDIA_TYPE": "请求体须为 JSON（上传文件时为 multipart/form-data）",
    "UNPROCESSABLE_ENTITY": "提交的数据有误，errors 逐字段说明",
}
PUBLIC_OPERATIONS = {("/api/v1/auth/login", "post"), ("/api/v1/auth/logout", "post")}
WRITES = ("post", "put", "patch", "delete")


def _document(api: Api) -> None:
    """Give every operation its Chinese summary and the errors it can answer: 401, 403, 404, 409, 415, 422."""
    for path, item in api.spec._paths.items():  # noqa: SLF001 - apispec keeps no public view of paths
        for method, operation in item.items():
            if method not in ("get", *WRITES):
                continue
            operation["summary"] = SUMMARIES[(method, path)]  # every operation has one (tests/api: spec test)
            operation.pop("description", None)  # the docstring's English rest
            names = []
            if (path, method) in PUBLIC_OPERATIONS:
                operation["security"] = []
            else:
                names += ["UNAUTHORIZED", "FORBIDDEN"]
            if "{" in path:
                names.append("NOT_FOUND")
            if method in WRITES:
                names.append("CONFLICT")
            if "requestBody" in operation:
                names += ["UNSUPPORTED_MEDIA_TYPE", "UNPROCESSABLE_ENTITY"]
            responses = operation.setdefault("responses", {})
            for answer in responses.values():
                if answer.get("description") in SUCCESS_WORDS:
                    answer["description"] = SUCCESS_WORDS[answer["description"]]
            for name in names:
                code = str(HTTPStatus[name].value)
                responses.setdefault(code, api.spec.components.get_ref("response", name))
    # The shared answers say in Chinese what they mean (flask-smorest names them by HTTP's English phrases).
    for name, words in ERROR_WORDS.items():
        if name in api.spec.components.responses:
            api.spec.components.responses[name]["description"] = words


def init_api(app: Flask) -> Api:
    """Register every API blueprint on the app."""
    app.config.setdefault("API_TITLE", "egovflow 六安市电子政务项目全生命周期流程平台")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = _Api(app, spec_kwargs=SPEC)
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
    _document(api)
    app.extensions["egovflow_api"] = api
    return api
