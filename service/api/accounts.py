"""Accounts and organisations (process admins), and changing one's own password (everyone)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from processes import accounts
from service import auth
from service.api.auth import MeSchema
from service.api.schemas import PageArgs, PageSchema, WholeNumber
from service.converters import MAX_ROW_ID
from service.db import get_session

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="用户与单位")

ROW_ID = ma.validate.Range(min=1, max=MAX_ROW_ID)


class _BlankIsNone(ma.Schema):
    """A page form sends an empty select as "": read it as no value."""

    @ma.pre_load
    def _blank_to_none(self, data: Any, **_kwargs: Any) -> Any:
        if isinstance(data, dict):
            return {k: (None if v == "" else v) for k, v in data.items()}
        return data


class OrgRef(ma.Schema):
    id = ma.fields.Int()
    code = ma.fields.Str()
    name = ma.fields.Str()
    short_name = ma.fields.Str()
    kind = ma.fields.Str()


class OrgSchema(OrgRef):
    user_count = ma.fields.Int()


class UserSchema(ma.Schema):
    id = ma.fields.Int()
    username = ma.fields.Str()
    display_name = ma.fields.Str()
    organisation = ma.fields.Nested(OrgRef, allow_none=True)
    roles = ma.fields.Function(lambda u: sorted(u.role_codes))
    is_admin = ma.fields.Bool()
    is_manager = ma.fields.Bool()
    active = ma.fields.Bool()
    must_change_password = ma.fields.Bool()
    last_login_at = ma.fields.DateTime(allow_none=True)
    initial_password = ma.fields.Str(allow_none=True)


class UserPage(PageSchema):
    items = ma.fields.List(ma.fields.Nested(UserSchema))


class UserListArgs(PageArgs):
    q = ma.fields.Str(validate=ma.validate.Length(max=60), metadata={"title": "关键词"})
    unit = ma.fields.Str(validate=ma.validate.Length(max=32), metadata={"title": "单位"})
    role = ma.fields.Str(validate=ma.validate.Length(max=40), metadata={"title": "角色"})
    active = ma.fields.Bool(metadata={"title": "账号状态"})
    sort = ma.fields.Str(
        load_default="username",
        validate=ma.validate.OneOf(list(accounts.USER_SORTS)),
        metadata={"title": "排序"},
    )


class UserCreateArgs(_BlankIsNone):
    username = ma.fields.Str(required=True, validate=ma.validate.Length(min=1, max=60))
    display_name = ma.fields.Str(required=True, validate=ma.validate.Length(min=1, max=60))
    password = ma.fields.Str(load_default=None, allow_none=True, validate=ma.validate.Length(max=200))
    organisation_id = WholeNumber(load_default=None, allow_none=True, validate=ROW_ID)
    roles = ma.fields.List(ma.fields.Str(validate=ma.validate.Length(max=40)), load_default=list)
    is_admin = ma.fields.Bool(load_default=False)
    is_manager = ma.fields.Bool(load_default=False)


class UserUpdateArgs(_BlankIsNone):
    display_name = ma.fields.Str(validate=ma.validate.Length(min=1, max=60))
    organisation_id = WholeNumber(allow_none=True, validate=ROW_ID)
    roles = ma.fields.List(ma.fields.Str(validate=ma.validate.Length(max=40)))
    is_admin = ma.fields.Bool()
    is_manager = ma.fields.Bool()
    active = ma.fields.Bool()


class ResetArgs(_BlankIsNone):
    password = ma.fields.Str(load_default=None, allow_none=True, validate=ma.validate.Length(max=200))


class ResetSchema(ma.Schema):
    username = ma.fields.Str()
    must_change_password = ma.fields.Bool()
    initial_password = ma.fields.Str(allow_none=True)


class OwnPasswordArgs(ma.Schema):
    old_password = ma.fields.Str(required=True, validate=ma.validate.Length(min=1, max=200))
    new_password = ma.fields.Str(required=True, validate=ma.validate.Length(min=1, max=200))


class OrgListArgs(ma.Schema):
    q = ma.fields.Str(validate=ma.validate.Length(max=100))
    kind = ma.fields.Str(validate=ma.validate.OneOf(list(accounts.ORG_KINDS)))


class OrgCreateArgs(ma.Schema):
    code = ma.fields.Str(required=True, validate=ma.validate.Length(min=1, max=32))
    name = ma.fields.Str(required=True, validate=ma.validate.Length(min=1, max=100))
    short_name = ma.fields.Str(required=True, validate=ma.validate.Length(min=1, max=40))
    kind = ma.fields.Str(load_default="unit", validate=ma.validate.OneOf(list(accounts.ORG_KINDS)))


class OrgUpdateArgs(ma.Schema):
    code = ma.fields.Str(validate=ma.validate.Length(min=1, max=32))
    name = ma.fields.Str(validate=ma.validate.Length(min=1, max=100))
    short_name = ma.fields.Str(validate=ma.validate.Length(min=1, max=40))
    kind = ma.fields.Str(validate=ma.validate.OneOf(list(accounts.ORG_KINDS)))


@blp.route("/users")
class Users(MethodView):
    @blp.arguments(UserListArgs(), location="query")
    @blp.response(200, UserPage)
    def get(self, args: dict):
        """List accounts with filters (keyword, unit code, role, state), sorting and pages (admins)."""
        auth.require_admin()
        page, size, sort = args.pop("page"), args.pop("page_size"), args.pop("sort")
        return accounts.list_users(get_session(), accounts.UserFilter(**args), sort, page, size)

    @blp.arguments(UserCreateArgs())
    @blp.response(201, UserSchema)
    def post(self, args: dict):
        """Create an account (admins). Without a password one is generated and returned once; either
        way the user must change it at first log-in."""
        auth.require_admin()
        session = get_session()
        generated = None if args["password"] else accounts.temporary_password()
        user = accounts.create_user(
            session, auth.hash_password, **{**args, "password": args["password"] or generated}
        )
        session.commit()
        user.initial_password = generated
        return user


@blp.route("/users/<int:user_id>")
class OneUser(MethodView):
    @blp.response(200, UserSchema)
    def get(self, user_id: int):
        """Show an account (admins)."""
        auth.require_admin()
        return accounts.get_user(get_session(), user_id)

    @blp.arguments(UserUpdateArgs())
    @blp.response(200, UserSchema)
    def patch(self, args: dict, user_id: int):
        """Change an account's name, unit, roles, rights or state (admins; not your own admin right or
        state). A deactivated account can no longer log in or use its API tokens."""
        acting = auth.require_admin()
        session = get_session()
        user = accounts.update_user(session, user_id, acting, args)
        session.commit()
        return user


@blp.route("/users/<int:user_id>/password")
class ResetPassword(MethodView):
    @blp.arguments(ResetArgs())
    @blp.response(200, ResetSchema)
    def post(self, args: dict, user_id: int):
        """Give an account a new password (admins): the one sent, or a generated one returned once. The
        user's browser sessions end and the password must be changed at next log-in."""
        auth.require_admin()
        session = get_session()
        user, password = accounts.reset_password(session, auth.hash_password, user_id, args["password"])
        session.commit()
        return {
            "username": user.username,
            "must_change_password": True,
            "initial_password": None if args["password"] else password,
        }


