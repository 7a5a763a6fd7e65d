"""Handler `issue_annual_plan`: mark the approved version of a year's plan as issued (下达)."""

from handlers.compile_annual_plan import DRAFT, ISSUED
from handlers.context import HandlerContext
from handlers.errors import HandlerError
from handlers.models import AnnualPlan

TITLE = "下达年度实施计划"
RETURNS = ("plan_status",)
ERRORS = ("plan_not_draft",)


def handle(ctx: HandlerContext, *, annual_plan_id: int) -> dict:
    """Issue a draft plan version; a superseded or already issued one cannot be issued."""
    plan = ctx.session.get(AnnualPlan, int(annual_plan_id))
    if plan is None:
        raise ValueError(f"年度计划 {annual_plan_id} 不存在")
    if plan.status != DRAFT:
        raise HandlerError(
            "plan_not_draft", f"{plan.year}年度计划第{plan.version}版（{plan.doc_no}）不是待审定的草案"
        )
    plan.status = ISSUED
    ctx.session.flush()
    return {"plan_status": ISSUED}
