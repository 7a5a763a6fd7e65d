"""Handler `compile_annual_plan`: record a draft 年度电子政务项目实施计划 from reviewed projects."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.coercion import as_text_list
from handlers.context import HandlerContext
from handlers.errors import HandlerError
from handlers.models import AnnualPlan, Project, ProjectStatus
from handlers.money import parse_yuan, yuan_str, yuan_text
from handlers.queries import recorded_facts
from handlers.results import choice, internal, listing, money, record, text
from handlers.sequences import insert_numbered

TITLE = "登记年度电子政务项目实施计划"
# Projects that passed expert review and joint review; IN_PLAN ones join a revised plan of the year again.
PLANNABLE = (ProjectStatus.REVIEWED.value, ProjectStatus.IN_PLAN.value)
BUNDLED, INDIVIDUAL = "BUNDLED", "INDIVIDUAL"
CATEGORIES = {BUNDLED: "打捆项目", INDIVIDUAL: "单独立项"}
# A version under review, one issued after review, and a draft a later version replaced.
DRAFT, ISSUED, SUPERSEDED = "DRAFT", "ISSUED", "SUPERSEDED"
PLAN_STATUSES = {DRAFT: "草稿", ISSUED: "已印发", SUPERSEDED: "已被新版本取代"}
ROUTES = {"SMALL": BUNDLED, "LARGE": INDIVIDUAL}  # approval_route → plan category
PLAN_ITEM = record(
    "计划项目",
    project_id=text("项目编号"),
    name=text("项目名称"),
    category=choice("类别", CATEGORIES),
    plan_amount=money("计划安排金额"),
)
# What a plan holds, as `PlanDraft.summary` returns it (plan_candidates returns just these).
SUMMARY = {
    "plan_title": text("计划名称"),
    "plan_project_ids": listing("新列入计划的项目"),
    "carried_project_ids": listing("保留的已下达计划项目"),
    "carried_items": listing("已下达计划中的项目", PLAN_ITEM),
    "carried_doc_no": text("所调整的已下达计划文号"),
    "bundled_project_ids": listing("打捆项目"),
    "individual_project_ids": listing("单独立项项目"),
    "plan_total": money("计划总金额"),
    "added_total": money("新列入项目金额"),
    "carried_total": money("保留项目金额"),
    "bundled_total": money("打捆项目金额"),
    "bundle_name": text("打捆项目名称"),
    "added_lines": listing("新列入计划的项目明细"),
}
RETURNS = {"annual_plan_id": internal(text("年度计划记录编号")), "plan_version": text("计划版本"), **SUMMARY}
ERRORS = ("plan_project_ineligible", "plan_empty")


@dataclass
class IssuedPlan:
    """What the year's issued plan holds: its items (each as issued) and the newest issued 文号."""

    items: list[dict] = field(default_factory=list)
    doc_no: str | None = None

    @property
    def project_ids(self) -> set[str]:
        """The projects the issued plan lists."""
        return {item["project_id"] for item in self.items}


@dataclass
class PlanDraft:
    """The projects a plan version would hold, with their items and totals (nothing recorded yet).

    `carried` are the items of the year's issued plan, kept as issued; `projects` and `added` are the
    projects this version newly lists (the only ones it changes and, once issued, releases).
    """

    year: int
    carried: IssuedPlan
    projects: list[Project]
    added: list[dict]

    @property
    def items(self) -> list[dict]:
        """Every item of the version: the issued plan's first, then the new ones."""
        return [*self.carried.items, *self.added]

    def summary(self) -> dict:
        """The lists and totals the diagrams read, under the names `SUMMARY` gives them."""
        items = self.items
        bundled = [item["project_id"] for item in items if item["category"] == BUNDLED]
        carried = self.carried.doc_no is not None
        return {
            "plan_title": plan_title(self.year, adjusted=carried),
            "plan_project_ids": [item["project_id"] for item in self.added],
            "carried_project_ids": [item["project_id"] for item in self.carried.items],
            "carried_items": [dict(item) for item in self.carried.items],
            "carried_doc_no": self.carried.doc_no,
            "bundled_project_ids": bundled,
            "individual_project_ids": [i["project_id"] for i in items if i["category"] == INDIVIDUAL],
            "plan_total": yuan_str(_total(items)),
            "added_total": yuan_str(_total(self.added)),
            "carried_total": yuan_str(_total(self.carried.items)) if carried else None,
            "bundled_total": yuan_str(_total(i for i in items if i["category"] == BUNDLED)),
            "bundle_name": f"{self.year}年度市本级电子政务打捆项目" if bundled else None,
            # What the leader approves, readable: 编号 名称（建设单位，类别，计划安排金额）.
            "added_lines": [_line(item) for item in self.added],
        }


