"""The manager dashboard page and its drill-down lists of waiting and overdue tasks, with Excel export."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from handlers.localtime import format_local
from processes import reports
from service.api.dashboard import CHARTS, require_manager, summary
from service.api.projects import xlsx_response
from service.api.schemas import PageArgs, WholeNumber, sort_order_field
from service.db import get_session, runtime
from service.web.formatting import with_args
from service.web.paging import past_last
from service.web.query_args import ORDERS, field_title, filters_set, load_args
from service.web.task_export import task_workbook

bp = Blueprint("web_dashboard", __name__)
SORTS = {"due": "到期时间", "overdue": "超期天数", "project_id": "项目编号"}


class TaskListArgs(PageArgs):
    unit = ma.fields.Str(validate=ma.validate.Length(max=32), metadata={"title": "建设单位"})
    role = ma.fields.Str(validate=ma.validate.Length(max=40), metadata={"title": "角色"})
    q = ma.fields.Str(validate=ma.validate.Length(max=100), metadata={"title": "项目"})
    sort = ma.fields.Str(
        validate=ma.validate.OneOf(list(reports.TASK_LIST_SORTS)), metadata={"title": "排序"}
    )
    order = sort_order_field("到期时间、项目编号升序，超期天数降序")


class OverdueArgs(TaskListArgs):
    days_min = WholeNumber(validate=ma.validate.Range(min=1, max=36500), metadata={"title": "超期天数不少于"})


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
    """The open overdue tasks, filtered by unit, role, project and days overdue; most overdue first."""
    return _task_list(overdue=True)


@bp.route("/dashboard/tasks")
def waiting() -> str | Response:
    """Every open task of the instances that go on, filtered by unit, role and project; nearest due first."""
    return _task_list(overdue=False)


@bp.route("/dashboard/overdue/export")
def overdue_export() -> Response:
    """The overdue list as the page filters and sorts it, as an Excel workbook."""
    return _task_export(overdue=True)


@bp.route("/dashboard/tasks/export")
def waiting_export() -> Response:
    """The waiting list as the page filters and sorts it, as an Excel workbook."""
    return _task_export(overdue=False)


class _Query:
    """A task list's query string read: the filter, the sort, the options offered and the errors to show."""

    def __init__(self, overdue: bool) -> None:
        self.schema = OverdueArgs() if overdue else TaskListArgs()
        self.args, self.errors = load_args(self.schema, request.args)
        self.now = runtime().clock.now()
        self.filter = reports.TaskListFilter(
            overdue=overdue,
            unit=self.args.get("unit"),
            role=self.args.get("role"),
            q=self.args.get("q"),
            days_min=self.args.get("days_min"),
        )
        default_sort = "overdue" if overdue else "due"
        self.sort, self.direction = reports.task_list_sort(
            self.args.get("sort", default_sort), self.args.get("order")
        )
        self.options = reports.task_list_options(get_session(), self.now, self.filter)
        self.role_names = dict(self.options["roles"])
        # A unit or role no longer on record (an old link) is said so and ignored, like any invalid value.
        for field, chosen in (("unit", self.filter.unit), ("role", self.filter.role)):
            if chosen and chosen not in dict(self.options[f"{field}s"]):
                title = field_title(self.schema, field)
                self.errors[field] = f"{title}「{chosen}」不是有效的取值，已忽略"
                setattr(self.filter, field, None)
                self.args.pop(field)

    def export_args(self) -> dict[str, Any]:
        """Return the filters and sorting the list applied: the valid ones, not those it ignored."""
        return {k: v for k, v in self.args.items() if k not in ("page", "page_size") and k in request.args}


def _task_list(overdue: bool) -> str | Response:
    require_manager()
    if request.args.get("role") == "" and set(request.args) <= {"role", "page"}:
        # The dashboard links the overdue tasks without a role as ?role= (reports.overdue_by_role's "");
        # the form's 全部 sends role= too, but always with its other fields.
        return redirect(with_args(role=reports.NO_ROLE))
    query = _Query(overdue)
    page = reports.task_list(
        get_session(),
        query.now,
        query.filter,
        query.sort,
        query.direction,
        query.args.get("page", 1),
        query.args.get("page_size", 20),
    )
    if (last := past_last(page)) is not None:
        return last
    units, roles = dict(query.options["units"]), query.role_names
    chosen = [units.get(query.filter.unit or ""), roles.get(query.filter.role or "")]
    endpoint = "web_dashboard.overdue" if overdue else "web_dashboard.waiting"
    return render_template(
        "overdue.html",
        section="dashboard",
        page=page,
        now=query.now,
        overdue=overdue,
        heading="超期任务" if overdue else "待办任务",
        subtitle=" · ".join(name for name in chosen if name),
        endpoint=endpoint,
        errors=query.errors,
        args=request.args,
        filter=query.filter,
        options=query.options,
        role_names=roles,
        sorts=SORTS,
        sort=query.sort,
        orders=ORDERS,
        order=query.args.get("order", ""),
        default_order=reports.TASK_LIST_SORTS[query.sort],
        sort_orders=reports.TASK_LIST_SORTS,
        filtered=filters_set(query.schema, request.args),
        export_url=url_for(f"{endpoint}_export", **query.export_args()),
    )


def _task_export(overdue: bool) -> Response:
    require_manager()
    query = _Query(overdue)
    rows = reports.task_list_for_export(get_session(), query.now, query.filter, query.sort, query.direction)
    title = "超期任务" if overdue else "待办任务"
    content = task_workbook(rows, query.now, query.role_names, overdue=overdue, title=title)
    return xlsx_response(content, f"{title}_{format_local(query.now, '%Y%m%d')}.xlsx")
