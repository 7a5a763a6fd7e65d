"""The catalog: validate bundles of diagrams, decision tables and forms, and deploy them as versions."""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from threading import Lock
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from processes import engine, instructions, scripting
from processes.decision_coverage import coverage_problems
from processes.errors import BundleInvalid, NotFound, Problem
from processes.forms import read_form
from processes.store.models import Deployment, FileBlob, FormDraft, ProcessVersion, Schedule, VersionFile
from processes.store.steps import VersionRef

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 2 * 1024 * 1024
# The longest ids and names the tables hold (processes/store/models.py). A longer one would deploy and then
# fail the first step that writes it: PostgreSQL refuses a value that does not fit (SQLite keeps it).
MAX_ID, MAX_NAME, MAX_LANE = 100, 200, 60
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # any start: a duration's validity does not depend on it
FORM_SUFFIXES = (".schema.json", ".uischema.json", ".json")


def sha256(text: bytes) -> str:
    """Return the hex SHA-256 of bytes."""
    return hashlib.sha256(text).hexdigest()


def collect_files(paths: Iterable[Path], forms_dir: Path | None) -> dict[str, bytes]:
    """Read the BPMN/DMN files under `paths` plus every form they name (next to them, then `forms_dir`)."""
    files: dict[str, bytes] = {}
    search_dirs: list[Path] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.suffix in (".bpmn", ".dmn") and child.is_file():
                    files[child.name] = child.read_bytes()
            search_dirs.append(path)
        else:
            files[path.name] = path.read_bytes()
            search_dirs.append(path.parent)
    if forms_dir is not None:
        search_dirs.append(forms_dir)
    return add_named_forms(files, search_dirs)


def add_named_forms(
    files: dict[str, bytes], folders: Iterable[Path], drafts: Mapping[str, str] | None = None
) -> dict[str, bytes]:
    """Add each form the bundle's diagrams name and the bundle lacks: its draft, else the first folder's file.

    `drafts` (form_drafts' texts by name) come before `folders`: a form made in the browser is found by the
    diagram that first names it, and the deploy that stores it removes the draft (see `deploy`).
    """
    folders = list(folders)
    drafts = drafts or {}
    for form in sorted(_named_forms(files) - files.keys()):
        if form in drafts:
            files[form] = drafts[form].encode("utf-8")
            continue
        for folder in folders:
            candidate = folder / form
            if candidate.is_file():
                files[form] = candidate.read_bytes()
                break
    return files


def form_drafts(session: Session) -> dict[str, str]:
    """Return the texts of the form drafts (forms made in the browser that no version holds yet), by name."""
    return {name: text for name, text in session.execute(select(FormDraft.name, FormDraft.text))}


def _named_forms(files: Mapping[str, bytes]) -> set[str]:
    """Find form file names mentioned by user tasks, without a full parse (so a broken file still lists)."""
    names: set[str] = set()
    for name, content in files.items():
        if not name.endswith(".bpmn"):
            continue
        for marker in (b'name="formJsonSchemaFilename"', b'name="formUiSchemaFilename"'):
            start = 0
            while (pos := content.find(marker, start)) != -1:
                value_at = content.find(b'value="', pos, pos + 200)
                if value_at != -1:
                    end = content.find(b'"', value_at + 7)
                    names.add(content[value_at + 7 : end].decode("utf-8", "replace"))
                start = pos + 1
    return {n for n in names if n and "/" not in n and "\\" not in n}


@dataclass
class Validation:
    """The outcome of validating a bundle."""

    bundle: engine.ParsedBundle | None
    problems: list[Problem]
    forms: dict[str, dict]  # form name -> parsed schema


