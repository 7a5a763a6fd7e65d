"""A real 初验 and 竣工验收: dates bounded by the contract, the construction, the trial run and today."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from handlers import REGISTRY
from handlers.errors import HandlerError
from handlers.localtime import BEIJING
from handlers.models import Acceptance
from tests.handlers.handler_support import at, call
from tests.handlers.test_handlers_approval import approve, contract

# --- 初验: not before the contract was signed nor before construction was reported complete -------------


@pytest.fixture
def built_in_november(ctx, make_project):
    """The demo's project: approved 09-01, contract signed 2026-11-20, construction complete for 2026-11."""
    project_id = make_project()
    approve(at(ctx, datetime(2026, 9, 1, 9, 0, tzinfo=BEIJING)), project_id, budget="1,200,000")
    signed = contract(award_notice_at="2026-11-10", signed_at="2026-11-20")
    call("check_contract", ctx, project_id=project_id, contract=signed)
    for period, pct in (("2026-10", 60), ("2026-11", 100)):
        call(
            "check_progress",
            ctx,
            project_id=project_id,
            report_period=period,
            pct_complete=pct,
            spent_to_date=0,
        )
    return project_id


def prelim(ctx, project_id, day: str) -> dict:
    """Check a passed 初验 held on `day`, its trial run starting the same day."""
    params = {"stage": "PRELIM", "conclusion": "PASS", "prelim_date": day, "trial_started_at": day}
    return REGISTRY["record_acceptance"](ctx, project_id=project_id, **params)


def prelim_problems(ctx, project_id, day: str) -> list[str]:
    with pytest.raises(HandlerError) as caught:
        prelim(ctx, project_id, day)
    assert caught.value.code == "prelim_dates_invalid"
    return caught.value.details["problems"]


def test_a_prelim_backdated_before_the_contract_and_the_construction_is_refused(ctx, built_in_november):
    """The browser review's case: 初验 and 试运行 from 2026-09-01, which opened 竣工验收 at once."""
    assert prelim_problems(ctx, built_in_november, "2026-09-01") == [
        "初验日期2026-09-01早于合同签订日期2026-11-20，初验须在项目建设完成后组织",
        "初验日期2026-09-01早于报告建设完成的进度报告期2026-11（2026-11-01起），初验须在项目建设完成后组织",
    ]
    assert prelim_problems(ctx, built_in_november, "2026-11-19") == [
        "初验日期2026-11-19早于合同签订日期2026-11-20，初验须在项目建设完成后组织"
    ]
    assert prelim(ctx, built_in_november, "2026-11-20") == {}
    assert prelim(ctx, built_in_november, "2026-11-25") == {}


def test_a_prelim_is_not_before_the_month_construction_was_reported_complete(ctx, make_project):
    project_id = make_project()
    approve(at(ctx, datetime(2026, 3, 1, 9, 0, tzinfo=BEIJING)), project_id, budget="1,200,000")
    signed = contract(award_notice_at="2026-03-10", signed_at="2026-03-20")
    call("check_contract", ctx, project_id=project_id, contract=signed)
    call(
        "check_progress",
        ctx,
        project_id=project_id,
        report_period="2026-10",
        pct_complete=100,
        spent_to_date=0,
    )
    assert prelim_problems(ctx, project_id, "2026-09-30") == [
        "初验日期2026-09-30早于报告建设完成的进度报告期2026-10（2026-10-01起），初验须在项目建设完成后组织"
    ]
    # Within the month construction was complete, before the report was filed: a real 初验.
    assert prelim(ctx, project_id, "2026-10-01") == {}


def test_a_prelim_with_nothing_on_record_is_only_bounded_by_today(ctx, make_project):
    project_id = make_project(status="CONSTRUCTED")
    assert prelim(ctx, project_id, "2026-01-05") == {}


# --- 竣工验收: the meeting's and the witness's dates, each checked after its own task --------------------


def final_date(ctx, stage: str, day: object, trial_started_at: object = "2026-10-25") -> dict:
    """Check the meeting's (MEETING) or the witness's (WITNESS) date as final_acceptance.bpmn does."""
    if stage == "MEETING":
        params = {"acceptance_date": day}
    else:
        params = {"witness": {"name": "周明", "org": "市公管局", "signed": True, "signed_at": day}}
    return REGISTRY["record_acceptance"](
        ctx, project_id=ctx.project_id, stage=stage, trial_started_at=trial_started_at, **params
    )


@pytest.fixture
def on_trial(ctx, make_project):
    """A context whose project is on trial since 2026-10-25 (one month: 2026-11-25, today)."""
    return at(ctx, ctx.now, project_id=make_project(status="TRIAL"))


@pytest.mark.parametrize(
    ("stage", "code", "label", "task"),
    [
        ("MEETING", "meeting_date_invalid", "验收日期", "竣工验收"),
        ("WITNESS", "witness_date_invalid", "见证日期", "现场见证"),
    ],
)
def test_a_final_acceptance_date_is_not_after_today_nor_before_the_trial_ended(
    on_trial, stage, code, label, task
):
    def refused(day: object, trial_started_at: object = "2026-10-25") -> list[str]:
        with pytest.raises(HandlerError) as caught:
            final_date(on_trial, stage, day, trial_started_at)
        assert caught.value.code == code
        assert caught.value.message == f"{task}登记未通过：" + "；".join(caught.value.details["problems"])
        return caught.value.details["problems"]

    # The browser review's case: 2027-03-01 was accepted and the project went to 运维.
    assert refused("2027-03-01") == [f"{label}2027-03-01晚于今天（2026-11-25），请填写实际的日期"]
    assert refused("2026-11-24") == [
        f"{label}2026-11-24早于试运行期满日2026-11-25（试运行自2026-10-25开始），"
        "竣工验收须在试运行满1个月、提出申请之后进行"
    ]
    assert refused(None) == [f"{label}未填写或格式不正确"]
    assert refused("2026/11/25") == [f"{label}未填写或格式不正确"]
    assert final_date(on_trial, stage, "2026-11-25") == {}
    # 17:30 UTC is already 26 November in 六安.
    assert final_date(at(on_trial, datetime(2026, 11, 25, 17, 30, tzinfo=UTC)), stage, "2026-11-26") == {}
    assert on_trial.session.scalar(select(func.count()).select_from(Acceptance)) == 0


def test_a_witness_refusing_to_sign_dates_the_refusal_too(on_trial):
    refusal = {"name": "周明", "org": "市公管局", "signed": False, "signed_at": "2026-12-01"}
    with pytest.raises(HandlerError, match="见证日期2026-12-01晚于今天"):
        REGISTRY["record_acceptance"](
            on_trial,
            project_id=on_trial.project_id,
            stage="WITNESS",
            trial_started_at="2026-10-25",
            witness=refusal,
        )
