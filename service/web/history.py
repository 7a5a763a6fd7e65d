"""Readable instance history: events with Chinese labels, every data key by its form's or handler's title.

A key's description comes from one place: the field of the task's form, else what the handler that returned
it declares (`handlers.RESULT_FIELDS`), else the handlers' parameter titles. A key without a title, one its
description marks internal, and a code next to its own `*_name` twin are shown to admins only, marked.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from handlers import HANDLER_DOCS, PARAM_TITLES, RESULT_FIELDS
from handlers.documents import kind_label
from processes import queries
from processes.errors import ProcessError
from processes.store.models import (
    HumanTask,
    InstanceEvent,
    ProcessInstance,
    ProcessVersion,
    TaskStatus,
    User,
)
from service.api.attachments import readable_ids, uploaded_files
from service.db import runtime
from service.web.formatting import EMPTY, EVENT_KINDS, dt, value_text, yuan

MAX_CHANGES = 30
MAX_ITEMS = 5  # items of a list shown before "…"
# A form marked so is a periodic report (建设进度, 年度运维备案 and its 审核): each time its task opens is a
# new period, not a correction of the last one. Its task starts from the data, not from its earlier answers
# (`service.web.tasks.prefill`), and the history shows each run as a report of its own, neither as changes
# to the previous period's answers ("是 → 否") nor with 本次修改 marks.
NEW_EACH_ROUND = "x-new-each-round"
# Steps the engine takes on its own (handlers, timers, incidents, the end): shown as done by 系统, not by
# the person whose action happened to run them.
INCIDENT_NOTICE = "流程出现故障，已通知流程管理员处理，处理后将继续办理"
SYSTEM_KINDS = frozenset({"service_task", "timer_fired", "incident", "completed"})


@dataclass
class Change:
    """One field a task changed, with its values as a person reads them (option titles, 元 amounts)."""

    key: str
    title: str
    old: Any
    new: Any
    old_text: str = ""
    new_text: str = ""
    internal: bool = False  # a detail only admins see (its title may be the raw key)


@dataclass
class FileLink:
    """An upload in a submitted form: name, 材料类型, download address (None: not for this reader)."""

    id: int | None
    filename: str
    kind_name: str | None = None
    url: str | None = None


@dataclass
class SubmittedField:
    """One field of a completed task's form, with its value as submitted, read as a person reads it."""

    key: str
    title: str
    text: str = ""
    files: list[FileLink] = field(default_factory=list)
    changed: bool = False  # this submission changed it (marked when the task ran before)
    internal: bool = False  # a detail only admins see


@dataclass
class Entry:
    """One line of the history timeline."""

    id: int
    kind: str
    label: str
    title: str
    at: datetime
    who: str | None
    spec_id: str | None
    user_id: int | None
    css: str
    changes: list[Change] = field(default_factory=list)
    note: str = ""
    task_name: str | None = None
    submitted: dict[str, Any] = field(default_factory=dict)  # a completed task's changed values
    fields: list[SubmittedField] = field(default_factory=list)  # its form as submitted (decisions)
    complete: bool = False  # `fields` is the whole form (else only the fields the run changed)
    periodic: bool = False  # a completion of a form marked NEW_EACH_ROUND: a report of its own


def form_schema(session: Session, version: ProcessVersion, form: str | None) -> dict[str, Any]:
    """Return the JSON Schema of a form of a version ({} when it has none)."""
    if not form:
        return {}
    try:
        return runtime().specs.form(session, version, form) or {}
    except ProcessError:
        return {}


def form_fields(session: Session, version: ProcessVersion, form: str | None) -> dict[str, dict[str, Any]]:
    """Return {field name: its JSON Schema} of a form of a version ({} when it has none)."""
    schema = form_schema(session, version, form)
    return {name: prop for name, prop in (schema.get("properties") or {}).items() if isinstance(prop, dict)}


def new_each_round(schema: dict[str, Any] | None) -> bool:
    """Tell whether a form is a new report each time its task opens (see NEW_EACH_ROUND)."""
    return bool((schema or {}).get(NEW_EACH_ROUND))


