"""Handler `issue_approval`: number, render and store a 立项批复 (or a later 变更批复) in the register."""

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.approval_doc import CHANGE_APPROVAL, LARGE_ROUTE, SMALL_ROUTE, ApprovalText, render_approval
from handlers.coercion import as_decimal
from handlers.compile_annual_plan import ISSUED
from handlers.context import HandlerContext
from handlers.doc_numbers import AUTHORITIES, allocate_doc_no, get_authority
from handlers.doc_store import store_document
from handlers.errors import HandlerError
from handlers.localtime import local_date
from handlers.models import CLOSED_STATUSES, RECORDED_KEY, AnnualPlan, Approval, Project, ProjectStatus
from handlers.money import MoneyError, parse_yuan, yuan_str, yuan_text
from handlers.queries import load_project
from handlers.results import choice, internal, money, text

TITLE = "生成批复文书"
RETURNS = {
    "approval_doc_no": text("批复文号"),
    "approval_authority": choice("审批机关", {code: a.name for code, a in AUTHORITIES.items()}),
    "approval_authority_name": text("审批机关"),
    "approval_document_id": internal(text("批复文书编号")),
    "approved_budget": money("批复金额"),
    "approval_kind": text("批复类型"),
}
ERRORS = ("invalid_budget", "conditions_dropped", "project_closed", "already_approved")

PROJECT_APPROVAL = "立项批复"
# The document kind (handlers/documents.py) each approval is stored under.
DOCUMENT_KINDS = {PROJECT_APPROVAL: "APPROVAL", CHANGE_APPROVAL: "CHANGE_APPROVAL"}


def _route(project: Project, approval_route: str | None) -> str | None:
    """Return the 立项路径 the diagram passed, else the one recorded in the register (None if unknown)."""
    if approval_route in (SMALL_ROUTE, LARGE_ROUTE):
        return approval_route
    if approval_route:
        raise ValueError(f"立项路径应为 {SMALL_ROUTE} 或 {LARGE_ROUTE}：{approval_route!r}")
    recorded = ((project.declaration or {}).get(RECORDED_KEY) or {}).get("approval_route")
    return recorded if recorded in (SMALL_ROUTE, LARGE_ROUTE) else None


def _threshold(project: Project, bundle_threshold: object) -> Decimal | None:
    """Return the 打捆 threshold the diagram passed, else the register's (None if unknown)."""
    if bundle_threshold is None:
        bundle_threshold = ((project.declaration or {}).get(RECORDED_KEY) or {}).get("bundle_threshold")
    if bundle_threshold is None:
        return None
    return parse_yuan(bundle_threshold, "打捆阈值")


def _plan_item(session: Session, project: Project) -> tuple[AnnualPlan, dict] | None:
    """Return the newest issued annual plan of the project's year that lists it, with its item."""
    plans = session.scalars(
        select(AnnualPlan)
        .where(AnnualPlan.year == project.plan_year, AnnualPlan.status == ISSUED)
        .order_by(AnnualPlan.version.desc())
    )
    for plan in plans:
        for item in plan.items or []:
            if item.get("project_id") == project.project_id:
                return plan, item
    return None


def _project_budget_problems(
    project: Project, budget: Decimal, listed: tuple[AnnualPlan, dict] | None
) -> list[str]:
    """Return why a 立项批复 may not approve `budget`: above the 总投资概算 or the issued plan's amount."""
    problems = []
    if budget > project.total_estimate:
        problems.append(
            f"批复投资{yuan_text(budget)}超过建设单位申报的总投资概算{yuan_text(project.total_estimate)}，"
            "立项批复不能核增投资"
        )
    planned = as_decimal(listed[1].get("plan_amount")) if listed else None
    if planned is not None and budget > planned:
        problems.append(
            f"批复投资{yuan_text(budget)}超过年度电子政务项目实施计划（{listed[0].doc_no}）"
            f"安排的{yuan_text(planned)}"
        )
    return problems


def _change_budget_problems(previous: Decimal | None, budget: Decimal, budget_delta: object) -> list[str]:
    """Return why a 变更批复 may not approve `budget`: an investment change that leaves it unchanged."""
    delta = as_decimal(budget_delta)
    if previous is None or not delta or budget != previous:
        return []
    requested = previous + delta
    return [
        f"本次变更申请{'增加' if delta > 0 else '减少'}投资{yuan_text(abs(delta))}，"
        f"同意变更时调整后批复投资不能仍为原批复投资{yuan_text(previous)}"
        + (f"，按申请应为{yuan_text(requested)}" if requested > 0 else "")
    ]


def _conditions(conditions: object) -> tuple[str, ...]:
    """Return the 批复条件 as a tuple of texts (a list of texts, one text, or nothing)."""
    if conditions in (None, ""):
        return ()
    if isinstance(conditions, str):
        return (conditions,)
    if not isinstance(conditions, list) or not all(isinstance(c, str) for c in conditions):
        raise ValueError(f"批复条件应为文字列表：{conditions!r}")
    return tuple(conditions)


