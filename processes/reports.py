"""Read paths of the project register and the manager dashboard, as SQL over projections and domain tables."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, case, exists, false, func, or_, select, true
from sqlalchemy.orm import Session, contains_eager, defer, selectinload

from handlers.models import STAGES, Document, Project
from processes.queries import (
    ACTIVE_STATUSES,
    ASC,
    DESC,
    SORT_ORDERS,
    Page,
    ordering,
    paginate,
    searched,
    sees_everything,
    visible_instances,
    within,
)
from processes.store.models import (
    HumanTask,
    Incident,
    Organisation,
    ProcessInstance,
    ProcessVersion,
    Role,
    TaskStatus,
    User,
)

MAX_EXPORT_ROWS = 10_000
OPEN_INSTANCE = ACTIVE_STATUSES  # what the dashboard counts as running; the instance list's status=active

# ----------------------------------------------------------------------------- project register

# The register's sort keys: the column and its default direction (编号 and 名称 ascending, amounts largest
# first, years and times newest first). The row id breaks ties.
PROJECT_SORTS: dict[str, tuple[Any, str]] = {
    "project_id": (Project.project_id, ASC),
    "name": (Project.name, ASC),
    "amount": (Project.total_estimate, DESC),
    "year": (Project.plan_year, DESC),
    "updated": (Project.updated_at, DESC),
}
# Earlier spellings of two reversed keys, still accepted: the key and the direction they stand for.
PROJECT_SORT_ALIASES = {"-project_id": ("project_id", DESC), "-amount": ("amount", ASC)}


def project_sort(sort: str, order: str | None = None) -> tuple[str, str]:
    """Return the register's sort key and direction: `order` if given, else the key's (or alias's) default."""
    if sort in PROJECT_SORT_ALIASES:
        key, default = PROJECT_SORT_ALIASES[sort]
    else:
        key = sort if sort in PROJECT_SORTS else "project_id"
        default = PROJECT_SORTS[key][1]
    return key, order if order in SORT_ORDERS else default


@dataclass
class ProjectFilter:
    """Filters of the project register; every field is optional."""

    year: int | None = None
    unit: str | None = None  # unit_code (统一社会信用代码)
    stage: str | None = None
    status: str | None = None
    amount_min: Decimal | float | None = None
    amount_max: Decimal | float | None = None
    q: str | None = None


def visible_projects(user: User) -> ColumnElement[bool]:
    """A WHERE clause limiting register rows to those `user` may see (own unit, or an instance they see)."""
    if sees_everything(user):
        return true()
    own_unit = Project.unit_code == user.organisation.code if user.organisation is not None else false()
    seen = exists().where(ProcessInstance.project_id == Project.project_id, visible_instances(user))
    return or_(own_unit, seen)


def _project_query(user: User, f: ProjectFilter, sort: str, order: str | None = None) -> Select:
    key, direction = project_sort(sort, order)
    stmt = (
        select(Project)
        .where(visible_projects(user))
        .order_by(*ordering(PROJECT_SORTS[key][0], direction, Project.id))
    )
    if f.year:
        stmt = stmt.where(Project.plan_year == f.year)
    if f.unit:
        stmt = stmt.where(Project.unit_code == f.unit)
    if f.stage:
        stmt = stmt.where(Project.stage == f.stage)
    if f.status:
        stmt = stmt.where(Project.status == f.status)
    stmt = within(stmt, Project.total_estimate, f.amount_min, f.amount_max)
    return searched(stmt, f.q, Project.name, Project.project_id)


def projects(
    session: Session,
    user: User,
    f: ProjectFilter,
    sort: str = "project_id",
    page: int = 1,
    page_size: int = 20,
    *,
    order: str | None = None,
) -> Page[Project]:
    """Return one page of the register rows `user` may see, filtered and sorted (`order`: asc or desc)."""
    return paginate(session, _project_query(user, f, sort, order), page, page_size)


def projects_for_export(
    session: Session, user: User, f: ProjectFilter, sort: str = "project_id", order: str | None = None
) -> list[Project]:
    """Return every matching register row (capped at MAX_EXPORT_ROWS) for a spreadsheet."""
    # The spreadsheet shows no JSON column: decoding each row's declaration and 查重 took most of the time.
    stmt = _project_query(user, f, sort, order).options(
        defer(Project.declaration), defer(Project.duplicate_check)
    )
    return list(session.scalars(stmt.limit(MAX_EXPORT_ROWS)))


class RegisterTotals(NamedTuple):
    """How many register rows match, and the sums of their 总投资概算 and 批复金额."""

    count: int
    total_estimate: Decimal
    approved_budget: Decimal


def project_totals(session: Session, user: User, f: ProjectFilter) -> RegisterTotals:
    """Return how many rows match and the sums of their 总投资概算 and 批复金额."""
    sub = _project_query(user, f, "project_id").order_by(None).subquery()
    count, total, approved = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(sub.c.total_estimate), 0),
            func.coalesce(func.sum(sub.c.approved_budget), 0),
        )
    ).one()
    cents = Decimal("0.01")  # PostgreSQL sums nothing to an integer 0: amounts always read to the cent
    return RegisterTotals(
        int(count), Decimal(str(total)).quantize(cents), Decimal(str(approved)).quantize(cents)
    )


