"""Administration: roles, the lane → role mapping, the handler and form pickers, users."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from handlers import HANDLER_DOCS
from processes.errors import FormInvalid
from processes.store.models import LaneRole, Role
from service import auth
from service.db import get_session

blp = Blueprint("admin", __name__, url_prefix="/api/v1", description="管理：角色、泳道映射、处理器、表单")


class RoleSchema(ma.Schema):
    code = ma.fields.Str()
    name = ma.fields.Str()
    scope = ma.fields.Str()


class LaneSchema(ma.Schema):
    lane = ma.fields.Str(required=True, validate=ma.validate.Length(min=1, max=60))
    role_code = ma.fields.Str(required=True)


def handler_catalog() -> list[dict]:
    """Return every registered handler with its Chinese title and parameters."""
    return [{"operator": operator, **HANDLER_DOCS[operator]} for operator in sorted(HANDLER_DOCS)]


def form_catalog() -> list[dict]:
    """Return the form files in forms/ with their titles."""
    import json
    from pathlib import Path

    out = []
    for path in sorted(Path(current_app.config["FORMS_DIR"]).glob("*.schema.json")):
        try:
            title = json.loads(path.read_text(encoding="utf-8")).get("title", path.name)
        except (OSError, ValueError):
            title = path.name
        out.append({"name": path.name, "title": title})
    return out


@blp.route("/roles")
class Roles(MethodView):
    @blp.response(200, RoleSchema(many=True))
    def get(self):
        """List the roles."""
        auth.require_user()
        return list(get_session().scalars(select(Role).order_by(Role.code)))


@blp.route("/lanes")
class Lanes(MethodView):
    @blp.response(200, LaneSchema(many=True))
    def get(self):
        """List the lane → role mapping."""
        auth.require_user()
        return list(get_session().scalars(select(LaneRole).order_by(LaneRole.lane)))

    @blp.arguments(LaneSchema())
    @blp.response(200, LaneSchema)
    def put(self, args: dict):
        """Map a lane name to a role (admins); applies to tasks created from now on."""
        auth.require_admin()
        session = get_session()
        if session.get(Role, args["role_code"]) is None:
            raise FormInvalid({"role_code": ["角色不存在"]})
        mapping = session.get(LaneRole, args["lane"]) or LaneRole(lane=args["lane"])
        mapping.role_code = args["role_code"]
        session.add(mapping)
        session.commit()
        return mapping


@blp.route("/handlers")
class Handlers(MethodView):
    @blp.response(200)
    def get(self):
        """List the service-task handlers a diagram may name."""
        auth.require_user()
        return handler_catalog()


@blp.route("/forms")
class Forms(MethodView):
    @blp.response(200)
    def get(self):
        """List the form files available to user tasks."""
        auth.require_user()
        return form_catalog()
