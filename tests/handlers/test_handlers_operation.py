"""record_acceptance, record_performance, file_om and compile_annual_plan."""

from datetime import datetime

import pytest
from sqlalchemy import select

from handlers.errors import HandlerError
from handlers.localtime import BEIJING
from handlers.models import Acceptance, AnnualPlan, OmFiling, PerformanceEval, Project
from handlers.queries import ProjectNotFound
from tests.handlers.handler_support import PROPOSAL, at, call

WITNESS = {"name": "周卫东", "org": "市公管局", "signed": True, "signed_at": "2026-11-25T09:30:00+08:00"}
REPORTS = [
    {"kind": kind, "filename": f"{kind}.pdf"}
    for kind in ("TRIAL_REPORT", "TEST_REPORT", "MLPS_REPORT", "CRYPTO_ASSESSMENT")
]


# A submitted filing is checked: the maintainer's code (check character) and a budget within the approval.
FILING = {
    "om_vendor": "六安大别山软件有限公司",
    "om_vendor_code": "91341500MA2146100G",
    "om_budget": "180000.00",
}


def accept(ctx, project_id, **overrides):
    params = {
        "project_id": project_id,
        "trial_started_at": "2026-10-25",
        "reports": REPORTS,
        "mlps_level": 3,
        "crypto_required": True,
        "witness": WITNESS,
        "conclusion": "PASS",
        **overrides,
    }
    return call("record_acceptance", ctx, **params)


def refused(ctx, project_id, code, **overrides):
    with pytest.raises(HandlerError) as caught:
        accept(ctx, project_id, **overrides)
    assert caught.value.code == code
    return caught.value


def test_acceptance_after_exactly_one_month(ctx, make_project):
    project_id = make_project(status="TRIAL")
    result = accept(ctx, project_id)
    assert result == {
        "acceptance_id": result["acceptance_id"],
        "accepted_at": "2026-11-25T10:00:00+08:00",
        "acceptance_passed": True,
        "acceptance_conclusion": "通过",
    }
    record = ctx.session.get(Acceptance, result["acceptance_id"])
    assert record.witness["org"] == "市公管局" and record.trial_started_at.isoformat() == "2026-10-25"
    project = ctx.session.scalar(select(Project).where(Project.project_id == project_id))
    assert (project.status, project.stage) == ("ACCEPTED", "运维")


def test_acceptance_before_one_month_is_refused(ctx, make_project):
    project_id = make_project(status="TRIAL")
    error = refused(ctx, project_id, "trial_too_short", trial_started_at="2026-10-26T08:00:00+08:00")
    assert "最早可于2026-11-26验收" in error.message
    refused(ctx, project_id, "trial_too_short", trial_started_at="不详")
    # 31 October + 1 month is 30 November (clipped), so 29 November is too early.
    refused(
        at(ctx, datetime(2026, 11, 29, tzinfo=BEIJING)),
        project_id,
        "trial_too_short",
        trial_started_at="2026-10-31",
    )
    assert accept(at(ctx, datetime(2026, 11, 30, tzinfo=BEIJING)), project_id, trial_started_at="2026-10-31")
    assert len(ctx.session.scalars(select(Acceptance)).all()) == 1


@pytest.mark.parametrize(
    "witness",
    [
        None,
        {},
        {**WITNESS, "signed": False},
        {**WITNESS, "org": "市数管局"},
        {**WITNESS, "name": ""},
        {**WITNESS, "signed_at": None},
        {**WITNESS, "signed": "true"},
    ],
)
def test_acceptance_without_the_witness_signature_is_refused(ctx, make_project, witness):
    error = refused(ctx, make_project(status="TRIAL"), "witness_missing", witness=witness)
    assert "市公管局" in error.message


@pytest.mark.parametrize("org", ["六安市公管局", "市公共资源交易监督管理局", "六安市 公共资源交易监督管理局"])
def test_the_witness_unit_may_be_written_in_any_of_its_names(ctx, make_project, org):
    witness = {**WITNESS, "org": org}
    assert accept(ctx, make_project(status="TRIAL"), witness=witness)["acceptance_passed"]


