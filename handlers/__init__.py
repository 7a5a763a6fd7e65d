"""Service-task handlers of the project lifecycle, registered by operator name.

The engine calls `REGISTRY[operator](ctx, **params)` with a HandlerContext and keyword parameters,
merges the returned dict into the task data, and routes a HandlerError by its code to a BPMN error
boundary event. `HANDLER_DOCS` describes each operator for the modeler and the deploy validator;
`RESULT_FIELDS` says how a person reads each key a handler returns (its title, unit, code labels).
"""

import inspect
from collections.abc import Callable
from types import ModuleType

from handlers import (
    aggregate_scores,
    check_completeness,
    check_contract,
    check_duplication,
    check_integration,
    check_progress,
    close_project,
    compile_annual_plan,
    draw_experts,
    file_om,
    issue_annual_plan,
    issue_approval,
    plan_candidates,
    record_acceptance,
    record_performance,
    register_project,
    update_project,
)
from handlers.context import HandlerContext
from handlers.errors import HandlerError
from handlers.models import DomainBase

__all__ = [
    "HANDLER_DOCS",
    "PARAM_TITLES",
    "ON_TERMINATE",
    "REGISTRY",
    "RESULT_FIELDS",
    "DomainBase",
    "HandlerContext",
    "HandlerError",
]

REGISTRY: dict[str, Callable[..., dict]] = {
    "register_project": register_project.handle,
    "check_completeness": check_completeness.handle,
    "check_duplication": check_duplication.handle,
    "check_integration": check_integration.handle,
    "draw_experts": draw_experts.handle,
    "aggregate_scores": aggregate_scores.handle,
    "issue_approval": issue_approval.handle,
    "check_contract": check_contract.handle,
    "check_progress": check_progress.handle,
    "record_acceptance": record_acceptance.handle,
    "file_om": file_om.handle,
    "record_performance": record_performance.handle,
    "plan_candidates": plan_candidates.handle,
    "compile_annual_plan": compile_annual_plan.handle,
    "issue_annual_plan": issue_annual_plan.handle,
    "close_project": close_project.handle,
    "update_project": update_project.handle,
}

# The operator the runtime calls when an admin terminates an instance (`Runtime.on_terminate`).
ON_TERMINATE = "close_project"

# Chinese labels of parameter names, shown by the modeler's handler picker.
PARAM_TITLES: dict[str, str] = {
    "project": "申报信息",
    "documents": "已上传材料",
    "required_documents": "应提交材料类型",
    "project_id": "项目编号",
    "reason": "原因",
    "name": "项目名称",
    "unit_code": "建设单位统一社会信用代码",
    "keywords": "关键词",
    "threshold": "名称相似度阈值",
    "on_egov_extranet": "部署在电子政务外网",
    "uses_gov_cloud": "依托市政务云",
    "data_sharing_committed": "承诺数据共享",
    "vendor_code": "承建单位统一社会信用代码",
    "specialties": "所需专业",
    "panel_size": "评审组人数",
    "backups": "备选人数",
    "seed": "随机种子",
    "purpose": "抽取用途",
    "exclude_usernames": "另行回避的专家",
    "draw_id": "抽取记录编号",
    "scores": "专家评分",
    "pass_score": "通过分数线",
    "drop_extremes": "去掉最高分和最低分",
    "min_scores": "最少评分人数",
    "panel": "人工确定的评审专家",
    "authority": "审批机关",
    "approved_budget": "批复金额",
    "kind": "批复类型",
    "approval_route": "立项路径",
    "approval_conditions": "批复条件",
    "required_conditions": "须保留的部门联审附加条件",
    "conditions_note": "批复条件调整说明",
    "budget_delta": "投资变动金额（元）",
    "report_period": "报告期",
    "pct_complete": "总体完成进度（%）",
    "spent_to_date": "累计支付（元）",
    "contract": "合同信息",
    "trial_started_at": "试运行开始日期",
    "prelim_date": "初验日期",
    "sign_within_days": "合同签订期限（日）",
    "reports": "验收材料",
    "conclusion": "验收结论",
    "mlps_level": "等保级别",
    "crypto_required": "需密码应用",
    "witness": "见证人签字",
    "trial_months": "试运行最短月数",
    "mlps_report_from_level": "需等保测评的最低级别",
    "year": "年度",
    "annual_plan_id": "年度计划编号",
    "filing": "备案内容",
    "due_month_day": "备案截止日（月-日）",
    "status": "状态",
    "next_window_start": "下一年度备案开始时间",
    "window_opened_at": "备案窗口开启时间",
    "min_filing_days": "备案最短期限（日）",
    "due_date": "备案截止日",
    "acceptance_date": "验收日期",
    "score": "绩效评价得分",
    "evaluation_type": "评价类型",
    "project_ids": "项目编号列表",
    "bundle_threshold": "打捆金额标准（元）",
    "bundle_proposal": "打捆项目建议书",
    "stage": "阶段",
    "fields": "需更正的字段",
}


def _json_default(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _describe(module: ModuleType) -> dict:
    """Return the picker/validator description of one handler module, read from its signature."""
    params = [p for p in inspect.signature(module.handle).parameters.values() if p.kind is p.KEYWORD_ONLY]
    return {
        "title": module.TITLE,
        "description": inspect.getdoc(module.handle),
        "params": [p.name for p in params],
        "required": [p.name for p in params if p.default is p.empty],
        "defaults": {p.name: _json_default(p.default) for p in params if p.default is not p.empty},
        "param_titles": {p.name: PARAM_TITLES.get(p.name, p.name) for p in params},
        "returns": list(module.RETURNS),
        "return_titles": {key: prop["title"] for key, prop in module.RETURNS.items()},
        "errors": list(module.ERRORS),
    }


HANDLER_DOCS: dict[str, dict] = {
    operator: _describe(inspect.getmodule(handle)) for operator, handle in REGISTRY.items()
}


def _result_fields() -> dict[str, dict]:
    """Return how a person reads each key handlers return (they merge their results into one process data)."""
    fields: dict[str, dict] = {}
    for handle in REGISTRY.values():
        for key, prop in inspect.getmodule(handle).RETURNS.items():
            fields.setdefault(key, prop)
    return fields


RESULT_FIELDS: dict[str, dict] = _result_fields()
