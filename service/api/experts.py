"""The 专家库 (expert pool) the expert draw picks from: list for managers and admins, changes by admins."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from handlers.models import SPECIALTIES
from processes import expert_pool
from service import auth
from service.db import get_session, runtime

blp = Blueprint("experts", __name__, url_prefix="/api/v1/experts", description="专家库")


class TieSchema(ma.Schema):
    code = ma.fields.Str(required=True, validate=ma.validate.Length(max=18))
    reason = ma.fields.Str(load_default="", validate=ma.validate.Length(max=200))
    until = ma.fields.Str(load_default=None, allow_none=True, validate=ma.validate.Length(max=10))


class ExpertSchema(ma.Schema):
    id = ma.fields.Int()
    username = ma.fields.Str()
    name = ma.fields.Str()
    employer_code = ma.fields.Str()
    employer_name = ma.fields.Str()
    title = ma.fields.Str()
    specialties = ma.fields.List(ma.fields.Str())
    specialty_names = ma.fields.Function(lambda e: [SPECIALTIES.get(c, c) for c in e.specialties or []])
    status = ma.fields.Str()
    status_name = ma.fields.Function(lambda e: expert_pool.STATUS_LABELS.get(e.status, e.status))
    avoid_orgs = ma.fields.List(ma.fields.Nested(TieSchema))
    created_at = ma.fields.DateTime()


class PoolEntrySchema(ExpertSchema):
    drawn = ma.fields.Int()
    last_drawn_at = ma.fields.DateTime(allow_none=True)


class PoolArgs(ma.Schema):
    q = ma.fields.Str(validate=ma.validate.Length(max=60))
    specialty = ma.fields.Str(validate=ma.validate.OneOf(list(SPECIALTIES)))
    status = ma.fields.Str(validate=ma.validate.OneOf(list(expert_pool.STATUS_LABELS)))


class ExpertChange(ma.Schema):
    name = ma.fields.Str(validate=ma.validate.Length(max=50))
    employer_code = ma.fields.Str(validate=ma.validate.Length(max=18))
    employer_name = ma.fields.Str(validate=ma.validate.Length(max=200))
    title = ma.fields.Str(validate=ma.validate.Length(max=50))
    specialties = ma.fields.List(ma.fields.Str(validate=ma.validate.Length(max=20)))
    status = ma.fields.Str(validate=ma.validate.Length(max=12))
    avoid_orgs = ma.fields.List(ma.fields.Nested(TieSchema))


class NewExpert(ExpertChange):
    username = ma.fields.Str(required=True, validate=ma.validate.Length(min=1, max=60))


def _flat(entry: expert_pool.PoolEntry) -> expert_pool.Expert:
    """The expert with its draw figures as attributes, for the list schema."""
    entry.expert.drawn = entry.drawn
    entry.expert.last_drawn_at = entry.last_drawn_at
    return entry.expert


@blp.route("")
class Pool(MethodView):
    @blp.arguments(PoolArgs(), location="query")
    @blp.response(200, PoolEntrySchema(many=True))
    def get(self, args: dict):
        """List the pool with how often each expert was drawn (managers and admins)."""
        _require_pool_reader()
        return [_flat(entry) for entry in expert_pool.list_experts(get_session(), **args)]

    @blp.arguments(NewExpert())
    @blp.response(201, ExpertSchema)
    def post(self, args: dict):
        """Enter an account holding the 评审专家 role into the pool (admins)."""
        auth.require_admin()
        session = get_session()
        expert = expert_pool.add_expert(session, args, runtime().clock.now())
        session.commit()
        return expert


@blp.route("/<int:expert_id>")
class OneExpert(MethodView):
    @blp.response(200, ExpertSchema)
    def get(self, expert_id: int):
        """Show one expert (managers and admins)."""
        _require_pool_reader()
        return expert_pool.get_expert(get_session(), expert_id)

    @blp.arguments(ExpertChange())
    @blp.response(200, ExpertSchema)
    def patch(self, args: dict, expert_id: int):
        """Change an expert's details, specialties, status (可抽取/暂停抽取) or conflicts (admins)."""
        auth.require_admin()
        session = get_session()
        expert = expert_pool.update_expert(session, expert_id, args)
        session.commit()
        return expert


def _require_pool_reader() -> None:
    """Managers and admins read the 专家库; only admins change it."""
    user = auth.require_user()
    if not (user.is_admin or user.is_manager):
        raise auth.AuthError(403, "只有管理人员可以查看专家库")
