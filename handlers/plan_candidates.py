"""Handler `plan_candidates`: list the year's reviewed projects a plan could hold, recording nothing."""

from handlers.compile_annual_plan import SUMMARY, draft_plan
from handlers.context import HandlerContext

TITLE = "汇总年度计划候选项目"
RETURNS = SUMMARY
ERRORS = ("plan_empty",)


def handle(ctx: HandlerContext, *, year: int, bundle_threshold: object = 5000000) -> dict:
    """Propose the year's issued plan kept as issued plus every reviewed project not yet in it.

    The proposal is what `compile_annual_plan` would record: `plan_project_ids` the projects to add (the
    list the 项目科 settles), `carried_items` those of the issued plan, which stay.
    """
    return draft_plan(ctx.session, int(year), None, bundle_threshold).summary()
