"""The runtime: start instances, complete tasks, wake timers, route messages — one transaction per change.

Every public method takes the caller's Session, locks the instance row first, runs the engine, and writes
state, projections (human_task, instance columns, message waits) and history together. It flushes but
never commits: the entry point (a view, a CLI command, a worker tick) commits or rolls back.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Exists, and_, bindparam, exists, select
from sqlalchemy.orm import Session, undefer

from handlers.context import HandlerContext
from handlers.errors import HandlerError
from handlers.localtime import format_local
from handlers.models import Project
from processes import catalog, engine, forms, instructions
from processes.clock import Clock, SystemClock
from processes.errors import Conflict, FormInvalid, NotAllowed, NotFound, ProcessError
from processes.migration import MigrationReport
from processes.store.db import flush_pending
from processes.store.models import (
    ENDED,
    HumanTask,
    Incident,
    InstanceEvent,
    InstanceStatus,
    LaneRole,
    MessageWait,
    Organisation,
    ProcessInstance,
    ProcessVersion,
    RoleScope,
    TaskStatus,
    User,
    UserRole,
)
from processes.store.prepared import Prepared
from processes.store.steps import InstanceRecord, StepStore, TaskRecord, VersionRef
from processes.uploads import upload_ids

log = logging.getLogger(__name__)

PROJECTED = ("stage", "project_id", "project_name", "total_estimate", "plan_year")
# Data a start may not give: who started it and for which unit (the runtime writes them; handlers trust
# unit_code), and the stage (the diagram sets it; it files the instance in lists and the register).
SET_BY_RUNTIME = ("unit_code", "unit_name", "initiator", "stage")
ACTIVE = (InstanceStatus.RUNNING, InstanceStatus.WAITING)
MAX_MESSAGE_HOPS = 200


@dataclass
class _Cached:
    lock_version: int
    workflow: Any


class WorkflowCache:
    """Live workflows by instance id and row version: a hit skips deserialising (a write-path cost)."""

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[int, _Cached] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def take(self, instance_id: int, lock_version: int) -> Any | None:
        """Remove and return the workflow if it is at this row version (the caller owns it now)."""
        with self._lock:
            item = self._items.pop(instance_id, None)
        return item.workflow if item is not None and item.lock_version == lock_version else None

    def put(self, instance_id: int, lock_version: int, workflow: Any) -> None:
        """Keep a workflow that now matches row version `lock_version`."""
        with self._lock:
            self._items[instance_id] = _Cached(lock_version, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget every workflow."""
        with self._lock:
            self._items.clear()


@dataclass
class _Step:
    """What one unit of work on one instance collected besides the workflow itself."""

    instance: InstanceRecord
    workflow: Any
    user: User | None
    store: StepStore
    events: list[dict[str, Any]] = field(default_factory=list)  # instance_event rows
    incidents: list[dict[str, Any]] = field(default_factory=list)  # incident rows
    completed: TaskRecord | None = None  # the human task this step completed
    outbox: list[tuple[str, Any]] = field(default_factory=list)  # messages thrown to other instances
    new: bool = False  # started in this step: no rows of its own exist yet
    refresh: set[str] = field(default_factory=set)  # open tasks whose rows are remade (a migration)


