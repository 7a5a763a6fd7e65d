"""Handler `plan_candidates`: list the year's reviewed projects a plan could hold, recording nothing."""

from handlers.compile_annual_plan import SUMMARY, draft_plan
from handlers.context import HandlerContext

TITLE = "汇总年度计划候选项目"
RETURNS = SUMMARY
ERRORS = ("plan_empty",)


def handle(ctx: HandlerContext, *, year: int, bundle_threshold: object = 5000000) -> dict:
    """Propose every reviewed project of `year`, bundled and totalled as `compile_annual_plan` would."""
    year = int(year)
    return draft_plan(ctx.session, year, None, bundle_threshold).summary(year)
