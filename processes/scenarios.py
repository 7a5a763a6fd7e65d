"""Scenario tests: YAML files that drive diagrams as named users through the runtime and check the outcome.

A scenario file::

    name: 小项目走到运维
    clock: 2026-03-02T09:00:00+08:00        # optional start time of the process clock
    deploy: [bpmn]                          # folders/files to deploy (relative to the repository root)
    steps:
      - start: {process: lifecycle, as: jyj_jb, data: {}, id: p}
      - complete: {task: 填写项目申报, as: jyj_jb, data: {...}}      # the one open task with that name
      - claim: {task: 初审, as: dsj_clerk}
      - refuse: {task: 初审, as: fin, status: 403}                    # completing must fail
      - refuse: {task: 填写项目申报, as: jyj_jb, data: {...}, status: 422, fields: [total_estimate]}
      - advance: P1M                         # move the clock and run the timer worker
      - tasks: {as: dsj_clerk, names: [初审]}  # exactly these open tasks are visible to the user
      - no_task: {task: 竣工验收申请}          # no open task with that name, for anyone
      - instructions: {task: 初审, contains: [补正说明：已补充], lacks: ["：。"]}  # the open task's text
      - expect: {status: running, stage: 初审, data: {route: SMALL}}
      - record: {table: dom_project, where: {project_id: "$project_id"}, values: {status: APPROVED}}
      - redeploy: {replace: {route_by_amount.dmn: {"5000000": "3000000"}}}
      - migrate: {instance: p, added: [...], problems: [...]}  # onto the newest version, as admin; a
                                                              # `problems` list expects a refusal
      - incident: {at: rule_route, contains: [决策表]}  # the open incident: where, and what it says
      - retry: {}                       # retry the failed step, as admin
      - terminate: {reason: 单位撤回}   # end the instance for good, as admin
      - reassign: {task: 专家评审打分, holder: $expert_usernames.0, to: $expert_backups.0.username}  # 转办
      - restart: {}                     # as after a server restart: specs parsed anew, no live workflow
      - start/complete/... with `instance: p` to address another instance than the last started

Values written `$name` are taken from the current instance's data. Every step goes through the same
runtime the web and the worker use: nothing here touches the engine's state directly.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, MetaData, Table, select
from sqlalchemy.orm import Session, sessionmaker

from processes import catalog, demo_files, engine
from processes.clock import ManualClock
from processes.errors import ProcessError
from processes.runtime import Runtime
from processes.scheduler import tick
from processes.store.models import Attachment, HumanTask, Incident, ProcessInstance, TaskStatus, User
from processes.uploads import upload_refs

log = logging.getLogger(__name__)


class ScenarioFailed(AssertionError):
    """A step's expectation did not hold."""


@dataclass
class Result:
    """The outcome of one scenario file."""

    name: str
    ok: bool
    steps: int
    summary: str


@dataclass
class _Run:
    sessions: sessionmaker[Session]
    engine: Engine
    runtime: Runtime
    clock: ManualClock
    root: Path
    forms_dir: Path
    deploy_paths: list[Path]
    instances: dict[str, int] = field(default_factory=dict)
    current: int | None = None
    step_no: int = 0
    # The demo stores a generated file for each upload its data references (see _store_uploads).
    store_uploads: bool = False


def run_file(path: Path, *, bpmn_dir: Path, forms_dir: Path, database_url: str | None = None) -> Result:
    """Run one scenario file on a fresh database (SQLite in a temporary folder unless `database_url`)."""
    import tempfile

    from handlers import ON_TERMINATE, REGISTRY

    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{tmp}/scenario.db"
        db = prepare_database(url)
        try:
            clock = ManualClock(_parse_time(spec.get("clock")) if spec.get("clock") else None)
            runtime = Runtime(REGISTRY, clock=clock, on_terminate=ON_TERMINATE)
            run = _Run(
                sessions=db[1],
                engine=db[0],
                runtime=runtime,
                clock=clock,
                root=bpmn_dir.parent,
                forms_dir=forms_dir,
                deploy_paths=[],
            )
            return execute(spec, run, name=str(spec.get("name") or path.stem), default_deploy=[bpmn_dir])
        finally:
            db[0].dispose()


