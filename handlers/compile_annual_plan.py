"""Handler `compile_annual_plan`: record a draft 年度电子政务项目实施计划 from reviewed projects."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.coercion import as_text_list
from handlers.context import HandlerContext
from handlers.errors import HandlerError
from handlers.models import AnnualPlan, Project, ProjectStatus
from handlers.money import parse_yuan, yuan_str
from handlers.queries import recorded_facts
from handlers.results import internal, listing, money, text
from handlers.sequences import insert_numbered

TITLE = "登记年度电子政务项目实施计划"
# What a plan holds, as `PlanDraft.summary` returns it (plan_candidates returns just these).
SUMMARY = {
    "plan_project_ids": listing("列入计划的项目"),
    "bundled_project_ids": listing("打捆项目"),
    "individual_project_ids": listing("单独立项项目"),
    "plan_total": money("计划总金额"),
    "bundled_total": money("打捆项目金额"),
    "bundle_name": text("打捆项目名称"),
}
RETURNS = {"annual_plan_id": internal(text("年度计划记录编号")), "plan_version": text("计划版本"), **SUMMARY}
ERRORS = ("plan_project_ineligible", "plan_empty")

# Projects that passed expert review and joint review; IN_PLAN ones join a revised plan of the year again.
PLANNABLE = (ProjectStatus.REVIEWED.value, ProjectStatus.IN_PLAN.value)
BUNDLED, INDIVIDUAL = "BUNDLED", "INDIVIDUAL"
# A version under review, one issued after review, and a draft a later version replaced.
DRAFT, ISSUED, SUPERSEDED = "DRAFT", "ISSUED", "SUPERSEDED"
PLAN_STATUSES = {DRAFT: "草稿", ISSUED: "已印发", SUPERSEDED: "已被新版本取代"}
ROUTES = {"SMALL": BUNDLED, "LARGE": INDIVIDUAL}  # approval_route → plan category


@dataclass
class PlanDraft:
    """The projects a plan would hold, with their items and totals (nothing recorded yet)."""

    projects: list[Project]
    items: list[dict]
    total: Decimal
    bundled_total: Decimal

    def summary(self, year: int) -> dict:
        """The lists and totals the diagrams read, under the names `RETURNS` gives them."""
        bundled = [item["project_id"] for item in self.items if item["category"] == BUNDLED]
        return {
            "plan_project_ids": [item["project_id"] for item in self.items],
            "bundled_project_ids": bundled,
            "individual_project_ids": [i["project_id"] for i in self.items if i["category"] == INDIVIDUAL],
            "plan_total": yuan_str(self.total),
            "bundled_total": yuan_str(self.bundled_total),
            "bundle_name": f"{year}年度市本级电子政务打捆项目" if bundled else None,
        }


def draft_plan(
    session: Session, year: int, project_ids: list[str] | None, bundle_threshold: object = 5000000
) -> PlanDraft:
    """Choose the year's reviewed projects (all, or those named), bundle the small ones and total them.

    A project is bundled when its approval routed it SMALL (update_project recorded approval_route);
    `bundle_threshold` only decides for projects without a recorded route.
    """
    threshold = parse_yuan(bundle_threshold, "打捆金额标准")
    eligible = {
        p.project_id: p
        for p in session.scalars(
            select(Project)
            .where(Project.plan_year == year, Project.status.in_(PLANNABLE))
            .order_by(Project.project_id)
        )
    }
    if project_ids is None:
        chosen = list(eligible.values())
    else:
        wanted = list(dict.fromkeys(as_text_list(project_ids)))
        refused = [pid for pid in wanted if pid not in eligible]
        if refused:
            raise HandlerError(
                "plan_project_ineligible",
                f"以下项目不是{year}年度评审通过的项目，不能列入计划：{'、'.join(refused)}",
                details={"project_ids": refused},
            )
        chosen = [eligible[pid] for pid in sorted(wanted)]
    if not chosen:
        raise HandlerError("plan_empty", f"{year}年度没有评审通过的项目，无法编制实施计划")

    items = []
    for project in chosen:
        # The route the approval stage took (route_by_amount table of the project's own process version)
        # decides bundling; only projects without a recorded route fall back to comparing 总投资概算
        # with `bundle_threshold`. The experts' recommended budget, if any, is what the plan funds.
        by_amount = BUNDLED if project.total_estimate < threshold else INDIVIDUAL
        category = ROUTES.get(recorded_facts(project).get("approval_route"), by_amount)
        amount = (
            project.recommended_budget if project.recommended_budget is not None else project.total_estimate
        )
        items.append(
            {
                "project_id": project.project_id,
                "name": project.name,
                "unit_name": project.unit_name,
                "total_estimate": yuan_str(project.total_estimate),
                "plan_amount": yuan_str(amount),
                "category": category,
                "_amount": amount,
            }
        )
    total = sum((item["_amount"] for item in items), start=parse_yuan(0))
    bundled_total = sum(
        (item["_amount"] for item in items if item["category"] == BUNDLED), start=parse_yuan(0)
    )
    for item in items:
        del item["_amount"]
    return PlanDraft(chosen, items, total, bundled_total)


def handle(
    ctx: HandlerContext,
    *,
    year: int,
    project_ids: list[str] | None = None,
    bundle_threshold: object = 5000000,
) -> dict:
    """Record the year's plan (all reviewed projects, or those named) as a new draft version for 审定.

    A new version supersedes the year's earlier drafts; a project an earlier draft held and this one
    does not goes back to 评审通过, so it may join a later plan. The 文号 comes when it is issued.
    """
    session = ctx.session
    year = int(year)
    draft = draft_plan(session, year, project_ids, bundle_threshold)
    items, total, bundled_total = draft.items, draft.total, draft.bundled_total

    def next_version() -> int:
        return (session.scalar(select(func.max(AnnualPlan.version)).where(AnnualPlan.year == year)) or 0) + 1

    def build(version: int) -> AnnualPlan:
        return AnnualPlan(
            year=year,
            version=version,
            items=items,
            total=total,
            bundled_total=bundled_total,
            doc_no=None,  # given by issue_annual_plan
            status=DRAFT,
            created_at=ctx.now,
        )

    plan = insert_numbered(session, next_version, build)
    chosen_ids = {project.project_id for project in draft.projects}
    for project in draft.projects:
        project.status, project.stage, project.updated_at = ProjectStatus.IN_PLAN.value, "立项", ctx.now
    _supersede_drafts(session, plan, chosen_ids, ctx.now)
    session.flush()
    return {
        "annual_plan_id": plan.id,
        "plan_version": plan.version,
        **draft.summary(year),
    }


def _supersede_drafts(session: Session, plan: AnnualPlan, kept: set[str], now: datetime) -> None:
    """Mark the year's earlier drafts superseded and release the projects only they held."""
    earlier = session.scalars(
        select(AnnualPlan).where(
            AnnualPlan.year == plan.year, AnnualPlan.id != plan.id, AnnualPlan.status == DRAFT
        )
    ).all()
    dropped: set[str] = set()
    for old in earlier:
        old.status = SUPERSEDED
        dropped |= {item["project_id"] for item in old.items} - kept
    if dropped:
        for project in session.scalars(
            select(Project).where(
                Project.project_id.in_(sorted(dropped)), Project.status == ProjectStatus.IN_PLAN.value
            )
        ):
            project.status, project.updated_at = ProjectStatus.REVIEWED.value, now
