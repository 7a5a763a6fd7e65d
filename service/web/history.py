"""Readable instance history: events with Chinese labels and field titles taken from the task forms."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import HANDLER_DOCS, PARAM_TITLES
from processes import queries
from processes.errors import ProcessError
from processes.store.models import HumanTask, InstanceEvent, ProcessInstance, ProcessVersion
from service.db import runtime
from service.web.formatting import EVENT_KINDS, value_text, yuan

MAX_CHANGES = 30


@dataclass
class Change:
    """One field a task changed, with its values as a person reads them (option titles, 元 amounts)."""

    key: str
    title: str
    old: Any
    new: Any
    old_text: str = ""
    new_text: str = ""


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


def form_fields(session: Session, version: ProcessVersion, form: str | None) -> dict[str, dict[str, Any]]:
    """Return {field name: its JSON Schema} of a form of a version ({} when it has none)."""
    if not form:
        return {}
    try:
        schema = runtime().specs.form(session, version, form) or {}
    except ProcessError:
        return {}
    return {name: prop for name, prop in (schema.get("properties") or {}).items() if isinstance(prop, dict)}


def readable(value: Any, prop: dict[str, Any] | None) -> str:
    """Render a submitted value as the form showed it: an option's title, an amount in 元, 是/否."""
    prop = prop or {}
    choices = {c.get("const"): c.get("title") for c in prop.get("oneOf") or [] if isinstance(c, dict)}
    if not choices and isinstance(prop.get("enum"), list) and isinstance(prop.get("enumNames"), list):
        choices = dict(zip(prop["enum"], prop["enumNames"], strict=False))
    if isinstance(value, str | int | bool) and value in choices and choices[value]:
        return str(choices[value])
    if isinstance(value, int | float) and not isinstance(value, bool):
        if prop.get("x-unit") == "元" or prop.get("format") == "money":
            return yuan(value)
        if prop.get("x-unit"):
            return f"{value} {prop['x-unit']}"
    return value_text(value)


def timeline(session: Session, instance_id: int, version: ProcessVersion) -> list[Entry]:
    """Return an instance's history as readable entries, oldest first."""
    forms = dict(
        session.execute(
            select(HumanTask.spec_id, HumanTask.form).where(
                HumanTask.instance_id == instance_id, HumanTask.form.is_not(None)
            )
        ).all()
    )
    fields: dict[str, dict[str, dict[str, Any]]] = {}
    out = []
    for event in queries.history(session, instance_id):
        if event.spec_id and event.spec_id not in fields:
            fields[event.spec_id] = form_fields(session, version, forms.get(event.spec_id))
        out.append(_entry(event, fields.get(event.spec_id or "", {})))
    return out


def _entry(event: InstanceEvent, fields: dict[str, dict[str, Any]]) -> Entry:
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
    entry = Entry(event.id, event.kind, label, title, event.at, who, event.spec_id, event.user_id, css)
    if event.kind == "task_completed":
        for key, change in list((detail.get("changes") or {}).items())[:MAX_CHANGES]:
            if isinstance(change, dict):
                prop = fields.get(key)
                old, new = change.get("old"), change.get("new")
                entry.changes.append(
                    Change(
                        key,
                        (prop or {}).get("title", key),
                        old,
                        new,
                        readable(old, prop),
                        readable(new, prop),
                    )
                )
    elif event.kind == "service_task":
        handler = HANDLER_DOCS.get(event.task_name or "", {})
        entry.title = f"系统处理：{handler.get('title') or event.task_name}"
        result = detail.get("result") or {}
        if isinstance(result, dict):
            items = list(result.items())[:MAX_CHANGES]
            entry.changes = [Change(k, PARAM_TITLES.get(k, k), None, v, "", value_text(v)) for k, v in items]
    elif event.kind == "incident":
        entry.note = str(detail.get("message", ""))
    elif event.kind == "started":
        entry.note = f"版本 {detail.get('version', '')}"
    elif event.kind == "terminated":
        entry.note = str(detail.get("reason") or "")
    elif event.kind == "timer_fired":
        entry.note = "到期时间 " + str(detail.get("due", ""))[:16].replace("T", " ")
    elif event.kind == "message_received":
        entry.note = f"消息 {detail.get('message', '')}"
    elif event.kind == "task_reassigned":
        entry.note = f"转给 {detail.get('assignee', '')}"
    elif event.kind == "migrated":
        added = "；新增 " + "、".join(detail["added"]) if detail.get("added") else ""
        entry.note = f"第 {detail.get('from_version', '')} 版 → 第 {detail.get('to_version', '')} 版{added}"
    return entry


def decisions(session: Session, instance_id: int, task: HumanTask | None = None) -> list[Entry]:
    """Return the completed tasks of an instance, newest first, for the task page's side panel.

    A person-assigned open task (an expert's score) does not see its siblings' answers, so each
    person decides independently.
    """
    entries = [
        e
        for e in timeline(session, instance_id, _version(session, instance_id))
        if e.kind == "task_completed"
    ]
    if task is not None and task.assignee_id is not None and task.completed_at is None:
        entries = [e for e in entries if e.spec_id != task.spec_id or e.user_id == task.assignee_id]
    return list(reversed(entries))


def _version(session: Session, instance_id: int) -> ProcessVersion:
    instance = session.get(ProcessInstance, instance_id)
    return instance.version
