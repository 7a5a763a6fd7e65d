"""The manager dashboard page and its drill-down list of overdue tasks."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select
from werkzeug.wrappers import Response

from processes import reports
from processes.store.models import Role
from service.api.dashboard import CHARTS, require_manager, summary
from service.db import get_session, runtime
from service.web.paging import past_last

bp = Blueprint("web_dashboard", __name__)


@bp.route("/dashboard")
def index() -> str:
    """Charts and tables for managers: stages, amounts, overdue tasks, durations, incidents."""
    require_manager()
    data = summary()
    # With no incidents the table below says so; an empty chart beside it would only repeat that.
    charts = [name for name in CHARTS if name != "incidents" or data["incidents"]]
    return render_template("dashboard.html", section="dashboard", data=data, charts=charts)


@bp.route("/dashboard/overdue")
def overdue() -> str | Response:
    """The open overdue tasks, optionally of one role, most overdue first."""
    return _waiting_tasks(overdue=True)


@bp.route("/dashboard/tasks")
def waiting() -> str | Response:
    """Every open task of the instances that go on, the nearest deadline first."""
    return _waiting_tasks(overdue=False)


def _waiting_tasks(overdue: bool) -> str | Response:
    require_manager()
    session = get_session()
    role = request.args.get("role")
    now = runtime().clock.now()
    page = reports.overdue_tasks(session, now, role, request.args.get("page", 1, type=int), 20, overdue)
    if (last := past_last(page)) is not None:
        return last
    role_name = session.scalar(select(Role.name).where(Role.code == role)) if role else None
    return render_template(
        "overdue.html",
        section="dashboard",
        page=page,
        now=now,
        role=role,
        role_name=role_name or ("指定办理人" if role == "" else None),
        overdue=overdue,
        heading="超期任务" if overdue else "待办任务",
        endpoint="web_dashboard.overdue" if overdue else "web_dashboard.waiting",
    )