class Runtime:
    """Executes process instances against the database; shared by web, worker and CLI."""

    def __init__(
        self,
        handlers: Mapping[str, Callable[..., dict]],
        clock: Clock | None = None,
        specs: catalog.SpecCache | None = None,
        script_timeout: float = 1.0,
        on_terminate: str | None = None,
    ) -> None:
        self.handlers = handlers
        self.on_terminate = on_terminate  # the handler told when an admin terminates an instance
        self.clock = clock or SystemClock()
        self.specs = specs or catalog.SpecCache()
        self.script_timeout = script_timeout
        self.workflows = WorkflowCache()

    # ------------------------------------------------------------------------- public operations

    def start(
        self,
        session: Session,
        process_id: str,
        data: dict[str, Any] | None = None,
        *,
        unit_id: int | None = None,
        initiator: User | None = None,
        version: int | None = None,
        parent_instance_id: int | None = None,
    ) -> InstanceRecord:
        """Start an instance of the newest (or a given) version of a process and run it to its first wait.

        With an initiator, only one who may start the process (see `may_start`) may; without one
        (a timer start event), the scheduler starts it.
        """
        facts = _start_facts(session, process_id, version, initiator, unit_id)
        pv = facts.version
        if not facts.startable:
            raise Conflict(f"流程 {process_id} 不允许直接发起")
        if initiator is not None and not facts.may_start:
            raise NotAllowed("您无权发起此流程")
        initial = dict(data or {})
        errors = _start_data_errors(session, initial, facts.unit_code)
        if errors:
            raise FormInvalid(errors)
        now = self.clock.now()
        spec, subs = self.specs.specs(session, pv)
        unit_id = facts.unit_id
        # Who started it and for which unit: facts every diagram may read (e.g. handlers' unit_code).
        initial["unit_code"] = facts.unit_code
        initial["unit_name"] = facts.unit_name
        initial["initiator"] = initiator.username if initiator else None
        workflow = engine.new_workflow(spec, subs, initial)
        instance = InstanceRecord(
            id=None,  # inserted by _save with its first state: one INSERT, no UPDATE
            process_version_id=pv.id,
            process_id=pv.process_id,
            status=InstanceStatus.RUNNING,
            unit_id=unit_id,
            initiator_id=initiator.id if initiator else None,
            parent_instance_id=parent_instance_id,
            title=pv.name,
            started_at=now,
            updated_at=now,
            lock_version=1,
            version=pv,
            unit_code=facts.unit_code,
            unit_name=facts.unit_name,
            unit_short_name=facts.unit_short_name,
            initiator_username=initiator.username if initiator else None,
        )
        step = _Step(instance, workflow, initiator, StepStore(session), new=True)
        self._event(step, "started", detail={"version": pv.version, "data": _jsonable(initial)})
        self._advance(session, step, lambda: engine.run(workflow, self._engine(session, step)))
        return instance

    def complete_task(
        self, session: Session, task_id: int, user: User, data: dict[str, Any]
    ) -> InstanceRecord:
        """Validate and submit a user task, then run the instance until it waits again."""
        # The task row is read together with its instance, under the instance's lock.
        step, task = self._lock_task(session, task_id, user)
        try:
            submitted = self._checked_submission(session, step, task, user, data)
        except ProcessError:
            self._release(step)
            raise
        workflow = step.workflow
        before = {k: v for k, v in engine.task_data(workflow, task.task_guid).items() if k in submitted}
        diff = _diff(before, submitted)
        if variable := engine.completed_by_variable(workflow, task.task_guid):
            # Who did it, as the diagram asks (a score belongs to whoever scored, a substitute too).
            submitted = {**submitted, variable: user.username}
        now = self.clock.now()
        step.store.complete_task(task.id, user.id, now)
        # Files the submitter uploaded apart from the task page join the instance, as a task page upload does.
        step.store.adopt_uploads(upload_ids(submitted), task.instance_id, user.id)
        step.completed = task
        self._event(
            step,
            "task_completed",
            spec_id=task.spec_id,
            task_name=task.name,
            detail={"changes": diff},
        )
        self._advance(
            session,
            step,
            lambda: engine.complete_user_task(
                workflow, task.task_guid, submitted, self._engine(session, step)
            ),
        )
        return step.instance

    def _checked_submission(
        self, session: Session, step: _Step, task: TaskRecord, user: User, data: dict[str, Any]
    ) -> dict[str, Any]:
        """Refuse a submission that may not go through; return the part of `data` the form declares."""
        # Permission first: who completed a task, and when, is not told to one who may not work on it.
        if not _allowed(user, task, lambda role_code: task.caller_holds_role):
            raise NotAllowed("您无权办理此任务")
        if task.status != TaskStatus.READY:
            self._check_open(self._task(session, task.id))  # loads who and when, for the message
        if task.claimed_by_id not in (None, user.id):
            holder = session.get(User, task.claimed_by_id)
            raise Conflict(
                f"任务已由 {holder.display_name if holder else '他人'} 认领",
                {"claimed_by": holder.username if holder else None},
            )
        self._check_instance_accepts_work(step.instance)
        schema = self._form(session, step.instance.version, task.form)
        errors = forms.field_errors(schema, data)
        if errors:
            raise FormInvalid(errors)
        if engine.find_ready_task(step.workflow, task.task_guid) is None:
            raise Conflict("任务已不在待办状态", {"task_id": task.id})
        return forms.declared_fields(schema, data)

    def claim(self, session: Session, task_id: int, user: User) -> HumanTask:
        """Take a task from the role's pool so nobody else works on it."""
        task = self._task(session, task_id, lock=True)
        # Permission first: who completed a task, and when, is not told to one who may not work on it.
        if not can_work_on(session, user, task):
            raise NotAllowed("您无权认领此任务")
        self._check_open(task)
        self._check_not_held_by_other(task, user)
        task.claimed_by = user
        session.add(self._bare_event(task.instance_id, "task_claimed", user, task))
        session.flush()
        return task

    def unclaim(self, session: Session, task_id: int, user: User) -> HumanTask:
        """Give a claimed task back to the role's pool (its holder or an admin)."""
        task = self._task(session, task_id, lock=True)
        if task.claimed_by_id is None:
            raise Conflict("任务未被认领，无需退回认领")
        if task.claimed_by_id != user.id and not user.is_admin:
            raise NotAllowed("只有认领人或管理员可以退回认领")
        self._check_open(task)
        task.claimed_by = None
        session.add(self._bare_event(task.instance_id, "task_unclaimed", user, task))
        session.flush()
        return task

    def reassign(self, session: Session, task_id: int, admin: User, assignee: User) -> HumanTask:
        """Give an open task to a named user (admins only)."""
        if not admin.is_admin:
            raise NotAllowed("只有管理员可以转办任务")
        task = self._task(session, task_id, lock=True)
        self._check_open(task)
        task.assignee = assignee
        task.claimed_by = assignee
        session.add(
            self._bare_event(
                task.instance_id, "task_reassigned", admin, task, {"assignee": assignee.username}
            )
        )
        session.flush()
        return task

    def save_draft(self, session: Session, task_id: int, user: User, data: dict[str, Any]) -> HumanTask:
        """Keep unfinished form data on the task without running anything (who may complete it only)."""
        task = self._task(session, task_id, lock=True)
        self._check_open(task)
        if not can_work_on(session, user, task):
            raise NotAllowed("您无权办理此任务")
        self._check_not_held_by_other(task, user)
        self._check_instance_accepts_work(task.instance)
        if not isinstance(data, dict):
            raise FormInvalid({"": ["提交的数据必须是对象"]})
        task.draft_json = _jsonable(data)
        session.flush()
        return task

    def wake(self, session: Session, instance_id: int) -> bool:
        """Fire the instance's due timers and run it on; False when nothing was due (or it is not active)."""
        step = self._lock(session, instance_id, None)
        instance = step.instance
        now = self.clock.now()
        if (
            instance.status not in ACTIVE
            or instance.next_wakeup_at is None
            or instance.next_wakeup_at >= now  # SpiffWorkflow fires only once due < now
        ):
            self._release(step)
            return False
        self._event(step, "timer_fired", detail={"due": instance.next_wakeup_at.isoformat()})
        self._advance(session, step, lambda: engine.run(step.workflow, self._engine(session, step)))
        return True

    def retry(self, session: Session, instance_id: int, user: User) -> InstanceRecord:
        """Retry the failed task of an instance in error (after the cause was fixed)."""
        step = self._lock(session, instance_id, user)
        if step.instance.status != InstanceStatus.ERROR:
            self._release(step)
            raise Conflict("实例没有待处理的故障")
        guids = engine.errored_task_guids(step.workflow)
        now = self.clock.now()
        for incident in session.scalars(
            select(Incident).where(Incident.instance_id == instance_id, Incident.resolved_at.is_(None))
        ):
            incident.resolved_at = now
            incident.resolved_by_id = user.id
        self._event(step, "incident_retried", detail={"tasks": guids})
        step.instance.status = InstanceStatus.RUNNING

        def do() -> None:
            eng = self._engine(session, step)
            for guid in guids:
                engine.retry_task(step.workflow, guid, eng)
            engine.run(step.workflow, eng)

        self._advance(session, step, do)
        return step.instance

    def suspend(self, session: Session, instance_id: int, user: User) -> InstanceRecord:
        """Stop an instance from moving (tasks cannot be completed, timers wait) until resumed."""
        step = self._lock(session, instance_id, user)
        if step.instance.status not in ACTIVE + (InstanceStatus.ERROR,):
            self._release(step)
            raise Conflict("只有运行中的实例可以挂起")
        step.instance.status = InstanceStatus.SUSPENDED
        self._event(step, "suspended")
        self._finish_bare(session, step)
        return step.instance

    def resume(self, session: Session, instance_id: int, user: User) -> InstanceRecord:
        """Let a suspended instance move again; overdue timers fire now."""
        step = self._lock(session, instance_id, user)
        if step.instance.status != InstanceStatus.SUSPENDED:
            self._release(step)
            raise Conflict("实例未挂起")
        step.instance.status = InstanceStatus.RUNNING
        self._event(step, "resumed")
        self._advance(session, step, lambda: engine.run(step.workflow, self._engine(session, step)))
        return step.instance

    def terminate(self, session: Session, instance_id: int, user: User, reason: str = "") -> InstanceRecord:
        """End an instance for good: open tasks are cancelled, timers and waits removed."""
        step = self._lock(session, instance_id, user)
        if step.instance.status in ENDED:
            self._release(step)
            raise Conflict("实例已结束")
        engine.cancel(step.workflow)
        step.instance.status = InstanceStatus.TERMINATED
        self._event(step, "terminated", detail={"reason": reason})
        if self.on_terminate and step.instance.project_id:
            # The domain records the end too (the register's project reads 已终止); it cannot stop it.
            try:
                self._run_handler(
                    session,
                    step,
                    self.on_terminate,
                    step.instance.process_id,
                    "",
                    step.instance.project_id,
                    {"reason": reason},
                )
            except (HandlerError, engine.HandlerFailed) as err:
                log.warning("instance %s: %s on termination failed: %s", instance_id, self.on_terminate, err)
        self._save(session, step)
        return step.instance

    def migrate(
        self,
        session: Session,
        instance_id: int,
        user: User | None,
        version: int | None = None,
        *,
        dry_run: bool = False,
    ) -> MigrationReport:
        """Move an unfinished instance onto another version of its process (the newest by default).

        It keeps its data, history and open tasks; what lies ahead follows the new diagram. A dry run, or a
        move that cannot be made (see `engine.migrate`), changes nothing and the report says why.
        """
        step = self._lock(session, instance_id, user)
        instance = step.instance
        try:
            target = catalog.get_version(session, instance.process_id, version)
            report = MigrationReport(
                instance.id, instance.process_id, instance.version.version, target.version, instance.title
            )
            report.problems = _migration_refusals(instance, target)
            if not report.problems:
                moved, plan = self._migrated_copy(session, step, target)
                report.problems, report.changed, report.added, report.removed = (
                    plan.problems, plan.changed, plan.added, plan.removed
                )  # fmt: skip
                report.refreshed = len(plan.refreshed)
        except ProcessError:
            self._release(step)
            raise
        if dry_run or report.problems:
            self._release(step)
            return report
        step.refresh.update(plan.refreshed)
        step.store.set_version(instance.id, target.id)
        instance.process_version_id = target.id
        instance.version = VersionRef(
            target.id, target.process_id, target.version, target.name, target.content_hash
        )
        step.workflow = moved
        self._event(
            step,
            "migrated",
            detail={
                "from_version": report.from_version,
                "to_version": report.to_version,
                "added": plan.added,
                "removed": plan.removed,
                "changed": plan.changed,
            },
        )
        if instance.status == InstanceStatus.ERROR:
            # Stays in error: a retry runs the failed task again, now with the new version's definition.
            self._advance(session, step, lambda: None)
        else:
            self._advance(session, step, lambda: engine.run(moved, self._engine(session, step)))
        report.migrated = True
        return report

    def _migrated_copy(
        self, session: Session, step: _Step, target: ProcessVersion
    ) -> tuple[Any, engine.MigrationPlan]:
        """Restore a fresh copy of the instance's workflow and move it onto `target`'s specs."""
        spec, subs = self.specs.specs(session, step.instance.version)
        new_spec, new_subs = self.specs.specs(session, target)
        moved = engine.restore_state(step.store.state(step.instance.id), spec, subs)  # the cached one stays
        try:
            return moved, engine.migrate(moved, new_spec, new_subs)
        except Exception as err:  # noqa: BLE001 - an admin tool answers with a reason, never a 500
            log.exception("instance %s: migration to version %s failed", step.instance.id, target.version)
            return moved, engine.MigrationPlan(problems=[f"无法对应到新版本：{err}"])

    def deliver_message(
        self, session: Session, name: str, payload: Any, sender_id: int | None = None
    ) -> list[int]:
        """Deliver a message to the waiting instances whose project id correlates; returns their ids."""
        queue: list[tuple[str, Any, int | None]] = [(name, payload, sender_id)]
        delivered: list[int] = []
        hops = 0
        while queue and hops < MAX_MESSAGE_HOPS:
            msg, body, sender = queue.pop(0)
            for target_id in self._message_targets(session, msg, body, sender):
                hops += 1
                step = self._lock(session, target_id, None)
                if step.instance.status not in ACTIVE:
                    self._release(step)
                    continue
                self._event(step, "message_received", detail={"message": msg, "payload": _jsonable(body)})
                ok = self._advance(
                    session,
                    step,
                    lambda s=step, m=msg, b=body: engine.deliver_message(
                        s.workflow, m, b, self._engine(session, s)
                    ),
                    route_messages=False,
                )
                if ok:
                    delivered.append(target_id)
                queue.extend((m, p, target_id) for m, p in step.outbox)
        return delivered

    # ------------------------------------------------------------------------- reads used by writers

    def form_schema(self, session: Session, task: HumanTask) -> dict | None:
        """Return the JSON Schema of a task's form from the instance's own version."""
        return self._form(session, task.instance.version, task.form)

    def _form(self, session: Session, version: ProcessVersion | VersionRef, name: str | None) -> dict | None:
        if not name:
            return None
        schema = self.specs.form(session, version, name)
        if schema is None:
            raise NotFound(f"找不到表单 {name}")
        return schema

    # ------------------------------------------------------------------------- internals

    def _engine(self, session: Session, step: _Step) -> engine.StepEngine:
        instance = step.instance

        def call(operator: str, process_id: str, task_guid: str, params: dict[str, Any]) -> dict[str, Any]:
            if instance.id is None:
                self._write_instance(step)  # the handler records the instance id
            project_id = engine.task_data(step.workflow, task_guid).get("project_id") or instance.project_id
            return self._run_handler(session, step, operator, process_id, task_guid, project_id, params)

        return engine.StepEngine(call, self.script_timeout)

    def _run_handler(
        self,
        session: Session,
        step: _Step,
        operator: str,
        process_id: str,
        task_guid: str,
        project_id: str | None,
        params: dict[str, Any],
    ) -> dict[str, Any]:
        """Call a handler in a savepoint and record its result in the history; its failure rolls it back."""
        handler = self.handlers.get(operator)
        if handler is None:
            raise engine.HandlerFailed(f"未注册的服务处理器: {operator}")
        instance = step.instance
        ctx = HandlerContext(
            session=session,
            now=self.clock.now(),
            instance_id=instance.id,
            process_id=process_id,
            task_id=task_guid,
            project_id=project_id,
            unit_code=instance.unit_code,
            initiator=instance.initiator_username,
        )
        savepoint = session.begin_nested()
        try:
            result = handler(ctx, **params)
            json.dumps(result)
        except HandlerError:
            savepoint.rollback()
            raise
        except Exception as err:
            savepoint.rollback()
            raise engine.HandlerFailed(f"服务处理器 {operator} 失败: {err}") from err
        savepoint.commit()
        self._event(step, "service_task", task_name=operator, detail={"result": _jsonable(result)})
        return result

    def _lock(self, session: Session, instance_id: int, user: User | None) -> _Step:
        """Lock an instance row and get its live workflow."""
        flush_pending(session)  # ORM changes made earlier in this transaction go first
        store = StepStore(session)
        instance = store.lock_instance(instance_id)
        if instance is None:
            raise NotFound(f"流程实例 {instance_id} 不存在")
        return _Step(instance, self._workflow(session, store, instance), user, store)

    def _lock_task(self, session: Session, task_id: int, user: User) -> tuple[_Step, TaskRecord]:
        """Lock a human task's instance, read the task, and get the live workflow."""
        flush_pending(session)
        store = StepStore(session)
        found = store.lock_task(task_id, user.id)
        if found is None:
            raise NotFound(f"任务 {task_id} 不存在")
        instance, task = found
        return _Step(instance, self._workflow(session, store, instance), user, store), task

    def _workflow(self, session: Session, store: StepStore, instance: InstanceRecord) -> Any:
        """The instance's workflow: the cached one if it is at this row version, else restored."""
        workflow = self.workflows.take(instance.id, instance.lock_version)
        if workflow is None:
            spec, subs = self.specs.specs(session, instance.version)
            workflow = engine.restore_state(store.state(instance.id), spec, subs)
        return workflow

    def _release(self, step: _Step) -> None:
        """Put back an untouched workflow so the next step need not deserialise it."""
        self.workflows.put(step.instance.id, step.instance.lock_version, step.workflow)

    def _advance(
        self, session: Session, step: _Step, work: Callable[[], Any], route_messages: bool = True
    ) -> Any:
        """Run engine work; an engine failure becomes an incident, anything else aborts the transaction."""
        result = None
        try:
            with engine.clock_context(self.clock.now):
                try:
                    result = work()
                except engine.ENGINE_ERRORS as err:
                    self._incident(session, step, engine.failure_from(err, step.workflow))
            self._save(session, step)
        except BaseException:
            self.workflows.take(step.instance.id, -1)  # the object may be half-changed: never reuse it
            raise
        if route_messages:
            for msg, payload in step.outbox:
                self.deliver_message(session, msg, payload, step.instance.id)
        return result

    def _incident(self, session: Session, step: _Step, failure: engine.StepFailure) -> None:
        step.instance.status = InstanceStatus.ERROR
        step.incidents.append(
            {
                "task_guid": failure.task_guid,
                "spec_id": failure.spec_id,
                "message": failure.message[:4000],
                "traceback": failure.traceback,
                "created_at": self.clock.now(),
            }
        )
        self._event(step, "incident", spec_id=failure.spec_id, detail={"message": failure.message[:500]})
        log.warning("instance %s: incident at %s: %s", step.instance.id, failure.spec_id, failure.message)

    def _save(self, session: Session, step: _Step) -> None:
        instance, workflow = step.instance, step.workflow
        now = self.clock.now()
        with engine.clock_context(self.clock.now):
            engine.compact(workflow)
            snap = engine.snapshot(workflow)
            if snap.hidden:  # never call an instance complete while it has open tasks
                self._incident(session, step, engine.hidden_tasks_failure(snap))
            data = snap.data
            data_text = _json_text(data)
            ready = snap.ready
            state_json = engine.dump_state(workflow)
            instance.element_state = snap.elements
            if instance.status not in (
                InstanceStatus.ERROR,
                InstanceStatus.SUSPENDED,
                InstanceStatus.TERMINATED,
            ):
                if snap.completed:
                    instance.status = InstanceStatus.COMPLETE
                elif snap.errored:
                    instance.status = InstanceStatus.ERROR
                else:
                    instance.status = InstanceStatus.RUNNING if ready else InstanceStatus.WAITING
            waiting_for = engine.waiting_messages(workflow)
            instance.next_wakeup_at = engine.next_timer_due(workflow)
            step.outbox = engine.thrown_messages(workflow)
        if instance.status in ENDED:
            instance.ended_at = instance.ended_at or now
            instance.next_wakeup_at = None
            ready = []
            waiting_for = set()
            if instance.status == InstanceStatus.COMPLETE and not any(
                e["kind"] == "completed" for e in step.events
            ):
                self._event(step, "completed")
        if instance.status != InstanceStatus.TERMINATED:
            # After a cancel only the top level's data is left (a call activity's data never came back), so a
            # terminated instance keeps the data and stage it showed, instead of stepping back.
            instance.data_text = data_text
            self._project(instance, data)
        instance.updated_at = now
        previous_waits, instance.waiting_messages = instance.waiting_messages, sorted(waiting_for)
        step.store.write_instance(instance, state_json, engine.STATE_FORMAT)
        self._sync_waits(session, instance, previous_waits)
        self._sync_tasks(step, ready, now)
        self._write_history(step)
        step.store.expire(instance.id)
        step.new = False
        self.workflows.put(instance.id, instance.lock_version, workflow)

    def _write_instance(self, step: _Step) -> None:
        """Insert a new instance's row ahead of its first save (a handler needs its id)."""
        step.store.write_instance(step.instance, "{}", engine.STATE_FORMAT)

    def _write_history(self, step: _Step) -> None:
        for row in step.events:
            row["instance_id"] = step.instance.id
        for row in step.incidents:
            row["instance_id"] = step.instance.id
        step.store.insert_incidents(step.incidents)
        step.store.insert_events(step.events)
        step.events.clear()
        step.incidents.clear()

    def _finish_bare(self, session: Session, step: _Step) -> None:
        """Write a status change that did not run the engine."""
        step.instance.updated_at = self.clock.now()
        step.store.write_status(step.instance)
        self._write_history(step)
        step.store.expire(step.instance.id)
        self.workflows.put(step.instance.id, step.instance.lock_version, step.workflow)

    @staticmethod
    def _project(instance: InstanceRecord, data: dict[str, Any]) -> None:
        if data.get("stage"):
            instance.stage = str(data["stage"])[:20]
        if data.get("project_id"):
            instance.project_id = str(data["project_id"])[:40]
        if data.get("project_name"):
            instance.title = str(data["project_name"])[:200]
        try:
            if data.get("total_estimate") is not None:
                instance.total_estimate = float(data["total_estimate"])
            if data.get("plan_year") is not None and 1000 <= int(data["plan_year"]) <= 9999:
                instance.plan_year = int(data["plan_year"])  # a year, or nothing the lists could filter on
        except (TypeError, ValueError):
            pass

    def _sync_tasks(
        self,
        step: _Step,
        ready: list[engine.UserTaskView],
        now: datetime,
    ) -> None:
        """Cancel open tasks that are no longer READY and open a row for each newly READY user task."""
        instance, store = step.instance, step.store
        open_rows = {} if step.new else store.open_tasks(instance.id)
        ready_ids = {v.guid for v in ready}
        store.cancel_tasks([task_id for guid, task_id in open_rows.items() if guid not in ready_ids], now)
        if instance.status == InstanceStatus.TERMINATED:
            return
        fresh = [view for view in ready if view.guid not in open_rows]
        remade = [view for view in ready if view.guid in step.refresh and view.guid in open_rows]
        if fresh or remade:
            lane_roles = store.lane_roles()
            rows = [self._new_task(step, view, lane_roles, now) for view in fresh]
            for view, row in zip(fresh, rows, strict=True):
                held = row["assignee_id"] is not None or row["claimed_by_id"] is not None
                if not step.new and row["role_code"] and not held:
                    # A step reached again (returned for correction, the next round) goes back to whoever did
                    # it last, and a step of a role this instance met before to whoever did that role's last
                    # task (修改补正 to the clerk who declared), if they still may: not into the pool unseen.
                    row["claimed_by_id"] = self._next_holder(step, view, row)
            store.insert_tasks(rows)
            if remade:
                # A task's deadline counts from when it arrived, not from the migration that remade its row.
                arrived = store.arrivals(instance.id)
                store.remake_tasks(
                    {
                        (task_id := open_rows[v.guid]): self._new_task(step, v, lane_roles, arrived[task_id])
                        for v in remade
                    }
                )

    @staticmethod
    def _next_holder(step: _Step, view: engine.UserTaskView, row: Mapping[str, Any]) -> int | None:
        """Who takes a pool task of a role met before (`StepStore.last_holder`), without a query when plain.

        When the step is new to the instance and the task just completed was of the same role and unit, done
        by someone holding the role, that person did the role's latest task: the query's answer, known.
        """
        done = step.completed
        elements = step.instance.element_state.get(view.process_id) or {}
        plain = view.spec_id not in (elements.get("completed") or ())
        if (
            plain
            and done is not None
            and step.user is not None
            and done.role_code == row["role_code"]
            and done.caller_holds_role
            and (row["unit_id"] is None or step.user.organisation_id == row["unit_id"])
        ):
            return step.user.id
        return step.store.last_holder(row)

    def _new_task(
        self,
        step: _Step,
        view: engine.UserTaskView,
        lane_roles: dict[str, tuple[str, str]],
        now: datetime,
    ) -> dict[str, Any]:
        """The human_task row of a READY user task: owner by lane → role (→ unit) or from data."""
        instance = step.instance
        task_values = engine.task_data(step.workflow, view.guid)
        task: dict[str, Any] = {
            "instance_id": instance.id,
            "task_guid": view.guid,
            "spec_id": view.spec_id,
            "name": view.name,
            "process_id": view.process_id,
            "lane": view.lane,
            "role_code": None,
            "unit_id": None,
            "assignee_id": None,
            "claimed_by_id": None,
            "form": view.form,
            "instructions": None,
            "created_at": now,
            "due_at": None,
            "context_json": _json_text(task_values),
            "round_key": view.round_key,
        }
        if view.lane and view.lane in lane_roles:
            task["role_code"], scope = lane_roles[view.lane]
            if scope == RoleScope.UNIT:
                task["unit_id"] = instance.unit_id
        elif not view.lane:
            task["assignee_id"] = instance.initiator_id
        if step.new and task["role_code"] and _initiator_may_take(step, task):
            # The one who starts a process works on its first step: no need to claim it from the pool.
            task["claimed_by_id"] = instance.initiator_id
        if view.owner_expr or view.due_expr:
            eng = self._engine(step.store.session, step)
            if view.owner_expr:
                owner = self._evaluate_quietly(step, view, view.owner_expr, eng)
                owner_name = owner[0] if isinstance(owner, list) and owner else owner
                if isinstance(owner_name, str):
                    user_id = step.store.user_id(owner_name)
                    if user_id is not None:
                        task["assignee_id"] = user_id
                    else:
                        log.warning(
                            "instance %s: owner %r of %s is no user", instance.id, owner_name, view.spec_id
                        )
            if view.due_expr:
                due = self._evaluate_quietly(step, view, view.due_expr, eng)
                if isinstance(due, str) and (when := engine.after(now, due)) is not None:
                    task["due_at"] = when
        if view.instructions:
            labels = self.specs.labels(step.store.session, instance.version)
            task["instructions"] = instructions.render(view.instructions, task_values, labels)
        return task

    @staticmethod
    def _evaluate_quietly(step: _Step, view: engine.UserTaskView, expr: str, eng: engine.StepEngine) -> Any:
        try:
            return engine.evaluate_for_task(step.workflow, view.guid, expr, eng)
        except engine.ENGINE_ERRORS as err:
            log.warning("instance %s: %s of %s failed: %s", step.instance.id, expr, view.spec_id, err)
            return None

    @staticmethod
    def _sync_waits(session: Session, instance: InstanceRecord, previous: list[str]) -> None:
        """Keep message_wait rows in step with the messages the instance now waits for."""
        wanted = instance.waiting_messages
        if wanted == previous and (not wanted or instance.project_id is None):
            return  # nothing changed (the usual step): no query
        waiting_for = set(wanted)
        rows = {
            w.message: w
            for w in session.scalars(select(MessageWait).where(MessageWait.instance_id == instance.id))
        }
        for name, row in rows.items():
            if name not in waiting_for:
                session.delete(row)
            elif row.correlation_key != instance.project_id:
                row.correlation_key = instance.project_id
        for name in waiting_for - rows.keys():
            session.add(
                MessageWait(instance_id=instance.id, message=name, correlation_key=instance.project_id)
            )
        session.flush()

    @staticmethod
    def _message_targets(session: Session, name: str, payload: Any, sender_id: int | None) -> list[int]:
        stmt = select(MessageWait.instance_id, MessageWait.correlation_key).where(MessageWait.message == name)
        keys: set[str] | None = None
        if isinstance(payload, dict):
            if isinstance(payload.get("project_ids"), list):
                keys = {str(k) for k in payload["project_ids"]}
            elif payload.get("project_id"):
                keys = {str(payload["project_id"])}
        out = []
        for instance_id, key in session.execute(stmt.order_by(MessageWait.instance_id)):
            if instance_id == sender_id:
                continue
            if keys is None or key in keys:
                out.append(instance_id)
        return out

    def _task(self, session: Session, task_id: int, lock: bool = False) -> HumanTask:
        task = session.get(
            HumanTask, task_id, with_for_update={"of": HumanTask} if lock else None, populate_existing=lock
        )
        if task is None:
            raise NotFound(f"任务 {task_id} 不存在")
        return task

    @staticmethod
    def _check_open(task: HumanTask) -> None:
        if task.status == TaskStatus.COMPLETED:
            who = task.completed_by.display_name if task.completed_by else "他人"
            raise Conflict(
                f"任务已由 {who} 于 {format_local(task.completed_at)} 办理完成",
                {
                    "completed_by": task.completed_by.username if task.completed_by else None,
                    "completed_by_name": who,
                    "completed_at": task.completed_at.isoformat() if task.completed_at else None,
                },
            )
        if task.status == TaskStatus.CANCELLED:
            raise Conflict("任务已取消(流程已走向其他分支)", {"status": "cancelled"})

    @staticmethod
    def _check_not_held_by_other(task: HumanTask, user: User) -> None:
        if task.claimed_by_id not in (None, user.id):
            raise Conflict(
                f"任务已由 {task.claimed_by.display_name} 认领", {"claimed_by": task.claimed_by.username}
            )

    @staticmethod
    def _check_instance_accepts_work(instance: InstanceRecord | ProcessInstance) -> None:
        if instance.status == InstanceStatus.SUSPENDED:
            raise Conflict("流程实例已挂起，暂不能办理", {"status": "suspended"})
        if instance.status in ENDED:
            raise Conflict("流程实例已结束", {"status": instance.status})

    def _event(
        self,
        step: _Step,
        kind: str,
        spec_id: str | None = None,
        task_name: str | None = None,
        detail: dict | None = None,
    ) -> None:
        """Queue an instance_event row; `_write_history` stamps the instance id and writes it."""
        step.events.append(
            {
                "at": self.clock.now(),
                "kind": kind,
                "user_id": step.user.id if step.user else None,
                "spec_id": spec_id,
                "task_name": task_name,
                "detail": detail or {},
            }
        )

    def _bare_event(
        self, instance_id: int, kind: str, user: User, task: HumanTask, detail: dict | None = None
    ) -> InstanceEvent:
        return InstanceEvent(
            instance_id=instance_id,
            at=self.clock.now(),
            kind=kind,
            user_id=user.id,
            spec_id=task.spec_id,
            task_name=task.name,
            detail=detail or {},
        )