def validate(
    files: Mapping[str, bytes], handlers: Mapping[str, Callable[..., Any]], lanes: set[str] | None = None
) -> Validation:
    """Check a bundle without deploying it; `problems` is empty when it may be deployed."""
    problems: list[Problem] = []
    if not any(n.endswith(".bpmn") for n in files):
        problems.append(Problem("", "", "没有可部署的 BPMN 文件"))
    for name, content in files.items():
        if len(content) > MAX_FILE_BYTES:
            problems.append(Problem(name, "", f"文件过大(超过 {MAX_FILE_BYTES // 1024} KB)"))
        if len(name) > MAX_NAME:
            problems.append(Problem(_shown(name), "", f"文件名过长(最多 {MAX_NAME} 个字符)"))
    forms, form_problems = _load_forms(files)
    problems += form_problems
    if problems:
        return Validation(None, problems, forms)
    bundle, parse_problems = engine.parse_bundle(dict(files))
    if bundle is None:
        return Validation(None, parse_problems or [Problem("", "", "无法解析")], forms)
    for pid, name in bundle.process_names.items():
        file = bundle.process_files.get(pid, "")
        if len(pid) > MAX_ID:
            problems.append(Problem(file, _shown(pid), f"流程 ID 过长(最多 {MAX_ID} 个字符)"))
        if len(name) > MAX_NAME:
            problems.append(Problem(file, _shown(pid), f"流程名称过长(最多 {MAX_NAME} 个字符)"))
    for info in engine.iter_elements(bundle):
        problems += _check_element(info, forms, handlers, lanes)
    for table in engine.decision_tables(files):  # each DMN file read once for both checks
        for _rule, cells in table.rules:
            for cell_id, text in cells:
                problems += [Problem(table.file, _shown(cell_id), m) for m in condition_problems(text)]
        problems += [Problem(table.file, _shown(table.table_id), m) for m in coverage_problems(table)]
    for pid, expression in bundle.timer_starts.items():
        try:
            engine.next_occurrence(expression, datetime.now(UTC))
        except Exception as err:  # noqa: BLE001 - SpiffWorkflow raises bare Exception for bad durations
            problems.append(
                Problem(bundle.process_files[pid], pid, f"定时启动表达式无效: {expression} ({err})")
            )
    return Validation(None if problems else bundle, problems, forms)


# A condition cell is compared with its column's value: a leading comparison, or a value meaning "equals".
_COMPARISON = re.compile(r"\s*(<=|>=|==|!=|<|>|not\s+in\b|in\b)")
_OUTSIDE_QUOTES_MARK = re.compile(r"\?(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


def condition_problems(text: str) -> list[str]:
    """Return what is wrong with one DMN condition cell as SpiffWorkflow's DMN engine would read it.

    `-` or nothing matches anything; `?` stands for the column's value (`? != "SCOPE"`); a leading
    comparison (`< 5000000`, `>= "2023"`, `in ["A", "B"]`) compares the value; anything else is a single
    value the column must equal. A cell such as `>> 5`, `=> 5` or `5,000,000` would be run as some other
    Python and is refused.
    """
    entry = text.strip()
    if entry in ("", "-"):
        return []
    if _OUTSIDE_QUOTES_MARK.search(entry):
        problems = scripting.check(_OUTSIDE_QUOTES_MARK.sub("value", entry), "eval")
        return [f"条件「{entry}」有误：{m}" for m in problems]
    compared = _COMPARISON.match(entry)
    operand = entry[compared.end() :] if compared else entry
    try:
        tree = ast.parse(operand.strip(), mode="eval")
    except SyntaxError:
        return [f'条件「{entry}」无法识别：应为比较（如 < 5000000、>= "2023"）、取值（如 "SMALL"）或 -']
    if isinstance(tree.body, ast.Tuple) and not compared:
        return [f'条件「{entry}」有误：只能写一个取值（多个取值写成 in ["A", "B"]，金额不加千位分隔符）']
    return [f"条件「{entry}」有误：{m}" for m in scripting.check(operand.strip(), "eval")]


def _shown(text: str, width: int = 60) -> str:
    """An id or file name as a problem line shows it: cut short when longer than anyone would read."""
    return text if len(text) <= width else text[:width] + "…"


def _load_forms(files: Mapping[str, bytes]) -> tuple[dict[str, dict], list[Problem]]:
    forms: dict[str, dict] = {}
    problems: list[Problem] = []
    for name, content in files.items():
        if not name.endswith(".json"):
            continue
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(name, "", "表单不是 UTF-8 编码的文本"))
            continue
        schema, problem = read_form(text, is_schema=name.endswith(".schema.json"))
        if problem:
            problems.append(Problem(name, "", problem))
        else:
            forms[name] = schema
    return forms, problems