def test_witness_may_be_named_by_org_code(ctx, make_project):
    witness = {
        "name": "周卫东",
        "org": "六安市公共资源交易监督管理局",
        "org_code": "GGJ",
        "signed": True,
        "signed_at": "2026-11-25",
    }
    assert accept(ctx, make_project(status="TRIAL"), witness=witness)["acceptance_passed"]


def test_missing_mlps_report_at_level_three_is_refused(ctx, make_project):
    project_id = make_project(status="TRIAL")
    without_mlps = [r for r in REPORTS if r["kind"] != "MLPS_REPORT"]
    error = refused(ctx, project_id, "reports_missing", reports=without_mlps)
    assert error.message == "缺少验收材料：等级保护测评报告" and error.details["missing_reports"] == [
        "MLPS_REPORT"
    ]
    # Level 1 needs no 等保测评; without 密码 the 密评 report is not needed either.
    only_basics = [r for r in REPORTS if r["kind"] in ("TRIAL_REPORT", "TEST_REPORT")]
    assert accept(ctx, project_id, reports=only_basics, mlps_level=1, crypto_required=False)
    error = refused(ctx, project_id, "reports_missing", reports=[], mlps_level=None, crypto_required=None)
    assert error.details["missing_reports"] == [
        "TRIAL_REPORT",
        "TEST_REPORT",
        "MLPS_REPORT",
        "CRYPTO_ASSESSMENT",
    ]


def test_first_failure_decides_the_code_and_details_list_all(ctx, make_project):
    error = refused(
        ctx,
        make_project(status="TRIAL"),
        "trial_too_short",
        trial_started_at="2026-11-20",
        reports=[],
        witness=None,
    )
    assert error.details["codes"] == ["trial_too_short", "reports_missing", "witness_missing"]


def test_rectify_conclusion_keeps_the_project_in_acceptance(ctx, make_project):
    project_id = make_project(status="TRIAL")
    result = accept(ctx, project_id, conclusion="RECTIFY")
    assert result["acceptance_passed"] is False and result["acceptance_conclusion"] == "限期整改"
    project = ctx.session.scalar(select(Project).where(Project.project_id == project_id))
    assert (project.status, project.stage) == ("TRIAL", "验收")
    with pytest.raises(ValueError):
        accept(ctx, project_id, conclusion="OK")


# --- record_performance and file_om -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "grade", "name"),
    [
        (100, "EXCELLENT", "优"),
        ("90", "EXCELLENT", "优"),
        (89.99, "GOOD", "良"),
        (80, "GOOD", "良"),
        (79.5, "FAIR", "中"),
        (60, "FAIR", "中"),
        (59.99, "POOR", "差"),
        (0, "POOR", "差"),
    ],
)
def test_performance_grades(ctx, make_project, score, grade, name):
    project_id = make_project(status="OPERATING")
    result = call("record_performance", ctx, project_id=project_id, score=score)
    assert (result["perf_grade"], result["perf_grade_name"], result["perf_year"]) == (grade, name, 2026)
    project = ctx.session.scalar(select(Project).where(Project.project_id == project_id))
    assert project.last_perf_grade == grade


@pytest.mark.parametrize("score", [-1, 100.5, "良好", None, True])
def test_invalid_performance_score(ctx, make_project, score):
    with pytest.raises(HandlerError) as caught:
        call("record_performance", ctx, project_id=make_project(status="OPERATING"), score=score)
    assert caught.value.code == "invalid_score"


