"""The generated 立项批复 and 变更批复: wording by route, the 批复条件, amounts, document kinds and titles."""

import io

import docx
import pytest
from sqlalchemy import select

from handlers import HANDLER_DOCS
from handlers.documents import kind_label
from handlers.errors import HandlerError
from handlers.models import AnnualPlan, Document
from tests.handlers.handler_support import NOW, call

REVIEWED = "经专家集中审查论证和部门联审"
CONDITION = "纳入市“十四五”数字政府规划项目库"


def issue(ctx, project_id: str, **params) -> dict:
    """Issue an approval of 市数管局 for the project with the given parameters."""
    params.setdefault("approved_budget", "3200000")
    return call("issue_approval", ctx, project_id=project_id, authority="CITY_DATA_BUREAU", **params)


def document_of(ctx, result: dict) -> tuple[Document, str]:
    """Return the stored document of an approval and the text of its paragraphs."""
    document = ctx.session.get(Document, result["approval_document_id"])
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(document.content)).paragraphs)
    return document, text


def recorded_route(ctx, project_id: str, route: str, threshold: int | None = None) -> None:
    """Record the 立项路径 (and the threshold it was decided by) on the project as approval.bpmn does."""
    fields = {"approval_route": route} | ({"bundle_threshold": threshold} if threshold else {})
    call("update_project", ctx, project_id=project_id, fields=fields)


def test_a_bundled_small_project_is_said_to_be_reviewed_and_bundled_into_the_plan(ctx, make_project):
    project_id = make_project(status="IN_PLAN")
    recorded_route(ctx, project_id, "SMALL", 5000000)
    ctx.session.add(
        AnnualPlan(
            year=2026,
            version=1,
            items=[{"project_id": project_id, "category": "BUNDLED"}],
            total=3200000,
            bundled_total=3200000,
            doc_no="六数管〔2026〕9号",
            status="ISSUED",
            created_at=NOW,
        )
    )
    ctx.session.flush()
    _document, text = document_of(ctx, issue(ctx, project_id))
    plan = "2026年度电子政务项目实施计划（六数管〔2026〕9号）"
    assert f"{REVIEWED}，该项目总投资在500万元以下，已打捆纳入{plan}，现批复如下：" in text


def test_the_threshold_stated_is_the_one_the_decision_table_routed_by(ctx, make_project):
    """A policy that moves the 打捆 threshold (route_by_amount.dmn) moves the 批复's words with it."""
    recorded = make_project(status="IN_PLAN")
    recorded_route(ctx, recorded, "SMALL", 3000000)
    _document, text = document_of(ctx, issue(ctx, recorded))
    assert "该项目总投资在300万元以下，已打捆纳入2026年度" in text and "500万" not in text
    passed = make_project(status="IN_PLAN")
    recorded_route(ctx, passed, "SMALL", 5000000)  # the diagram's value wins over the register's
    _document, text = document_of(
        ctx, issue(ctx, passed, approval_route="SMALL", bundle_threshold=2500000, approved_budget="2000000")
    )
    assert "该项目总投资在250万元以下，已打捆纳入" in text


def test_the_route_the_diagram_passes_decides_the_wording(ctx, make_project):
    large = make_project(status="REVIEWED")
    recorded_route(ctx, large, "SMALL")  # the diagram's value wins over the register's
    _document, text = document_of(ctx, issue(ctx, large, approval_route="LARGE"))
    assert f"相关材料收悉。{REVIEWED}，现批复如下：" in text
    small = make_project(status="IN_PLAN")
    _document, text = document_of(ctx, issue(ctx, small, approval_route="SMALL"))
    assert f"{REVIEWED}，该项目已打捆纳入2026年度电子政务项目实施计划，现批复如下：" in text
    unknown = make_project(status="IN_PLAN")
    _document, text = document_of(ctx, issue(ctx, unknown))
    assert REVIEWED not in text and "相关材料收悉。经审核，现批复如下：" in text