def _line(item: dict) -> str:
    """One plan item as the leader reads it."""
    category = "打捆" if item["category"] == BUNDLED else "单独立项"
    amount = yuan_text(parse_yuan(item["plan_amount"], "计划安排金额"))
    return f"{item['project_id']} {item['name']}（{item['unit_name']}，{category}，{amount}）"


def plan_title(year: int, *, adjusted: bool) -> str:
    """The plan's name; a version that keeps an issued plan of the year is its 调整追加."""
    return f"{year}年度电子政务项目实施计划" + ("（调整追加）" if adjusted else "")


def _total(items: Iterable[dict]) -> Decimal:
    """Sum the items' plan amounts (text, as stored) exactly."""
    return sum((parse_yuan(item["plan_amount"], "计划安排金额") for item in items), start=parse_yuan(0))


def issued_plan(session: Session, year: int) -> IssuedPlan:
    """Return what the year's issued versions list, each project as the newest issued version has it.

    A version compiled after an issue keeps every issued project, so the newest issued version normally
    lists them all; the union also keeps the projects of a supplementary plan issued without them.
    """
    plans = session.scalars(
        select(AnnualPlan)
        .where(AnnualPlan.year == year, AnnualPlan.status == ISSUED)
        .order_by(AnnualPlan.version.desc())
    ).all()
    found: dict[str, dict] = {}
    for plan in plans:
        for item in plan.items or []:
            if item.get("project_id") and item["project_id"] not in found:
                # issued_doc_no: the plan that first listed it (an item carried before keeps its own).
                found[item["project_id"]] = {"issued_doc_no": plan.doc_no, **item}
    items = [found[pid] for pid in sorted(found)]
    return IssuedPlan(items, plans[0].doc_no if plans else None)


def draft_plan(
    session: Session, year: int, project_ids: list[str] | None, bundle_threshold: object = 5000000
) -> PlanDraft:
    """Keep the year's issued plan, add its reviewed projects (all, or those named), bundle and total them.

    A project is bundled when its approval routed it SMALL (update_project recorded approval_route);
    `bundle_threshold` only decides for projects without a recorded route. A named project the issued
    plan already lists stays as issued: it is neither added again nor removable.
    """
    threshold = parse_yuan(bundle_threshold, "打捆金额标准")
    carried = issued_plan(session, year)
    kept = carried.project_ids
    eligible = {
        p.project_id: p
        for p in session.scalars(
            select(Project)
            .where(Project.plan_year == year, Project.status.in_(PLANNABLE))
            .order_by(Project.project_id)
        )
        if p.project_id not in kept
    }
    if project_ids is None:
        chosen = list(eligible.values())
    else:
        wanted = [pid for pid in dict.fromkeys(as_text_list(project_ids)) if pid not in kept]
        refused = [pid for pid in wanted if pid not in eligible]
        if refused:
            raise HandlerError(
                "plan_project_ineligible",
                f"以下项目不是{year}年度评审通过的项目，不能列入计划：{'、'.join(refused)}",
                details={"project_ids": refused},
            )
        if not wanted and kept:
            raise HandlerError(
                "plan_project_ineligible",
                f"所列项目均已在已下达的{year}年度计划（{carried.doc_no}）中，没有新列入的项目，"
                "无需编制调整追加版本",
                details={"project_ids": []},
            )
        chosen = [eligible[pid] for pid in sorted(wanted)]
    if not chosen:
        raise HandlerError(
            "plan_empty",
            f"{year}年度计划（{carried.doc_no}）下达后没有新的评审通过的项目，无法编制调整追加版本"
            if kept
            else f"{year}年度没有评审通过的项目，无法编制实施计划",
        )
    return PlanDraft(year, carried, chosen, [_item(project, threshold) for project in chosen])


