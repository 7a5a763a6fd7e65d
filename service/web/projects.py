"""Project register pages: the filtered, sorted, paged list with Excel export, and one project."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from werkzeug.wrappers import Response

from handlers.models import PROJECT_STATUS_LABELS
from processes import reports
from service import auth
from service.api.projects import ProjectArgs, project_documents, project_filter, visible_project
from service.db import get_session
from service.web.paging import past_last
from service.web.query_args import load_args

bp = Blueprint("web_projects", __name__)
SORTS = {
    "project_id": "项目编号",
    "-project_id": "项目编号(倒序)",
    "name": "项目名称",
    "amount": "概算从高到低",
    "-amount": "概算从低到高",
    "year": "计划年度",
    "updated": "最近更新",
}


@bp.route("/projects")
def register() -> str | Response:
    """The project register: filters (year, unit, stage, status, amount range), sorting, paging, export."""
    user = auth.require_user()
    session = get_session()
    args, errors = load_args(ProjectArgs(), request.args)
    f = project_filter(args)
    page = reports.projects(
        session, user, f, args.get("sort", "project_id"), args.get("page", 1), args.get("page_size", 20)
    )
    if (last := past_last(page)) is not None:
        return last
    count, total = reports.project_totals(session, user, f)
    export_args = {k: v for k, v in request.args.items() if v and k not in ("page", "page_size")}
    return render_template(
        "projects.html",
        section="projects",
        page=page,
        errors=errors,
        args=request.args,
        total=total,
        options=reports.project_filter_options(session, user),
        statuses=PROJECT_STATUS_LABELS,
        sorts=SORTS,
        sort=args.get("sort", "project_id"),
        export_url=url_for("projects.ProjectExport", **export_args),
    )


@bp.route("/projects/<project_id>")
def show(project_id: str) -> str:
    """One project: register fields, its instances and documents."""
    user = auth.require_user()
    project = visible_project(project_id)
    instances = reports.project_instances(get_session(), user, project_id)
    return render_template(
        "project.html",
        section="projects",
        project=project,
        instances=instances,
        documents=project_documents(project),
    )
