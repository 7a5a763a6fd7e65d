"""A later version of a year's plan keeps the issued plan's projects as issued and adds the new ones."""

from datetime import datetime

import pytest
from sqlalchemy import select

from handlers.errors import HandlerError
from handlers.localtime import BEIJING
from handlers.models import AnnualPlan, DocNumber, Project
from tests.handlers.handler_support import PROPOSAL, at, call

LATER = datetime(2026, 12, 10, 9, 0, tzinfo=BEIJING)


def project(ctx, project_id: str) -> Project:
    return ctx.session.scalar(select(Project).where(Project.project_id == project_id))


def register_state(ctx, project_ids) -> dict:
    """Each project's status, stage and last change time in the register."""
    return {pid: (p.status, p.stage, p.updated_at) for pid in project_ids if (p := project(ctx, pid))}


def issue_first_plan(ctx, make_project) -> tuple[str, str]:
    """Issue 第1版 with one approved project and one still waiting for its 立项批复; return both ids."""
    approved = make_project(status="REVIEWED", total_estimate="6,000,000")
    waiting = make_project(status="REVIEWED", total_estimate="800,000")
    call("update_project", ctx, project_id=approved, fields={"recommended_budget": "5,500,000"})
    plan = call("compile_annual_plan", ctx, bundle_proposal=PROPOSAL, year=2026)
    assert plan["plan_title"] == "2026年度电子政务项目实施计划" and plan["carried_doc_no"] is None
    assert plan["carried_project_ids"] == [] and plan["carried_total"] is None
    call("issue_annual_plan", ctx, annual_plan_id=plan["annual_plan_id"])
    # The approved project moves on; its register figures change after the plan was issued.
    call("update_project", ctx, project_id=approved, stage="建设", status="PROCURING")
    call("update_project", ctx, project_id=approved, fields={"recommended_budget": "5,000,000"})
    return approved, waiting


def test_a_later_version_keeps_the_issued_projects_as_issued_and_adds_the_new(ctx, make_project):
    approved, waiting = issue_first_plan(ctx, make_project)
    before = register_state(ctx, (approved, waiting))
    new = make_project(status="REVIEWED", total_estimate="1,200,000")

    # The proposal lists only the new project as selectable; the issued ones come as they were issued
    # (even the one still IN_PLAN, which a first plan would have proposed again).
    proposed = call("plan_candidates", ctx, year=2026)
    assert proposed["plan_project_ids"] == [new]
    assert proposed["carried_project_ids"] == [approved, waiting]
    assert [(i["project_id"], i["category"], i["plan_amount"]) for i in proposed["carried_items"]] == [
        (approved, "INDIVIDUAL", "5500000.00"),
        (waiting, "BUNDLED", "800000.00"),
    ]
    assert proposed["carried_doc_no"] == "六数管〔2026〕1号"
    assert proposed["plan_title"] == "2026年度电子政务项目实施计划（调整追加）"
    assert (proposed["carried_total"], proposed["added_total"]) == ("6300000.00", "1200000.00")
    assert proposed["plan_total"] == "7500000.00" and proposed["bundled_total"] == "2000000.00"
    assert proposed["bundled_project_ids"] == [waiting, new]
    assert ctx.session.scalars(select(AnnualPlan).where(AnnualPlan.version == 2)).all() == []

    later = at(ctx, LATER)
    draft = call("compile_annual_plan", later, bundle_proposal=PROPOSAL, year=2026, project_ids=[new])
    assert draft["plan_version"] == 2
    assert {k: draft[k] for k in proposed} == proposed
    plan = ctx.session.get(AnnualPlan, draft["annual_plan_id"])
    assert [item["project_id"] for item in plan.items] == [approved, waiting, new]
    assert plan.items[0]["plan_amount"] == "5500000.00"
    assert plan.items[0]["issued_doc_no"] == "六数管〔2026〕1号"
    assert "issued_doc_no" not in plan.items[2]
    assert (str(plan.total), str(plan.bundled_total)) == ("7500000.00", "2000000.00")
    # The carried projects are left exactly as they were; only the new one is put in the plan.
    assert register_state(ctx, before) == before
    assert project(ctx, new).status == "IN_PLAN"

    # Naming an issued project again changes nothing; superseding the draft releases none of them.
    again = call(
        "compile_annual_plan", later, bundle_proposal=PROPOSAL, year=2026, project_ids=[waiting, new]
    )
    assert (again["plan_project_ids"], again["carried_project_ids"]) == ([new], [approved, waiting])
    assert plan.status == "SUPERSEDED"
    assert register_state(ctx, before) == before
    with pytest.raises(HandlerError) as caught:
        call("compile_annual_plan", later, bundle_proposal=PROPOSAL, year=2026, project_ids=[approved])
    assert caught.value.code == "plan_project_ineligible" and "没有新列入的项目" in caught.value.message

    # Issued, the adjusted version takes the next 文号 as the year's 调整追加; the first stays issued.
    issued = call("issue_annual_plan", later, annual_plan_id=again["annual_plan_id"])
    assert issued == {
        "plan_doc_no": "六数管〔2026〕2号",
        "plan_status": "ISSUED",
        "plan_title": "2026年度电子政务项目实施计划（调整追加）",
    }
    subject = ctx.session.scalar(select(DocNumber.subject).where(DocNumber.doc_no == "六数管〔2026〕2号"))
    assert subject == "2026年度计划（调整追加，第3版）"
    statuses = ctx.session.execute(select(AnnualPlan.version, AnnualPlan.status).order_by(AnnualPlan.version))
    assert statuses.all() == [(1, "ISSUED"), (2, "SUPERSEDED"), (3, "ISSUED")]

    # With nothing new reviewed, there is no further version to compile.
    with pytest.raises(HandlerError) as caught:
        call("plan_candidates", later, year=2026)
    assert caught.value.code == "plan_empty" and "六数管〔2026〕2号" in caught.value.message


