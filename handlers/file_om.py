"""Handler `file_om`: create or update a project's annual O&M filing (年度运维备案)."""

import re
from datetime import date, datetime

from sqlalchemy import select

from handlers.coercion import as_int
from handlers.context import HandlerContext
from handlers.errors import HandlerError
from handlers.localtime import BEIJING, local_date
from handlers.models import OmFiling, ProjectStatus
from handlers.queries import latest_performance, load_project
from handlers.record_performance import GRADE_NAMES
from handlers.results import choice, flag, internal, text, when

TITLE = "年度运维备案"
ERRORS = ("project_not_in_operation", "om_already_filed")

STATUSES = {"SUBMITTED": "已提交", "RETURNED": "退回补正", "FILED": "已备案"}
RETURNS = {
    "om_filing_id": internal(text("备案记录编号")),
    "om_year": text("备案年度"),
    "om_due_date": text("备案截止日"),
    "om_status": choice("备案状态", STATUSES),
    "om_overdue": flag("逾期备案"),
    "last_perf_grade": choice("上次绩效等级", GRADE_NAMES),
    "last_perf_grade_name": text("上次绩效等级"),
    "next_filing_year": text("下一备案年度"),
    "next_filing_at": when("下一年度备案开始时间"),
}
IN_OPERATION = frozenset({ProjectStatus.ACCEPTED, ProjectStatus.OPERATING})
_MONTH_DAY = re.compile(r"(\d{1,2})-(\d{1,2})")
_WINDOW = re.compile(r"(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{2})")


def _month_day(text: str, year: int) -> date:
    match = _MONTH_DAY.fullmatch(text or "")
    if not match:
        raise ValueError(f"日期应为“月-日”格式，如 10-31：{text!r}")
    return date(year, int(match[1]), int(match[2]))


def _window_start(text: str, year: int) -> datetime:
    match = _WINDOW.fullmatch(text or "")
    if not match:
        raise ValueError(f"备案窗口开始时间应为“月-日T时:分”格式，如 09-01T09:00：{text!r}")
    month, day, hour, minute = (int(part) for part in match.groups())
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING)


def handle(
    ctx: HandlerContext,
    *,
    project_id: str,
    year: int | None = None,
    filing: dict | None = None,
    due_month_day: str = "10-31",
    status: str = "SUBMITTED",
    next_window_start: str = "09-01T09:00",
) -> dict:
    """Record this year's filing (or its correction / acceptance) and say when the next one opens."""
    if status not in STATUSES:
        raise ValueError(f"备案状态应为 {'、'.join(STATUSES)} 之一：{status!r}")
    session = ctx.session
    today = local_date(ctx.now)
    year = as_int(year) or today.year
    due = _month_day(due_month_day, year)
    next_at = _window_start(next_window_start, year + 1)
    project = load_project(session, project_id)
    if project.status not in IN_OPERATION:
        raise HandlerError(
            "project_not_in_operation", f"项目 {project_id} 尚未通过竣工验收，不能办理运维备案"
        )

    perf = latest_performance(session, project_id, before_year=year + 1)
    last_grade = perf.grade if perf is not None else project.last_perf_grade
    record = session.scalar(select(OmFiling).where(OmFiling.project_id == project_id, OmFiling.year == year))
    if record is None:
        record = OmFiling(
            project_id=project_id,
            year=year,
            due_date=due,
            status=status,
            filing=dict(filing or {}),
            last_perf_grade=last_grade,
            next_year=year + 1,
            submitted_at=ctx.now,
            updated_at=ctx.now,
        )
        session.add(record)
    elif record.status == "FILED":
        raise HandlerError("om_already_filed", f"项目 {project_id} 的{year}年度运维已备案，不能重复提交")
    else:
        if filing:
            record.filing = dict(filing)
        record.status, record.due_date, record.last_perf_grade = status, due, last_grade
        record.updated_at = ctx.now
    project.status = ProjectStatus.OPERATING.value
    project.stage = "运维"
    project.updated_at = ctx.now
    session.flush()
    return {
        "om_filing_id": record.id,
        "om_year": year,
        "om_due_date": due.isoformat(),
        "om_status": status,
        "om_overdue": today > due,
        "last_perf_grade": last_grade,
        "last_perf_grade_name": GRADE_NAMES.get(last_grade) if last_grade else None,
        "next_filing_year": year + 1,
        "next_filing_at": next_at.isoformat(),
    }
