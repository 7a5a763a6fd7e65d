"""Process instances: start, list, show, suspend/resume/terminate, incidents and retry, diagram state."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from handlers import RESULT_FIELDS
from processes import catalog, queries
from processes.errors import NotAllowed, NotFound
from processes.runtime import load_instance_for_read
from processes.runtime import may_start as runtime_may_start
from processes.store.models import HumanTask, Incident, InstanceStatus, Organisation, ProcessInstance, User
from service import auth
from service.api.schemas import (
    PLAN_YEARS,
    IncidentSchema,
    InstanceDetail,
    InstancePage,
    InstanceSchema,
    NonBlank,
    RangeArgs,
    sort_order_field,
)
from service.converters import MAX_ROW_ID
from service.db import get_session, runtime

blp = Blueprint("instances", __name__, url_prefix="/api/v1/instances", description="流程实例")


class StartArgs(ma.Schema):
    process_id = ma.fields.Str(required=True, validate=ma.validate.Length(min=1, max=100))
    data = ma.fields.Dict(keys=ma.fields.Str(), load_default=dict)
    unit_code = ma.fields.Str(load_default=None, allow_none=True)
    version = ma.fields.Int(
        load_default=None, allow_none=True, validate=ma.validate.Range(min=1, max=MAX_ROW_ID)
    )


class ListArgs(RangeArgs):
    ranges = (("started_from", "started_to"), ("amount_min", "amount_max"))

    process_id = ma.fields.Str(metadata={"title": "流程"})
    version = ma.fields.Int(validate=ma.validate.Range(min=1, max=MAX_ROW_ID), metadata={"title": "版本"})
    step = ma.fields.Str(
        validate=ma.validate.Length(max=100),
        metadata={
            "title": "经历环节",
            "description": "办理过该(被调用)流程中任务的实例，"
            "如 final_acceptance：经过竣工验收的项目全生命周期实例",
        },
    )
    status = ma.fields.Str(
        validate=ma.validate.OneOf([queries.ACTIVE, *(s.value for s in InstanceStatus)]),
        metadata={
            "title": "状态",
            "description": "实例状态；active 表示未结束且未挂起(办理中、等待中、出错)",
        },
    )
    unit = ma.fields.Str(metadata={"title": "建设单位"})
    stage = ma.fields.Str(metadata={"title": "阶段"})
    project_id = ma.fields.Str(metadata={"title": "项目编号"})
    started_from = ma.fields.DateTime(metadata={"title": "发起时间起"})
    started_to = ma.fields.DateTime(metadata={"title": "发起时间止"})
    plan_year = ma.fields.Int(validate=PLAN_YEARS, metadata={"title": "计划年度"})
    amount_min = ma.fields.Float(validate=ma.validate.Range(min=0), metadata={"title": "概算不低于"})
    amount_max = ma.fields.Float(validate=ma.validate.Range(min=0), metadata={"title": "概算不高于"})
    q = ma.fields.Str(metadata={"title": "关键词"})
    sort = ma.fields.Str(
        load_default="started",
        validate=ma.validate.OneOf(list(queries.INSTANCE_SORTS)),
        metadata={"title": "排序"},
    )
    order = sort_order_field("发起时间、最近更新、总投资概算降序，编号升序")


class TerminateArgs(ma.Schema):
    # The register records why a project ended; an end without a reason tells nobody anything.
    reason = NonBlank(
        required=True,
        validate=ma.validate.Length(max=500),
        error_messages={"required": "请填写终止原因"},
        metadata={"title": "终止原因"},
    )


def may_start(user: User, process_id: str) -> bool:
    """Tell whether `user` may start the newest version of a process (see processes.runtime.may_start)."""
    return runtime_may_start(get_session(), user, process_id)


def start_instance(
    user: User, process_id: str, data: dict, unit_code: str | None = None, version: int | None = None
) -> SimpleNamespace:
    """Start an instance as `user` and return what the response shows of it."""
    session = get_session()
    unit_id = user.organisation_id
    if unit_code:
        org = session.scalar(select(Organisation).where(Organisation.code == unit_code))
        if org is None:
            raise NotFound(f"单位 {unit_code} 不存在")
        if org.id != user.organisation_id and not user.is_admin:
            raise NotAllowed("只能以本单位名义发起")
        unit_id = org.id
    started = runtime().start(session, process_id, data, unit_id=unit_id, initiator=user, version=version)
    session.commit()
    # The step just wrote every column the response shows: answer from it rather than read the row back.
    unit = None
    if started.unit_id is not None:
        unit = SimpleNamespace(
            code=started.unit_code, name=started.unit_name, short_name=started.unit_short_name
        )
    return SimpleNamespace(**vars(started), unit=unit, initiator=user)


def _stored(session: Session, instance_id: int) -> ProcessInstance:
    """The instance as stored, with what the response shows of it loaded in the same query."""
    return session.get(
        ProcessInstance,
        instance_id,
        options=[joinedload(ProcessInstance.unit), joinedload(ProcessInstance.initiator)],
    )


def visible_instance(instance_id: int) -> ProcessInstance:
    """Return an instance the caller may see, or raise 404."""
    user = auth.require_user()
    session = get_session()
    instance = load_instance_for_read(session, instance_id)
    if not queries.can_see_instance(session, user, instance):
        raise NotFound(f"流程实例 {instance_id} 不存在")
    return instance


def instance_detail(instance: ProcessInstance) -> ProcessInstance:
    """Gather what the instance page and API show."""
    user = auth.require_user()
    session = get_session()
    incidents = queries.incidents(session, instance.id)
    # Plain attributes read by the response schema; nothing here is written back.
    instance.tasks = queries.instance_tasks(session, instance.id)
    instance.history = queries.history(session, instance.id)
    instance.incidents = incidents if user.is_admin else [_without_traceback(i) for i in incidents]
    instance.data = instance.data_json
    if not queries.knows_reviewers(session, user):
        _conceal_reviewers(instance)
    return instance


# How a reviewer (an expert) reads to the unit under review: by role, never by name (专家名单保密).
REVIEWER = SimpleNamespace(id=None, username=None, display_name="评审专家")
CONFIDENTIAL = frozenset(key for key, prop in RESULT_FIELDS.items() if prop.get("x-confidential"))


class _Concealed:
    """A task or event as the unit under review sees it: the people in `people` read as REVIEWER."""

    def __init__(self, row: Any, people: tuple[str, ...], detail: dict | None = None) -> None:
        self._row, self._people, self._detail = row, people, detail

    def __getattr__(self, name: str) -> Any:
        if name in self._people and getattr(self._row, name) is not None:
            return REVIEWER
        if name == "detail" and self._detail is not None:
            return self._detail
        return getattr(self._row, name)


def _conceal_reviewers(instance: ProcessInstance) -> None:
    """Hide who reviews an instance from its unit: expert tasks' holders, their events, the draw's names.

    Data that names a reviewer is left out too: the draw's results (marked confidential) and any key whose
    value holds a reviewer's user name (the panel member a scoring task runs for, the collected scores).
    """
    reviewers = {
        person.username
        for t in instance.tasks
        if t.role_code in queries.REVIEWER_ROLES
        for person in (t.assignee, t.claimed_by, t.completed_by)
        if person is not None
    }
    instance.tasks = [
        _Concealed(t, ("assignee", "claimed_by", "completed_by"))
        if t.role_code in queries.REVIEWER_ROLES
        else t
        for t in instance.tasks
    ]
    history = []
    for event in instance.history:
        result = (event.detail or {}).get("result")
        detail = None
        if isinstance(result, dict) and CONFIDENTIAL & result.keys():
            detail = {**event.detail, "result": {k: v for k, v in result.items() if k not in CONFIDENTIAL}}
        reviewer = queries.is_reviewer(event.user)
        history.append(
            _Concealed(event, ("user",) if reviewer else (), detail) if reviewer or detail else event
        )
    instance.history = history
    instance.data = {
        key: value
        for key, value in (instance.data or {}).items()
        if key not in CONFIDENTIAL and not _names_any(value, reviewers)
    }


def _names_any(value: Any, usernames: set[str]) -> bool:
    """Whether a data value holds one of these user names anywhere (as a whole string)."""
    if isinstance(value, str):
        return value in usernames
    if isinstance(value, dict):
        return any(_names_any(v, usernames) for v in value.values())
    if isinstance(value, list):
        return any(_names_any(v, usernames) for v in value)
    return False


def _without_traceback(incident: Incident) -> SimpleNamespace:
    """A copy of an incident for non-admins: what failed and when, without the stack trace."""
    fields = ("id", "task_guid", "spec_id", "message", "created_at", "resolved_at")
    return SimpleNamespace(**{f: getattr(incident, f) for f in fields}, traceback="")


@blp.route("")
class Instances(MethodView):
    @blp.arguments(ListArgs(), location="query")
    @blp.response(200, InstancePage)
    def get(self, args: dict):
        """List the instances the caller may see, with filters, sorting and pages."""
        user = auth.require_user()
        page, size, sort = args.pop("page"), args.pop("page_size"), args.pop("sort")
        order = args.pop("order", None)
        f = queries.InstanceFilter(**args)
        return queries.instances(get_session(), user, f, sort, page, size, order=order)

    @blp.arguments(StartArgs())
    @blp.response(201, InstanceSchema)
    def post(self, args: dict):
        """Start an instance of a process (newest version unless one is given)."""
        user = auth.require_user()
        return start_instance(user, args["process_id"], args["data"], args["unit_code"], args["version"])


@blp.route("/<int:instance_id>")
class Instance(MethodView):
    @blp.response(200, InstanceDetail)
    def get(self, instance_id: int):
        """Show an instance: status, open and finished tasks, history, incidents and data."""
        return instance_detail(visible_instance(instance_id))


@blp.route("/<int:instance_id>/diagram")
class Diagram(MethodView):
    @blp.response(200)
    def get(self, instance_id: int):
        """Return the BPMN XML of the instance's own version and the state of each element."""
        instance = visible_instance(instance_id)
        session = get_session()
        xml_by_process = {}
        texts = catalog.version_files(session, instance.version)
        bpmn_files = {n: t for n, t in texts.items() if n.endswith(".bpmn")}
        for name, text in bpmn_files.items():
            xml_by_process[name] = text
        open_tasks = queries.instance_tasks(session, instance.id, open_only=True)
        discreet = not queries.knows_reviewers(session, auth.require_user())

        def holder(t: HumanTask) -> str:
            person = t.claimed_by or t.assignee
            if discreet and t.role_code in queries.REVIEWER_ROLES:
                return REVIEWER.display_name
            return person.display_name if person else (t.lane or "")

        return {
            "process_id": instance.process_id,
            "files": xml_by_process,
            "state": instance.element_state or {},
            "active_tasks": [
                {
                    "spec_id": t.spec_id,
                    "process_id": t.process_id,
                    "name": t.name,
                    "holder": holder(t),
                }
                for t in open_tasks
            ],
        }


