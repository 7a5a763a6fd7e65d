"""Handler `update_project`: move a project's stage/status in the register and correct a few fields."""

from handlers.context import HandlerContext
from handlers.models import PROJECT_STATUS_LABELS, PROJECT_TYPES, STAGES, ProjectStatus
from handlers.money import parse_yuan
from handlers.queries import load_project

TITLE = "更新项目库状态"
RETURNS = ("stage", "project_status", "project_status_name")
ERRORS: tuple[str, ...] = ()

MONEY_FIELDS = {"total_estimate": "总投资概算", "recommended_budget": "专家建议金额"}
FLAG_FIELDS = ("planned", "on_egov_extranet", "uses_gov_cloud", "data_sharing_committed", "crypto_required")
TEXT_FIELDS = ("name", "unit_name")


def _apply(project, key: str, value: object) -> None:
    """Set one whitelisted field, converting and checking its value."""
    if key in MONEY_FIELDS:
        value = (
            None
            if value in (None, "") and key == "recommended_budget"
            else parse_yuan(value, MONEY_FIELDS[key])
        )
    elif key in FLAG_FIELDS:
        if not isinstance(value, bool):
            raise ValueError(f"字段 {key} 应为是或否")
    elif key in TEXT_FIELDS:
        value = str(value or "").strip()
        if not value:
            raise ValueError(f"字段 {key} 不能为空")
    elif key == "project_type":
        if value not in PROJECT_TYPES:
            raise ValueError(f"项目类型不正确：{value!r}")
    elif key == "mlps_level":
        if value is not None and value not in range(1, 6):
            raise ValueError("等保级别应为1至5级")
    elif key == "keywords":
        if not isinstance(value, list):
            raise ValueError("关键词应为列表")
    else:
        raise ValueError(f"项目库字段 {key!r} 不允许通过流程修改")
    setattr(project, key, value)


def handle(
    ctx: HandlerContext,
    *,
    project_id: str,
    stage: str | None = None,
    status: str | None = None,
    fields: dict | None = None,
) -> dict:
    """Set the register's stage and/or status (and whitelisted fields); return the new state."""
    if stage is not None and stage not in STAGES:
        raise ValueError(f"阶段应为 {'、'.join(STAGES)} 之一：{stage!r}")
    if status is not None and status not in ProjectStatus.__members__:
        raise ValueError(f"未知的项目状态：{status!r}")
    project = load_project(ctx.session, project_id)
    for key, value in (fields or {}).items():
        _apply(project, key, value)
    if stage is not None:
        project.stage = stage
    if status is not None:
        project.status = status
    project.updated_at = ctx.now
    ctx.session.flush()
    return {
        "stage": project.stage,
        "project_status": project.status,
        "project_status_name": PROJECT_STATUS_LABELS[project.status],
    }
