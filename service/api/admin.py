"""Administration: roles, the lane → role mapping, the handler and form pickers, users."""

from __future__ import annotations

import json
from pathlib import Path

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from handlers import HANDLER_DOCS
from processes import catalog
from processes.errors import Conflict, FormInvalid, NotFound
from processes.store.models import FileBlob, FormDraft, LaneRole, Role
from service import auth
from service.api.schemas import NonBlank
from service.db import get_session

blp = Blueprint("admin", __name__, url_prefix="/api/v1", description="管理：角色、泳道映射、处理器、表单")


class RoleSchema(ma.Schema):
    code = ma.fields.Str()
    name = ma.fields.Str()
    scope = ma.fields.Str()


class LaneSchema(ma.Schema):
    lane = NonBlank(required=True, validate=ma.validate.Length(min=1, max=60))
    role_code = ma.fields.Str(required=True)


def handler_catalog() -> list[dict]:
    """Return every registered handler with its Chinese title and parameters."""
    return [{"operator": operator, **HANDLER_DOCS[operator]} for operator in sorted(HANDLER_DOCS)]


def form_catalog() -> list[dict]:
    """Return the forms a user task may name, by file name: those in forms/, those the newest versions
    hold (with their deployed title) and the drafts not deployed yet (`draft`: true)."""
    session = get_session()
    titles: dict[str, str] = {}
    for path in sorted(Path(current_app.config["FORMS_DIR"]).glob("*.schema.json")):
        try:
            titles[path.name] = _form_title(path.read_text(encoding="utf-8"), path.name)
        except OSError:
            titles[path.name] = path.name
    held = {
        f.name: f.sha256
        for v in sorted(catalog.list_processes(session), key=lambda v: v.id)
        for f in v.files
        if f.kind == "form" and f.name.endswith(".schema.json")
    }
    blobs = select(FileBlob.sha256, FileBlob.content).where(FileBlob.sha256.in_(set(held.values())))
    texts = {sha: content for sha, content in session.execute(blobs)}
    for name, sha in held.items():
        titles[name] = _form_title(texts.get(sha, ""), name)
    drafts = {d.name: d.title for d in session.scalars(select(FormDraft)) if d.name not in titles}
    return [
        {"name": name, "title": drafts.get(name) or titles.get(name, name), "draft": name in drafts}
        for name in sorted(titles.keys() | drafts.keys())
    ]


def _form_title(text: str, name: str) -> str:
    """A form's own title, else its file name."""
    try:
        title = json.loads(text).get("title")
    except (ValueError, AttributeError):
        return name
    return title if isinstance(title, str) and title.strip() else name


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
        """Map a lane name to a role, new or changed (admins); applies to tasks created from now on."""
        return _map_lane(args, replace=True)

    @blp.arguments(LaneSchema())
    @blp.response(201, LaneSchema)
    def post(self, args: dict):
        """Add the mapping of a lane that has none (admins): 409 when the lane is mapped already."""
        return _map_lane(args, replace=False)


@blp.route("/lanes/<path:lane>")
class OneLane(MethodView):
    @blp.response(204)
    def delete(self, lane: str):
        """Remove a lane's mapping (admins): 409 while a current diagram has the lane."""
        from service.web import bundles, diagrams

        auth.require_admin()
        session = get_session()
        mapping = session.get(LaneRole, lane)
        if mapping is None:
            raise NotFound(f"泳道「{lane}」没有映射")
        if lane in diagrams.lane_names(bundles.newest_files(session)):
            raise Conflict(f"泳道「{lane}」仍在已部署的流程图中使用，不能删除；可改为由其他角色办理")
        session.delete(mapping)
        session.commit()


def _map_lane(args: dict, replace: bool) -> LaneRole:
    auth.require_admin()
    session = get_session()
    if session.get(Role, args["role_code"]) is None:
        raise FormInvalid({"role_code": ["角色不存在"]})
    mapping = session.get(LaneRole, args["lane"])
    if mapping is not None and not replace:
        raise Conflict(f"泳道「{args['lane']}」已对应角色，请在列表中修改", {"lane": args["lane"]})
    mapping = mapping or LaneRole(lane=args["lane"])
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
