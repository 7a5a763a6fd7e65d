"""Pages: log-in, log-out, home (my tasks, my roles' tasks, start buttons), API docs."""

from __future__ import annotations

import secrets

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask import session as browser_session
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from processes import catalog, queries
from processes.store.models import HumanTask, ProcessVersion, User
from service import auth
from service.api.instances import may_start
from service.db import get_session, runtime
from service.web import api_reference
from service.web.paging import past_last

bp = Blueprint("web", __name__, template_folder="../templates")
PAGE_SIZE = 10
# What the start button of a process says when "发起<name>" would not read well.
START_LABELS = {"lifecycle": "新建项目申报"}


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    """Show the log-in form and log in (the form carries the session's CSRF token against login CSRF)."""
    error = None
    status = 200
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        sent = request.form.get("csrf_token", "")
        try:
            if not sent or not secrets.compare_digest(sent, browser_session.get("csrf", "")):
                raise auth.AuthError(400, "页面已过期(CSRF 校验失败)，请刷新后重试")
            auth.login(username, request.form.get("password", ""))
            return redirect(_safe_next(request.args.get("next")))
        except auth.AuthError as err:
            error = err.message
            status = err.status
    elif auth.current_user() is not None:
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error, username=username), status


def _safe_next(target: str | None) -> str:
    """Return a local path to go to after log-in; anything else goes home."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("web.home")


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """Log out and go to the log-in page."""
    auth.logout()
    return redirect(url_for("web.login"))


def startable_processes(user: User) -> list[tuple[ProcessVersion, str]]:
    """Return the newest versions the user may start, with the label of their start button."""
    out = []
    for pv in catalog.list_processes(get_session()):
        if pv.called_only or not pv.startable or not may_start(user, pv.process_id):
            continue
        out.append((pv, START_LABELS.get(pv.process_id, f"发起{pv.name}")))
    return out


@bp.route("/")
def home() -> str | Response:
    """The home page: my tasks and my roles' tasks, with counts, search, paging and start buttons."""
    user = auth.require_user()
    session = get_session()
    if user.is_manager and not user.role_codes and not request.args:
        # A manager with no role of their own has no tasks: their morning starts at the dashboard.
        return redirect(url_for("web_dashboard.index"))
    now = runtime().clock.now()
    q = request.args.get("q", "").strip() or None
    sort = request.args.get("sort", "due")
    sort = sort if sort in queries.TASK_SORTS else "due"
    mine = queries.open_tasks(
        session, user, "mine", q, sort, request.args.get("page", 1, type=int), PAGE_SIZE
    )
    pool = queries.open_tasks(
        session, user, "roles", q, sort, request.args.get("pool_page", 1, type=int), PAGE_SIZE
    )
    if (last := past_last(mine) or past_last(pool, "pool_page")) is not None:
        return last
    done = session.get(HumanTask, request.args.get("done", 0, type=int))
    done = done if done is not None and done.completed_by_id == user.id else None
    return render_template(
        "home.html",
        done_task=done,
        done_sees_instance=done is not None and queries.can_see_instance(session, user, done.instance),
        section="home",
        mine=mine,
        pool=pool,
        now=now,
        q=q or "",
        sort=sort,
        counts=queries.task_counts(session, user, now),
        starts=startable_processes(user),
    )


def waiting_tasks() -> int:
    """How many open tasks wait for the caller (the navigation's badge); 0 when nobody is logged in."""
    try:
        user = auth.current_user()
        return queries.open_task_count(get_session(), user) if user is not None else 0
    except SQLAlchemyError:  # an error page after a failed transaction still renders, without the badge
        return 0


@bp.route("/favicon.ico")
def favicon() -> Response:
    """The site icon, for clients that ask for it at the root."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.route("/api/docs")
def api_docs() -> str:
    """A readable page of the OpenAPI document, served without any external asset."""
    spec = current_app.extensions["egovflow_api"].spec.to_dict()
    return render_template("api_docs.html", spec=spec, topics=api_reference.reference(spec), section="api")