def _check_element(
    info: engine.ElementInfo,
    forms: Mapping[str, dict],
    handlers: Mapping[str, Callable[..., Any]],
    lanes: set[str] | None,
) -> list[Problem]:
    out: list[Problem] = []

    def problem(message: str) -> None:
        out.append(Problem(info.file, _shown(info.element_id), message))

    for what, value, limit in (
        ("元素 ID", info.element_id, MAX_ID),
        ("名称", info.name, MAX_NAME),
        ("泳道名称", info.lane or "", MAX_LANE),
        ("表单文件名", info.form or "", MAX_NAME),
    ):
        if len(value) > limit:
            problem(f"{what}过长(最多 {limit} 个字符)")

    if info.kind == "userTask":
        if info.form and info.form not in forms:
            problem(f"找不到表单文件 {info.form}")
        if info.ui_form and info.ui_form not in forms:
            problem(f"找不到界面描述文件 {info.ui_form}")
    if info.completed_by is not None and not info.completed_by.isidentifier():
        problem(f"办理人变量（completedBy）应为变量名：{info.completed_by}")
    if info.lane and lanes is not None and info.lane not in lanes:
        problem(f"泳道「{info.lane}」未映射到任何角色")
    if info.kind == "serviceTask":
        handler = handlers.get(info.operator or "")
        if handler is None:
            problem(f"未注册的服务处理器: {info.operator}")
        else:
            out += [Problem(info.file, info.element_id, m) for m in _check_params(handler, info)]
    for what, source, mode in info.expressions:
        for message in scripting.check(source or "", mode):
            problem(f"{what}: {message}")
        if info.kind == "timer" and not scripting.check(source or "", mode):
            literal = _literal(source)
            if literal is not None and (bad := engine.check_timer_value(literal)):
                problem(bad)
        if what == "dueIn" and not scripting.check(source or "", mode):
            literal = _literal(source)
            unusable = not isinstance(literal, str) or engine.after(_EPOCH, literal) is None
            if literal is not None and unusable:
                problem(f"办理期限无法识别: {literal}(应为 ISO 8601 时长，如 P5D、PT48H)")
    return out


def _literal(source: str) -> Any:
    try:
        return ast.literal_eval(source.strip())
    except (ValueError, SyntaxError):
        return None


def _check_params(handler: Callable[..., Any], info: engine.ElementInfo) -> list[str]:
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return []
    params = list(signature.parameters.values())[1:]  # the first is the handler context
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return []
    known = {p.name for p in params}
    required = {p.name for p in params if p.default is p.empty and p.kind is not p.VAR_POSITIONAL}
    messages = [f"处理器 {info.operator} 没有参数 {name}" for name in info.params if name not in known]
    messages += [
        f"处理器 {info.operator} 缺少必填参数 {name}" for name in sorted(required - set(info.params))
    ]
    return messages


# ----------------------------------------------------------------------------- deploying


@dataclass
class DeployedVersion:
    """One process of a deployment: its version number and whether this deploy created it."""

    process_id: str
    name: str
    version: int
    created: bool


