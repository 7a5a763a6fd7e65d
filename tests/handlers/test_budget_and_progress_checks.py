"""issue_approval budget checks (立项批复 ≤ 总投资概算 and plan; 变更批复 moves it) and check_progress."""

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import docx
import pytest
from sqlalchemy import select

from handlers.check_progress import recorded_reports
from handlers.demo_data import DEMO_VENDORS
from handlers.errors import HandlerError
from handlers.localtime import BEIJING
from handlers.models import AnnualPlan, Approval, Contract, Document, Project
from tests.handlers.handler_support import NOW, at, call

VENDOR = DEMO_VENDORS[0]


def issue(ctx, project_id, budget, **params):
    return call(
        "issue_approval",
        ctx,
        project_id=project_id,
        authority="CITY_DATA_BUREAU",
        approved_budget=budget,
        **params,
    )


def refused(operator, ctx, code, **params):
    with pytest.raises(HandlerError) as caught:
        call(operator, ctx, **params)
    assert caught.value.code == code
    return caught.value


def project_row(ctx, project_id):
    return ctx.session.scalar(select(Project).where(Project.project_id == project_id))


def issued_plan(ctx, project_id, amount, doc_no="六数管〔2026〕1号"):
    """Record an issued annual plan that gives the project `amount`."""
    item = {
        "project_id": project_id,
        "plan_amount": amount,
        "total_estimate": "3200000.00",
        "category": "BUNDLED",
    }
    plan = AnnualPlan(
        year=2026,
        version=1,
        items=[item],
        total=Decimal(amount),
        bundled_total=Decimal(amount),
        doc_no=doc_no,
        status="ISSUED",
        created_at=NOW,
    )
    ctx.session.add(plan)
    ctx.session.flush()


# --- 立项批复 --------------------------------------------------------------------------------------


def test_a_project_approval_above_the_total_estimate_is_refused(ctx, make_project):
    project_id = make_project(status="IN_PLAN")  # 总投资概算 3,200,000.00
    error = refused(
        "issue_approval", ctx, "invalid_budget", project_id=project_id, authority="CITY_DATA_BUREAU",
        approved_budget="3,200,000.01",
    )  # fmt: skip
    assert error.details["problems"] == [
        "批复投资3,200,000.01元超过建设单位申报的总投资概算3,200,000.00元，立项批复不能核增投资"
    ]
    assert ctx.session.scalars(select(Approval)).all() == []
    assert project_row(ctx, project_id).approved_budget is None
    assert issue(ctx, project_id, "3,200,000.00")["approved_budget"] == "3200000.00"


def test_a_project_approval_above_the_issued_plans_amount_is_refused(ctx, make_project):
    project_id = make_project(status="IN_PLAN")
    issued_plan(ctx, project_id, "2800000.00")
    error = refused(
        "issue_approval", ctx, "invalid_budget", project_id=project_id, authority="CITY_DATA_BUREAU",
        approved_budget=3000000,
    )  # fmt: skip
    assert error.message == (
        "批复投资不符合要求：批复投资3,000,000.00元超过年度电子政务项目实施计划（六数管〔2026〕1号）"
        "安排的2,800,000.00元"
    )
    both = refused(
        "issue_approval", ctx, "invalid_budget", project_id=project_id, authority="CITY_DATA_BUREAU",
        approved_budget=7000000,
    )  # fmt: skip
    assert len(both.details["problems"]) == 2
    assert issue(ctx, project_id, 2800000)["approval_doc_no"] == "六数管〔2026〕1号"


# --- 变更批复 --------------------------------------------------------------------------------------


@pytest.fixture
def approved(ctx, make_project):
    project_id = make_project(status="IN_PLAN")
    issue(ctx, project_id, 3200000)
    return project_id


def document_text(ctx, document_id):
    document = ctx.session.get(Document, document_id)
    return "\n".join(p.text for p in docx.Document(io.BytesIO(document.content)).paragraphs)


def test_a_change_approval_of_an_investment_change_must_move_the_budget(ctx, approved):
    error = refused(
        "issue_approval", ctx, "invalid_budget", project_id=approved, authority="CITY_DATA_BUREAU",
        approved_budget="3200000.00", kind="变更批复", budget_delta=1000000,
    )  # fmt: skip
    assert error.details["problems"] == [
        "本次变更申请增加投资1,000,000.00元，同意变更时调整后批复投资不能仍为原批复投资3,200,000.00元，"
        "按申请应为4,200,000.00元"
    ]
    assert ctx.session.scalars(select(Approval).where(Approval.kind == "变更批复")).all() == []

    result = issue(ctx, approved, 4200000, kind="变更批复", budget_delta="1000000.00")
    assert "项目总投资由人民币3,200,000.00元调整为人民币4,200,000.00元" in document_text(
        ctx, result["approval_document_id"]
    )
    assert project_row(ctx, approved).approved_budget == Decimal("4200000.00")


def test_a_change_approval_without_an_investment_change_may_keep_the_budget(ctx, approved):
    for delta in (None, 0, "0.00"):
        assert (
            issue(ctx, approved, 3200000, kind="变更批复", budget_delta=delta)["approved_budget"]
            == "3200000.00"
        )
    error = refused(
        "issue_approval", ctx, "invalid_budget", project_id=approved, authority="CITY_DATA_BUREAU",
        approved_budget=3200000, kind="变更批复", budget_delta=-400000,
    )  # fmt: skip
    assert error.details["problems"][0].startswith("本次变更申请减少投资400,000.00元")