def handle(
    ctx: HandlerContext,
    *,
    project_id: str,
    authority: str,
    approved_budget: object,
    kind: str = PROJECT_APPROVAL,
    approval_route: str | None = None,
    approval_conditions: list[str] | str | None = None,
    budget_delta: object = None,
    bundle_threshold: object = None,
    required_conditions: list[str] | None = None,
    conditions_note: str | None = None,
) -> dict:
    """Issue an approval under the authority's next 文号 as a .docx and update the register.

    A 立项批复 approves the project: it records the 文号 and budget and moves the project to 建设; its
    budget may not exceed the 总投资概算 nor the amount the issued annual plan gives the project. Any
    other kind (变更批复) adjusts the approved budget and leaves the project's status and stage alone;
    for an investment change (`budget_delta` not 0) the budget must differ from the one in force.
    The text names the review the project had (`approval_route`, else the register's 立项路径), for a
    bundled project with the threshold it was routed by (`bundle_threshold`, else the register's), and lists
    the 批复条件 (`approval_conditions`). Budget problems raise invalid_budget, for the signer to correct.
    A 立项批复 keeps every condition the 部门联审 set (`required_conditions`): one left out without a
    `conditions_note` saying why raises conditions_dropped, and nothing is issued.
    """
    session = ctx.session
    if kind not in DOCUMENT_KINDS:
        raise ValueError(f"批复类型应为 {'、'.join(DOCUMENT_KINDS)} 之一：{kind!r}")
    issuer = get_authority(authority)
    project = load_project(session, project_id)
    if project.status in CLOSED_STATUSES:
        raise HandlerError("project_closed", f"项目 {project_id} 已终止，不能批复")
    try:
        budget = parse_yuan(approved_budget, "批复金额")
    except MoneyError as err:
        raise HandlerError("invalid_budget", str(err)) from None
    if budget <= 0:
        raise HandlerError("invalid_budget", "批复金额必须大于零")
    listed = _plan_item(session, project) if kind == PROJECT_APPROVAL else None
    if kind == PROJECT_APPROVAL:
        problems = _project_budget_problems(project, budget, listed)
    else:
        problems = _change_budget_problems(project.approved_budget, budget, budget_delta)
    if problems:
        raise HandlerError(
            "invalid_budget", "批复投资不符合要求：" + "；".join(problems), details={"problems": problems}
        )
    if kind == PROJECT_APPROVAL:
        earlier = session.scalar(
            select(Approval.doc_no).where(
                Approval.project_id == project_id, Approval.kind == PROJECT_APPROVAL
            )
        )
        if earlier:
            raise HandlerError("already_approved", f"项目 {project_id} 已有立项批复（{earlier}）")
    route = _route(project, approval_route) if kind == PROJECT_APPROVAL else None
    conditions = _conditions(approval_conditions)
    kept = ["".join(c.split()) for c in conditions]
    # A condition counts as kept when a 批复条件 holds its words (spacing aside): the signer may add to it.
    dropped = [
        c
        for c in _conditions(required_conditions)
        if "".join(c.split()) and not any("".join(c.split()) in k for k in kept)
    ]
    if kind == PROJECT_APPROVAL and dropped and not str(conditions_note or "").strip():
        raise HandlerError(
            "conditions_dropped",
            "批复条件删去了部门联审附加条件「"
            + "」「".join(dropped)
            + "」：请保留，或在“批复条件调整说明”中说明理由。",
            details={"dropped": dropped},
        )
    previous_budget = project.approved_budget

    issued_on = local_date(ctx.now)
    number = allocate_doc_no(session, issuer, issued_on.year, kind, project_id, ctx.now)
    content = render_approval(
        ApprovalText(
            doc_no=number.doc_no,
            kind=kind,
            project_id=project_id,
            project_name=project.name,
            unit_name=project.unit_name,
            approved_budget=budget,
            authority_name=issuer.name,
            issued_on=issued_on,
            route=route,
            plan_year=project.plan_year,
            plan_doc_no=listed[0].doc_no if listed and route == SMALL_ROUTE else None,
            conditions=conditions,
            previous_budget=previous_budget if kind == CHANGE_APPROVAL else None,
            bundle_threshold=_threshold(project, bundle_threshold) if route == SMALL_ROUTE else None,
            crypto_required=bool(project.crypto_required),
        ),
        created=ctx.now,
    )
    document = store_document(
        session,
        kind=DOCUMENT_KINDS[kind],
        filename=f"{project_id}-{kind}-{number.doc_no}.docx",
        content=content,
        created_at=ctx.now,
        project_id=project_id,
        instance_id=ctx.instance_id,
    )
    session.add(
        Approval(
            doc_no=number.doc_no,
            project_id=project_id,
            kind=kind,
            authority=issuer.code,
            authority_name=issuer.name,
            approved_budget=budget,
            issued_at=ctx.now,
            document_id=document.id,
        )
    )
    project.approved_budget = budget
    if kind == PROJECT_APPROVAL:
        project.approval_doc_no = number.doc_no
        project.status = ProjectStatus.APPROVED.value
        project.stage = "建设"
    project.updated_at = ctx.now
    session.flush()
    return {
        "approval_doc_no": number.doc_no,
        "approval_authority": issuer.code,
        "approval_authority_name": issuer.name,
        "approval_document_id": document.id,
        "approved_budget": yuan_str(budget),
        "approval_kind": kind,
    }
