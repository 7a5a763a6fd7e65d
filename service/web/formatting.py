"""Jinja filters and Chinese labels: 元 amounts, Beijing times, statuses, history events."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Flask, request, url_for

from handlers.localtime import as_utc, format_instant, format_local, to_local
from handlers.models import PROJECT_STATUS_LABELS, PROJECT_TYPES

INSTANCE_STATUS = {
    "running": ("办理中", "badge-ready"),
    "waiting": ("等待中", "badge-waiting"),
    "suspended": ("已挂起", "badge-waiting"),
    "error": ("出错", "badge-error"),
    "complete": ("已完成", "badge-done"),
    "terminated": ("已终止", ""),
}
TASK_STATUS = {
    "ready": ("待办理", "badge-ready"),
    "completed": ("已办理", "badge-done"),
    "cancelled": ("已取消", ""),
}
EVENT_KINDS = {
    "started": "发起流程",
    "task_completed": "办理",
    "task_claimed": "认领任务",
    "task_unclaimed": "退回认领",
    "task_reassigned": "转办任务",
    "service_task": "系统处理",
    "timer_fired": "定时器触发",
    "message_received": "收到消息",
    "incident": "出现故障",
    "incident_retried": "故障重试",
    "suspended": "挂起",
    "resumed": "恢复",
    "terminated": "终止",
    "completed": "流程结束",
    "migrated": "迁移版本",
}


def aware(when: datetime) -> datetime:
    """Return a timezone-aware datetime; SQLite hands back naive values that were stored as UTC."""
    return as_utc(when)


def local(when: datetime | None) -> datetime | None:
    """Return a stored time in Beijing time."""
    return to_local(when) if when is not None else None


def dt(when: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a stored time in Beijing time ("—" when empty)."""
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when)
        except ValueError:
            return when
    return format_local(when, fmt) if when is not None else "—"


def date(when: datetime | str | None) -> str:
    """Format a stored time as a Beijing date."""
    return dt(when, "%Y-%m-%d")


def yuan(value: Any, suffix: bool = True) -> str:
    """Format an amount of 元 with thousands separators and two decimals (1,234,567.80 元)."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    text = f"{amount:,.2f}"
    return f"{text} 元" if suffix else text


def wan(value: Any) -> str:
    """Format an amount of 元 in 万元 with two decimals."""
    if value is None or value == "":
        return "—"
    try:
        return f"{Decimal(str(value)) / 10000:,.2f} 万元"
    except (InvalidOperation, ValueError):
        return str(value)


def filesize(size: int | None) -> str:
    """Format a file size in B, KB or MB."""
    if size is None:
        return "—"
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def badge(status: str, kind: str = "instance") -> tuple[str, str]:
    """Return (Chinese label, badge class) of an instance or task status."""
    table = INSTANCE_STATUS if kind == "instance" else TASK_STATUS
    return table.get(str(status), (str(status), ""))


EMPTY = "无"  # what an empty value reads as, as in the instructions (processes/instructions.py)


def value_text(value: Any) -> str:
    """Render a data value of a history entry briefly and readably (nothing, "", [] and {} read 无)."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dict):
        if value.get("filename"):
            return f"附件 {value['filename']}"
        return "；".join(f"{k}: {value_text(v)}" for k, v in list(value.items())[:8]) + (
            " …" if len(value) > 8 else ""
        )
    if isinstance(value, list):
        more = " …" if len(value) > 3 else ""
        return f"{len(value)} 项: " + "；".join(value_text(v) for v in value[:3]) + more
    if isinstance(value, datetime):
        return dt(value)
    text = str(value)
    if (instant := format_instant(text)) is not None:
        return instant
    return text if len(text) <= 160 else text[:160] + "…"


def is_overdue(due: datetime | None, now: datetime) -> bool:
    """Tell whether a due time has passed."""
    return due is not None and aware(due) < aware(now)


def overdue_days(due: datetime | None, now: datetime) -> int:
    """Return how many whole days a due time has passed (0 when not overdue)."""
    if due is None:
        return 0
    return max((aware(now) - aware(due)).days, 0)


def with_args(**changes: Any) -> str:
    """Return the current page's URL with some query arguments changed (None drops one)."""
    args = {k: v for k, v in request.args.items() if v != "" and k != "done"}
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint or "web.home", **(request.view_args or {}), **args)


NOT_YET_NAMED = "尚未填写"


def project_name(instance: Any) -> str:
    """An instance's project name; before the declaration names it, the title is the process's own name."""
    title = getattr(instance, "title", None)
    version = getattr(instance, "version", None)
    if not title or (version is not None and title == getattr(version, "name", None)):
        return NOT_YET_NAMED
    return title


def init_app(app: Flask) -> None:
    """Register the filters and globals on the app's Jinja environment."""
    app.add_template_filter(dt, "dt")
    app.add_template_filter(date, "date")
    app.add_template_filter(yuan, "yuan")
    app.add_template_filter(wan, "wan")
    app.add_template_filter(filesize, "filesize")
    app.add_template_filter(value_text, "value_text")
    app.add_template_global(badge, "status_badge")
    app.add_template_global(with_args, "with_args")
    app.add_template_global(project_name, "project_name")
    app.add_template_global(is_overdue, "is_overdue")
    app.add_template_global(overdue_days, "overdue_days")
    app.add_template_global(EVENT_KINDS, "EVENT_KINDS")
    app.add_template_global(PROJECT_STATUS_LABELS, "PROJECT_STATUS_LABELS")
    app.add_template_global(PROJECT_TYPES, "PROJECT_TYPES")
