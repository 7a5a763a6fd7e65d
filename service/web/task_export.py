"""The managers' task lists (待办任务, 超期任务) as an Excel workbook, rows as the page shows them."""

from __future__ import annotations

from datetime import datetime

from handlers.localtime import format_local
from processes.reports import NO_ROLE_NAME
from processes.store.models import HumanTask
from service.spreadsheet import new_sheet, workbook_bytes
from service.web.formatting import overdue_days, project_name

COLUMNS = [
    ("项目编号", 16),
    ("项目名称", 40),
    ("建设单位", 28),
    ("环节", 24),
    ("角色", 16),
    ("办理人", 22),
    ("到达时间", 18),
    ("办理期限", 18),
]
OVERDUE_COLUMN = ("超期天数", 10)


def holder_text(task: HumanTask, role_names: dict[str, str]) -> str:
    """Return who holds a task: who claimed it or was given it, else the pool 待认领（角色）."""
    person = task.claimed_by or task.assignee
    if person is not None:
        return person.display_name
    return f"待认领（{role_label(task, role_names)}）"


def role_label(task: HumanTask, role_names: dict[str, str]) -> str:
    """Return the name of a task's role (its lane when the role is unknown; 指定办理人 without one)."""
    if task.role_code is None:
        return NO_ROLE_NAME
    return role_names.get(task.role_code) or task.lane or task.role_code


def task_workbook(
    tasks: list[HumanTask], now: datetime, role_names: dict[str, str], *, overdue: bool, title: str
) -> bytes:
    """Return the tasks as an .xlsx file: times in Beijing time, and 超期天数 on the overdue list."""
    columns = [*COLUMNS, OVERDUE_COLUMN] if overdue else COLUMNS
    wb, ws = new_sheet(title, columns)
    for t in tasks:
        unit = t.instance.unit
        row: list[str | int] = [
            t.instance.project_id or "",
            project_name(t.instance),
            unit.name if unit is not None else "",
            t.name,
            role_label(t, role_names),
            holder_text(t, role_names),
            format_local(t.created_at),
            format_local(t.due_at) if t.due_at else "",
        ]
        if overdue:
            row.append(overdue_days(t.due_at, now))
        ws.append(row)
    return workbook_bytes(wb, ws, len(columns))