def project_filter_options(session: Session, user: User) -> dict[str, list[Any]]:
    """Return the years, units and statuses present among the rows `user` may see, and every stage.

    Stages are the lifecycle's fixed vocabulary: a dashboard link to a stage with no project shows it chosen.
    """
    where = visible_projects(user)
    years = list(
        session.scalars(select(Project.plan_year).where(where).distinct().order_by(Project.plan_year.desc()))
    )
    units = [
        tuple(r)
        for r in session.execute(
            select(Project.unit_code, func.max(Project.unit_name))
            .where(where)
            .group_by(Project.unit_code)
            .order_by(func.max(Project.unit_name))
        )
    ]
    stages = set(session.scalars(select(Project.stage).where(where).distinct()))
    statuses = list(session.scalars(select(Project.status).where(where).distinct().order_by(Project.status)))
    ordered_stages = [*STAGES, *sorted(stages - set(STAGES))]
    return {"years": years, "units": units, "stages": ordered_stages, "statuses": statuses}


def project_by_id(session: Session, user: User, project_id: str) -> Project | None:
    """Return a register row `user` may see, or None."""
    stmt = select(Project).where(Project.project_id == project_id, visible_projects(user))
    return session.scalars(stmt).first()


def may_see_project_instance(
    session: Session, user: User, project_id: str | None, instance_id: int | None = None
) -> bool:
    """Tell whether `user` may see an instance of this project (or the given instance)."""
    if sees_everything(user):
        return True
    conditions = []
    if project_id:
        conditions.append(ProcessInstance.project_id == project_id)
    if instance_id:
        conditions.append(ProcessInstance.id == instance_id)
    if not conditions:
        return False
    return (
        session.scalar(select(ProcessInstance.id).where(or_(*conditions), visible_instances(user)).limit(1))
        is not None
    )


def documents_of(
    session: Session, project_id: str | None, instance_ids: list[int] | None = None
) -> list[Document]:
    """Return the generated and stored documents of a project and/or instances, newest first."""
    conditions = []
    if project_id:
        conditions.append(Document.project_id == project_id)
    if instance_ids:
        conditions.append(Document.instance_id.in_(instance_ids))
    if not conditions:
        return []
    return list(
        session.scalars(
            select(Document).where(or_(*conditions)).order_by(Document.created_at.desc(), Document.id.desc())
        )
    )


def project_instances(session: Session, user: User, project_id: str) -> list[ProcessInstance]:
    """Return the instances of a project that `user` may see, oldest first."""
    return list(
        session.scalars(
            select(ProcessInstance)
            .where(ProcessInstance.project_id == project_id, visible_instances(user))
            .order_by(ProcessInstance.id)
        )
    )


# ----------------------------------------------------------------------------- dashboard


def projects_by_stage(session: Session) -> list[tuple[str, int]]:
    """Return (stage, number of register rows) for every lifecycle stage in order, then any other stage."""
    counts = dict(session.execute(select(Project.stage, func.count()).group_by(Project.stage)).all())
    ordered = list(STAGES) + sorted(s for s in counts if s not in STAGES)
    return [(s, int(counts.get(s, 0))) for s in ordered]