def _admin_action(instance_id: int, action: str, **kwargs: object) -> ProcessInstance:
    user = auth.require_admin()
    session = get_session()
    getattr(runtime(), action)(session, instance_id, user, **kwargs)
    session.commit()
    return _stored(session, instance_id)


@blp.route("/<int:instance_id>/suspend")
class Suspend(MethodView):
    @blp.response(200, InstanceSchema)
    def post(self, instance_id: int):
        """Suspend an instance (admins)."""
        return _admin_action(instance_id, "suspend")


@blp.route("/<int:instance_id>/resume")
class Resume(MethodView):
    @blp.response(200, InstanceSchema)
    def post(self, instance_id: int):
        """Resume a suspended instance (admins)."""
        return _admin_action(instance_id, "resume")


@blp.route("/<int:instance_id>/terminate")
class Terminate(MethodView):
    @blp.arguments(TerminateArgs())
    @blp.response(200, InstanceSchema)
    def post(self, args: dict, instance_id: int):
        """Terminate an instance for good (admins)."""
        return _admin_action(instance_id, "terminate", reason=args["reason"])


@blp.route("/<int:instance_id>/retry")
class Retry(MethodView):
    @blp.response(200, InstanceSchema)
    def post(self, instance_id: int):
        """Retry the failed step of an instance in error (admins)."""
        return _admin_action(instance_id, "retry")


@blp.route("/<int:instance_id>/incidents")
class Incidents(MethodView):
    @blp.response(200, IncidentSchema(many=True))
    def get(self, instance_id: int):
        """List an instance's incidents (tracebacks for admins only)."""
        instance = visible_instance(instance_id)
        user = auth.require_user()
        found = queries.incidents(get_session(), instance.id)
        return found if user.is_admin else [_without_traceback(i) for i in found]
