"""Account pages: changing one's own password; for process admins, accounts and organisations."""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from processes import accounts
from service import auth
from service.api.accounts import UserListArgs
from service.db import get_session
from service.web.paging import past_last
from service.web.query_args import load_args

bp = Blueprint("web_accounts", __name__)

# Page blueprints a user who still holds an admin-given password is sent away from.
PAGES = {
    "web", "web_tasks", "web_instances", "web_projects", "web_dashboard",
    "web_admin", "web_accounts", "web_experts",
}  # fmt: skip
OPEN_WHILE_PASSWORD_PENDING = {"web.login", "web.logout", "web.favicon", "web_accounts.password"}
SORTS = {"username": "用户名", "name": "姓名", "last_login": "最近登录"}


@bp.route("/account/password")
def password() -> str:
    """Change one's own password (required first when an admin gave it)."""
    user = auth.require_user()
    return render_template(
        "account_password.html",
        section="password",
        user=user,
        done=request.args.get("done") == "1",
        min_length=accounts.MIN_PASSWORD,
    )


@bp.route("/admin/users")
@auth.admin_required
def users() -> str | Response:
    """Accounts with filters and pages, and a form to create one."""
    session = get_session()
    args, errors = load_args(UserListArgs(), request.args)
    page, size, sort = args.pop("page", 1), args.pop("page_size", 20), args.pop("sort", "username")
    found = accounts.list_users(session, accounts.UserFilter(**args), sort, page, size)
    if (last := past_last(found)) is not None:
        return last
    return render_template(
        "admin/users.html",
        section="users",
        page=found,
        errors=errors,
        args=request.args,
        sort=sort,
        sorts=SORTS,
        units=accounts.unit_choices(session),
        roles=accounts.role_choices(session),
        kinds=accounts.ORG_KINDS,
        min_length=accounts.MIN_PASSWORD,
    )


@bp.route("/admin/users/<int:user_id>")
@auth.admin_required
def user(user_id: int) -> str:
    """One account: name, unit, roles, rights, state, and a password reset."""
    session = get_session()
    return render_template(
        "admin/user.html",
        section="users",
        account=accounts.get_user(session, user_id),
        units=accounts.unit_choices(session),
        roles=accounts.role_choices(session),
        kinds=accounts.ORG_KINDS,
        created=request.args.get("created") == "1",
        min_length=accounts.MIN_PASSWORD,
    )


@bp.route("/admin/organisations")
@auth.admin_required
def organisations() -> str:
    """Organisations with their accounts, and a form to add one."""
    q = request.args.get("q", "").strip() or None
    kind = request.args.get("kind") if request.args.get("kind") in accounts.ORG_KINDS else None
    return render_template(
        "admin/organisations.html",
        section="users",
        orgs=accounts.list_organisations(get_session(), q, kind),
        kinds=accounts.ORG_KINDS,
        args=request.args,
    )


def init_app(app: Flask) -> None:
    """Send a user whose password an admin gave to the change-password page before any other page."""

    @app.before_request
    def _password_first() -> Response | None:
        if request.blueprint not in PAGES or request.endpoint in OPEN_WHILE_PASSWORD_PENDING:
            return None
        user = auth.current_user()
        if user is not None and user.must_change_password:
            return redirect(url_for("web_accounts.password"))
        return None