@dataclass
class UnitYearAmount:
    """The sum of 总投资概算 of one unit's projects in one plan year."""

    unit_code: str
    unit_name: str
    year: int
    amount: Decimal
    count: int


def amounts_by_unit_year(session: Session) -> list[UnitYearAmount]:
    """Return total estimates grouped by construction unit and plan year."""
    rows = session.execute(
        select(
            Project.unit_code,
            func.max(Project.unit_name),
            Project.plan_year,
            func.coalesce(func.sum(Project.total_estimate), 0),
            func.count(),
        )
        .group_by(Project.unit_code, Project.plan_year)
        .order_by(Project.plan_year, Project.unit_code)
    )
    return [
        UnitYearAmount(code, name, int(year), Decimal(str(amount)), int(n))
        for code, name, year, amount, n in rows
    ]


def _waiting_filter() -> list[ColumnElement[bool]]:
    """Open tasks of instances that go on (not suspended or ended)."""
    return [HumanTask.status == TaskStatus.READY, ProcessInstance.status.in_(OPEN_INSTANCE)]


def _open_task_filter(now: datetime) -> list[ColumnElement[bool]]:
    """Waiting tasks past their deadline."""
    return [*_waiting_filter(), HumanTask.due_at.is_not(None), HumanTask.due_at < now]


def overdue_by_role(session: Session, now: datetime) -> list[tuple[str, str, int]]:
    """Return (role code, role name, number of overdue open tasks), largest first."""
    rows = session.execute(
        select(HumanTask.role_code, func.max(Role.name), func.count(HumanTask.id))
        .join(HumanTask.instance)
        .outerjoin(Role, Role.code == HumanTask.role_code)
        .where(*_open_task_filter(now))
        .group_by(HumanTask.role_code)
        .order_by(func.count(HumanTask.id).desc(), HumanTask.role_code)
    )
    return [(code or "", name or ("指定办理人" if code is None else code), int(n)) for code, name, n in rows]


# ----------------------------------------------------------------------------- managers' task lists

# The role filter's value for tasks given to a person rather than a role (role codes are upper case).
NO_ROLE = "none"
NO_ROLE_NAME = "指定办理人"
# The task lists' sort keys and their default directions: 到期时间 and 项目编号 ascending,
# 超期天数 largest first.
TASK_LIST_SORTS = {"due": ASC, "overdue": DESC, "project_id": ASC}


@dataclass
class TaskListFilter:
    """Filters of the managers' lists of open tasks (待办任务, or 超期任务 with `overdue`)."""

    overdue: bool = False
    unit: str | None = None  # the instance's 建设单位, by 统一社会信用代码
    role: str | None = None  # a role code, or NO_ROLE
    q: str | None = None  # project name or 项目编号
    days_min: int | None = None  # overdue by at least this many whole days


def task_list_sort(sort: str | None, order: str | None = None) -> tuple[str, str]:
    """Return the task list's sort key and direction: `order` if given, else the key's default."""
    key = sort if sort in TASK_LIST_SORTS else "due"
    return key, order if order in SORT_ORDERS else TASK_LIST_SORTS[key]


def _task_list_order(key: str, direction: str) -> tuple[Any, ...]:
    """ORDER BY terms of a task list; tasks without a deadline (or project number) come last either way."""
    if key == "overdue":  # more days overdue is an earlier deadline
        return ordering(HumanTask.due_at, DESC if direction == ASC else ASC, HumanTask.id)
    if key == "project_id":
        # Within one project its nearest deadline first.
        project = ordering(ProcessInstance.project_id, direction, ProcessInstance.project_id)
        return (*project, *ordering(HumanTask.due_at, ASC, HumanTask.id))
    return ordering(HumanTask.due_at, direction, HumanTask.id)


