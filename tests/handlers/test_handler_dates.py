"""Dates handlers check against the clock and each other: a 初验 and its 试运行, a contract's signing."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from handlers import REGISTRY
from handlers.errors import HandlerError
from handlers.localtime import BEIJING
from handlers.models import Acceptance, Contract, Project
from tests.handlers.handler_support import at, call
from tests.handlers.test_handlers_approval import approve, contract

# --- record_acceptance, stage PRELIM: the 初验 that starts the one-month 试运行 -----------------------


def prelim(ctx, project_id, **overrides) -> dict:
    """Check a 初验 as acceptance.bpmn does (the result is {}: nothing is recorded)."""
    params = {
        "project_id": project_id,
        "stage": "PRELIM",
        "conclusion": "PASS",
        "prelim_date": "2026-11-20",
        "trial_started_at": "2026-11-20",
        **overrides,
    }
    return REGISTRY["record_acceptance"](ctx, **params)


def prelim_refused(ctx, project_id, **overrides) -> list[str]:
    with pytest.raises(HandlerError) as caught:
        prelim(ctx, project_id, **overrides)
    assert caught.value.code == "prelim_dates_invalid"
    assert caught.value.message == "初验登记未通过：" + "；".join(caught.value.details["problems"])
    return caught.value.details["problems"]


def test_a_future_prelim_date_with_a_backdated_trial_start_is_refused(ctx, make_project):
    """The staff's case: 初验 2027-03-01, trial from 2026-01-01, checked on 2026-11-25."""
    project_id = make_project(status="CONSTRUCTED")
    problems = prelim_refused(ctx, project_id, prelim_date="2027-03-01", trial_started_at="2026-01-01")
    assert problems == [
        "初验日期2027-03-01晚于今天（2026-11-25），请填写实际召开初验的日期",
        "试运行开始日期2026-01-01早于初验日期2027-03-01，初验通过后方可上线试运行",
    ]


def test_a_trial_start_before_the_prelim_or_after_today_is_refused(ctx, make_project):
    project_id = make_project(status="CONSTRUCTED")
    assert prelim_refused(ctx, project_id, trial_started_at="2026-11-19") == [
        "试运行开始日期2026-11-19早于初验日期2026-11-20，初验通过后方可上线试运行"
    ]
    assert prelim_refused(ctx, project_id, trial_started_at="2026-11-26") == [
        "试运行开始日期2026-11-26晚于今天（2026-11-25），请在上线试运行后填写实际开始日期"
    ]
    assert prelim_refused(ctx, project_id, trial_started_at=None) == ["试运行开始日期未填写或格式不正确"]
    assert prelim_refused(ctx, project_id, prelim_date="2026/11/20") == ["初验日期未填写或格式不正确"]


def test_a_prelim_to_be_repeated_needs_no_trial_start_but_a_past_date(ctx, make_project):
    project_id = make_project(status="CONSTRUCTED")
    assert prelim(ctx, project_id, conclusion="RECTIFY", trial_started_at=None) == {}
    # A trial start the form filled in by default is not looked at: no trial run starts.
    assert prelim(ctx, project_id, conclusion="RECTIFY", trial_started_at="2027-01-01") == {}
    assert prelim_refused(ctx, project_id, conclusion="RECTIFY", prelim_date="2026-11-26") == [
        "初验日期2026-11-26晚于今天（2026-11-25），请填写实际召开初验的日期"
    ]


def test_prelim_dates_up_to_today_in_beijing_time_pass_and_nothing_is_recorded(ctx, make_project):
    project_id = make_project(status="CONSTRUCTED")
    assert prelim(ctx, project_id) == {}
    assert prelim(ctx, project_id, prelim_date="2026-11-25", trial_started_at="2026-11-25") == {}
    # 17:30 UTC is already 26 November in 六安.
    late = at(ctx, datetime(2026, 11, 25, 17, 30, tzinfo=UTC))
    assert prelim(late, project_id, prelim_date="2026-11-26", trial_started_at="2026-11-26") == {}
    assert ctx.session.scalar(select(func.count()).select_from(Acceptance)) == 0
    status = ctx.session.scalar(select(Project.status).where(Project.project_id == project_id))
    assert status == "CONSTRUCTED"