def describe(key: str, fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Return how a person reads a data key: its form field, else its handler result, else its parameter."""
    prop = fields.get(key) or RESULT_FIELDS.get(key)
    if prop is None and key in PARAM_TITLES:
        prop = {"title": PARAM_TITLES[key]}
    return prop or {}


def is_internal(key: str, prop: dict[str, Any], siblings: Any = ()) -> bool:
    """Tell whether only admins see a key: untitled, marked internal, or a code beside its `*_name` twin."""
    return not prop.get("title") or bool(prop.get("x-internal")) or f"{key}_name" in siblings


def readable(value: Any, prop: dict[str, Any] | None, admin: bool = False) -> str:
    """Render a value as its form or handler describes it: option titles, amounts in 元, 是/否, lists."""
    prop = prop or {}
    choices = _choices(prop)
    if isinstance(value, str | int | bool) and value in choices and choices[value]:
        return str(choices[value])
    money = prop.get("x-unit") == "元" or prop.get("format") == "money"
    if money and isinstance(value, int | float | str) and not isinstance(value, bool) and value != "":
        return yuan(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and prop.get("x-unit"):
        return f"{value} {prop['x-unit']}"
    if isinstance(value, str) and prop.get("format") == "date-time" and value:
        return dt(value)
    if isinstance(value, list) and value:
        item = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        more = " …" if len(value) > MAX_ITEMS else ""
        shown = "；".join(readable(v, item, admin) for v in value[:MAX_ITEMS])
        return f"{len(value)} 项：{shown}{more}"
    if isinstance(value, dict) and value and not value.get("filename"):
        return _record_text(value, prop, admin)
    return value_text(value)


def _record_text(value: dict[str, Any], prop: dict[str, Any], admin: bool) -> str:
    """Render an object by its properties' titles; keys without one are shown (raw) to admins only."""
    props = prop.get("properties") if isinstance(prop.get("properties"), dict) else {}
    parts = []
    for key, item in list(value.items())[:8]:
        sub = props.get(key) or {}
        if not is_internal(key, sub, value) or admin:
            parts.append(f"{sub.get('title') or key} {readable(item, sub, admin)}")
    return "，".join(parts) or EMPTY


def changes(
    values: dict[str, tuple[Any, Any]],
    fields: dict[str, dict[str, Any]],
    admin: bool = False,
    discreet: bool = False,
) -> list[Change]:
    """Return the readable changes of {key: (old, new)}; internal keys only for admins, marked.

    `discreet`: the viewer is the unit under review, who does not see keys marked confidential.
    """
    out = []
    for key, (old, new) in values.items():
        prop = describe(key, fields)
        internal = is_internal(key, prop, values)
        if (internal and not admin) or (discreet and prop.get("x-confidential")):
            continue
        title = prop.get("title") or key
        out.append(
            Change(key, title, old, new, readable(old, prop, admin), readable(new, prop, admin), internal)
        )
        if len(out) >= MAX_CHANGES:
            break
    return out


def timeline(
    session: Session, instance_id: int, version: ProcessVersion, admin: bool = False, discreet: bool = False
) -> list[Entry]:
    """Return an instance's history as readable entries, oldest first (internal keys only for admins).

    `discreet`: the viewer is the unit under review: reviewers read as their role, the draw is not shown.
    """
    forms = dict(
        session.execute(
            select(HumanTask.spec_id, HumanTask.form).where(
                HumanTask.instance_id == instance_id, HumanTask.form.is_not(None)
            )
        ).all()
    )
    fields: dict[str, dict[str, dict[str, Any]]] = {}
    periodic: set[str] = set()
    out = []
    for event in queries.history(session, instance_id):
        if event.spec_id and event.spec_id not in fields:
            schema = form_schema(session, version, forms.get(event.spec_id))
            props = schema.get("properties") or {}
            fields[event.spec_id] = {name: prop for name, prop in props.items() if isinstance(prop, dict)}
            if new_each_round(schema):
                periodic.add(event.spec_id)
        spec_id = event.spec_id or ""
        entry = _entry(event, fields.get(spec_id, {}), admin, spec_id in periodic, discreet)
        if discreet and event.kind not in SYSTEM_KINDS and queries.is_reviewer(event.user):
            entry.who = REVIEWER_NAME
        out.append(entry)
    return out


REVIEWER_NAME = "评审专家"  # how a reviewer reads to the unit under review


def _entry(
    event: InstanceEvent,
    fields: dict[str, dict[str, Any]],
    admin: bool,
    periodic: bool = False,
    discreet: bool = False,
) -> Entry:
    detail = event.detail or {}
    label = EVENT_KINDS.get(event.kind, event.kind)
    title = f"{label}：{event.task_name}" if event.task_name and event.kind != "service_task" else label
    css = {
        "incident": "is-error",
        "task_completed": "is-done",
        "completed": "is-done",
        "terminated": "is-error",
    }.get(event.kind, "")
    who = event.user.display_name if event.user else None
    if event.kind in SYSTEM_KINDS:
        # The engine did it in the step a person's action (or the timer worker) ran; only admins see whom.
        who = f"系统（{who} 操作时触发）" if who and admin else "系统"
    entry = Entry(event.id, event.kind, label, title, event.at, who, event.spec_id, event.user_id, css)
    entry.task_name = event.task_name
    if event.kind == "task_completed":
        submitted = {
            key: (change.get("old"), change.get("new"))
            for key, change in (detail.get("changes") or {}).items()
            if isinstance(change, dict)
        }
        entry.submitted = {key: new for key, (_old, new) in submitted.items()}
        if periodic:
            # A new period's report: the values before it are the last period's, not what it corrected.
            submitted = {key: (None, new) for key, (_old, new) in submitted.items()}
        entry.periodic = periodic
        entry.changes = changes(submitted, fields, admin)
    elif event.kind == "service_task":
        handler = HANDLER_DOCS.get(event.task_name or "", {})
        entry.title = f"系统处理：{handler.get('title') or event.task_name}"
        result = detail.get("result") or {}
        if isinstance(result, dict):
            entry.changes = changes({k: (None, v) for k, v in result.items()}, {}, admin, discreet)
    elif event.kind == "incident":
        # The engine's own words (expressions, element ids) help the admin who fixes it, nobody else.
        entry.note = str(detail.get("message", "")) if admin else INCIDENT_NOTICE
    elif event.kind == "started":
        entry.note = f"版本 {detail.get('version', '')}"
    elif event.kind == "terminated":
        entry.note = str(detail.get("reason") or "")
    elif event.kind == "timer_fired":
        entry.note = "到期时间 " + dt(str(detail.get("due", "")))
    elif event.kind == "message_received":
        entry.note = f"消息 {detail.get('message', '')}"
    elif event.kind == "task_reassigned":
        entry.note = f"转给 {detail.get('assignee', '')}"
    elif event.kind == "migrated":
        added = "；新增 " + "、".join(detail["added"]) if detail.get("added") else ""
        entry.note = f"第 {detail.get('from_version', '')} 版 → 第 {detail.get('to_version', '')} 版{added}"
    return entry


def decisions(
    session: Session,
    instance_id: int,
    task: HumanTask | None = None,
    admin: bool = False,
    user: User | None = None,
    discreet: bool = False,
) -> list[Entry]:
    """Return the completed tasks of an instance, newest first, for the task page's side panel.

    A person's latest completion of each task carries its whole form as submitted (`fields`, `complete`;
    on a task that ran before, what this run changed is marked), their earlier runs the fields they
    changed; uploads are download links when `user` may read them. A person-assigned open task (an
    expert's score) does not see its siblings' answers, so each person decides independently.
    """
    version = _version(session, instance_id)
    history = timeline(session, instance_id, version, admin, discreet)
    entries = [e for e in history if e.kind == "task_completed"]
    if task is not None and task.assignee_id is not None and task.completed_at is None:
        entries = [e for e in entries if e.spec_id != task.spec_id or e.user_id == task.assignee_id]
    tasks = completed_tasks(session, instance_id, entries)
    # A person's runs of a task: corrections of one another, except a periodic report's, whose runs are
    # corrections only within one period (round) of its loop.
    runs: dict[tuple[str | None, int | None, str | None], list[Entry]] = {}
    for entry in entries:
        runs.setdefault(_run_key(entry, tasks.get(entry.id)), []).append(entry)
    forms: dict[str, dict[str, dict[str, Any]]] = {}
    values: dict[int, tuple[dict[str, Any], dict[str, dict[str, Any]]]] = {}
    for entry in entries:
        done = tasks.get(entry.id)
        if done is None or not done.form:
            continue
        if done.form not in forms:
            forms[done.form] = form_fields(session, version, done.form)
        props = forms[done.form]
        if not props:
            continue
        if entry is runs[_run_key(entry, done)][-1]:
            values[entry.id] = (submitted_values(done, entry.submitted, props), props)
        else:
            values[entry.id] = ({k: entry.submitted[k] for k in props if k in entry.submitted}, props)
    ids = {i for value, _props in values.values() for i, _kind in uploaded_files(value)}
    readable = readable_ids(user, ids) if user is not None else set()
    for entry in entries:
        if entry.id not in values:
            continue
        value, props = values[entry.id]
        same = runs[_run_key(entry, tasks.get(entry.id))]
        entry.complete = entry is same[-1]
        marked = set(entry.submitted) if entry.complete and len(same) > 1 else set()
        entry.fields = submission(value, props, marked, readable, admin)
    return list(reversed(entries))


def _run_key(entry: Entry, task: HumanTask | None) -> tuple[str | None, int | None, str | None]:
    """Which runs an entry's form is shown with: a person's runs of one task; of one round if periodic."""
    if not entry.periodic:
        return (entry.spec_id, entry.user_id, None)
    round_key = task.round_key if task is not None else None
    return (entry.spec_id, entry.user_id, round_key or f"entry:{entry.id}")


def completed_tasks(session: Session, instance_id: int, entries: list[Entry]) -> dict[int, HumanTask]:
    """Return {entry id: the task row it completed} (a person's k-th completion of a task is its k-th row)."""
    rows = session.scalars(
        select(HumanTask)
        .options(undefer(HumanTask.context_json))
        .where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.COMPLETED)
        .order_by(HumanTask.completed_at, HumanTask.id)
    )
    queues: dict[tuple[str, str, int | None], deque[HumanTask]] = {}
    for row in rows:
        queues.setdefault((row.spec_id, row.name, row.completed_by_id), deque()).append(row)
    out = {}
    for entry in sorted(entries, key=lambda e: (e.at, e.id)):
        queue = queues.get((entry.spec_id or "", entry.task_name or "", entry.user_id))
        if queue:
            out[entry.id] = queue.popleft()
    return out