def test_an_om_filing_that_passes_its_checks_still_warns_the_reviewer(ctx, make_project):
    """Not refused (the unit reports what is), but the 项目科 reviewer is told what does not add up."""
    project_id = make_project(
        status="ACCEPTED", mlps_level=3, crypto_required=True, data_sharing_committed=True
    )
    filing = {
        **FILING,
        "om_budget": "900000.00",
        "mlps_status": "NOT_FILED",
        "crypto_status": "NOT_REQUIRED",
        "data_share_status": "NOT_SHARED",
    }
    result = call(
        "file_om", at(ctx, datetime(2026, 9, 10, 9, 0, tzinfo=BEIJING)), project_id=project_id, filing=filing
    )
    assert result["om_status"] == "SUBMITTED" and result["om_warnings"] == [
        "系统定级为等保3级，报送为等级保护“未备案”",
        "项目申报时涉及商用密码应用，报送为密评“不涉及”",
        "项目申报时承诺共享数据，报送为“未共享”",
        "年度运维经费900,000.00元超过项目投资3,200,000.00元的10%",
    ]


def test_om_filing_for_two_consecutive_years(ctx, make_project):
    project_id = make_project(status="ACCEPTED")
    sept = at(ctx, datetime(2026, 9, 10, 9, 0, tzinfo=BEIJING))
    first = call(
        "file_om",
        sept,
        project_id=project_id,
        filing=FILING,
    )
    assert first == {
        "om_filing_id": first["om_filing_id"],
        "om_year": 2026,
        "om_due_date": "2026-10-31",
        "om_due_in": "PT4460399S",  # 51 days 14:59:59 to 2026-10-31 23:59:59
        "om_status": "SUBMITTED",
        "om_warnings": [],
        "om_overdue": False,
        "last_perf_grade": None,
        "last_perf_grade_name": None,
        "next_filing_year": 2027,
        "next_filing_at": "2027-09-01T09:00:00+08:00",
    }
    assert ctx.session.scalar(select(Project.status).where(Project.project_id == project_id)) == "OPERATING"

    call("record_performance", at(ctx, datetime(2027, 3, 1, tzinfo=BEIJING)), project_id=project_id, score=84)
    late = at(ctx, datetime(2027, 11, 2, 9, 0, tzinfo=BEIJING))
    second = call("file_om", late, project_id=project_id, filing={**FILING, "om_budget": "150000.00"})
    assert (second["om_year"], second["om_due_date"], second["om_overdue"]) == (2027, "2027-10-31", True)
    assert (second["last_perf_grade"], second["last_perf_grade_name"]) == ("GOOD", "良")
    assert second["next_filing_at"] == "2028-09-01T09:00:00+08:00"
    rows = ctx.session.scalars(select(OmFiling).order_by(OmFiling.year)).all()
    assert [(r.year, r.next_year) for r in rows] == [(2026, 2027), (2027, 2028)]
    assert rows[0].last_perf_grade is None and rows[1].last_perf_grade == "GOOD"


def test_om_filing_returned_then_corrected_then_filed(ctx, make_project):
    project_id = make_project(status="OPERATING")
    first = call("file_om", ctx, project_id=project_id, year=2026, filing={**FILING, "scope": ["SW"]})
    returned = call("file_om", ctx, project_id=project_id, year=2026, status="RETURNED")
    corrected = call(
        "file_om",
        ctx,
        project_id=project_id,
        year=2026,
        filing={**FILING, "scope": ["SW", "SECURITY"]},
        due_month_day="11-30",
        next_window_start="08-15T08:30",
    )
    assert first["om_filing_id"] == returned["om_filing_id"] == corrected["om_filing_id"]
    assert (
        corrected["om_due_date"] == "2026-11-30"
        and corrected["next_filing_at"] == "2027-08-15T08:30:00+08:00"
    )
    call("file_om", ctx, project_id=project_id, year=2026, status="FILED")
    row = ctx.session.scalar(select(OmFiling))
    assert (row.status, row.filing) == ("FILED", {**FILING, "scope": ["SW", "SECURITY"]})
    with pytest.raises(HandlerError) as caught:
        call("file_om", ctx, project_id=project_id, year=2026)
    assert caught.value.code == "om_already_filed"


