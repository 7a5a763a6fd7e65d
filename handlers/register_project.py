"""Handler `register_project`: create or update the register row of a declared project."""

from sqlalchemy import func, select

from handlers.coercion import as_int, as_text_list
from handlers.context import HandlerContext
from handlers.errors import HandlerError
from handlers.models import PROJECT_STATUS_LABELS, PROJECT_TYPES, Project, ProjectStatus
from handlers.money import MoneyError, parse_yuan, yuan_str
from handlers.queries import load_project
from handlers.results import choice, money, text
from handlers.sequences import insert_numbered
from handlers.uscc import is_valid_uscc

TITLE = "登记项目申报信息"
RETURNS = {
    "project_id": text("项目编号"),
    "stage": text("阶段"),
    "project_status": choice("项目状态", PROJECT_STATUS_LABELS),
    "total_estimate_yuan": money("总投资概算"),
}
ERRORS = ("declaration_invalid", "project_locked")

STAGE = "申报"
# A declaration may still be corrected while the project is in one of these statuses.
EDITABLE = frozenset(
    {ProjectStatus.DRAFT, ProjectStatus.DECLARED, ProjectStatus.INITIAL_REVIEW, ProjectStatus.RETURNED}
)
FLAGS = ("on_egov_extranet", "uses_gov_cloud", "data_sharing_committed", "crypto_required")


def _read_declaration(project: dict, ctx: HandlerContext) -> dict:
    """Return register column values from the declaration, or raise declaration_invalid."""
    problems: list[str] = []
    values: dict = {}

    name = str(project.get("name") or "").strip()
    if not name or len(name) > 200:
        problems.append("项目名称不能为空且不超过200字")
    values["name"] = name

    project_type = project.get("project_type")
    if project_type not in PROJECT_TYPES:
        problems.append(f"项目类型不正确，可选：{'、'.join(PROJECT_TYPES.values())}")
    values["project_type"] = project_type

    plan_year = as_int(project.get("plan_year"))
    if plan_year is None or not 2000 <= plan_year <= 2100:
        problems.append("计划年度不正确")
    values["plan_year"] = plan_year

    planned = project.get("planned", True)
    if not isinstance(planned, bool):
        problems.append("是否列入年度计划应为是或否")
    values["planned"] = planned

    try:
        values["total_estimate"] = parse_yuan(project.get("total_estimate"), "总投资概算")
        if values["total_estimate"] <= 0:
            problems.append("总投资概算必须大于零")
    except MoneyError as err:
        problems.append(str(err))

    unit_code = project.get("unit_code") or ctx.unit_code
    if not is_valid_uscc(unit_code):
        problems.append(f"项目建设单位统一社会信用代码不正确：{unit_code}")
    values["unit_code"] = unit_code
    values["unit_name"] = str(project.get("unit_name") or "").strip()
    if not values["unit_name"]:
        problems.append("项目建设单位名称不能为空")

    for flag in FLAGS:
        flag_value = project.get(flag, False)
        if not isinstance(flag_value, bool):
            problems.append(f"{flag} 应为是或否")
        values[flag] = bool(flag_value)

    mlps_level = project.get("mlps_level")
    if mlps_level not in (None, ""):
        mlps_level = as_int(mlps_level)
        if mlps_level is None or not 1 <= mlps_level <= 5:
            problems.append("等保级别应为1至5级")
    values["mlps_level"] = mlps_level or None

    try:
        values["keywords"] = as_text_list(project.get("keywords"))
    except ValueError:
        problems.append("关键词应为列表")

    if problems:
        raise HandlerError(
            "declaration_invalid",
            "申报信息不完整或有误：" + "；".join(problems),
            details={"problems": problems},
        )
    return values


def _existing(ctx: HandlerContext, project: dict) -> Project | None:
    """Return the row this declaration updates: by project id, else the one this instance created."""
    project_id = project.get("project_id") or ctx.project_id
    if project_id:
        return load_project(ctx.session, project_id)
    stmt = select(Project).where(Project.instance_id == ctx.instance_id).order_by(Project.id).limit(1)
    return ctx.session.scalar(stmt)


def handle(ctx: HandlerContext, *, project: dict) -> dict:
    """Create or update the register row of a declaration and return its project id."""
    if not isinstance(project, dict):
        raise HandlerError("declaration_invalid", "申报信息缺失")
    values = _read_declaration(project, ctx)
    session = ctx.session
    row = _existing(ctx, project)
    common = dict(
        values,
        declaration=project,
        stage=STAGE,
        status=ProjectStatus.DECLARED.value,
        instance_id=ctx.instance_id,
        updated_at=ctx.now,
    )
    if row is None:
        year = values["plan_year"]
        prefix = f"LA-{year}-"

        def next_seq() -> int:
            stmt = select(func.max(Project.seq)).where(Project.project_id.startswith(prefix))
            return (session.scalar(stmt) or 0) + 1

        def build(seq: int) -> Project:
            return Project(project_id=f"{prefix}{seq:04d}", seq=seq, created_at=ctx.now, **common)

        row = insert_numbered(session, next_seq, build)
    else:
        if row.status not in EDITABLE:
            raise HandlerError("project_locked", f"项目 {row.project_id} 已进入后续阶段，不能再修改申报信息")
        if row.unit_code != values["unit_code"]:
            raise HandlerError("declaration_invalid", f"项目 {row.project_id} 的建设单位不能变更")
        for key, value in common.items():
            setattr(row, key, value)
        session.flush()
    return {
        "project_id": row.project_id,
        "stage": row.stage,
        "project_status": row.status,
        "total_estimate_yuan": float(yuan_str(row.total_estimate)),
    }
