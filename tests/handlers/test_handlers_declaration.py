"""register_project, check_completeness, check_duplication, check_integration, update_project."""

from datetime import datetime

import pytest
from sqlalchemy import select

from handlers.demo_data import DEMO_UNITS
from handlers.errors import HandlerError
from handlers.localtime import BEIJING
from handlers.models import Project
from handlers.queries import ProjectNotFound, recorded_facts
from tests.handlers.handler_support import EDU, NOW, at, call, declaration


def test_register_assigns_ids_per_year(ctx, make_project):
    first = call("register_project", ctx, project=declaration())
    assert first == {
        "project_id": "LA-2026-0001",
        "stage": "申报",
        "project_status": "DECLARED",
        "total_estimate_yuan": 3200000.0,
    }
    assert make_project() == "LA-2026-0002"
    assert make_project(plan_year=2027) == "LA-2027-0001"
    assert make_project(plan_year="2026") == "LA-2026-0003"
    row = ctx.session.scalar(select(Project).where(Project.project_id == "LA-2026-0001"))
    assert row.unit_name == EDU["name"] and row.total_estimate == 3200000 and row.mlps_level == 3
    assert row.instance_id == ctx.instance_id and row.declaration["name"] == "六安市智慧教育云平台二期"


def test_register_again_in_the_same_instance_updates(ctx):
    call("register_project", ctx, project=declaration())
    later = at(ctx, datetime(2026, 11, 26, tzinfo=BEIJING))
    again = call(
        "register_project",
        later,
        project=declaration(name="六安市智慧教育云平台（二期）", total_estimate=2800000),
    )
    assert again["project_id"] == "LA-2026-0001"
    rows = ctx.session.scalars(select(Project)).all()
    assert (
        len(rows) == 1
        and rows[0].name == "六安市智慧教育云平台（二期）"
        and rows[0].total_estimate == 2800000
    )


def test_register_by_project_id_and_unknown_id(ctx, make_project):
    project_id = make_project()
    call("register_project", ctx, project=declaration(project_id=project_id, planned=False))
    assert ctx.session.scalar(select(Project.planned).where(Project.project_id == project_id)) is False
    with pytest.raises(ProjectNotFound):
        call("register_project", ctx, project=declaration(project_id="LA-2026-0999"))
    other_unit = declaration(project_id=project_id, unit_code=DEMO_UNITS[1]["code"])
    with pytest.raises(HandlerError) as caught:
        call("register_project", ctx, project=other_unit)
    assert caught.value.code == "declaration_invalid" and "不能变更" in caught.value.message


def test_register_takes_the_unit_from_the_context(ctx):
    project = declaration()
    del project["unit_code"]
    ctx = at(ctx, NOW, unit_code=DEMO_UNITS[1]["code"])
    project_id = call("register_project", ctx, project=project)["project_id"]
    assert (
        ctx.session.scalar(select(Project.unit_code).where(Project.project_id == project_id))
        == DEMO_UNITS[1]["code"]
    )


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"name": " "}, "项目名称"),
        ({"unit_code": "11341500MB5260181X"}, "统一社会信用代码"),
        ({"total_estimate": "-5"}, "负数"),
        ({"total_estimate": 0}, "大于零"),
        ({"project_type": "X"}, "项目类型"),
        ({"plan_year": "明年"}, "计划年度"),
        ({"mlps_level": 7}, "等保级别"),
        ({"planned": "是"}, "年度计划"),
    ],
)
def test_register_refuses_a_bad_declaration(ctx, change, fragment):
    with pytest.raises(HandlerError) as caught:
        call("register_project", ctx, project=declaration(**change))
    assert caught.value.code == "declaration_invalid"
    assert fragment in caught.value.message
    assert ctx.session.scalars(select(Project)).all() == []


def test_register_refuses_changes_after_approval(ctx, make_project):
    project_id = make_project(status="APPROVED")
    with pytest.raises(HandlerError) as caught:
        call("register_project", ctx, project=declaration(project_id=project_id))
    assert caught.value.code == "project_locked"


def test_completeness():
    docs = [
        {"kind": "DECLARATION_FORM", "filename": "申报表.pdf", "sha256": "ab"},
        {"kind": "PROPOSAL", "filename": ""},  # listed but no file
        {"kind": "CRYPTO_PLAN", "filename": "密码应用方案.pdf"},
    ]
    result = call(
        "check_completeness",
        None,
        documents=docs,
        required_documents=["DECLARATION_FORM", "PROPOSAL", "CRYPTO_PLAN", "MLPS_GRADING"],
    )
    assert result == {
        "completeness_ok": False,
        "missing_documents": ["项目建议书", "等级保护定级报告"],
        "missing_document_kinds": ["PROPOSAL", "MLPS_GRADING"],
    }
    ok = call("check_completeness", None, documents=docs, required_documents="DECLARATION_FORM, CRYPTO_PLAN")
    assert ok["completeness_ok"] and ok["missing_documents"] == []
    assert call("check_completeness", None, documents=None, required_documents=["NECESSITY"])[
        "missing_documents"
    ] == ["建设必要性及需求说明"]
    with pytest.raises(ValueError, match="未知的材料类型"):
        call("check_completeness", None, documents=docs, required_documents=["NOPE"])


def test_integration_gate():
    assert call(
        "check_integration", None, on_egov_extranet=True, uses_gov_cloud=True, data_sharing_committed=True
    ) == {"integration_ok": True, "integration_problems": []}
    refused = call(
        "check_integration", None, on_egov_extranet=False, uses_gov_cloud=True, data_sharing_committed=None
    )
    assert refused["integration_ok"] is False
    assert refused["integration_problems"] == [
        "项目未按要求部署在电子政务外网。",
        "项目未承诺按规定通过江淮大数据中心六安市子平台共享数据。",
    ]