def run_demo(
    path: Path, sessions: sessionmaker[Session], db_engine: Engine, *, bpmn_dir: Path, forms_dir: Path
) -> Result:
    """Run a scenario file on an existing, seeded database (the demo projects of `egovflow seed`)."""
    from handlers import ON_TERMINATE, REGISTRY

    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    clock = ManualClock(_parse_time(spec["clock"]))
    run = _Run(
        sessions=sessions,
        engine=db_engine,
        runtime=Runtime(REGISTRY, clock=clock, on_terminate=ON_TERMINATE),
        clock=clock,
        root=bpmn_dir.parent,
        forms_dir=forms_dir,
        deploy_paths=[],
        store_uploads=True,
    )
    return execute(spec, run, name=str(spec.get("name") or path.stem), default_deploy=[bpmn_dir])


def prepare_database(url: str) -> tuple[Engine, sessionmaker[Session]]:
    """Create every table and the demo organisations and accounts (accounts cannot log in)."""
    from handlers.models import DomainBase
    from processes.seed import seed_demo
    from processes.store.db import make_engine, make_sessionmaker
    from processes.store.models import Base

    db_engine = make_engine(url)
    Base.metadata.create_all(db_engine)
    DomainBase.metadata.create_all(db_engine)
    sessions = make_sessionmaker(db_engine)
    with sessions() as session:
        seed_demo(session, lambda _password: "!", ManualClock().now())  # "!" matches no password
        session.commit()
    return db_engine, sessions


def execute(spec: Mapping[str, Any], run: _Run, *, name: str, default_deploy: list[Path]) -> Result:
    """Run the steps of a parsed scenario on a prepared database; failures raise ScenarioFailed."""
    paths = [run.root / p for p in spec.get("deploy", [])] or default_deploy
    run.deploy_paths = paths
    _deploy(run, catalog.collect_files(paths, run.forms_dir))
    steps = spec.get("steps") or []
    for step in steps:
        run.step_no += 1
        if not isinstance(step, Mapping) or len(step) != 1:
            raise ScenarioFailed(f"第 {run.step_no} 步格式错误: {step!r}")
        ((verb, args),) = step.items()
        action = _ACTIONS.get(verb)
        if action is None:
            raise ScenarioFailed(f"第 {run.step_no} 步: 未知动作 {verb}")
        try:
            action(run, args if args is not None else {})
        except ScenarioFailed as err:
            raise ScenarioFailed(f"「{name}」第 {run.step_no} 步 {verb}: {err}") from err
    return Result(name, True, len(steps), f"{len(steps)} 步全部通过")


# ----------------------------------------------------------------------------- steps


def _deploy(run: _Run, files: dict[str, bytes]) -> list[catalog.DeployedVersion]:
    with run.sessions() as session:
        versions = catalog.deploy(session, files, run.runtime.handlers, now=run.clock.now(), user="scenario")
        session.commit()
    return versions


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise ScenarioFailed(f"没有用户 {username}")
    return user


def _instance_id(run: _Run, args: Mapping[str, Any]) -> int:
    key = args.get("instance")
    if key is not None:
        if key not in run.instances:
            raise ScenarioFailed(f"没有名为 {key} 的实例")
        return run.instances[key]
    if run.current is None:
        raise ScenarioFailed("还没有发起任何实例")
    return run.current


def _data(run: _Run, instance_id: int) -> dict[str, Any]:
    with run.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        return dict(instance.data_json or {}) if instance else {}