@blp.route("/auth/password")
class OwnPassword(MethodView):
    @blp.arguments(OwnPasswordArgs())
    @blp.response(200, MeSchema)
    def post(self, args: dict):
        """Change your own password; your other browser sessions end, this one continues."""
        user = auth.require_user()
        session = get_session()
        accounts.change_own_password(
            session,
            auth.hash_password,
            auth.verify_password,
            user,
            args["old_password"],
            args["new_password"],
        )
        session.commit()
        if not g.get("via_token"):
            auth.remember_password(user)
        return user


@blp.route("/organisations")
class Organisations(MethodView):
    @blp.arguments(OrgListArgs(), location="query")
    @blp.response(200, OrgSchema(many=True))
    def get(self, args: dict):
        """List organisations with their number of accounts."""
        auth.require_user()
        return accounts.list_organisations(get_session(), **args)

    @blp.arguments(OrgCreateArgs())
    @blp.response(201, OrgSchema)
    def post(self, args: dict):
        """Add an organisation (admins)."""
        auth.require_admin()
        session = get_session()
        org = accounts.create_organisation(session, **args)
        session.commit()
        org.user_count = 0
        return org


@blp.route("/organisations/<int:org_id>")
class OneOrganisation(MethodView):
    @blp.arguments(OrgUpdateArgs())
    @blp.response(200, OrgSchema)
    def patch(self, args: dict, org_id: int):
        """Change an organisation's code, names or kind (admins)."""
        auth.require_admin()
        session = get_session()
        org = accounts.update_organisation(session, org_id, args)
        session.commit()
        org.user_count = accounts.member_count(session, org.id)
        return org
