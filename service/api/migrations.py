"""Instance migration: move running instances onto another version of their process (admins)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from processes import migration
from processes.errors import Conflict
from service import auth
from service.api.schemas import WholeNumber
from service.converters import MAX_ROW_ID
from service.db import get_session, runtime

blp = Blueprint("migrations", __name__, url_prefix="/api/v1", description="实例迁移（流程管理员）")
VERSIONS = ma.validate.Range(min=1, max=MAX_ROW_ID)


class MigrateArgs(ma.Schema):
    version = WholeNumber(load_default=None, allow_none=True, validate=VERSIONS)
    dry_run = ma.fields.Bool(load_default=False)


class BulkArgs(ma.Schema):
    to_version = WholeNumber(load_default=None, allow_none=True, validate=VERSIONS)
    from_version = WholeNumber(load_default=None, allow_none=True, validate=VERSIONS)
    instance_ids = ma.fields.List(
        WholeNumber(validate=ma.validate.Range(min=1, max=MAX_ROW_ID)),
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=migration.MAX_PER_CALL),
    )
    at_task = ma.fields.Str(
        load_default=None, allow_none=True, validate=ma.validate.Length(min=1, max=100)
    )  # an element id: only instances with an open task there
    dry_run = ma.fields.Bool(load_default=False)


class ReportSchema(ma.Schema):
    instance_id = ma.fields.Int()
    process_id = ma.fields.Str()
    title = ma.fields.Str(allow_none=True)
    from_version = ma.fields.Int()
    to_version = ma.fields.Int()
    migrated = ma.fields.Bool()
    problems = ma.fields.List(ma.fields.Str())
    changed = ma.fields.List(ma.fields.Str())
    added = ma.fields.List(ma.fields.Str())
    removed = ma.fields.List(ma.fields.Str())
    refreshed = ma.fields.Int()


class BulkSchema(ma.Schema):
    process_id = ma.fields.Str()
    to_version = ma.fields.Int()
    dry_run = ma.fields.Bool()
    migrated = ma.fields.Int()
    refused = ma.fields.Int()
    remaining = ma.fields.Int()
    items = ma.fields.List(ma.fields.Nested(ReportSchema))


@blp.route("/instances/<int:instance_id>/migrate")
class Migrate(MethodView):
    @blp.arguments(MigrateArgs())
    @blp.response(200, ReportSchema)
    @blp.alt_response(409, description="不能迁移，problems 列出原因；实例不变")
    def post(self, args: dict, instance_id: int):
        """Move an instance onto another version (newest by default); `dry_run` only reports."""
        user = auth.require_admin()
        session = get_session()
        report = runtime().migrate(session, instance_id, user, args["version"], dry_run=args["dry_run"])
        if report.problems and not args["dry_run"]:
            session.rollback()
            raise Conflict(
                f"不能迁移到第 {report.to_version} 版：{'；'.join(report.problems)}",
                {"problems": report.problems},
            )
        session.commit()
        return report


@blp.route("/processes/<process_id>/migrations")
class BulkMigrate(MethodView):
    @blp.arguments(BulkArgs())
    @blp.response(200, BulkSchema)
    def post(self, args: dict, process_id: str):
        """Move a process's unfinished instances onto a version, each on its own; `dry_run` only reports."""
        user = auth.require_admin()
        return migration.migrate_many(
            get_session(),
            runtime(),
            user,
            process_id,
            args["to_version"],
            from_version=args["from_version"],
            instance_ids=args["instance_ids"],
            at_task=args["at_task"],
            dry_run=args["dry_run"],
        )
