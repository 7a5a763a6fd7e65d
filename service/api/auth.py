"""Log-in, log-out, who am I, and API tokens."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from processes.errors import NotFound
from processes.store.models import ApiToken
from service import auth
from service.api.schemas import NonBlank
from service.db import get_session

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="登录与令牌")


class LoginArgs(ma.Schema):
    username = ma.fields.Str(required=True, validate=ma.validate.Length(min=1, max=60))
    password = ma.fields.Str(required=True, validate=ma.validate.Length(min=1, max=200))


class MeSchema(ma.Schema):
    id = ma.fields.Int()
    username = ma.fields.Str()
    display_name = ma.fields.Str()
    is_admin = ma.fields.Bool()
    is_manager = ma.fields.Bool()
    roles = ma.fields.Function(lambda u: sorted(u.role_codes))
    organisation = ma.fields.Function(lambda u: u.organisation.name if u.organisation else None)
    organisation_code = ma.fields.Function(lambda u: u.organisation.code if u.organisation else None)
    csrf_token = ma.fields.Function(lambda _u: auth.csrf_token())


class TokenArgs(ma.Schema):
    name = NonBlank(required=True, validate=ma.validate.Length(min=1, max=60))


class TokenSchema(ma.Schema):
    id = ma.fields.Int()
    name = ma.fields.Str()
    token = ma.fields.Str()


class TokenInfo(ma.Schema):
    id = ma.fields.Int()
    name = ma.fields.Str()
    created_at = ma.fields.DateTime()


@blp.route("/login")
class Login(MethodView):
    @blp.arguments(LoginArgs())
    @blp.response(200, MeSchema)
    def post(self, args: dict):
        """Log in with user name and password; starts a session (cookie)."""
        return auth.login(args["username"], args["password"])


@blp.route("/logout")
class Logout(MethodView):
    @blp.response(204)
    def post(self):
        """End the session."""
        auth.logout()


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    def get(self):
        """Return the caller."""
        return auth.require_user()


@blp.route("/tokens")
class Tokens(MethodView):
    @blp.arguments(TokenArgs())
    @blp.response(201, TokenSchema)
    def post(self, args: dict):
        """Create an API token for the caller; the secret is shown only in this response."""
        user = auth.require_user()
        session = get_session()
        token, secret = auth.new_token(user, args["name"])
        session.add(token)
        session.commit()
        return {"id": token.id, "name": token.name, "token": secret}

    @blp.response(200, TokenInfo(many=True))
    def get(self):
        """List the caller's API tokens in use (never their secrets), newest first."""
        user = auth.require_user()
        return list(
            get_session().scalars(
                select(ApiToken)
                .where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
                .order_by(ApiToken.id.desc())
            )
        )


@blp.route("/tokens/<int:token_id>")
class OneToken(MethodView):
    @blp.response(204)
    def delete(self, token_id: int):
        """Revoke one of the caller's API tokens: programs using it are refused from now on."""
        user = auth.require_user()
        session = get_session()
        token = session.get(ApiToken, token_id)
        if token is None or token.user_id != user.id or token.revoked:
            raise NotFound(f"令牌 {token_id} 不存在")
        token.revoked = True
        session.commit()