def test_om_filing_refusals(ctx, make_project):
    with pytest.raises(HandlerError) as caught:
        call("file_om", ctx, project_id=make_project(status="BUILDING"))
    assert caught.value.code == "project_not_in_operation"
    project_id = make_project(status="OPERATING")
    with pytest.raises(ValueError):
        call("file_om", ctx, project_id=project_id, due_month_day="10月31日")
    with pytest.raises(ValueError):
        call("file_om", ctx, project_id=project_id, status="DONE")
    with pytest.raises(ProjectNotFound):
        call("file_om", ctx, project_id="LA-2020-0001")


# --- compile_annual_plan ----------------------------------------------------------------------------


def test_annual_plan_bundles_small_projects(ctx, make_project):
    small_a = make_project(status="REVIEWED", total_estimate="800,000")
    large = make_project(status="REVIEWED", total_estimate="5,000,000")  # 500万 itself is not bundled
    small_b = make_project(status="REVIEWED", total_estimate="4,999,999.99")
    make_project(status="DECLARED", total_estimate="100,000")  # not reviewed yet
    make_project(status="REVIEWED", plan_year=2027)  # another year
    call("update_project", ctx, project_id=small_a, fields={"recommended_budget": "700,000"})

    result = call("compile_annual_plan", ctx, bundle_proposal=PROPOSAL, year=2026)
    assert result["plan_version"] == 1 and "plan_doc_no" not in result  # a draft has no 文号 yet
    assert result["plan_project_ids"] == [small_a, large, small_b]
    assert result["bundled_project_ids"] == [small_a, small_b] and result["individual_project_ids"] == [large]
    assert result["bundled_total"] == "5699999.99"  # 700,000 recommended + 4,999,999.99
    assert result["plan_total"] == "10699999.99"
    assert result["bundle_name"] == "2026年度市本级电子政务打捆项目"
    plan = ctx.session.get(AnnualPlan, result["annual_plan_id"])
    assert [item["category"] for item in plan.items] == ["BUNDLED", "INDIVIDUAL", "BUNDLED"]
    assert plan.items[0]["plan_amount"] == "700000.00" and plan.items[0]["total_estimate"] == "800000.00"
    statuses = ctx.session.scalars(select(Project.status).where(Project.project_id.in_([small_a, large])))
    assert set(statuses) == {"IN_PLAN"}

    # A revised plan takes the same projects again, a subset if asked, as a new version; the earlier draft
    # is superseded and the projects only it held are released for a later plan.
    revised = call(
        "compile_annual_plan",
        ctx,
        bundle_proposal=PROPOSAL,
        year=2026,
        project_ids=[large],
        bundle_threshold="1,000,000",
    )
    assert revised["plan_version"] == 2
    assert revised["plan_project_ids"] == [large] and revised["bundled_project_ids"] == []
    assert revised["bundle_name"] is None
    assert (plan.status, ctx.session.get(AnnualPlan, revised["annual_plan_id"]).status) == (
        "SUPERSEDED",
        "DRAFT",
    )
    statuses = dict(ctx.session.execute(select(Project.project_id, Project.status)).all())
    assert (statuses[large], statuses[small_a], statuses[small_b]) == ("IN_PLAN", "REVIEWED", "REVIEWED")


def test_plan_candidates_propose_what_a_plan_would_hold_and_record_nothing(ctx, make_project):
    small = make_project(status="REVIEWED", total_estimate="800,000")
    large = make_project(status="REVIEWED", total_estimate="6,000,000")
    proposed = call("plan_candidates", ctx, year=2026)
    assert proposed["plan_project_ids"] == [small, large]
    assert (proposed["bundled_project_ids"], proposed["individual_project_ids"]) == ([small], [large])
    assert proposed["plan_total"] == "6800000.00" and proposed["bundled_total"] == "800000.00"
    assert ctx.session.scalars(select(AnnualPlan)).all() == []
    assert set(ctx.session.scalars(select(Project.status))) == {"REVIEWED"}
    recorded = call("compile_annual_plan", ctx, bundle_proposal=PROPOSAL, year=2026)
    assert {k: recorded[k] for k in proposed} == proposed


