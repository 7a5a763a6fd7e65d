"""Handler `check_progress`: check a monthly progress report against the earlier ones, then record it."""

from decimal import Decimal

from sqlalchemy import select

from handlers.approval_doc import CHANGE_APPROVAL
from handlers.coercion import as_decimal
from handlers.context import HandlerContext
from handlers.errors import HandlerError
from handlers.localtime import local_date
from handlers.models import RECORDED_KEY, Approval, Contract, Project
from handlers.money import MoneyError, parse_yuan, yuan_str, yuan_text
from handlers.queries import load_project
from handlers.results import flag, text

TITLE = "建设进度报告核对"
RETURNS = {
    "progress_ok": flag("进度报告核对通过"),
    "last_report_period": text("最近报告期"),
}
ERRORS = ("progress_invalid",)

# Where the accepted reports are kept: a list under the register's recorded facts (Project.declaration).
REPORTS_KEY = "progress_reports"


def _month(value: object) -> str | None:
    """Return a 报告期 as YYYY-MM text, or None if it is not one."""
    text_value = str(value or "").strip()
    year, _, month = text_value.partition("-")
    if len(year) == 4 and year.isdigit() and len(month) == 2 and month.isdigit() and 1 <= int(month) <= 12:
        return text_value
    return None


def _pct_text(pct: Decimal) -> str:
    """Return a percentage without trailing zeros, e.g. 30 or 12.5."""
    return f"{pct.normalize():f}"


def recorded_reports(project: Project) -> list[dict]:
    """Return the progress reports recorded on a project, oldest first."""
    recorded = (project.declaration or {}).get(RECORDED_KEY) or {}
    return list(recorded.get(REPORTS_KEY) or [])


def _ceiling(ctx: HandlerContext, project: Project) -> tuple[Decimal, str] | None:
    """Return what 累计支付 may not exceed, and its name: the contract amount.

    A 变更批复 issued after the contract that raised the approved budget above the contract amount lifts
    the ceiling to that budget (the system keeps no supplementary contracts). Before a contract is on
    record, the approved budget is the ceiling.
    """
    contract = ctx.session.scalar(
        select(Contract)
        .where(Contract.project_id == project.project_id, Contract.checked_ok.is_(True))
        .order_by(Contract.id.desc())
        .limit(1)
    )
    budget = project.approved_budget
    if contract is None:
        return (budget, "批复投资") if budget is not None else None
    changed = ctx.session.scalar(
        select(Approval.id)
        .where(
            Approval.project_id == project.project_id,
            Approval.kind == CHANGE_APPROVAL,
            Approval.issued_at >= contract.created_at,
        )
        .limit(1)
    )
    if changed is not None and budget is not None and budget > contract.amount:
        return budget, "变更后的批复投资"
    return contract.amount, "合同金额"


def handle(
    ctx: HandlerContext,
    *,
    project_id: str,
    report_period: str,
    pct_complete: object,
    spent_to_date: object,
) -> dict:
    """Record the report if it is plausible; otherwise raise progress_invalid naming every problem.

    The 报告期 must be no later than this month and later than every period reported before; 累计支付 may
    not exceed the contract amount (see `_ceiling`); 总体完成进度 and 累计支付 are cumulative, so neither
    may fall below the previous report's.
    """
    project = load_project(ctx.session, project_id)
    earlier = recorded_reports(project)
    last = earlier[-1] if earlier else None
    problems: list[str] = []

    period = _month(report_period)
    this_month = local_date(ctx.now).strftime("%Y-%m")
    if period is None:
        problems.append(f"报告期应按年-月填写，如{this_month}")
    elif period > this_month:
        problems.append(f"报告期{period}晚于本月（{this_month}），不能报送以后月份的进度")
    elif any(report.get("period") == period for report in earlier):
        problems.append(f"报告期{period}的进度已经报送过，不能重复报送，请填写本期月份")
    elif last is not None and period < str(last.get("period")):
        problems.append(f"报告期{period}早于已报送的最近一期（{last.get('period')}），请填写本期月份")

    pct = as_decimal(pct_complete)
    if pct is None or not 0 <= pct <= 100:
        problems.append("总体完成进度应为0至100之间的百分比")
        pct = None
    spent = None
    try:
        spent = parse_yuan(spent_to_date, "累计支付")
    except MoneyError as err:
        problems.append(str(err))

    ceiling = _ceiling(ctx, project)
    if spent is not None and ceiling is not None and spent > ceiling[0]:
        problems.append(f"累计支付{yuan_text(spent)}超过{ceiling[1]}{yuan_text(ceiling[0])}")
    if last is not None:
        last_pct = as_decimal(last.get("pct_complete"))
        last_spent = as_decimal(last.get("spent_to_date"))
        if pct is not None and last_pct is not None and pct < last_pct:
            problems.append(
                f"总体完成进度{_pct_text(pct)}%低于上期（{last.get('period')}）报送的{_pct_text(last_pct)}%，"
                "累计进度不能减少"
            )
        if spent is not None and last_spent is not None and spent < last_spent:
            problems.append(
                f"累计支付{yuan_text(spent)}少于上期（{last.get('period')}）报送的{yuan_text(last_spent)}，"
                "累计支付不能减少"
            )

    if problems:
        raise HandlerError(
            "progress_invalid", "进度报告未通过核对：" + "；".join(problems), details={"problems": problems}
        )
    report = {
        "period": period,
        "pct_complete": f"{pct:f}",
        "spent_to_date": yuan_str(spent),
        "reported_at": ctx.now.isoformat(),
    }
    declaration = dict(project.declaration or {})
    recorded = dict(declaration.get(RECORDED_KEY) or {})
    recorded[REPORTS_KEY] = [*earlier, report]
    declaration[RECORDED_KEY] = recorded
    project.declaration = declaration  # a new dict, so the JSON column sees the change
    project.updated_at = ctx.now
    ctx.session.flush()
    return {"progress_ok": True, "last_report_period": period}