def _task_list_where(now: datetime, f: TaskListFilter) -> list[ColumnElement[bool]]:
    where = _open_task_filter(now) if f.overdue else _waiting_filter()
    if f.unit:
        where.append(ProcessInstance.unit_id.in_(select(Organisation.id).where(Organisation.code == f.unit)))
    if f.role == NO_ROLE:
        where.append(HumanTask.role_code.is_(None))
    elif f.role:
        where.append(HumanTask.role_code == f.role)
    if f.days_min:
        # Whole days overdue, as the pages count them: due at least `days_min` × 24 hours ago.
        where += [HumanTask.due_at.is_not(None), HumanTask.due_at <= now - timedelta(days=f.days_min)]
    return where


def _task_list_query(
    now: datetime, f: TaskListFilter, sort: str | None = None, order: str | None = None
) -> Select:
    stmt = (
        select(HumanTask)
        .join(HumanTask.instance)
        .options(
            contains_eager(HumanTask.instance).selectinload(ProcessInstance.unit),
            selectinload(HumanTask.assignee),
            selectinload(HumanTask.claimed_by),
            defer(HumanTask.instructions),
            defer(HumanTask.draft_json),
        )
        .where(*_task_list_where(now, f))
        .order_by(*_task_list_order(*task_list_sort(sort, order)))
    )
    return searched(stmt, f.q, ProcessInstance.title, ProcessInstance.project_id)


def task_list(
    session: Session,
    now: datetime,
    f: TaskListFilter,
    sort: str | None = None,
    order: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page[HumanTask]:
    """Return one page of the open (or overdue) tasks of instances that go on, filtered and sorted."""
    return paginate(session, _task_list_query(now, f, sort, order), page, page_size)


def task_list_for_export(
    session: Session, now: datetime, f: TaskListFilter, sort: str | None = None, order: str | None = None
) -> list[HumanTask]:
    """Return every task `task_list` would page through (capped at MAX_EXPORT_ROWS) for a spreadsheet."""
    return list(session.scalars(_task_list_query(now, f, sort, order).limit(MAX_EXPORT_ROWS)).unique())


def task_list_options(session: Session, now: datetime, f: TaskListFilter) -> dict[str, list[tuple[str, str]]]:
    """Return the units (code, short name) and roles (code, name) that have tasks in the list, by name."""
    # Taken over the whole list, not narrowed by the other filters, so one choice never hides the others. A
    # chosen unit or role that exists but has no such task is added, so the form shows it chosen.
    where = _task_list_where(now, TaskListFilter(overdue=f.overdue))
    units = dict(
        session.execute(
            select(Organisation.code, Organisation.short_name)
            .join(ProcessInstance, ProcessInstance.unit_id == Organisation.id)
            .join(HumanTask, HumanTask.instance_id == ProcessInstance.id)
            .where(*where)
            .distinct()
        ).all()
    )
    if f.unit and f.unit not in units:
        chosen = session.scalar(select(Organisation.short_name).where(Organisation.code == f.unit))
        if chosen is not None:
            units[f.unit] = chosen
    roles_stmt = select(HumanTask.role_code).join(HumanTask.instance).where(*where).distinct()
    codes = set(session.scalars(roles_stmt))
    if f.role and f.role != NO_ROLE:
        codes.add(f.role)
    names = dict(session.execute(select(Role.code, Role.name).where(Role.code.in_(codes - {None}))).all())
    roles = sorted(names.items(), key=lambda item: item[1])
    if None in codes or f.role == NO_ROLE:
        roles.append((NO_ROLE, NO_ROLE_NAME))
    return {"units": sorted(units.items(), key=lambda item: item[1]), "roles": roles}


@dataclass
class StageDuration:
    """How long the human work of one (sub)process took, over the instances that went through it."""

    process_id: str
    name: str
    median_days: float
    instances: int
    open_instances: int


def stage_durations(session: Session, now: datetime) -> list[StageDuration]:
    """Return the median days from the first task created to the last task done, per (sub)process.

    SQL groups the task timestamps per instance and process; only the median is taken in Python,
    because SQLite has no percentile function. Stages still open count up to `now`.
    """
    rows = session.execute(
        select(
            HumanTask.process_id,
            HumanTask.instance_id,
            func.min(HumanTask.created_at),
            func.max(HumanTask.completed_at),
            func.sum(case((HumanTask.status == TaskStatus.READY, 1), else_=0)),
        ).group_by(HumanTask.process_id, HumanTask.instance_id)
    )
    spans: dict[str, list[float]] = defaultdict(list)
    open_count: dict[str, int] = defaultdict(int)
    for process_id, _instance_id, first, last, still_open in rows:
        end = now if still_open or last is None else last
        spans[process_id].append(max((end - first).total_seconds(), 0) / 86400)
        if still_open:
            open_count[process_id] += 1
    names = _process_names(session)
    out = [
        StageDuration(pid, names.get(pid, pid), round(statistics.median(days), 1), len(days), open_count[pid])
        for pid, days in spans.items()
    ]
    return sorted(out, key=lambda d: (_STAGE_ORDER.get(d.process_id, 99), d.process_id))


_STAGE_ORDER = {
    pid: i
    for i, pid in enumerate(
        (
            "lifecycle",
            "declaration",
            "initial_review",
            "approval",
            "expert_review",
            "joint_review",
            "annual_plan",
            "construction",
            "progress_report",
            "acceptance",
            "operation",
            "om_annual",
        )
    )
}


def _process_names(session: Session) -> dict[str, str]:
    newest = (
        select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("v"))
        .group_by(ProcessVersion.process_id)
        .subquery()
    )
    rows = session.execute(
        select(ProcessVersion.process_id, ProcessVersion.name).join(
            newest,
            and_(ProcessVersion.process_id == newest.c.process_id, ProcessVersion.version == newest.c.v),
        )
    )
    return dict(rows.all())


