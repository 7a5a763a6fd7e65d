"""Handler `issue_approval`: number, render and store a 立项批复 (or a later 变更批复) in the register."""

from sqlalchemy import select

from handlers.approval_doc import ApprovalText, render_approval
from handlers.context import HandlerContext
from handlers.doc_numbers import AUTHORITIES, allocate_doc_no, get_authority
from handlers.doc_store import store_document
from handlers.errors import HandlerError
from handlers.localtime import local_date
from handlers.models import CLOSED_STATUSES, Approval, ProjectStatus
from handlers.money import MoneyError, parse_yuan, yuan_str
from handlers.queries import load_project
from handlers.results import choice, internal, money, text

TITLE = "生成立项批复"
RETURNS = {
    "approval_doc_no": text("批复文号"),
    "approval_authority": choice("审批机关", {code: a.name for code, a in AUTHORITIES.items()}),
    "approval_authority_name": text("审批机关"),
    "approval_document_id": internal(text("批复文书编号")),
    "approved_budget": money("批复金额"),
}
ERRORS = ("invalid_budget", "project_closed", "already_approved")

PROJECT_APPROVAL = "立项批复"


def handle(
    ctx: HandlerContext,
    *,
    project_id: str,
    authority: str,
    approved_budget: object,
    kind: str = PROJECT_APPROVAL,
) -> dict:
    """Issue an approval under the authority's next 文号 as a .docx and update the register.

    A 立项批复 approves the project: it records the 文号 and budget and moves the project to 建设. Any
    other kind (变更批复) adjusts the approved budget and leaves the project's status and stage alone.
    """
    session = ctx.session
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
    if kind == PROJECT_APPROVAL:
        earlier = session.scalar(
            select(Approval.doc_no).where(
                Approval.project_id == project_id, Approval.kind == PROJECT_APPROVAL
            )
        )
        if earlier:
            raise HandlerError("already_approved", f"项目 {project_id} 已有立项批复（{earlier}）")

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
        ),
        created=ctx.now,
    )
    document = store_document(
        session,
        kind="APPROVAL",
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
    }