# ----------------------------------------------------------------------------- assignment


def _initiator_may_take(step: _Step, task: Mapping[str, Any]) -> bool:
    """Tell whether the user starting the instance holds the pool task's role (for its unit)."""
    user = step.user
    if user is None or user.id != step.instance.initiator_id:
        return False
    unit_ok = task["unit_id"] is None or task["unit_id"] == user.organisation_id
    return unit_ok and task["role_code"] in user.role_codes


def can_work_on(session: Session, user: User, task: HumanTask) -> bool:
    """Tell whether `user` may claim or complete `task` (assignee, or holder of its role in its unit)."""
    return _allowed(user, task, lambda role_code: role_code in user.role_codes)


def _allowed(user: User, task: HumanTask | TaskRecord, holds_role: Callable[[str], bool]) -> bool:
    if task.assignee_id is not None:
        return task.assignee_id == user.id
    if task.role_code is None or not holds_role(task.role_code):
        return False
    return task.unit_id is None or task.unit_id == user.organisation_id


def _start_data_errors(
    session: Session, data: Mapping[str, Any], unit_code: str | None
) -> dict[str, list[str]]:
    """Field errors of a start's initial data: keys the runtime sets, or another unit's project.

    The instance is linked to the project its data names (see `_project`), and whoever may see the instance
    then sees the project and its documents: a start may only name a project of the instance's own unit.
    """
    errors = {f"data.{key}": ["由系统填写，发起时不能指定"] for key in SET_BY_RUNTIME if key in data}
    project_id = data.get("project_id")
    if project_id is None or project_id == "":
        return errors
    if not isinstance(project_id, str):
        errors["data.project_id"] = ["项目编号应为文本"]
    elif unit_code is None or not session.scalar(
        select(exists().where(Project.project_id == project_id, Project.unit_code == unit_code))
    ):
        errors["data.project_id"] = ["发起单位的项目库中没有此编号的项目"]
    return errors


