"""Handler `issue_annual_plan`: issue (下达) the approved version of a year's plan under its 文号."""

from sqlalchemy import select

from handlers.compile_annual_plan import DRAFT, ISSUED, PLAN_STATUSES, plan_title
from handlers.context import HandlerContext
from handlers.doc_numbers import allocate_doc_no, get_authority
from handlers.errors import HandlerError
from handlers.models import AnnualPlan
from handlers.results import choice, text

TITLE = "下达年度实施计划"
RETURNS = {
    "plan_doc_no": text("年度计划文号"),
    "plan_status": choice("年度计划状态", PLAN_STATUSES),
    "plan_title": text("计划名称"),
}
ERRORS = ("plan_not_draft",)


def handle(ctx: HandlerContext, *, annual_plan_id: int, authority: str = "CITY_DATA_BUREAU") -> dict:
    """Give a draft plan version the authority's next 文号 and mark it issued; only a draft may be issued.

    A version issued after another of its year is that plan's 调整追加 (it keeps the issued projects), and
    its 文号 is registered as such; the earlier issued versions stay as they were.
    """
    session = ctx.session
    issuer = get_authority(authority)
    plan = session.get(AnnualPlan, int(annual_plan_id))
    if plan is None:
        raise ValueError(f"年度计划 {annual_plan_id} 不存在")
    if plan.status != DRAFT:
        raise HandlerError(
            "plan_not_draft", f"{plan.year}年度计划第{plan.version}版不是待审定的草案，不能下达"
        )
    earlier = session.scalar(
        select(AnnualPlan.id)
        .where(AnnualPlan.year == plan.year, AnnualPlan.status == ISSUED, AnnualPlan.version < plan.version)
        .limit(1)
    )
    adjusted = earlier is not None
    subject = f"{plan.year}年度计划" + (f"（调整追加，第{plan.version}版）" if adjusted else "")
    number = allocate_doc_no(session, issuer, ctx.now.year, "年度电子政务项目实施计划", subject, ctx.now)
    plan.doc_no, plan.status = number.doc_no, ISSUED
    session.flush()
    return {
        "plan_doc_no": number.doc_no,
        "plan_status": ISSUED,
        "plan_title": plan_title(plan.year, adjusted=adjusted),
    }
