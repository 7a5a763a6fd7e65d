"""The manager dashboard: headline figures, tables and chart data, each linking to the filtered list."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from processes import reports
from processes.errors import NotFound
from processes.store.models import User
from service import auth
from service.db import get_session, runtime

blp = Blueprint("dashboard", __name__, url_prefix="/api/v1/dashboard", description="管理看板")

WAN = Decimal(10000)


def require_manager() -> User:
    """Return the caller if they are a manager or a process admin, else raise 403."""
    user = auth.require_user()
    if not (user.is_manager or user.is_admin):
        raise auth.AuthError(403, "需要管理人员权限")
    return user


def short_unit(name: str) -> str:
    """Drop the city prefix of a unit name for chart labels (六安市教育局 → 教育局)."""
    return name[3:] if name.startswith("六安市") and len(name) > 3 else name


def summary() -> dict[str, Any]:
    """Gather every figure and table of the dashboard."""
    session = get_session()
    now = runtime().clock.now()
    return {
        "headline": reports.headline(session, now),
        "by_stage": [
            {"stage": s, "count": n, "url": url_for("web_projects.register", stage=s)}
            for s, n in reports.projects_by_stage(session)
        ],
        "amounts": [
            {
                "unit_code": a.unit_code,
                "unit_name": a.unit_name,
                "year": a.year,
                "amount": a.amount,
                "count": a.count,
                "url": url_for("web_projects.register", unit=a.unit_code, year=a.year),
            }
            for a in reports.amounts_by_unit_year(session)
        ],
        "overdue_by_role": [
            {
                "role_code": code,
                "role_name": name,
                "count": n,
                "url": url_for("web_dashboard.overdue", role=code),
            }
            for code, name, n in reports.overdue_by_role(session, now)
        ],
        "durations": [
            {
                "process_id": d.process_id,
                "name": d.name,
                "median_days": d.median_days,
                "instances": d.instances,
                "open_instances": d.open_instances,
                "url": _stage_url(d.process_id),
            }
            for d in reports.stage_durations(session, now)
        ],
        "incidents": [
            {
                "instance_id": r.instance.id,
                "title": r.instance.title,
                "process_id": r.instance.process_id,
                "project_id": r.instance.project_id,
                "open_incidents": r.open_incidents,
                "last_message": r.last_message,
                "last_at": r.last_at,
                "url": url_for("web_instances.show", instance_id=r.instance.id),
            }
            for r in reports.instances_with_incidents(session)
        ],
    }


def _stage_url(process_id: str) -> str:
    """Link a durations row to the instances it counts: those with user tasks in that (called) process.

    A called process (竣工验收, 初审 …) runs inside the lifecycle instance, so it has no instances of
    its own; the instance list's `step` filter finds the instances that ran it, whatever their stage now.
    """
    return url_for("web_instances.index", step=process_id)


def chart(name: str) -> dict[str, Any]:
    """Return one chart in the dashboard island's shape: title, type, categories, series, links."""
    builder = CHARTS.get(name)
    if builder is None:
        raise NotFound(f"没有图表 {name}")
    return builder()


def _stages() -> dict[str, Any]:
    rows = reports.projects_by_stage(get_session())
    return {
        "title": "各阶段项目数",
        "type": "bar",
        "categories": [s for s, _ in rows],
        "series": [{"name": "项目数", "data": [n for _, n in rows]}],
        "links": [url_for("web_projects.register", stage=s) for s, _ in rows],
    }


def _amounts() -> dict[str, Any]:
    rows = reports.amounts_by_unit_year(get_session())
    units: dict[str, str] = {}
    for r in rows:
        units.setdefault(r.unit_code, r.unit_name)
    years = sorted({r.year for r in rows})
    cell = {(r.unit_code, r.year): r.amount for r in rows}
    return {
        "title": "各单位各年度总投资概算(万元)",
        "type": "bar",
        "categories": [short_unit(n) for n in units.values()],
        "series": [
            {
                "name": f"{y}年",
                "data": [
                    float((cell.get((code, y), Decimal(0)) / WAN).quantize(Decimal("0.01"))) for code in units
                ],
            }
            for y in years
        ],
        "links": [url_for("web_projects.register", unit=code) for code in units],
    }


def _overdue() -> dict[str, Any]:
    rows = reports.overdue_by_role(get_session(), runtime().clock.now())
    return {
        "title": "各角色超期任务",
        "type": "bar",
        "categories": [name for _, name, _ in rows],
        "series": [{"name": "超期任务", "data": [n for _, _, n in rows]}],
        "links": [url_for("web_dashboard.overdue", role=code) for code, _, _ in rows],
    }


def _durations() -> dict[str, Any]:
    rows = reports.stage_durations(get_session(), runtime().clock.now())
    return {
        "title": "各环节办理天数(中位数)",
        "type": "bar",
        "categories": [d.name for d in rows],
        "series": [{"name": "中位天数", "data": [d.median_days for d in rows]}],
        "links": [_stage_url(d.process_id) for d in rows],
    }


def _incidents() -> dict[str, Any]:
    rows = reports.incidents_by_process(get_session())
    return {
        "title": "出错的流程实例",
        "type": "bar",
        "categories": [name for _, name, _ in rows],
        "series": [{"name": "出错实例", "data": [n for _, _, n in rows]}],
        "links": [url_for("web_instances.index", status="error", process_id=pid) for pid, _, _ in rows],
    }


CHARTS = {
    "stages": _stages,
    "amounts": _amounts,
    "overdue": _overdue,
    "durations": _durations,
    "incidents": _incidents,
}


@blp.route("")
class Summary(MethodView):
    @blp.response(200)
    def get(self):
        """Return the dashboard's figures and tables (managers and admins)."""
        require_manager()
        data = summary()
        data["headline"]["total_estimate"] = str(data["headline"]["total_estimate"])
        for row in data["amounts"]:
            row["amount"] = str(row["amount"])
        for row in data["incidents"]:
            row["last_at"] = row["last_at"].isoformat()
        return data


@blp.route("/charts/<name>")
class Chart(MethodView):
    @blp.response(200)
    def get(self, name: str):
        """Return one chart for the dashboard island: stages, amounts, overdue, durations or incidents."""
        require_manager()
        return chart(name)