@dataclass
class IncidentRow:
    """An instance with unresolved incidents."""

    instance: ProcessInstance
    open_incidents: int
    last_message: str
    last_at: datetime


def instances_with_incidents(session: Session, limit: int = 50) -> list[IncidentRow]:
    """Return instances with unresolved incidents, most recent incident first."""
    agg = (
        select(
            Incident.instance_id, func.count(Incident.id).label("n"), func.max(Incident.id).label("last_id")
        )
        .where(Incident.resolved_at.is_(None))
        .group_by(Incident.instance_id)
        .subquery()
    )
    rows = session.execute(
        select(ProcessInstance, agg.c.n, Incident.message, Incident.created_at)
        .join(agg, agg.c.instance_id == ProcessInstance.id)
        .join(Incident, Incident.id == agg.c.last_id)
        .order_by(Incident.created_at.desc(), ProcessInstance.id.desc())
        .limit(limit)
    )
    return [IncidentRow(inst, int(n), message, at) for inst, n, message, at in rows]


def incidents_by_process(session: Session) -> list[tuple[str, str, int]]:
    """Return (process id, name, number of instances with unresolved incidents)."""
    rows = session.execute(
        select(ProcessInstance.process_id, func.count(func.distinct(ProcessInstance.id)))
        .join(Incident, Incident.instance_id == ProcessInstance.id)
        .where(Incident.resolved_at.is_(None))
        .group_by(ProcessInstance.process_id)
        .order_by(ProcessInstance.process_id)
    )
    names = _process_names(session)
    return [(pid, names.get(pid, pid), int(n)) for pid, n in rows]


def headline(session: Session, now: datetime) -> dict[str, Any]:
    """Return the dashboard's headline figures."""
    projects_total, amount = session.execute(
        select(func.count(Project.id), func.coalesce(func.sum(Project.total_estimate), 0))
    ).one()
    running = (
        session.scalar(
            select(func.count(ProcessInstance.id)).where(ProcessInstance.status.in_(OPEN_INSTANCE))
        )
        or 0
    )
    overdue = (
        session.scalar(
            select(func.count(HumanTask.id)).join(HumanTask.instance).where(*_open_task_filter(now))
        )
        or 0
    )
    open_tasks = (
        session.scalar(select(func.count(HumanTask.id)).join(HumanTask.instance).where(*_waiting_filter()))
        or 0
    )
    errors = (
        session.scalar(
            select(func.count(func.distinct(Incident.instance_id))).where(Incident.resolved_at.is_(None))
        )
        or 0
    )
    return {
        "projects": int(projects_total),
        "total_estimate": Decimal(str(amount)),
        "running_instances": running,
        "open_tasks": open_tasks,
        "overdue_tasks": overdue,
        "instances_with_incidents": errors,
    }