def may_start(session: Session, user: User, process_id: str) -> bool:
    """Tell whether `user` may start the newest version of a process (admins, or its start lane's role)."""
    try:
        facts = _start_facts(session, process_id, None, user, None)
    except NotFound:
        return False
    return facts.startable and facts.may_start


def _holds_lane_role(lane: Any, user_id: Any) -> Exists:
    """EXISTS: the user holds the role a lane maps to."""
    return exists().where(
        LaneRole.lane == lane, UserRole.user_id == user_id, UserRole.role_code == LaneRole.role_code
    )


@dataclass(frozen=True)
class _StartFacts:
    """What starting an instance needs to know before it runs: version, permission, unit."""

    version: VersionRef
    startable: bool
    may_start: bool
    unit_id: int | None
    unit_code: str | None
    unit_name: str | None
    unit_short_name: str | None


def _start_query(exact_version: bool) -> Prepared:
    """The newest (or a given) version of a process, whether the caller may start it, and the unit."""
    may = and_(
        ProcessVersion.start_lane.is_not(None),
        ProcessVersion.called_only.is_(False),
        _holds_lane_role(ProcessVersion.start_lane, bindparam("user_id")),
    )
    stmt = (
        select(
            ProcessVersion.id,
            ProcessVersion.process_id,
            ProcessVersion.version,
            ProcessVersion.name,
            ProcessVersion.content_hash,
            ProcessVersion.startable,
            may,
            Organisation.id,
            Organisation.code,
            Organisation.name,
            Organisation.short_name,
        )
        .select_from(ProcessVersion)
        .outerjoin(Organisation, Organisation.id == bindparam("unit_id"))
        .where(ProcessVersion.process_id == bindparam("process_id"))
    )
    if exact_version:
        stmt = stmt.where(ProcessVersion.version == bindparam("version"))
    return Prepared(stmt.order_by(ProcessVersion.version.desc()).limit(1))