def deploy(
    session: Session,
    files: Mapping[str, bytes],
    handlers: Mapping[str, Callable[..., Any]],
    *,
    now: datetime,
    user: str | None = None,
    source: str | None = None,
    lanes: set[str] | None = None,
) -> list[DeployedVersion]:
    """Validate and store a bundle; each process whose content changed gets a new immutable version."""
    checked = validate(files, handlers, lanes)
    if checked.bundle is None:
        raise BundleInvalid(checked.problems)
    bundle = checked.bundle
    hashes = {name: sha256(content) for name, content in files.items()}
    deployment: Deployment | None = None
    results = []
    held: set[str] = set()  # the forms the bundle's processes now hold, new versions or unchanged ones
    called = bundle.called_processes()
    for pid in sorted(bundle.process_files):
        needed = _files_of(bundle, pid, checked.forms)
        held |= {name for name in needed if _kind(name) == "form"}
        content_hash = sha256("\n".join(f"{n}:{hashes[n]}" for n in sorted(needed)).encode())
        latest = latest_version(session, pid)
        if latest is not None and latest.content_hash == content_hash:
            results.append(DeployedVersion(pid, latest.name, latest.version, created=False))
            continue
        if deployment is None:
            deployment = Deployment(
                created_at=now,
                created_by=user,
                source=source,
                bundle_hash=sha256("".join(sorted(hashes.values())).encode()),
            )
            session.add(deployment)
            session.flush()
        for name in needed:
            if session.get(FileBlob, hashes[name]) is None:
                session.add(FileBlob(sha256=hashes[name], content=files[name].decode("utf-8")))
        number = (latest.version + 1) if latest is not None else 1
        version = ProcessVersion(
            process_id=pid,
            version=number,
            name=bundle.process_names.get(pid, pid),
            content_hash=content_hash,
            deployment_id=deployment.id,
            created_at=now,
            start_lane=bundle.start_lane(pid),
            called_only=pid in called,
        )
        session.add(version)
        session.flush()
        for name in sorted(needed):
            session.add(VersionFile(version_id=version.id, name=name, kind=_kind(name), sha256=hashes[name]))
        results.append(DeployedVersion(pid, version.name, number, created=True))
        log.info("deployed %s v%s (%s)", pid, number, content_hash[:12])
    _sync_schedules(session, bundle, called, now)
    _retire_drafts(session, held)
    session.flush()
    return results


def _retire_drafts(session: Session, held: set[str]) -> None:
    """Remove the drafts of the forms a version now holds: from now on the form lives there."""
    if not held:
        return
    for draft in session.scalars(select(FormDraft).where(FormDraft.name.in_(sorted(held)))):
        session.delete(draft)
        log.info("form draft %s deployed: draft removed", draft.name)


def _sync_schedules(session: Session, bundle: engine.ParsedBundle, called: set[str], now: datetime) -> None:
    """Keep one schedule per process with a timer start event; a process that lost its timer stops."""
    for pid in bundle.process_files:
        expression = bundle.timer_starts.get(pid) if pid not in called else None
        schedule = session.scalar(select(Schedule).where(Schedule.process_id == pid))
        if expression is None:
            if schedule is not None:
                schedule.active = False
            continue
        if schedule is None:
            schedule = Schedule(process_id=pid, expression=expression)
            session.add(schedule)
        elif schedule.expression == expression and schedule.active:
            continue
        schedule.expression = expression
        schedule.active = True
        schedule.next_run_at = engine.next_occurrence(expression, now)
        log.info("schedule %s: next run %s", pid, schedule.next_run_at)


def _files_of(bundle: engine.ParsedBundle, process_id: str, forms: Mapping[str, dict]) -> set[str]:
    """The files one process version needs: its diagram, the diagrams it calls, the DMN tables and forms they
    name. So editing a table gives new versions only to the processes that decide with it."""
    pids = {process_id} | bundle.dependencies(process_id)
    needed = {bundle.process_files[p] for p in pids}
    # A file may hold several processes; every process in a needed file is needed too.
    needed |= {f for p, f in bundle.process_files.items() if f in needed}
    for info in engine.iter_elements(bundle):
        if info.process_id in pids or info.file in needed:  # by file: embedded subprocesses too
            needed |= {f for f in (info.form, info.ui_form) if f and f in forms}
            if info.decision_id in bundle.dmn_decisions:
                needed.add(bundle.dmn_decisions[info.decision_id])
    return needed


def _kind(name: str) -> str:
    return "bpmn" if name.endswith(".bpmn") else "dmn" if name.endswith(".dmn") else "form"


def latest_version(session: Session, process_id: str) -> ProcessVersion | None:
    """Return the newest version of a process, or None."""
    return session.scalars(
        select(ProcessVersion)
        .where(ProcessVersion.process_id == process_id)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    ).first()