def test_the_leaders_conditions_are_in_the_approval(ctx, make_project):
    project_id = make_project(status="IN_PLAN", crypto_required=False)
    result = issue(ctx, project_id, approval_route="LARGE", approval_conditions=[CONDITION])
    _document, text = document_of(ctx, result)
    assert f"三、批复条件：{CONDITION}。" in text
    assert "四、项目须部署在电子政务外网" in text and "六、项目运行维护情况" in text

    other = make_project(status="IN_PLAN")
    conditions = [CONDITION, "数据资源目录于上线前完成编目。"]
    _document, text = document_of(ctx, issue(ctx, other, approval_conditions=conditions))
    listed = f"三、项目须落实以下批复条件：\n（一）{CONDITION}。\n（二）数据资源目录于上线前完成编目。\n四、"
    assert listed in text


def test_a_joint_review_condition_is_not_dropped_without_a_reason(ctx, make_project):
    """A condition 市密码管理局 set cannot silently vanish from the 批复: left out, nothing is issued."""
    crypto = "竣工验收前须完成商用密码应用安全性评估"
    project_id = make_project(status="IN_PLAN")
    with pytest.raises(HandlerError) as refused:
        issue(ctx, project_id, approval_conditions=[CONDITION], required_conditions=[crypto, CONDITION])
    assert refused.value.code == "conditions_dropped" and refused.value.details == {"dropped": [crypto]}
    assert f"「{crypto}」" in refused.value.message and "批复条件调整说明" in refused.value.message
    assert ctx.session.scalars(select(Document).where(Document.project_id == project_id)).all() == []
    # Kept in other words around it (the signer added a detail) or with other spacing: kept.
    extended = [f"{crypto}，2027年6月前完成", CONDITION]
    kept = issue(
        ctx, project_id, approval_conditions=extended, required_conditions=[crypto.replace("前", " 前")]
    )
    assert kept["approval_doc_no"]
    other = make_project(status="IN_PLAN")
    explained = issue(
        ctx,
        other,
        approval_conditions=[],
        required_conditions=[crypto],
        conditions_note="已纳入合同条款，不再单列",
    )
    assert explained["approval_doc_no"]


def test_a_project_using_commercial_cryptography_is_approved_with_its_assessment(ctx, make_project):
    plain = make_project(status="IN_PLAN", crypto_required=False)
    _document, text = document_of(ctx, issue(ctx, plain))
    assert "商用密码" not in text
    crypto = make_project(status="IN_PLAN", crypto_required=True)
    _document, text = document_of(ctx, issue(ctx, crypto))
    assert "同步规划、同步建设、同步运行密码保障系统，竣工验收前完成商用密码应用安全性评估。" in text


def test_every_amount_has_thousands_separators_and_two_decimals(ctx, make_project):
    project_id = make_project(status="IN_PLAN")
    _document, text = document_of(ctx, issue(ctx, project_id, approved_budget=3200000))
    assert "核定项目总投资为人民币3,200,000.00元（大写：叁佰贰拾万元整）" in text
    change = issue(ctx, project_id, approved_budget="3,680,000.5", kind="变更批复")
    _document, text = document_of(ctx, change)
    assert "项目总投资由人民币3,200,000.00元调整为人民币3,680,000.50元（大写：" in text
    assert "3200000" not in text and "3680000" not in text


def test_a_change_approval_is_its_own_kind_of_document(ctx, make_project):
    project_id = make_project(status="IN_PLAN")
    issue(ctx, project_id)
    change = issue(ctx, project_id, approved_budget="3500000", kind="变更批复")
    document, text = document_of(ctx, change)
    assert document.kind == "CHANGE_APPROVAL" and kind_label(document.kind) == "变更批复"
    assert document.filename == f"{project_id}-变更批复-六数管〔2026〕2号.docx"
    assert "关于六安市智慧教育云平台二期变更的批复" in text and "立项的批复" not in text
    assert change["approval_kind"] == "变更批复"
    kinds = ctx.session.scalars(select(Document.kind).order_by(Document.id)).all()
    assert kinds == ["APPROVAL", "CHANGE_APPROVAL"]
    # The history names the handler by its title: it must fit a change as well as a project approval.
    assert "立项" not in HANDLER_DOCS["issue_approval"]["title"]