_START_NEWEST, _START_VERSION = _start_query(False), _start_query(True)


def _start_facts(
    session: Session, process_id: str, version: int | None, initiator: User | None, unit_id: int | None
) -> _StartFacts:
    """Read what `Runtime.start` checks, in one statement (it runs on every start over HTTP)."""
    if unit_id is None and initiator is not None:
        unit_id = initiator.organisation_id
    params = {"process_id": process_id, "user_id": initiator.id if initiator else None, "unit_id": unit_id}
    if version is None:
        row = _START_NEWEST.first(session, params)
    else:
        row = _START_VERSION.first(session, {**params, "version": version})
    if row is None:
        raise NotFound(f"流程 {process_id} 不存在" + (f"版本 {version}" if version else ""))
    pv_id, pid, number, name, content_hash, startable, may, org_id, code, org_name, short = row
    return _StartFacts(
        version=VersionRef(pv_id, pid, number, name, content_hash),
        startable=bool(startable),
        may_start=bool(may) or bool(initiator is not None and initiator.is_admin),
        unit_id=org_id if unit_id is not None else None,
        unit_code=code,
        unit_name=org_name,
        unit_short_name=short,
    )


def _migration_refusals(instance: InstanceRecord, target: ProcessVersion) -> list[str]:
    """Why an instance cannot move to `target` whatever the diagrams say, if it cannot."""
    if instance.status in ENDED:
        return ["实例已结束，无需迁移"]
    if instance.status == InstanceStatus.SUSPENDED:
        return ["实例已挂起，请先恢复再迁移"]
    if target.id == instance.process_version_id:
        return [f"实例已在第 {target.version} 版"]
    return []