def get_version(session: Session, process_id: str, version: int | None = None) -> ProcessVersion:
    """Return a version of a process (the newest when `version` is None)."""
    if version is None:
        found = latest_version(session, process_id)
    else:
        found = session.scalars(
            select(ProcessVersion).where(
                ProcessVersion.process_id == process_id, ProcessVersion.version == version
            )
        ).first()
    if found is None:
        raise NotFound(f"流程 {process_id} 不存在" + (f"版本 {version}" if version else ""))
    return found


def list_processes(session: Session) -> list[ProcessVersion]:
    """Return the newest version of every process, by name."""
    newest = (
        select(ProcessVersion.process_id, func.max(ProcessVersion.version).label("v"))
        .group_by(ProcessVersion.process_id)
        .subquery()
    )
    stmt = (
        select(ProcessVersion)
        .join(
            newest,
            (ProcessVersion.process_id == newest.c.process_id) & (ProcessVersion.version == newest.c.v),
        )
        .order_by(ProcessVersion.process_id)
    )
    return list(session.scalars(stmt))


def version_files(session: Session, version: ProcessVersion) -> dict[str, str]:
    """Return the texts of every file of a version, by name."""
    blobs = {
        b.sha256: b.content
        for b in session.scalars(
            select(FileBlob).where(FileBlob.sha256.in_([f.sha256 for f in version.files]))
        )
    }
    return {f.name: blobs[f.sha256] for f in version.files}


def version_file(session: Session, version: ProcessVersion, name: str) -> str:
    """Return the text of one file of a version."""
    for f in version.files:
        if f.name == name:
            blob = session.get(FileBlob, f.sha256)
            if blob is not None:
                return blob.content
    raise NotFound(f"版本中没有文件 {name}")


class SpecCache:
    """Parsed specs per content hash, so a request never re-parses XML; thread-safe, bounded."""

    def __init__(self, size: int = 64) -> None:
        self._items: OrderedDict[str, engine.ParsedBundle] = OrderedDict()
        self._forms: dict[str, dict[str, dict]] = {}
        self._labels: dict[str, dict[str, dict[str, str]]] = {}
        self._size = size
        self._lock = Lock()

    def bundle(self, session: Session, version: ProcessVersion | VersionRef) -> engine.ParsedBundle:
        """Return the parsed bundle of a version."""
        with self._lock:
            if version.content_hash in self._items:
                self._items.move_to_end(version.content_hash)
                return self._items[version.content_hash]
        if not isinstance(version, ProcessVersion):
            version = session.get(ProcessVersion, version.id)
        texts = version_files(session, version)
        bundle, problems = engine.parse_bundle({n: t.encode() for n, t in texts.items()})
        if bundle is None:
            raise BundleInvalid(problems)
        forms = {n: json.loads(t) for n, t in texts.items() if n.endswith(".json")}
        with self._lock:
            self._items[version.content_hash] = bundle
            self._forms[version.content_hash] = forms
            while len(self._items) > self._size:
                old, _ = self._items.popitem(last=False)
                self._forms.pop(old, None)
                self._labels.pop(old, None)
        return bundle

    def specs(self, session: Session, version: ProcessVersion | VersionRef) -> tuple[Any, dict[str, Any]]:
        """Return (spec, subprocess specs) of a version's process."""
        return self.bundle(session, version).specs(version.process_id)

    def form(self, session: Session, version: ProcessVersion | VersionRef, name: str) -> dict | None:
        """Return a form schema of a version, or None."""
        self.bundle(session, version)
        return self._forms.get(version.content_hash, {}).get(name)

    def labels(self, session: Session, version: ProcessVersion | VersionRef) -> dict[str, dict[str, str]]:
        """Return the titles of coded choices in a version's forms, by field (for task instructions)."""
        self.bundle(session, version)
        found = self._labels.get(version.content_hash)
        if found is None:
            found = instructions.form_labels(self._forms.get(version.content_hash, {}).values())
            self._labels[version.content_hash] = found
        return found