# --- check_progress --------------------------------------------------------------------------------


@pytest.fixture
def contracted(ctx, approved):
    """The approved project with a checked contract of 3,180,000.00元 on record."""
    ctx.session.add(
        Contract(
            project_id=approved,
            vendor_name=VENDOR["name"],
            vendor_code=VENDOR["code"],
            amount=Decimal("3180000.00"),
            three_lists={"demand": ["学籍数据"], "responsibility": ["数据安全"], "negative": ["不外传"]},
            signed_at=date(2026, 11, 25),
            checked_ok=True,
            created_at=NOW,
        )
    )
    ctx.session.flush()
    return approved


def report(ctx, project_id, period, pct, spent):
    return call(
        "check_progress",
        ctx,
        project_id=project_id,
        report_period=period,
        pct_complete=pct,
        spent_to_date=spent,
    )


def report_refused(ctx, project_id, period, pct, spent):
    return refused(
        "check_progress", ctx, "progress_invalid", project_id=project_id, report_period=period,
        pct_complete=pct, spent_to_date=spent,
    ).details["problems"]  # fmt: skip


def test_plausible_reports_are_recorded_in_order(ctx, contracted):
    october = at(ctx, datetime(2026, 10, 30, 9, 0, tzinfo=BEIJING))
    assert report(october, contracted, "2026-10", 10, "300,000") == {
        "progress_ok": True,
        "last_report_period": "2026-10",
    }
    assert report(ctx, contracted, "2026-11", 30.5, 954000)["last_report_period"] == "2026-11"
    reports = recorded_reports(project_row(ctx, contracted))
    assert [(r["period"], r["pct_complete"], r["spent_to_date"]) for r in reports] == [
        ("2026-10", "10", "300000.00"),
        ("2026-11", "30.5", "954000.00"),
    ]
    # 累计数可以持平；支付到合同金额为止
    december = at(ctx, datetime(2026, 12, 1, 9, 0, tzinfo=BEIJING))
    assert report(december, contracted, "2026-12", 30.5, "3,180,000.00")["progress_ok"]


def test_a_repeated_earlier_or_future_period_is_refused(ctx, contracted):
    report(ctx, contracted, "2026-11", 30, 954000)
    assert report_refused(ctx, contracted, "2026-11", 40, 1000000) == [
        "报告期2026-11的进度已经报送过，不能重复报送，请填写本期月份"
    ]
    assert report_refused(ctx, contracted, "2026-10", 40, 1000000) == [
        "报告期2026-10早于已报送的最近一期（2026-11），请填写本期月份"
    ]
    assert report_refused(ctx, contracted, "2027-01", 40, 1000000) == [
        "报告期2027-01晚于本月（2026-11），不能报送以后月份的进度"
    ]
    assert report_refused(ctx, contracted, "2026-13", 40, 1000000) == ["报告期应按年-月填写，如2026-11"]
    assert len(recorded_reports(project_row(ctx, contracted))) == 1
    # 本月 is the month in 六安: 2026-11-30 16:30 UTC is already December there.
    december = at(ctx, datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    assert report(december, contracted, "2026-12", 40, 1000000)["progress_ok"]


def test_payments_above_the_contract_and_falling_totals_are_refused(ctx, contracted):
    assert report_refused(ctx, contracted, "2026-11", 30, 9000000) == [
        "累计支付9,000,000.00元超过合同金额3,180,000.00元"
    ]
    october = at(ctx, datetime(2026, 10, 30, 9, 0, tzinfo=BEIJING))
    report(october, contracted, "2026-10", 30, 1000000)
    assert report_refused(ctx, contracted, "2026-11", 20, 900000) == [
        "总体完成进度20%低于上期（2026-10）报送的30%，累计进度不能减少",
        "累计支付900,000.00元少于上期（2026-10）报送的1,000,000.00元，累计支付不能减少",
    ]
    assert report_refused(ctx, contracted, "2026-11", 101, -1)[0] == "总体完成进度应为0至100之间的百分比"
    error = refused(
        "check_progress", ctx, "progress_invalid", project_id=contracted, report_period="2026-11",
        pct_complete=20, spent_to_date=900000,
    )  # fmt: skip
    assert error.message.startswith("进度报告未通过核对：总体完成进度20%")


def test_an_approved_budget_increase_lifts_the_payment_ceiling(ctx, contracted):
    later = at(ctx, datetime(2026, 11, 26, 9, 0, tzinfo=BEIJING))
    issue(later, contracted, 3700000, kind="变更批复", budget_delta=500000)
    assert report(later, contracted, "2026-11", 90, 3500000)["progress_ok"]
    problems = report_refused(later, contracted, "2026-12", 95, 3700000.01)
    assert "报告期2026-12晚于本月（2026-11），不能报送以后月份的进度" in problems
    assert "累计支付3,700,000.01元超过变更后的批复投资3,700,000.00元" in problems


def test_before_a_contract_the_approved_budget_is_the_ceiling(ctx, approved):
    assert report_refused(ctx, approved, "2026-11", 10, 3200000.01) == [
        "累计支付3,200,000.01元超过批复投资3,200,000.00元"
    ]
