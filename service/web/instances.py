"""Instance pages: the filtered list, one instance (diagram, tasks, history, documents, admin actions)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.models import STAGES
from processes import catalog, queries
from processes.errors import NotFound
from processes.store.models import ENDED, Organisation, ProcessInstance, ProcessVersion, Role
from service import auth
from service.api.instances import ListArgs, instance_detail, visible_instance
from service.api.projects import instance_documents
from service.db import get_session, runtime
from service.web import diagrams
from service.web.formatting import INSTANCE_STATUS
from service.web.history import REVIEWER_NAME, timeline
from service.web.paging import past_last
from service.web.query_args import ORDERS, filters_set, load_args

bp = Blueprint("web_instances", __name__)
SORTS = {"started": "发起时间", "updated": "最近更新", "amount": "总投资概算", "id": "编号"}
# The status filter's choices: the pseudo-status the dashboard links to, then every instance status.
STATUSES = {queries.ACTIVE: ("进行中（办理中、等待中、出错）", ""), **INSTANCE_STATUS}


@bp.route("/instances")
def index() -> str | Response:
    """List the instances the caller may see, with the same filters as GET /api/v1/instances."""
    user = auth.require_user()
    session = get_session()
    schema = ListArgs()
    args, errors = load_args(schema, request.args)
    page, size, sort = args.pop("page", 1), args.pop("page_size", 20), args.pop("sort", "started")
    order = args.pop("order", None)
    f = queries.InstanceFilter(**args)
    found = queries.instances(session, user, f, sort, page, size, order=order)
    if (last := past_last(found)) is not None:
        return last
    processes = {pv.process_id: pv.name for pv in catalog.list_processes(session)}
    units = list(
        session.execute(
            select(Organisation.code, Organisation.short_name)
            .where(Organisation.kind == "unit")
            .order_by(Organisation.short_name)
        )
    )
    return render_template(
        "instances.html",
        section="instances",
        page=found,
        errors=errors,
        args=request.args,
        processes=processes,
        units=units,
        stages=STAGES,
        statuses=STATUSES,
        sorts=SORTS,
        sort=sort,
        orders=ORDERS,
        order=order or "",
        default_order=queries.instance_order(sort),
        sort_orders={key: queries.instance_order(key) for key in SORTS},
        filtered=filters_set(schema, request.args),
    )


@bp.route("/instances/<int:instance_id>")
def show(instance_id: int) -> str:
    """Show an instance: diagram, open tasks, history, documents; admins also get incidents and actions."""
    user = auth.require_user()
    instance = instance_detail(visible_instance(instance_id))
    session = get_session()
    texts = catalog.version_files(session, instance.version)
    processes = diagrams.processes_in(texts)
    order = diagrams.call_order(processes, instance.process_id)
    current = request.args.get("process") or instance.process_id
    if current not in processes:
        current = instance.process_id
    state = instance.element_state or {}
    movable = user.is_admin and instance.status not in ENDED
    discreet = not queries.knows_reviewers(session, user)  # the unit under review: experts by role only
    return render_template(
        "instance.html",
        section="instances",
        instance=instance,
        user=user,
        about_project=queries.is_unit_case(session, instance),
        processes=processes,
        order=order,
        current=current,
        active_processes={p for p, s in state.items() if s.get("active")},
        failed_processes={p for p, s in state.items() if s.get("failed")},
        history=timeline(session, instance.id, instance.version, admin=user.is_admin, discreet=discreet),
        documents=instance_documents(instance),
        open_tasks=[t for t in instance.tasks if t.status == "ready"],
        done_tasks=[t for t in instance.tasks if t.status != "ready"],
        now=runtime().clock.now(),
        migration_versions=_other_versions(session, instance) if movable else [],
    )


def _other_versions(session: Session, instance: ProcessInstance) -> list[int]:
    """The versions of the instance's process it could move to, newest first."""
    return list(
        session.scalars(
            select(ProcessVersion.version)
            .where(
                ProcessVersion.process_id == instance.process_id,
                ProcessVersion.id != instance.process_version_id,
            )
            .order_by(ProcessVersion.version.desc())
        )
    )


def _process_file(instance: ProcessInstance, process_id: str) -> tuple[str, str]:
    texts = catalog.version_files(get_session(), instance.version)
    info = diagrams.processes_in(texts).get(process_id)
    if info is None:
        raise NotFound(f"此版本中没有流程 {process_id}")
    return info.file, texts[info.file]


@bp.route("/instances/<int:instance_id>/diagram/<process_id>.bpmn")
def diagram_xml(instance_id: int, process_id: str) -> Response:
    """Return the BPMN XML (of the instance's own version) of the file holding a process."""
    _name, text = _process_file(visible_instance(instance_id), process_id)
    return Response(text, mimetype="application/xml")


@bp.route("/instances/<int:instance_id>/diagram/<process_id>/state.json")
def diagram_state(instance_id: int, process_id: str) -> Response:
    """Return one process's progress in the viewer island's shape: completed, active with holders, failed."""
    instance = visible_instance(instance_id)
    processes = diagrams.processes_in(catalog.version_files(get_session(), instance.version))
    if process_id not in processes:
        raise NotFound(f"此版本中没有流程 {process_id}")
    text = catalog.version_file(get_session(), instance.version, processes[process_id].file)
    state = (instance.element_state or {}).get(process_id) or {}
    completed, active = set(state.get("completed", [])), set(state.get("active", []))
    failed = state.get("failed", [])
    discreet = not queries.knows_reviewers(get_session(), auth.require_user())
    holders = _holders(instance.id, processes, process_id, discreet)
    return jsonify(
        {
            "completed": sorted(completed - active),
            "active": [{"id": a, "label": holders.get(a)} for a in sorted(active)],
            "failed": list(failed),
            "taken_flows": diagrams.taken_flows(diagrams.flows_of(text, process_id), completed, active),
        }
    )


def _holders(
    instance_id: int, processes: dict[str, diagrams.ProcessInfo], process_id: str, discreet: bool = False
) -> dict[str, str]:
    """Return who holds the open tasks of a process, by element id (reviewers by role when `discreet`).

    A call activity is labelled with the open tasks of the processes below it, such as
    "初审：待认领（市数管局项目科）", so the top diagram says where a project is waiting.
    """
    session = get_session()
    roles = dict(session.execute(select(Role.code, Role.name)).all())
    people: dict[str, list[str]] = {}
    below: dict[str, list[str]] = {}
    calls = {
        element: {called} | diagrams.called_below(processes, called)
        for element, called in processes[process_id].call_elements.items()
    }
    for task in queries.instance_tasks(session, instance_id, open_only=True):
        person = task.claimed_by or task.assignee
        who = (
            person.display_name if person else f"待认领（{roles.get(task.role_code or '', task.lane or '')}）"
        )
        if discreet and task.role_code in queries.REVIEWER_ROLES:
            who = REVIEWER_NAME
        if task.process_id == process_id:
            people.setdefault(task.spec_id, []).append(who)
        for element, reached in calls.items():
            if task.process_id in reached:
                below.setdefault(element, []).append(f"{task.name}：{who}")
    labels = {spec: _some(names, "人") for spec, names in people.items()}
    labels.update({element: _some(names, "项待办") for element, names in below.items()})
    return labels


def _some(names: list[str], unit: str) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} 等 {len(names)} {unit}"
