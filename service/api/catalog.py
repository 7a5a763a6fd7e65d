"""Process models: list, versions with their files, validate and deploy bundles."""

from __future__ import annotations

from pathlib import Path

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session

from processes import catalog
from processes.errors import BundleInvalid, NotFound, Problem
from processes.seed import SYSTEM_LANE
from processes.store.models import LaneRole, ProcessVersion
from service import auth
from service.db import get_session, runtime

blp = Blueprint("catalog", __name__, url_prefix="/api/v1", description="流程模型、版本与部署")
MAX_FILES = 100


class VersionSchema(ma.Schema):
    id = ma.fields.Int()
    process_id = ma.fields.Str()
    version = ma.fields.Int()
    name = ma.fields.Str()
    content_hash = ma.fields.Str()
    created_at = ma.fields.DateTime()
    start_lane = ma.fields.Str(allow_none=True)
    called_only = ma.fields.Bool()
    files = ma.fields.Function(
        lambda v: [{"name": f.name, "kind": f.kind, "sha256": f.sha256} for f in v.files]
    )


class VersionDetail(VersionSchema):
    contents = ma.fields.Dict(keys=ma.fields.Str(), values=ma.fields.Str())


class BundleArgs(ma.Schema):
    files = ma.fields.Dict(
        keys=ma.fields.Str(validate=ma.validate.Length(min=1, max=200)),
        values=ma.fields.Str(),
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_FILES),
    )


class ProblemSchema(ma.Schema):
    file = ma.fields.Str()
    element_id = ma.fields.Str()
    message = ma.fields.Str()


class ValidationSchema(ma.Schema):
    ok = ma.fields.Bool()
    problems = ma.fields.List(ma.fields.Nested(ProblemSchema))


class DeployedSchema(ma.Schema):
    process_id = ma.fields.Str()
    name = ma.fields.Str()
    version = ma.fields.Int()
    created = ma.fields.Bool()


class DeployResult(ma.Schema):
    versions = ma.fields.List(ma.fields.Nested(DeployedSchema))


def _bundle(args: dict) -> dict[str, bytes]:
    """The posted files by base name, plus the forms their diagrams name from the drafts, else forms/."""
    files: dict[str, bytes] = {}
    for name, text in args["files"].items():
        base = name.rsplit("/", 1)[-1]
        if base in files:  # forms and called processes are found by base name: one file of each name
            raise BundleInvalid([Problem(name, "", f"与另一个文件同名（{base}），部署包中文件名不能重复")])
        files[base] = text.encode("utf-8")
    forms_dir = Path(current_app.config["FORMS_DIR"])
    return catalog.add_named_forms(files, [forms_dir], catalog.form_drafts(get_session()))


def known_lanes_in(session: Session) -> set[str]:
    """Return the lane names that map to a role (plus the system lane)."""
    return {lr.lane for lr in session.scalars(select(LaneRole))} | {SYSTEM_LANE}


def known_lanes() -> set[str]:
    """Return the known lanes, read through the request's session."""
    return known_lanes_in(get_session())


@blp.route("/processes")
class Processes(MethodView):
    @blp.response(200, VersionSchema(many=True))
    def get(self):
        """List every process with its newest version."""
        auth.require_user()
        return catalog.list_processes(get_session())


@blp.route("/processes/<process_id>/versions")
class Versions(MethodView):
    @blp.response(200, VersionSchema(many=True))
    def get(self, process_id: str):
        """List the versions of one process, newest first."""
        auth.require_user()
        versions = list(
            get_session().scalars(
                select(ProcessVersion)
                .where(ProcessVersion.process_id == process_id)
                .order_by(ProcessVersion.version.desc())
            )
        )
        if not versions:
            raise NotFound(f"流程 {process_id} 不存在")
        return versions


@blp.route("/processes/<process_id>/versions/<int:version>")
class Version(MethodView):
    @blp.response(200, VersionDetail)
    def get(self, process_id: str, version: int):
        """Show one version with the text of its files (BPMN/DMN XML, forms)."""
        auth.require_user()
        session = get_session()
        pv = catalog.get_version(session, process_id, version)
        pv.contents = catalog.version_files(session, pv)  # a plain attribute for the response schema
        return pv


@blp.route("/validate")
class Validate(MethodView):
    @blp.arguments(BundleArgs())
    @blp.response(200, ValidationSchema)
    def post(self, args: dict):
        """Check a bundle without deploying it."""
        auth.require_user()
        result = catalog.validate(_bundle(args), runtime().handlers, known_lanes())
        return {"ok": not result.problems, "problems": result.problems}


@blp.route("/deployments")
class Deployments(MethodView):
    @blp.arguments(BundleArgs())
    @blp.response(201, DeployResult)
    @blp.alt_response(422, schema=ValidationSchema)
    def post(self, args: dict):
        """Deploy a bundle: each changed process gets a new immutable version; unchanged ones are a no-op."""
        user = auth.require_admin()
        session = get_session()
        try:
            versions = catalog.deploy(
                session,
                _bundle(args),
                runtime().handlers,
                now=runtime().clock.now(),
                user=user.username,
                source="api",
                lanes=known_lanes(),
            )
        except BundleInvalid:
            session.rollback()
            raise
        session.commit()
        return {"versions": versions}