def test_an_issued_plan_is_issued_once_and_later_plans_leave_it_alone(ctx, make_project):
    first = make_project(status="REVIEWED")
    draft = call("compile_annual_plan", ctx, bundle_proposal=PROPOSAL, year=2026)
    superseded = ctx.session.get(AnnualPlan, draft["annual_plan_id"])
    plan = call("compile_annual_plan", ctx, bundle_proposal=PROPOSAL, year=2026)
    assert superseded.status == "SUPERSEDED" and superseded.doc_no is None  # drafts use up no 文号
    issued = call("issue_annual_plan", ctx, annual_plan_id=plan["annual_plan_id"])
    assert issued == {
        "plan_doc_no": "六数管〔2026〕1号",
        "plan_status": "ISSUED",
        "plan_title": "2026年度电子政务项目实施计划",
    }
    assert ctx.session.get(AnnualPlan, plan["annual_plan_id"]).doc_no == "六数管〔2026〕1号"
    with pytest.raises(HandlerError) as caught:
        call("issue_annual_plan", ctx, annual_plan_id=plan["annual_plan_id"])
    assert caught.value.code == "plan_not_draft" and "不是待审定的草案" in caught.value.message
    # A supplementary plan of the same year neither supersedes the issued one nor releases its projects:
    # it keeps them (tests/handlers/test_annual_plan_adjustment.py) and adds the newly reviewed one.
    second = make_project(status="REVIEWED")
    extra = call("compile_annual_plan", ctx, bundle_proposal=PROPOSAL, year=2026, project_ids=[second])
    assert (extra["carried_project_ids"], extra["plan_project_ids"]) == ([first], [second])
    assert ctx.session.get(AnnualPlan, plan["annual_plan_id"]).status == "ISSUED"
    assert ctx.session.get(AnnualPlan, extra["annual_plan_id"]).status == "DRAFT"
    second_issue = call("issue_annual_plan", ctx, annual_plan_id=extra["annual_plan_id"])
    assert second_issue["plan_doc_no"] == "六数管〔2026〕2号"
    assert second_issue["plan_title"] == "2026年度电子政务项目实施计划（调整追加）"
    assert ctx.session.scalar(select(Project.status).where(Project.project_id == first)) == "IN_PLAN"


def test_annual_plan_bundles_by_the_route_the_approval_recorded(ctx, make_project):
    # route_by_amount was edited: 450万 routed LARGE, 550万 routed SMALL; the plan follows the recorded
    # routes, not its own 500万 default. A project without a recorded route falls back to the threshold.
    large = make_project(status="REVIEWED", total_estimate="4,500,000")
    small = make_project(status="REVIEWED", total_estimate="5,500,000")
    legacy = make_project(status="REVIEWED", total_estimate="900,000")
    for project_id, route, threshold in ((large, "LARGE", 4000000), (small, "SMALL", 6000000)):
        fields = {"approval_route": route, "bundle_threshold": threshold}
        call("update_project", ctx, project_id=project_id, fields=fields)
    result = call("compile_annual_plan", ctx, bundle_proposal=PROPOSAL, year=2026)
    assert result["bundled_project_ids"] == [small, legacy]
    assert result["individual_project_ids"] == [large]


def test_annual_plan_refusals(ctx, make_project):
    declared = make_project(status="DECLARED")
    with pytest.raises(HandlerError) as caught:
        call("compile_annual_plan", ctx, bundle_proposal=PROPOSAL, year=2026)
    assert caught.value.code == "plan_empty"
    make_project(status="REVIEWED")
    with pytest.raises(HandlerError) as caught:
        call(
            "compile_annual_plan",
            ctx,
            bundle_proposal=PROPOSAL,
            year=2026,
            project_ids=[declared, "LA-2026-0999"],
        )
    assert caught.value.code == "plan_project_ineligible"
    assert caught.value.details["project_ids"] == [declared, "LA-2026-0999"]
    assert ctx.session.scalars(select(AnnualPlan)).all() == []
    assert ctx.session.scalars(select(PerformanceEval)).all() == []