def load_instance_for_read(session: Session, instance_id: int) -> ProcessInstance:
    """Return an instance with its data and element state (no workflow is deserialised)."""
    instance = session.scalar(
        select(ProcessInstance)
        .options(undefer(ProcessInstance.data_json), undefer(ProcessInstance.element_state))
        .where(ProcessInstance.id == instance_id)
    )
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    return instance


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: {"old": _jsonable(before.get(k)), "new": _jsonable(v)}
        for k, v in after.items()
        if not _same(before.get(k), v)
    }


def _same(old: Any, new: Any) -> bool:
    """Equal, or the same amount written two ways (6900000 from the form, "6900000.00" from a handler)."""
    if old == new:
        return True
    kinds = {type(old), type(new)}
    # A number against a number or text; two texts differ as written, and True is not 1.
    if not kinds <= {int, float, Decimal, str} or kinds == {str}:
        return False
    try:
        return Decimal(str(old).strip()) == Decimal(str(new).strip())
    except ArithmeticError:
        return False


def _json_text(value: Any) -> str:
    """JSON text of task data: values JSON cannot hold (Decimal, dates) as their text."""
    return json.dumps(value, default=str, ensure_ascii=False, separators=(",", ":"))


def _jsonable(value: Any) -> Any:
    return json.loads(_json_text(value))