def test_an_unknown_acceptance_stage_is_a_modelling_error(ctx, make_project):
    with pytest.raises(ValueError, match="验收阶段"):
        prelim(ctx, make_project(), stage="TRIAL")


# --- check_contract: signed after the 立项批复 and the award notice, within 30 days of it -----------------


@pytest.fixture
def approved_in_september(ctx, make_project):
    """A project whose 立项批复 六数管〔2026〕1号 was issued on 2026-09-01 (Beijing)."""
    project_id = make_project()
    approve(at(ctx, datetime(2026, 9, 1, 9, 0, tzinfo=BEIJING)), project_id, budget="1,200,000")
    return project_id


def contract_refused(ctx, project_id, **fields) -> list[str]:
    with pytest.raises(HandlerError) as caught:
        call("check_contract", ctx, project_id=project_id, contract=contract(**fields))
    assert caught.value.code == "contract_invalid"
    return caught.value.details["problems"]


def test_a_contract_signed_before_its_award_notice_and_its_approval_is_refused(ctx, make_project):
    """The staff's case: signed 2026-10-20, award notice 2026-11-01, approved afterwards (2026-11-25)."""
    project_id = make_project()
    approve(ctx, project_id, budget="1,200,000")
    problems = contract_refused(ctx, project_id, award_notice_at="2026-11-01", signed_at="2026-10-20")
    assert problems == [
        "合同签订日期2026-10-20早于立项批复日期2026-11-25（六数管〔2026〕1号）",
        "合同签订日期2026-10-20早于中标（成交）通知日期2026-11-01",
    ]
    assert ctx.session.scalar(select(func.count()).select_from(Contract)) == 0


def test_a_contract_is_signed_within_30_days_of_the_award_notice(ctx, approved_in_september):
    # The day of the notice is not counted: notice on 1 October, last day 31 October.
    late = contract_refused(ctx, approved_in_september, award_notice_at="2026-10-01", signed_at="2026-11-01")
    assert late == ["合同签订日期2026-11-01超过中标（成交）通知书发出之日起30日的签订期限（最迟2026-10-31）"]
    for signed in ("2026-10-01", "2026-10-31"):
        result = call(
            "check_contract",
            ctx,
            project_id=approved_in_september,
            contract=contract(award_notice_at="2026-10-01", signed_at=signed),
        )
        assert result["contract_ok"]
    # The period is a parameter: a diagram may pass another one.
    with pytest.raises(HandlerError, match="20日的签订期限"):
        call(
            "check_contract",
            ctx,
            project_id=approved_in_september,
            contract=contract(award_notice_at="2026-10-01", signed_at="2026-10-31"),
            sign_within_days=20,
        )


def test_a_contract_signed_in_the_future_is_refused(ctx, approved_in_september):
    future = contract_refused(
        ctx, approved_in_september, award_notice_at="2026-11-20", signed_at="2026-11-27"
    )
    assert future == ["合同签订日期2026-11-27晚于今天（2026-11-25）"]


def test_the_award_notice_date_is_needed_unless_bought_directly(ctx, approved_in_september):
    for notice in (None, "", "2026/11/01"):
        assert contract_refused(ctx, approved_in_september, award_notice_at=notice) == [
            "中标（成交）通知日期未填写或格式不正确"
        ]
    assert contract_refused(
        ctx, approved_in_september, award_notice_at="11月1日", procurement_method="SMALL_DIRECT"
    ) == ["中标（成交）通知日期未填写或格式不正确"]
    direct = contract(award_notice_at="", procurement_method="SMALL_DIRECT")
    assert call("check_contract", ctx, project_id=approved_in_september, contract=direct)["contract_ok"]