def submitted_values(
    task: HumanTask, changed: dict[str, Any], props: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Return a completed task's form as submitted, in the form's order.

    History keeps only what a submission changed; a field submitted unchanged has the value the task saw
    when it became ready (its `context_json`), so the two together give every field of the form.
    """
    context = task.context_json if isinstance(task.context_json, dict) else {}
    out = {}
    for name in props:
        if name in changed:
            out[name] = changed[name]
        elif context.get(name) is not None:
            out[name] = context[name]
    for name, value in changed.items():
        out.setdefault(name, value)
    return out


def task_submission(session: Session, task: HumanTask, props: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Return every field of a completed task's form as submitted (see `submitted_values`)."""
    if task.completed_by_id is None:
        return {}
    recorded = next(
        (
            changes
            for run, changes in queries.run_changes(session, task, task.completed_by_id)
            if run.id == task.id
        ),
        {},
    )
    changed = {key: change.get("new") for key, change in recorded.items() if isinstance(change, dict)}
    return submitted_values(task, changed, props)


def submission(
    values: dict[str, Any],
    props: dict[str, dict[str, Any]],
    changed: set[str] | frozenset[str] = frozenset(),
    readable_files: set[int] | frozenset[int] = frozenset(),
    admin: bool = False,
) -> list[SubmittedField]:
    """Render submitted values against their form: titles, option labels, 元, full texts, uploads as links."""
    out = []
    for key, value in values.items():
        prop = describe(key, props)
        internal = is_internal(key, prop, values)
        if (internal and not admin) or value is None:
            continue
        item = SubmittedField(key, prop.get("title") or key, changed=key in changed, internal=internal)
        files = _files(value, readable_files)
        if files is not None:
            item.files = files
        else:
            item.text = _full_text(value, prop, admin)
        out.append(item)
    return out


def _files(value: Any, readable_files: set[int] | frozenset[int]) -> list[FileLink] | None:
    """The uploads a value holds (one file, or a list of files); None when it is not an upload field."""
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, dict) and v.get("filename") for v in items):
        return None
    out = []
    for v in items:
        refs = list(uploaded_files(v))
        ident = refs[0][0] if refs else None
        kind = v.get("kind") if isinstance(v.get("kind"), str) and v.get("kind") else None
        url = f"/api/v1/attachments/{ident}" if ident is not None and ident in readable_files else None
        out.append(FileLink(ident, str(v["filename"]), kind_label(kind) if kind else None, url))
    return out


def _full_text(value: Any, prop: dict[str, Any], admin: bool) -> str:
    """A value in full: a plain text untruncated, every item of a list, else as `readable` renders it."""
    if isinstance(value, str) and value and not _choices(prop) and not prop.get("format"):
        return value
    if isinstance(value, list) and value:
        item = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        return "；".join(_full_text(v, item, admin) for v in value)
    return readable(value, prop, admin)


def _choices(prop: dict[str, Any]) -> dict[Any, Any]:
    """The option titles of a field: {value: title} from `oneOf` consts, else `enum` with `enumNames`."""
    choices = {c.get("const"): c.get("title") for c in prop.get("oneOf") or [] if isinstance(c, dict)}
    if not choices and isinstance(prop.get("enum"), list) and isinstance(prop.get("enumNames"), list):
        choices = dict(zip(prop["enum"], prop["enumNames"], strict=False))
    return choices


def _version(session: Session, instance_id: int) -> ProcessVersion:
    instance = session.get(ProcessInstance, instance_id)
    return instance.version
