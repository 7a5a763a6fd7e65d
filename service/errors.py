"""Every error becomes JSON `{code, message, errors}` for the API and a Chinese page for the browser."""

from __future__ import annotations

import logging
import re

from flask import Flask, current_app, jsonify, render_template, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from processes.errors import BundleInvalid, Conflict, FormInvalid, NotAllowed, NotFound, ProcessError
from service.auth import AuthError

log = logging.getLogger(__name__)

HTTP_MESSAGES = {
    400: "请求有误",
    401: "请先登录",
    403: "没有权限",
    404: "页面或资源不存在",
    405: "不支持的请求方法",
    409: "操作冲突",
    413: "上传的文件过大",
    415: "请求体须为 JSON(Content-Type: application/json)；上传文件时为 multipart/form-data",
    422: "提交的数据有误",
    429: "请求过于频繁",
    500: "服务器内部错误",
}


def _wants_json() -> bool:
    return (
        request.path.startswith("/api/")
        or request.is_json
        or request.accept_mimetypes.best == "application/json"
    )


def error_response(
    status: int, code: str, message: str, errors: dict | list | None = None, detail: dict | None = None
):  # noqa: ANN201
    """Build the error response in the caller's format."""
    if _wants_json():
        body = {"code": code, "status": status, "message": message, "errors": errors or {}}
        if detail:
            body["detail"] = detail
        return jsonify(body), status
    return render_template("error.html", status=status, message=message, errors=errors), status


def init_app(app: Flask) -> None:
    """Register the handlers that map domain errors to statuses."""

    @app.errorhandler(AuthError)
    def _auth(err: AuthError):  # noqa: ANN202
        if err.status == 401 and not _wants_json():
            from flask import redirect, url_for

            return redirect(url_for("web.login", next=request.full_path))
        return error_response(
            err.status,
            {401: "unauthenticated", 403: "forbidden", 429: "too_many_attempts"}.get(
                err.status, "bad_request"
            ),
            err.message,
        )

    @app.errorhandler(FormInvalid)
    def _form(err: FormInvalid):  # noqa: ANN202
        return error_response(422, "invalid_form", err.message, err.errors)

    @app.errorhandler(BundleInvalid)
    def _bundle(err: BundleInvalid):  # noqa: ANN202
        problems = [{"file": p.file, "element_id": p.element_id, "message": p.message} for p in err.problems]
        return error_response(422, "invalid_bundle", err.message, problems)

    @app.errorhandler(Conflict)
    def _conflict(err: Conflict):  # noqa: ANN202
        return error_response(409, "conflict", err.message, detail=err.detail)

    @app.errorhandler(StaleDataError)
    def _stale(_err: StaleDataError):  # noqa: ANN202
        return error_response(409, "conflict", "数据已被他人修改，请刷新后重试")

    @app.errorhandler(NotFound)
    def _not_found(err: NotFound):  # noqa: ANN202
        return error_response(404, "not_found", err.message)

    @app.errorhandler(NotAllowed)
    def _not_allowed(err: NotAllowed):  # noqa: ANN202
        return error_response(403, "forbidden", err.message)

    @app.errorhandler(ProcessError)
    def _process(err: ProcessError):  # noqa: ANN202
        return error_response(400, "bad_request", err.message)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):  # noqa: ANN202
        status = err.code or 500
        errors = None
        data = getattr(err, "data", None)  # flask-smorest / webargs put field errors here
        if isinstance(data, dict) and data.get("messages"):
            errors = {}  # keyed by where webargs read them (json, query, files …): the fields are inside
            for messages in data["messages"].values():
                errors.update(_flatten(messages))
            status = 422
        message = HTTP_MESSAGES.get(status, err.name)
        if status == 413 and (limit := current_app.config.get("MAX_CONTENT_LENGTH")):
            message = f"{message}(每次上传不能超过 {limit // (1024 * 1024)} MB)"
        return error_response(status, err.name.lower().replace(" ", "_"), message, errors)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):  # noqa: ANN202
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "服务器内部错误，请稍后再试或联系管理员")


def _flatten(messages: dict | list, prefix: str = "") -> dict[str, list[str]]:
    if not isinstance(messages, dict):
        return {prefix: [_zh(m) for m in (messages if isinstance(messages, list) else [messages])]}
    out: dict[str, list[str]] = {}
    for key, value in messages.items():
        # marshmallow's `_schema` is the object itself (a list where an object belongs): its own path.
        path = prefix if key == "_schema" else f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(_flatten(value, path))
        else:
            out[path] = [_zh(v) for v in (value if isinstance(value, list) else [value])]
    return out


_ZH = {
    "Missing data for required field.": "此项为必填项",
    "Not a valid integer.": "应填写整数",
    "Not a valid string.": "应填写文本",
    "Not a valid mapping type.": "应为对象",
    "Not a valid list.": "应为列表",
    "Unknown field.": "未知字段",
    "Not a valid datetime.": "时间格式不正确",
    "Not a valid date.": "日期格式应为 YYYY-MM-DD",
    "Not a valid boolean.": "应为是/否",
    "Field may not be null.": "此项不能为空",
    "Invalid JSON body.": "请求体不是合法的 JSON",
    "Invalid input type.": "应为对象",
    "Not a valid number.": "应填写数字",
    "Special numeric values (nan or infinity) are not permitted.": "不能是无穷大或非数字",
}
# marshmallow's Range and Length messages, with their bounds.
_ZH_PATTERNS = (
    (
        re.compile(r"Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
        "应在 {0} 到 {1} 之间",
    ),
    (re.compile(r"Must be greater than or equal to (\S+)\.$"), "不能小于 {0}"),
    (re.compile(r"Must be less than or equal to (\S+)\.$"), "不能大于 {0}"),
    (re.compile(r"Length must be between (\S+) and (\S+)\.$"), "长度应在 {0} 到 {1} 之间"),
    (re.compile(r"Longer than maximum length (\S+)\.$"), "长度不能超过 {0}"),
    (re.compile(r"Shorter than minimum length (\S+)\.$"), "长度不能少于 {0}"),
)


def _zh(message: object) -> str:
    text = str(message)
    if text.startswith("Must be one of"):
        return "请选择有效的选项"
    for pattern, template in _ZH_PATTERNS:
        if found := pattern.match(text):
            return template.format(*found.groups())
    return _ZH.get(text, text)
