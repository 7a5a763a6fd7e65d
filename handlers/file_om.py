"""Handler `file_om`: open, check, create or update a project's annual O&M filing (年度运维备案).

One year's filing runs: the window opens (status OPEN: the 备案年度 and its 备案截止日 are worked out once,
and the task's 办理期限 from them; nothing is recorded), the unit submits (SUBMITTED: the filing is checked,
then recorded with its submission time), 市数管局项目科 returns it (RETURNED) or files it (FILED).
"""

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from handlers.coercion import as_int
from handlers.context import HandlerContext
from handlers.errors import HandlerError
from handlers.localtime import BEIJING, local_date, local_now, parse_date
from handlers.models import OmFiling, Project, ProjectStatus
from handlers.money import MoneyError, parse_yuan, yuan_text
from handlers.queries import latest_performance, load_project
from handlers.record_performance import GRADE_NAMES
from handlers.results import choice, flag, internal, listing, text, when
from handlers.uscc import is_valid_uscc

TITLE = "年度运维备案"
ERRORS = ("project_not_in_operation", "om_already_filed", "om_filing_invalid")

STATUSES = {"SUBMITTED": "已提交", "RETURNED": "退回补正", "FILED": "已备案"}
OPEN = "OPEN"  # the year's window opens: worked out, never recorded
RETURNS = {
    "om_filing_id": internal(text("备案记录编号")),
    "om_year": text("备案年度"),
    "om_due_date": text("备案截止日"),
    "om_due_in": internal(text("备案办理期限（距截止时间）")),
    "om_status": choice("备案状态", STATUSES),
    "om_warnings": listing("请审核人注意"),
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


def filing_deadline(opened: date, due_month_day: str, min_days: int) -> date:
    """Return the 备案截止日 of the window that opened on `opened` (Beijing date).

    The yearly deadline (`due_month_day` of the window's year) unless that leaves the unit fewer than
    `min_days` days: a project accepted on 2026-11-02 opens its first window after 10-31 and files by
    2026-12-02; one accepted on 10-20 files by 11-19; the 09-01 window of later years keeps 10-31.
    """
    return max(_month_day(due_month_day, opened.year), opened + timedelta(days=int(min_days)))


def due_in(now: datetime, due: date) -> str:
    """Return the ISO 8601 duration from `now` to the end of day `due` in Beijing (PT0S once past).

    A user task's `dueIn` is counted from when the task opens, so the task shows the deadline the
    handler checks: 2026-10-31 23:59:59 for a 备案截止日 of 2026-10-31.
    """
    end = datetime(due.year, due.month, due.day, 23, 59, 59, tzinfo=BEIJING)
    return f"PT{max(0, int((end - local_now(now)).total_seconds()))}S"


def filing_problems(filing: dict, project: Project) -> list[str]:
    """Return what is wrong with a submitted filing: the maintainer's code and the year's budget.

    The budget may not exceed the project's approved investment (批复投资, else its 总投资概算): O&M paid from
    fiscal funds beyond that is a project of its own (项目类型“运维”) that is declared and approved.
    """
    problems: list[str] = []
    code = str(filing.get("om_vendor_code") or "").strip().upper()
    if not is_valid_uscc(code):
        problems.append(f"运维单位统一社会信用代码不正确（校验位不符或格式错误）：{code or '未填写'}")
    try:
        budget = parse_yuan(filing.get("om_budget"), "年度运维经费")
    except MoneyError as err:
        problems.append(str(err))
        return problems
    ceiling: Decimal | None = project.approved_budget or project.total_estimate
    if ceiling is not None and budget > ceiling:
        what = "批复投资" if project.approved_budget else "总投资概算"
        problems.append(
            f"年度运维经费{yuan_text(budget)}超过项目{what}{yuan_text(ceiling)}，请核对金额单位（元）；"
            "超出部分须另行申报运维项目"
        )
    return problems


def filing_warnings(filing: dict, project: Project) -> list[str]:
    """Return what the reviewer should look at in a filing that passed its checks (a warning, not a refusal).

    A system graded for 等级保护 that is not 备案, a project declared with 商用密码 that reports no 密评, data
    the unit committed to share that is not shared, and an annual budget above a tenth of the investment.
    """
    warnings: list[str] = []
    if (project.mlps_level or 0) >= 2 and filing.get("mlps_status") == "NOT_FILED":
        warnings.append(f"系统定级为等保{project.mlps_level}级，报送为等级保护“未备案”")
    if project.crypto_required and filing.get("crypto_status") == "NOT_REQUIRED":
        warnings.append("项目申报时涉及商用密码应用，报送为密评“不涉及”")
    if project.data_sharing_committed and filing.get("data_share_status") == "NOT_SHARED":
        warnings.append("项目申报时承诺共享数据，报送为“未共享”")
    ceiling: Decimal | None = project.approved_budget or project.total_estimate
    try:
        budget = parse_yuan(filing.get("om_budget"), "年度运维经费")
    except MoneyError:
        return warnings
    if ceiling and budget > ceiling / 10:
        warnings.append(f"年度运维经费{yuan_text(budget)}超过项目投资{yuan_text(ceiling)}的10%")
    return warnings


def handle(
    ctx: HandlerContext,
    *,
    project_id: str,
    year: int | None = None,
    filing: dict | None = None,
    due_month_day: str = "10-31",
    status: str = "SUBMITTED",
    next_window_start: str = "09-01T09:00",
    window_opened_at: str | None = None,
    min_filing_days: int = 30,
    due_date: str | None = None,
) -> dict:
    """Open a year's filing (OPEN), or record its submission (checked), correction or acceptance.

    OPEN returns the 备案年度 (the year the window opened, `window_opened_at`), the 备案截止日 (see
    `filing_deadline`; a `due_date` already worked out is kept) and `om_due_in`, the task's 办理期限 from
    now. The other statuses take that `year` and `due_date` (else this year and its `due_month_day`);
    SUBMITTED refuses an invalid 统一社会信用代码 or a budget above the approved investment
    (om_filing_invalid). A filing is 逾期 when it was submitted after its due date.
    """
    if status not in STATUSES and status != OPEN:
        raise ValueError(f"备案状态应为 {'、'.join([OPEN, *STATUSES])} 之一：{status!r}")
    session = ctx.session
    today = local_date(ctx.now)
    project = load_project(session, project_id)
    if project.status not in IN_OPERATION:
        raise HandlerError(
            "project_not_in_operation", f"项目 {project_id} 尚未通过竣工验收，不能办理运维备案"
        )
    if status == OPEN:
        opened = parse_date(window_opened_at) or today
        due = parse_date(due_date) or filing_deadline(opened, due_month_day, min_filing_days)
        year = as_int(year) or opened.year
        return {"om_year": year, "om_due_date": due.isoformat(), "om_due_in": due_in(ctx.now, due)}

    year = as_int(year) or today.year
    due = parse_date(due_date) or _month_day(due_month_day, year)
    next_at = _window_start(next_window_start, year + 1)
    if status == "SUBMITTED" and filing is not None:
        problems = filing_problems(filing, project)
        if problems:
            raise HandlerError(
                "om_filing_invalid",
                "运维备案未通过核对：" + "；".join(problems),
                details={"problems": problems},
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
        if status == "SUBMITTED":
            record.submitted_at = ctx.now  # the submission that is reviewed decides whether it was late
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
        "om_due_in": due_in(ctx.now, due),
        "om_status": status,
        "om_warnings": filing_warnings(record.filing or {}, project) if status == "SUBMITTED" else [],
        "om_overdue": local_date(record.submitted_at) > due,
        "last_perf_grade": last_grade,
        "last_perf_grade_name": GRADE_NAMES.get(last_grade) if last_grade else None,
        "next_filing_year": year + 1,
        "next_filing_at": next_at.isoformat(),
    }