def _item(project: Project, threshold: Decimal) -> dict:
    """Return a newly listed project's plan item: its category and the amount the plan funds."""
    # The route the approval stage took (route_by_amount table of the project's own process version)
    # decides bundling; only projects without a recorded route fall back to comparing 总投资概算
    # with `threshold`. The experts' recommended budget, if any, is what the plan funds.
    by_amount = BUNDLED if project.total_estimate < threshold else INDIVIDUAL
    amount = project.recommended_budget if project.recommended_budget is not None else project.total_estimate
    return {
        "project_id": project.project_id,
        "name": project.name,
        "unit_name": project.unit_name,
        "total_estimate": yuan_str(project.total_estimate),
        "plan_amount": yuan_str(amount),
        "category": ROUTES.get(recorded_facts(project).get("approval_route"), by_amount),
    }


def handle(
    ctx: HandlerContext,
    *,
    year: int,
    project_ids: list[str] | None = None,
    bundle_threshold: object = 5000000,
    bundle_proposal: dict | None = None,
) -> dict:
    """Record the year's plan as a new draft version for 审定: the issued plan kept, reviewed projects added.

    Newly listed projects below the threshold are bundled into one 项目建议书 that 市数管局 writes with
    the units: without it (`bundle_proposal`, the uploaded file) the list goes back to the clerk.

    A new version supersedes the year's earlier drafts; a project an earlier draft held and this one
    does not goes back to 评审通过, so it may join a later plan. Projects of the issued plan are kept as
    issued and left as they are (they have moved on to 立项批复 and beyond). The 文号 comes when it is issued.
    """
    session = ctx.session
    year = int(year)
    draft = draft_plan(session, year, project_ids, bundle_threshold)
    bundled = [item["project_id"] for item in draft.added if item["category"] == BUNDLED]
    if bundled and not (isinstance(bundle_proposal, dict) and bundle_proposal.get("id")):
        # Reported like a list that does not qualify: the same boundary event returns it to the clerk.
        raise HandlerError(
            "plan_project_ineligible",
            f"本版新列入打捆项目 {'、'.join(bundled)}，请上传打捆项目建议书",
            details={"project_ids": bundled},
        )
    summary = draft.summary()

    def next_version() -> int:
        return (session.scalar(select(func.max(AnnualPlan.version)).where(AnnualPlan.year == year)) or 0) + 1

    def build(version: int) -> AnnualPlan:
        return AnnualPlan(
            year=year,
            version=version,
            items=draft.items,
            total=parse_yuan(summary["plan_total"]),
            bundled_total=parse_yuan(summary["bundled_total"]),
            doc_no=None,  # given by issue_annual_plan
            status=DRAFT,
            created_at=ctx.now,
        )

    plan = insert_numbered(session, next_version, build)
    for project in draft.projects:
        project.status, project.stage, project.updated_at = ProjectStatus.IN_PLAN.value, "立项", ctx.now
    kept = {project.project_id for project in draft.projects} | draft.carried.project_ids
    _supersede_drafts(session, plan, kept, ctx.now)
    session.flush()
    return {"annual_plan_id": plan.id, "plan_version": plan.version, **summary}


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
