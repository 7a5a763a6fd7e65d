"""Project register pages: the filtered, sorted, paged list with Excel export, and one project."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from werkzeug.wrappers import Response

from handlers.models import PROJECT_STATUS_LABELS
from handlers.record_performance import GRADE_NAMES
from processes import reports
from service import auth
from service.api.projects import ProjectArgs, project_documents, project_filter, visible_project
from service.db import get_session
from service.web.paging import past_last
from service.web.query_args import ORDERS, filters_set, load_args

bp = Blueprint("web_projects", __name__)
SORTS = {
    "project_id": "项目编号",
    "name": "项目名称",
    "amount": "总投资概算",
    "year": "计划年度",
    "updated": "最近更新",
}


@bp.route("/projects")
def register() -> str | Response:
    """The project register: filters (year, unit, stage, status, amount range), sorting, paging, export."""
    user = auth.require_user()
    session = get_session()
    schema = ProjectArgs()
    args, errors = load_args(schema, request.args)
    f = project_filter(args)
    sort, order = args.get("sort", "project_id"), args.get("order")
    page = reports.projects(
        session, user, f, sort, args.get("page", 1), args.get("page_size", 20), order=order
    )
    if (last := past_last(page)) is not None:
        return last
    totals = reports.project_totals(session, user, f)
    # An earlier spelling such as sort=-amount shows in the form as its key with its direction chosen.
    key, direction = reports.project_sort(sort, order)
    # The export gets the filters and sorting the list applied: the valid ones, not those it ignored.
    export_args = {
        k: v for k, v in request.args.items() if v.strip() and k in args and k not in ("page", "page_size")
    }
    return render_template(
        "projects.html",
        section="projects",
        page=page,
        errors=errors,
        args=request.args,
        total=totals.total_estimate,
        approved_total=totals.approved_budget,
        options=reports.project_filter_options(session, user),
        statuses=PROJECT_STATUS_LABELS,
        sorts=SORTS,
        sort=key,
        orders=ORDERS,
        order=order or (direction if sort in reports.PROJECT_SORT_ALIASES else ""),
        default_order=reports.project_sort(key)[1],
        sort_orders={k: reports.project_sort(k)[1] for k in SORTS},
        filtered=filters_set(schema, request.args),
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
        grade_names=GRADE_NAMES,
    )