def _resolve(value: Any, data: Mapping[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("$"):
        current: Any = data
        for part in value[1:].split("."):
            if isinstance(current, list) and part.isdigit():  # $expert_backups.0: an item of a list
                current = current[int(part)] if int(part) < len(current) else None
                continue
            current = current.get(part) if isinstance(current, Mapping) else None
        return current
    if isinstance(value, Mapping):
        return {k: _resolve(v, data) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, data) for v in value]
    return value


def _open_task(session: Session, instance_id: int, name: str) -> HumanTask:
    tasks = list(
        session.scalars(
            select(HumanTask).where(
                HumanTask.instance_id == instance_id,
                HumanTask.status == TaskStatus.READY,
                HumanTask.name == name,
            )
        )
    )
    if len(tasks) != 1:
        open_names = list(
            session.scalars(
                select(HumanTask.name).where(
                    HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.READY
                )
            )
        )
        raise ScenarioFailed(f"应有 1 个待办「{name}」，实际 {len(tasks)} 个；当前待办: {open_names}")
    return tasks[0]


def _start(run: _Run, args: Mapping[str, Any]) -> None:
    with run.sessions() as session:
        user = _user(session, args["as"])
        data = copy.deepcopy(args.get("data") or {})
        stored = _store_uploads(run, session, data, user, None, None)
        try:
            instance = run.runtime.start(
                session, args["process"], data, initiator=user, version=args.get("version")
            )
        except ProcessError as err:
            raise ScenarioFailed(f"{args['as']} 发起流程 {args['process']} 失败: {err.message}") from err
        for attachment in stored:
            attachment.instance_id = instance.id
        session.commit()
        run.current = instance.id
        run.instances[str(args.get("id", f"#{instance.id}"))] = instance.id


def _complete(run: _Run, args: Mapping[str, Any]) -> None:
    instance_id = _instance_id(run, args)
    data = _resolve(copy.deepcopy(args.get("data") or {}), _data(run, instance_id))
    with run.sessions() as session:
        task = _open_task(session, instance_id, args["task"])
        if args.get("assignee") and (task.assignee is None or task.assignee.username != args["assignee"]):
            raise ScenarioFailed(f"「{task.name}」应分配给 {args['assignee']}")
        user = _user(session, args["as"])
        _store_uploads(run, session, data, user, task.instance_id, task.task_guid)
        try:
            run.runtime.complete_task(session, task.id, user, data)
        except ProcessError as err:
            raise ScenarioFailed(
                f"办理「{args['task']}」失败: {err.message} {getattr(err, 'errors', '')}"
            ) from err
        session.commit()


def _complete_each(run: _Run, args: Mapping[str, Any]) -> None:
    """Complete every open task of that name, each as its own assignee, with per-assignee data."""
    instance_id = _instance_id(run, args)
    with run.sessions() as session:
        tasks = list(
            session.scalars(
                select(HumanTask)
                .where(
                    HumanTask.instance_id == instance_id,
                    HumanTask.status == TaskStatus.READY,
                    HumanTask.name == args["task"],
                )
                .order_by(HumanTask.id)
            )
        )
        owners = [t.assignee.username if t.assignee else None for t in tasks]
    if args.get("count") is not None and len(tasks) != args["count"]:
        raise ScenarioFailed(f"应有 {args['count']} 个「{args['task']}」，实际 {len(tasks)} 个")
    default = args.get("data") or {}
    per_user = args.get("by_user") or {}
    for task, owner in zip(tasks, owners, strict=True):
        if owner is None:
            raise ScenarioFailed(f"「{args['task']}」没有指定办理人")
        data = _resolve(copy.deepcopy(per_user.get(owner, default)), _data(run, instance_id))
        with run.sessions() as session:
            user = _user(session, owner)
            _store_uploads(run, session, data, user, instance_id, task.task_guid)
            try:
                run.runtime.complete_task(session, task.id, user, data)
            except ProcessError as err:
                raise ScenarioFailed(
                    f"{owner} 办理「{task.name}」失败: {err.message} {getattr(err, 'errors', '')}"
                ) from err
            session.commit()


def _store_uploads(
    run: _Run,
    session: Session,
    data: Any,
    user: User,
    instance_id: int | None,
    task_guid: str | None,
) -> list[Attachment]:
    """Store a generated file for each upload `data` references ({id, filename, sha256, …}) that is no row.

    As if `user` had uploaded it for the task (POST /tasks/<id>/upload): the row is linked to the instance
    and the task, and the reference is rewritten in place to the row's own id and SHA-256, so the demo's
    documents download and the ids the database assigns never collide with later uploads. References to
    a stored row (same id and digest, such as `$documents` taken from the instance data) are kept.
    Only the demo does this (`store_uploads`); scenario tests submit their data as written.
    """
    if not run.store_uploads:
        return []
    stored: dict[tuple[str, str, str], Attachment] = {}
    for ref in upload_refs(data):
        ident = int(ref["id"])
        existing = session.get(Attachment, ident) if ident < 2**31 else None
        if existing is not None and existing.sha256 == ref["sha256"]:
            continue
        key = (str(ref["id"]), str(ref["filename"]), str(ref["sha256"]))
        if key not in stored:
            stored[key] = demo_files.attachment(str(ref["filename"]), ref.get("kind"))
            stored[key].instance_id = instance_id
            stored[key].task_guid = task_guid
            stored[key].uploaded_by_id = user.id
            stored[key].uploaded_at = run.clock.now()
            session.add(stored[key])
            session.flush()
        ref["id"], ref["sha256"] = str(stored[key].id), stored[key].sha256
    return list(stored.values())


def _claim(run: _Run, args: Mapping[str, Any]) -> None:
    instance_id = _instance_id(run, args)
    with run.sessions() as session:
        task = _open_task(session, instance_id, args["task"])
        run.runtime.claim(session, task.id, _user(session, args["as"]))
        session.commit()


_STATUS = {"NotAllowed": 403, "NotFound": 404, "Conflict": 409, "FormInvalid": 422, "BundleInvalid": 422}


def _refuse(run: _Run, args: Mapping[str, Any]) -> None:
    instance_id = _instance_id(run, args)
    data = _resolve(copy.deepcopy(args.get("data") or {}), _data(run, instance_id))
    with run.sessions() as session:
        task = _open_task(session, instance_id, args["task"])
        try:
            run.runtime.complete_task(session, task.id, _user(session, args["as"]), data)
        except ProcessError as err:
            session.rollback()
            status = _STATUS.get(type(err).__name__, 400)
            if args.get("status") and status != args["status"]:
                raise ScenarioFailed(f"应返回 {args['status']}，实际 {status}: {err.message}") from err
            fields = set(args.get("fields") or [])
            errors = set(getattr(err, "errors", {}) or {})
            if not fields <= errors:
                raise ScenarioFailed(f"应报字段错误 {sorted(fields)}，实际 {sorted(errors)}") from err
            if args.get("message") and args["message"] not in err.message:
                raise ScenarioFailed(f"错误信息应包含「{args['message']}」: {err.message}") from err
            return
        session.rollback()
    raise ScenarioFailed(f"「{args['task']}」不应办理成功")


def _advance(run: _Run, args: Any) -> None:
    duration = args if isinstance(args, str) else args.get("by")
    until = engine.after(run.clock.now(), str(duration))
    if until is None:
        raise ScenarioFailed(f"无法识别的时长 {duration}")
    run.clock.set(until)
    tick(run.sessions, run.runtime, limit=1000)


def _tasks(run: _Run, args: Mapping[str, Any]) -> None:
    from processes import queries

    with run.sessions() as session:
        user = _user(session, args["as"])
        page = queries.open_tasks(session, user, args.get("scope", "all"), page_size=200)
        names = sorted(
            t.name
            for t in page.items
            if args.get("all_instances") or t.instance_id == _instance_id(run, args)
        )
    expected = sorted(args.get("names") or [])
    if names != expected:
        raise ScenarioFailed(f"{args['as']} 的待办应为 {expected}，实际 {names}")


def _no_task(run: _Run, args: Mapping[str, Any]) -> None:
    instance_id = _instance_id(run, args)
    with run.sessions() as session:
        found = session.scalar(
            select(HumanTask.id).where(
                HumanTask.instance_id == instance_id,
                HumanTask.status == TaskStatus.READY,
                HumanTask.name == args["task"],
            )
        )
    if found is not None:
        raise ScenarioFailed(f"不应有待办「{args['task']}」")


def _texts(value: Any) -> list[str]:
    """The texts of a `contains`/`lacks`: one text or a list of them (never a text's characters)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(part) for part in value]


def _instructions(run: _Run, args: Mapping[str, Any]) -> None:
    """Check the rendered instructions of an open task: the texts they contain and those they lack."""
    instance_id = _instance_id(run, args)
    with run.sessions() as session:
        text = _open_task(session, instance_id, args["task"]).instructions or ""
    for part in _texts(args.get("contains")):
        if part not in text:
            raise ScenarioFailed(f"「{args['task']}」的办理说明应含“{part}”，实际：{text}")
    for part in _texts(args.get("lacks")):
        if part in text:
            raise ScenarioFailed(f"「{args['task']}」的办理说明不应含“{part}”，实际：{text}")


def _expect(run: _Run, args: Mapping[str, Any]) -> None:
    instance_id = _instance_id(run, args)
    with run.sessions() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        for key in ("status", "stage", "project_id", "process_id"):
            if key in args and str(getattr(instance, key)) != str(args[key]):
                raise ScenarioFailed(f"{key} 应为 {args[key]}，实际 {getattr(instance, key)}")
        if "version" in args and instance.version.version != args["version"]:
            raise ScenarioFailed(f"版本应为 {args['version']}，实际 {instance.version.version}")
        data = instance.data_json or {}
    for key, expected in (args.get("data") or {}).items():
        actual = _resolve(f"${key}", data)
        if actual != expected:
            raise ScenarioFailed(f"数据 {key} 应为 {expected!r}，实际 {actual!r}")
    for key in args.get("has") or []:
        if _resolve(f"${key}", data) in (None, "", []):
            raise ScenarioFailed(f"数据中应有 {key}")


def _record(run: _Run, args: Mapping[str, Any]) -> None:
    data = _data(run, run.current) if run.current else {}
    table = Table(args["table"], MetaData(), autoload_with=run.engine)
    where = _resolve(args.get("where") or {}, data)
    stmt = select(table)
    for column, value in where.items():
        stmt = stmt.where(table.c[column] == value)
    with run.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    if "count" in args and len(rows) != args["count"]:
        raise ScenarioFailed(f"{args['table']} 中 {where} 应有 {args['count']} 行，实际 {len(rows)} 行")
    if args.get("values"):
        if not rows:
            raise ScenarioFailed(f"{args['table']} 中没有 {where}")
        for column, expected in _resolve(args["values"], data).items():
            actual = rows[-1].get(column)
            if str(actual) != str(expected):
                raise ScenarioFailed(f"{args['table']}.{column} 应为 {expected!r}，实际 {actual!r}")


def _redeploy(run: _Run, args: Mapping[str, Any]) -> None:
    """Deploy the bundle again with text replacements in named files (a process admin's edit)."""
    files = catalog.collect_files(run.deploy_paths, run.forms_dir)
    for name, replacements in (args.get("replace") or {}).items():
        if name not in files:
            raise ScenarioFailed(f"部署包中没有 {name}")
        text = files[name].decode("utf-8")
        for old, new in replacements.items():
            if str(old) not in text:
                raise ScenarioFailed(f"{name} 中找不到「{old}」")
            text = text.replace(str(old), str(new))
        files[name] = text.encode("utf-8")
    versions = _deploy(run, files)
    expected = args.get("new_versions")
    created = sorted(v.process_id for v in versions if v.created)
    if expected is not None and created != sorted(expected):
        raise ScenarioFailed(f"应产生新版本的流程 {sorted(expected)}，实际 {created}")


def _migrate(run: _Run, args: Mapping[str, Any]) -> None:
    """Move an instance onto the newest (or a given) version as an admin; `problems` expects a refusal."""
    instance_id = _instance_id(run, args)
    with run.sessions() as session:
        user = _user(session, args.get("as", "admin"))
        report = run.runtime.migrate(session, instance_id, user, args.get("version"))
        session.commit()
    if report.problems != list(args.get("problems") or []):
        raise ScenarioFailed(f"迁移问题应为 {args.get('problems') or []}，实际 {report.problems}")
    for key in ("added", "removed", "changed"):
        if key in args and getattr(report, key) != list(args[key]):
            raise ScenarioFailed(f"迁移报告 {key} 应为 {args[key]}，实际 {getattr(report, key)}")


def _reassign(run: _Run, args: Mapping[str, Any]) -> None:
    """Give the open task of that name held by `holder` to `to`, as an admin (转办)."""
    instance_id = _instance_id(run, args)
    data = _data(run, instance_id)
    holder, to = _resolve(args["holder"], data), _resolve(args["to"], data)
    with run.sessions() as session:
        task = session.scalar(
            select(HumanTask).where(
                HumanTask.instance_id == instance_id,
                HumanTask.status == TaskStatus.READY,
                HumanTask.name == args["task"],
                HumanTask.assignee_id == _user(session, holder).id,
            )
        )
        if task is None:
            raise ScenarioFailed(f"{holder} 没有待办「{args['task']}」")
        run.runtime.reassign(session, task.id, _user(session, args.get("as", "admin")), _user(session, to))
        session.commit()


def _incident(run: _Run, args: Mapping[str, Any]) -> None:
    """Check the open incident of an instance: at which element, and the texts its message holds."""
    instance_id = _instance_id(run, args)
    with run.sessions() as session:
        found = session.scalars(
            select(Incident).where(Incident.instance_id == instance_id, Incident.resolved_at.is_(None))
        ).all()
    if len(found) != 1:
        raise ScenarioFailed(f"应有 1 个未处理的故障，实际 {len(found)} 个")
    if args.get("at") and found[0].spec_id != args["at"]:
        raise ScenarioFailed(f"故障应在 {args['at']}，实际在 {found[0].spec_id}")
    for part in _texts(args.get("contains")):
        if part not in found[0].message:
            raise ScenarioFailed(f"故障信息应含“{part}”，实际：{found[0].message}")


def _retry(run: _Run, args: Mapping[str, Any]) -> None:
    """Retry an instance's failed step as an admin, after its cause was fixed."""
    instance_id = _instance_id(run, args)
    with run.sessions() as session:
        run.runtime.retry(session, instance_id, _user(session, args.get("as", "admin")))
        session.commit()


def _terminate(run: _Run, args: Mapping[str, Any]) -> None:
    """End an instance for good as an admin, with a reason."""
    instance_id = _instance_id(run, args)
    with run.sessions() as session:
        admin = _user(session, args.get("as", "admin"))
        run.runtime.terminate(session, instance_id, admin, args.get("reason", ""))
        session.commit()


def _restart(run: _Run, _args: Any) -> None:
    """As a server restart or another worker process: specs are parsed anew and no live workflow is kept."""
    run.runtime.specs = catalog.SpecCache()
    run.runtime.workflows.clear()


def _use(run: _Run, args: Mapping[str, Any]) -> None:
    """Make a named instance (or the newest instance of a process) the current one."""
    if "instance" in args:
        run.current = _instance_id(run, args)
        return
    with run.sessions() as session:
        found = session.scalar(
            select(ProcessInstance.id)
            .where(ProcessInstance.process_id == args["process"])
            .order_by(ProcessInstance.id.desc())
        )
    if found is None:
        raise ScenarioFailed(f"没有流程 {args['process']} 的实例")
    run.current = found
    if args.get("id"):
        run.instances[str(args["id"])] = found


def _parse_time(value: Any) -> datetime:
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        raise ScenarioFailed("clock 必须带时区，例如 2026-03-02T09:00:00+08:00")
    return when


_ACTIONS: dict[str, Callable[[_Run, Any], None]] = {
    "start": _start,
    "complete": _complete,
    "complete_each": _complete_each,
    "claim": _claim,
    "refuse": _refuse,
    "advance": _advance,
    "tasks": _tasks,
    "no_task": _no_task,
    "instructions": _instructions,
    "expect": _expect,
    "record": _record,
    "redeploy": _redeploy,
    "migrate": _migrate,
    "terminate": _terminate,
    "incident": _incident,
    "retry": _retry,
    "reassign": _reassign,
    "restart": _restart,
    "use": _use,
}