def test_duplication(ctx, make_project):
    mine = make_project(name="六安市智慧教育云平台三期")
    same_unit = make_project(name="六安市智慧教育云平台二期")
    make_project(
        name="六安市智慧教育云平台二期", unit_code=DEMO_UNITS[1]["code"], unit_name=DEMO_UNITS[1]["name"]
    )
    make_project(name="六安市智慧教育云平台二期建设", status="WITHDRAWN")
    keyword_hit = make_project(
        name="全市中小学校园安全监控系统",
        unit_code=DEMO_UNITS[2]["code"],
        unit_name=DEMO_UNITS[2]["name"],
        keywords=["校园安全"],
    )
    result = call(
        "check_duplication",
        ctx,
        project_id=mine,
        name="六安市智慧教育云平台三期",
        unit_code=EDU["code"],
        keywords=["校园安全", "云"],
    )
    assert result["duplicate_found"] is True
    found = {item["project_id"]: item for item in result["similar_projects"]}
    assert set(found) == {same_unit, keyword_hit}  # other unit's similar name and withdrawn ones don't count
    assert found[same_unit]["similarity"] >= 0.8 and found[same_unit]["unit_name"] == EDU["name"]
    assert found[keyword_hit]["matched_keywords"] == ["校园安全"]
    stored = ctx.session.scalar(select(Project.duplicate_check).where(Project.project_id == mine))
    assert len(stored["similar_projects"]) == 2

    clean = call(
        "check_duplication", ctx, project_id=mine, name="六安市不动产登记数据共享系统", unit_code=EDU["code"]
    )
    assert clean == {"duplicate_found": False, "similar_projects": [], "similar_total": 0}


def test_duplication_lists_the_closest_twenty_of_a_large_register(ctx, make_project, monkeypatch):
    """A common keyword shared by many projects lists the closest ones, and says how many there are."""
    from handlers import check_duplication

    monkeypatch.setattr(check_duplication, "MAX_LISTED", 3)
    mine = make_project(name="六安市政务云资源管理平台")
    names = [
        "六安市政务云资源监测平台",
        "政务云备份系统",
        "政务云安全审计系统",
        "政务云计费系统",
        "政务云门户",
    ]
    for name in names:
        make_project(name=name, unit_code=DEMO_UNITS[2]["code"], unit_name=DEMO_UNITS[2]["name"])
    result = call(
        "check_duplication",
        ctx,
        project_id=mine,
        name="六安市政务云资源管理平台",
        unit_code=EDU["code"],
        keywords=["政务云"],
    )
    assert result["similar_total"] == 5 and len(result["similar_projects"]) == 3
    assert result["similar_projects"][0]["name"] == "六安市政务云资源监测平台"  # the most alike first


def test_update_project(ctx, make_project):
    project_id = make_project()
    result = call(
        "update_project",
        ctx,
        project_id=project_id,
        stage="初审",
        status="INITIAL_REVIEW",
        fields={"total_estimate": "2,000,000", "mlps_level": 2, "planned": False},
    )
    assert result == {"stage": "初审", "project_status": "INITIAL_REVIEW", "project_status_name": "初审中"}
    row = ctx.session.scalar(select(Project).where(Project.project_id == project_id))
    assert (row.total_estimate, row.mlps_level, row.planned) == (2000000, 2, False)
    with pytest.raises(ValueError, match="阶段"):
        call("update_project", ctx, project_id=project_id, stage="结项")
    with pytest.raises(ValueError, match="项目状态"):
        call("update_project", ctx, project_id=project_id, status="DONE")
    with pytest.raises(ValueError, match="不允许"):
        call("update_project", ctx, project_id=project_id, fields={"approval_doc_no": "x"})
    with pytest.raises(ProjectNotFound):
        call("update_project", ctx, project_id="LA-2026-0999", stage="初审")


def test_update_project_records_what_the_diagrams_decide(ctx, make_project):
    project_id = make_project()
    fields = {"approval_route": "SMALL", "bundle_threshold": 5000000, "outcome_reason": "逾期未补正"}
    call("update_project", ctx, project_id=project_id, stage="立项", fields=fields)
    call(
        "update_project",
        ctx,
        project_id=project_id,
        fields={"budget_delta": -150000.0, "change_type": "BUDGET", "approved_budget": "3,700,000"},
    )
    row = ctx.session.scalar(select(Project).where(Project.project_id == project_id))
    assert recorded_facts(row) == {
        "approval_route": "SMALL",
        "bundle_threshold": "5000000",
        "outcome_reason": "逾期未补正",
        "budget_delta": "-150000.0",
        "change_type": "BUDGET",
    }
    assert row.approved_budget == 3700000 and row.declaration["name"] == "六安市智慧教育云平台二期"
    documents = [{"id": "9", "filename": "补正说明.pdf", "kind": "NECESSITY"}]
    call("update_project", ctx, project_id=project_id, fields={"documents": documents})
    assert row.declaration["documents"] == documents and recorded_facts(row)["approval_route"] == "SMALL"
    with pytest.raises(ValueError, match="approval_route"):
        call("update_project", ctx, project_id=project_id, fields={"approval_route": "MEDIUM"})
    with pytest.raises(ValueError, match="金额"):
        call("update_project", ctx, project_id=project_id, fields={"budget_delta": "很多"})


@pytest.mark.parametrize("stage", ["已退回", "已办结"])
def test_update_project_knows_the_closing_stages(ctx, make_project, stage):
    project_id = make_project()
    result = call("update_project", ctx, project_id=project_id, stage=stage, status="WITHDRAWN")
    assert result["stage"] == stage and result["project_status_name"] == "已撤回"
