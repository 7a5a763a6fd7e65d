"""Handler `update_project`: move a project's stage/status in the register and correct a few fields."""

from handlers.coercion import as_decimal
from handlers.context import HandlerContext
from handlers.models import PROJECT_STATUS_LABELS, PROJECT_TYPES, RECORDED_KEY, STAGES, ProjectStatus
from handlers.money import parse_yuan
from handlers.queries import load_project
from handlers.results import choice, text

TITLE = "更新项目库状态"
RETURNS = {
    "stage": text("阶段"),
    "project_status": choice("项目状态", PROJECT_STATUS_LABELS),
    "project_status_name": text("项目状态"),
}
ERRORS: tuple[str, ...] = ()

MONEY_FIELDS = {
    "total_estimate": "总投资概算",
    "recommended_budget": "专家建议金额",
    "approved_budget": "批复金额",
}
FLAG_FIELDS = ("planned", "on_egov_extranet", "uses_gov_cloud", "data_sharing_committed", "crypto_required")
TEXT_FIELDS = ("name", "unit_name")
# Facts a diagram records on the project without a column of their own (kept in the declaration JSON).
RECORDED_TEXT = {
    "approval_route": ("SMALL", "LARGE"),  # 立项路径 decided by the route_by_amount table
    "correction_note": None,  # 修改补正说明
    "outcome_reason": None,  # 退回原因
    "change_decision": ("APPROVE", "REFUSE"),
    "change_type": ("SCOPE", "BUDGET", "SCHEDULE", "VENDOR", "TECH_ROUTE"),
    "perf_grade": ("EXCELLENT", "GOOD", "FAIR", "POOR"),
    "budget_action": None,
}
RECORDED_NUMBERS = ("bundle_threshold", "budget_delta")  # 打捆阈值（元）, 变更金额（元，可为负）


def _recorded_value(key: str, value: object) -> object:
    """Check one recorded fact and return its JSON value."""
    if value is None:
        return None
    if key in RECORDED_NUMBERS:
        number = as_decimal(value)
        if number is None:
            raise ValueError(f"字段 {key} 应为金额：{value!r}")
        return f"{number:f}"
    allowed = RECORDED_TEXT[key]
    if allowed is not None and value not in allowed:
        raise ValueError(f"字段 {key} 应为 {'、'.join(allowed)} 之一：{value!r}")
    return str(value)


def _apply(project, key: str, value: object) -> None:
    """Set one whitelisted field, converting and checking its value."""
    if key in RECORDED_TEXT or key in RECORDED_NUMBERS:
        declaration = dict(project.declaration or {})
        recorded = dict(declaration.get(RECORDED_KEY) or {})
        recorded[key] = _recorded_value(key, value)
        declaration[RECORDED_KEY] = recorded
        project.declaration = declaration  # a new dict, so the JSON column sees the change
        return
    if key == "documents":
        if not isinstance(value, list):
            raise ValueError("申报材料应为列表")
        project.declaration = dict(project.declaration or {}, documents=value)
        return
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
    """Set the register's stage and/or status (and whitelisted fields); return the new state.

    Besides register columns, `fields` may record approval_route, bundle_threshold, correction_note,
    outcome_reason, change_decision, change_type, budget_delta, perf_grade and budget_action, and
    replace the declaration's documents.
    """
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
