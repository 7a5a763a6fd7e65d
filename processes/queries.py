"""Read paths as SQL: task lists, instance lists, history, dashboards — never a deserialised workflow."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, false, func, or_, select, true
from sqlalchemy.orm import Session, joinedload, selectinload

from processes.store.models import (
    HumanTask,
    Incident,
    InstanceEvent,
    InstanceStatus,
    LaneRole,
    Organisation,
    ProcessInstance,
    ProcessVersion,
    Role,
    RoleScope,
    TaskStatus,
    User,
    UserRole,
)
from processes.store.prepared import Prepared

T = TypeVar("T")
MAX_PAGE_SIZE = 200


@dataclass
class Page(Generic[T]):
    """One page of a list and how many items there are in all."""

    items: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        """Return the number of pages (1 for an empty list), i.e. the last page's number."""
        return max(1, -(-self.total // self.page_size))


def paginate(session: Session, stmt: Select, page: int, page_size: int) -> Page[Any]:
    """Run `stmt` for one page and count the whole."""
    page = max(page, 1)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = list(session.scalars(stmt.limit(page_size).offset((page - 1) * page_size)).unique())
    return Page(items, total, page, page_size)


def sees_everything(user: User) -> bool:
    """Admins, managers and municipal bureau staff see every instance; units see their own."""
    return (
        user.is_admin
        or user.is_manager
        or (user.organisation is not None and user.organisation.kind in ("bureau", "government"))
    )


INDEPENDENT_REVIEWER = "EXPERT"


def visible_instances(user: User) -> ColumnElement[bool]:
    """A WHERE clause limiting instances to those `user` may see."""
    if sees_everything(user):
        return true()
    if user.role_codes == {INDEPENDENT_REVIEWER}:
        # Experts score independently: they see their own tasks, never the project's file with the others'
        # scores in it.
        return false()
    involved = exists().where(
        HumanTask.instance_id == ProcessInstance.id,
        or_(HumanTask.assignee_id == user.id, HumanTask.completed_by_id == user.id),
    )
    own_unit = ProcessInstance.unit_id == user.organisation_id if user.organisation_id else false()
    return or_(own_unit, involved, ProcessInstance.initiator_id == user.id)


def can_see_instance(session: Session, user: User, instance: ProcessInstance) -> bool:
    """Tell whether `user` may see `instance` and its data."""
    if sees_everything(user):
        return True
    return bool(
        session.scalar(
            select(ProcessInstance.id).where(ProcessInstance.id == instance.id, visible_instances(user))
        )
    )


def searched(stmt: Select, q: str | None, *columns: Any) -> Select:
    """Keep the rows where any of `columns` contains `q` (case-insensitive); all rows when `q` is empty."""
    q = (q or "").strip()
    if not q:
        return stmt
    # What is typed is text: % and _ match themselves, not any characters.
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return stmt.where(or_(*(column.ilike(like, escape="\\") for column in columns)))


def within(stmt: Select, column: Any, low: Any, high: Any) -> Select:
    """Keep the rows whose `column` lies between the bounds given (either may be None)."""
    if low is not None:
        stmt = stmt.where(column >= low)
    if high is not None:
        stmt = stmt.where(column <= high)
    return stmt


ASC, DESC = "asc", "desc"
SORT_ORDERS = (ASC, DESC)


def ordering(column: Any, direction: str, tie: Any) -> tuple[Any, ...]:
    """Return ORDER BY terms: `column` in `direction` (empty values last), then `tie` the same way.

    The tie-breaker (a unique column) keeps the order stable, so pages neither repeat nor skip rows, and
    makes one direction the exact reverse of the other.
    """
    terms = []
    for col in (column, tie) if column is not tie else (column,):
        term = col.asc() if direction == ASC else col.desc()
        terms.append(term.nulls_last() if getattr(col.expression, "nullable", False) else term)
    return tuple(terms)


def task_scope(user: User, scope: str) -> ColumnElement[bool]:
    """WHERE clause for 'mine' (assigned or claimed), 'roles' (my roles' pool) or 'all' (both)."""
    roles = user.role_codes
    holds_role = HumanTask.role_code.in_(roles) if roles else false()
    return _scope(user.id, user.organisation_id, holds_role, scope)


def _scope(
    user_id: Any, organisation_id: Any, holds_role: ColumnElement[bool], scope: str
) -> ColumnElement[bool]:
    """`task_scope` for a user given by id, unit and a role test (values or bound parameters)."""
    mine = or_(HumanTask.assignee_id == user_id, HumanTask.claimed_by_id == user_id)
    pool = and_(
        HumanTask.assignee_id.is_(None),
        holds_role,
        or_(HumanTask.unit_id.is_(None), HumanTask.unit_id == organisation_id),
    )
    if scope == "mine":
        return mine
    if scope == "roles":
        return and_(pool, HumanTask.claimed_by_id.is_(None))
    return or_(mine, and_(pool, HumanTask.claimed_by_id.is_(None)))


TASK_LIST_LOADS = (
    joinedload(HumanTask.instance),
    selectinload(HumanTask.assignee),
    selectinload(HumanTask.claimed_by),
    selectinload(HumanTask.completed_by),
)
INSTANCE_LIST_LOADS = (
    joinedload(ProcessInstance.version),
    selectinload(ProcessInstance.unit),
    selectinload(ProcessInstance.initiator),
)

TASK_SORTS = {
    "due": (HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id),
    "created": (HumanTask.created_at.desc(), HumanTask.id.desc()),
    "name": (HumanTask.name, HumanTask.id),
}


def open_tasks(
    session: Session,
    user: User,
    scope: str = "all",
    q: str | None = None,
    sort: str = "due",
    page: int = 1,
    page_size: int = 20,
) -> Page[HumanTask]:
    """Return the open tasks `user` can work on, searchable by task name, project or instance title."""
    stmt = (
        select(HumanTask)
        .join(HumanTask.instance)
        .options(*TASK_LIST_LOADS)
        .where(
            HumanTask.status == TaskStatus.READY,
            task_scope(user, scope),
            ProcessInstance.status.in_(
                [InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.ERROR]
            ),
        )
        .order_by(*TASK_SORTS.get(sort, TASK_SORTS["due"]))
    )
    stmt = searched(stmt, q, HumanTask.name, ProcessInstance.title, ProcessInstance.project_id)
    return paginate(session, stmt, page, page_size)


_OPEN_TASKS = (
    select(func.count(HumanTask.id))
    .join(HumanTask.instance)
    .where(
        HumanTask.status == TaskStatus.READY,
        ProcessInstance.status.in_([InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.ERROR]),
    )
)


def task_counts(session: Session, user: User, now: datetime) -> dict[str, int]:
    """Return counts for the home page: mine, my roles' pool, overdue."""
    return {
        "mine": session.scalar(_OPEN_TASKS.where(task_scope(user, "mine"))) or 0,
        "roles": session.scalar(_OPEN_TASKS.where(task_scope(user, "roles"))) or 0,
        "overdue": session.scalar(_OPEN_TASKS.where(task_scope(user, "all"), HumanTask.due_at < now)) or 0,
    }


def open_task_count(session: Session, user: User) -> int:
    """How many open tasks wait for `user`: their own and their roles' unclaimed ones."""
    return session.scalar(_OPEN_TASKS.where(task_scope(user, "all"))) or 0


# The instance list's sort keys: the column and its default direction (times newest first, amounts largest
# first, the number ascending). The id breaks ties.
INSTANCE_SORTS: dict[str, tuple[Any, str]] = {
    "started": (ProcessInstance.started_at, DESC),
    "updated": (ProcessInstance.updated_at, DESC),
    "amount": (ProcessInstance.total_estimate, DESC),
    "id": (ProcessInstance.id, ASC),
}


def instance_order(sort: str, order: str | None = None) -> str:
    """Return the direction the instance list sorts in: `order` if given, else the sort key's default."""
    return order if order in SORT_ORDERS else INSTANCE_SORTS.get(sort, INSTANCE_SORTS["started"])[1]


# The instance list's pseudo-status for the instances that have not ended and are not suspended: running,
# waiting (for a timer or a message) or stopped by an incident. The dashboard counts them and links here.
ACTIVE = "active"
ACTIVE_STATUSES = (InstanceStatus.RUNNING, InstanceStatus.WAITING, InstanceStatus.ERROR)


@dataclass
class InstanceFilter:
    """Filters of the instance list; every field is optional."""

    process_id: str | None = None
    version: int | None = None  # the process version's number (with process_id: one version's instances)
    step: str | None = None  # a (called) process the instance had user tasks in, e.g. final_acceptance
    status: str | None = None  # an instance status, or ACTIVE
    unit: str | None = None  # organisation code
    stage: str | None = None
    project_id: str | None = None
    started_from: datetime | None = None
    started_to: datetime | None = None
    plan_year: int | None = None
    amount_min: float | None = None
    amount_max: float | None = None
    q: str | None = None


def instances(
    session: Session,
    user: User,
    f: InstanceFilter,
    sort: str = "started",
    page: int = 1,
    page_size: int = 20,
    *,
    order: str | None = None,
) -> Page[ProcessInstance]:
    """Return the instances `user` may see, filtered and sorted (`order`: asc, desc or the key's default)."""
    column, _default = INSTANCE_SORTS.get(sort, INSTANCE_SORTS["started"])
    stmt = (
        select(ProcessInstance)
        .options(*INSTANCE_LIST_LOADS)
        .where(visible_instances(user))
        .order_by(*ordering(column, instance_order(sort, order), ProcessInstance.id))
    )
    if f.process_id:
        stmt = stmt.where(ProcessInstance.process_id == f.process_id)
    if f.version:
        numbered = select(ProcessVersion.id).where(ProcessVersion.version == f.version)
        stmt = stmt.where(ProcessInstance.process_version_id.in_(numbered))
    if f.step:
        ran = select(HumanTask.instance_id).where(HumanTask.process_id == f.step)
        stmt = stmt.where(ProcessInstance.id.in_(ran))
    if f.status == ACTIVE:
        stmt = stmt.where(ProcessInstance.status.in_(ACTIVE_STATUSES))
    elif f.status:
        stmt = stmt.where(ProcessInstance.status == f.status)
    if f.unit:
        stmt = stmt.join(Organisation, Organisation.id == ProcessInstance.unit_id).where(
            Organisation.code == f.unit
        )
    if f.stage:
        stmt = stmt.where(ProcessInstance.stage == f.stage)
    if f.project_id:
        stmt = stmt.where(ProcessInstance.project_id == f.project_id)
    if f.started_from:
        stmt = stmt.where(ProcessInstance.started_at >= f.started_from)
    if f.started_to:
        stmt = stmt.where(ProcessInstance.started_at <= f.started_to)
    if f.plan_year:
        stmt = stmt.where(ProcessInstance.plan_year == f.plan_year)
    stmt = within(stmt, ProcessInstance.total_estimate, f.amount_min, f.amount_max)
    stmt = searched(stmt, f.q, ProcessInstance.title, ProcessInstance.project_id)
    return paginate(session, stmt, page, page_size)


def history(session: Session, instance_id: int) -> list[InstanceEvent]:
    """Return an instance's events, oldest first."""
    return list(
        session.scalars(
            select(InstanceEvent)
            .options(selectinload(InstanceEvent.user))
            .where(InstanceEvent.instance_id == instance_id)
            .order_by(InstanceEvent.at, InstanceEvent.id)
        )
    )


def earlier_answers(session: Session, task: HumanTask) -> dict[str, Any] | None:
    """Return what earlier runs of this user task in the same round submitted (latest wins); None if none.

    A task runs again when a gateway loops back to it (a return for correction): those runs share the task's
    loop round (`round_key`, None outside loops). A new round of a loop (next month's progress report, next
    year's O&M filing) is a new period, not a correction, and starts afresh. For a task with an owner only
    that owner's runs count (an expert sees no other expert's answers). History keeps the values a submission
    changed, so a field submitted unchanged is missing here; the caller falls back to the task's data for it.
    """
    earlier = [
        changes
        for run, changes in run_changes(session, task, task.assignee_id)
        if run.id < task.id and run.round_key == task.round_key
    ]
    if not earlier:
        return None
    answers: dict[str, Any] = {}
    for changes in earlier:
        for name, change in changes.items():
            if isinstance(change, dict) and "new" in change:
                answers[name] = change["new"]
    return answers


def run_changes(
    session: Session, task: HumanTask, user_id: int | None = None
) -> list[tuple[Any, dict[str, Any]]]:
    """Each completed run of `task`'s step (by one person, if given) with the changes its completion recorded.

    The history keeps one completion event per run and no task id, so a person's k-th completed run is paired
    with their k-th completion event. Runs come in the order they were completed; each is a row of (id,
    completed_by_id, round_key).
    """
    runs = select(HumanTask.id, HumanTask.completed_by_id, HumanTask.round_key).where(
        HumanTask.instance_id == task.instance_id,
        HumanTask.spec_id == task.spec_id,
        HumanTask.process_id == task.process_id,
        HumanTask.name == task.name,
        HumanTask.status == TaskStatus.COMPLETED,
    )
    if user_id is not None:
        runs = runs.where(HumanTask.completed_by_id == user_id)
    done = session.execute(runs.order_by(HumanTask.completed_at, HumanTask.id)).all()
    paired: dict[int, tuple[Any, dict[str, Any]]] = {}
    for person in {run.completed_by_id for run in done}:
        own = [run for run in done if run.completed_by_id == person]
        for run, changes in zip(own, recorded_changes(session, task, [person]), strict=False):
            paired[run.id] = (run, changes)
    return [paired[run.id] for run in done if run.id in paired]


def recorded_changes(session: Session, task: HumanTask, user_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The `changes` recorded for each completion of `task`'s step by these users, oldest first."""
    details = session.scalars(
        select(InstanceEvent.detail)
        .where(
            InstanceEvent.instance_id == task.instance_id,
            InstanceEvent.kind == "task_completed",
            InstanceEvent.spec_id == task.spec_id,
            InstanceEvent.task_name == task.name,
            InstanceEvent.user_id.in_(list(user_ids)),
        )
        .order_by(InstanceEvent.id)
    )
    return [(detail or {}).get("changes") or {} for detail in details]


def instance_tasks(session: Session, instance_id: int, open_only: bool = False) -> list[HumanTask]:
    """Return the human tasks of an instance, newest first."""
    stmt = (
        select(HumanTask)
        .options(*TASK_LIST_LOADS)
        .where(HumanTask.instance_id == instance_id)
        .order_by(HumanTask.id.desc())
    )
    if open_only:
        stmt = stmt.where(HumanTask.status == TaskStatus.READY)
    return list(session.scalars(stmt))


def incidents(session: Session, instance_id: int) -> list[Incident]:
    """Return the incidents of an instance, newest first."""
    return list(
        session.scalars(
            select(Incident).where(Incident.instance_id == instance_id).order_by(Incident.id.desc())
        )
    )


# Runs after every completion over HTTP: built once and run on the driver (see processes.store.prepared).
_NEXT_TASK = Prepared(
    select(HumanTask.id)
    .join(HumanTask.instance)
    .where(
        HumanTask.instance_id == bindparam("instance_id"),
        HumanTask.status == TaskStatus.READY,
        ProcessInstance.status.in_([InstanceStatus.RUNNING, InstanceStatus.WAITING]),
        _scope(
            bindparam("user_id"),
            bindparam("organisation_id"),
            HumanTask.role_code.in_(
                select(UserRole.role_code).where(UserRole.user_id == bindparam("user_id"))
            ),
            "all",
        ),
    )
    .order_by(HumanTask.id)
    .limit(1)
)


def next_task_id(session: Session, user: User, instance_id: int) -> int | None:
    """Return the id of the user's next open task in an instance (the wizard flow), or None."""
    params = {"instance_id": instance_id, "user_id": user.id, "organisation_id": user.organisation_id}
    return _NEXT_TASK.scalar(session, params)


def is_unit_case(session: Session, instance: ProcessInstance) -> bool:
    """Whether an instance is a unit's own project: named one, or its process starts in a unit role's lane.

    The annual plan, started by 市数管局项目科 for all units, is not; a declaration not yet named is.
    """
    if instance.project_id:
        return True
    lane = instance.version.start_lane
    scope = session.scalar(
        select(Role.scope).join(LaneRole, LaneRole.role_code == Role.code).where(LaneRole.lane == lane)
    )
    return lane is not None and scope == RoleScope.UNIT


# Roles whose holders a unit under review does not learn by name (专家名单保密): they read as the role.
REVIEWER_ROLES = frozenset({"EXPERT"})


def is_reviewer(user: User | None) -> bool:
    """Whether a person reviews projects (an expert), whom the unit under review knows only by role."""
    return user is not None and any(r.role_code in REVIEWER_ROLES for r in user.roles)


def knows_reviewers(session: Session, user: User) -> bool:
    """Whether a viewer may see who reviews: admins, managers and bureau staff; not the units reviewed."""
    if user.is_admin or user.is_manager:
        return True
    held = select(UserRole.role_code).where(UserRole.user_id == user.id)
    bureau = select(Role.code).where(Role.code.in_(held), Role.scope != RoleScope.UNIT)
    return session.scalar(select(bureau.exists())) or False
