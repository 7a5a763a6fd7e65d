"""Handler `close_project`: record in the register that a project's process was ended for good (终止)."""

from sqlalchemy import select

from handlers.context import HandlerContext
from handlers.models import CLOSED_STATUSES, PROJECT_STATUS_LABELS, RECORDED_KEY, Project, ProjectStatus
from handlers.results import choice, text

TITLE = "登记项目终止"
RETURNS = {
    "project_status": choice("项目状态", PROJECT_STATUS_LABELS),
    "project_status_name": text("项目状态"),
    "outcome_reason": text("终止原因"),
}
ERRORS: tuple[str, ...] = ()


def handle(ctx: HandlerContext, *, reason: str = "", project_id: str | None = None) -> dict:
    """Mark the project 已终止 with the reason, when this instance is the one that carries it.

    The runtime calls it when an admin terminates an instance (`Runtime.on_terminate`); a diagram may call
    it too. A project carried by another instance, or already closed (不予立项, 已撤回, 已停用), is left
    as it is.
    """
    wanted = project_id or ctx.project_id
    project = ctx.session.scalar(select(Project).where(Project.project_id == wanted)) if wanted else None
    if project is None or project.status in CLOSED_STATUSES:
        return {}
    if project.instance_id is not None and project.instance_id != ctx.instance_id:
        return {}
    declaration = dict(project.declaration or {})
    declaration[RECORDED_KEY] = {**(declaration.get(RECORDED_KEY) or {}), "outcome_reason": str(reason)[:500]}
    project.declaration = declaration
    project.status = ProjectStatus.TERMINATED.value
    project.updated_at = ctx.now
    ctx.session.flush()
    return {
        "project_status": project.status,
        "project_status_name": PROJECT_STATUS_LABELS[project.status],
        "outcome_reason": str(reason)[:500],
    }