def test_the_issued_plan_is_every_issued_version_of_the_year(ctx, make_project):
    # A supplementary version issued before this rule listed only its new project; a later version keeps
    # the projects of both issued versions, each as its newest issued version has it.
    first, second, third = (make_project(status="REVIEWED") for _ in range(3))
    for version, items in ((1, [first]), (2, [second])):
        rows = [{"project_id": pid, "category": "BUNDLED", "plan_amount": "100.00"} for pid in items]
        ctx.session.add(
            AnnualPlan(
                year=2026,
                version=version,
                items=rows,
                total=100,
                bundled_total=100,
                doc_no=f"六数管〔2026〕{version}号",
                status="ISSUED",
                created_at=ctx.now,
            )
        )
    for pid in (first, second):
        call("update_project", ctx, project_id=pid, status="APPROVED")
    result = call("compile_annual_plan", ctx, bundle_proposal=PROPOSAL, year=2026)
    assert (result["carried_project_ids"], result["plan_project_ids"]) == ([first, second], [third])
    assert result["carried_doc_no"] == "六数管〔2026〕2号"
    items = ctx.session.get(AnnualPlan, result["annual_plan_id"]).items
    assert [item.get("issued_doc_no") for item in items] == ["六数管〔2026〕1号", "六数管〔2026〕2号", None]


def test_another_years_issued_plan_is_not_carried(ctx, make_project):
    old = make_project(status="REVIEWED", plan_year=2025)
    earlier = call("compile_annual_plan", ctx, bundle_proposal=PROPOSAL, year=2025)
    call("issue_annual_plan", ctx, annual_plan_id=earlier["annual_plan_id"])
    new = make_project(status="REVIEWED")
    result = call("compile_annual_plan", ctx, bundle_proposal=PROPOSAL, year=2026)
    assert (result["carried_project_ids"], result["plan_project_ids"]) == ([], [new])
    assert result["plan_title"] == "2026年度电子政务项目实施计划" and old not in result["bundled_project_ids"]


def test_bundled_projects_need_the_bundled_proposal(ctx, make_project):
    """The 打捆项目建议书 is what 市数管局 writes for the bundled projects: no file, no plan."""
    small = make_project(status="REVIEWED", total_estimate="1200000")
    with pytest.raises(HandlerError) as refused:
        call("compile_annual_plan", ctx, year=2026, project_ids=[small])
    assert refused.value.code == "plan_project_ineligible" and refused.value.details == {
        "project_ids": [small]
    }
    assert "请上传打捆项目建议书" in refused.value.message
    assert call("compile_annual_plan", ctx, year=2026, project_ids=[small], bundle_proposal=PROPOSAL)[
        "plan_version"
    ]
