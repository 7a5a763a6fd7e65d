"""The yearly O&M filing: its deadline, its task's 办理期限, the maintainer's code and the budget."""

from datetime import datetime

import pytest
from sqlalchemy import func, select

from handlers import REGISTRY
from handlers.errors import HandlerError
from handlers.file_om import due_in, filing_deadline
from handlers.localtime import BEIJING
from handlers.models import OmFiling
from tests.handlers.handler_support import at, call
from tests.handlers.test_handlers_approval import approve

# --- 年度运维备案: the deadline, the task's 办理期限, the checks of a submission ---------------------------


@pytest.mark.parametrize(
    ("opened", "due"),
    [
        ("2026-11-02", "2026-12-02"),  # accepted after 31 October: 30 days after acceptance
        ("2026-10-20", "2026-11-19"),  # accepted too near it: 30 days all the same
        ("2026-12-20", "2027-01-19"),  # still the 2026 filing, due in the next calendar year
        ("2026-10-01", "2026-10-31"),  # exactly 30 days left
        ("2026-06-01", "2026-10-31"),  # accepted in June: the yearly deadline
        ("2027-09-01", "2027-10-31"),  # every later year's window opens on 09-01
    ],
)
def test_the_filing_deadline_leaves_the_unit_at_least_30_days(opened, due):
    assert filing_deadline(datetime.fromisoformat(opened).date(), "10-31", 30).isoformat() == due


def test_the_first_filing_of_a_project_accepted_in_november_is_not_overdue(ctx, make_project):
    """The browser review's case: accepted and filed on 2026-11-02, told 截止日 2026-10-31, 逾期：是."""
    project_id = make_project(status="ACCEPTED")
    accepted_at = "2026-11-02T02:00:00+00:00"  # 10:00 in 六安
    that_day = at(ctx, datetime(2026, 11, 2, 10, 0, tzinfo=BEIJING))
    opened = REGISTRY["file_om"](that_day, project_id=project_id, status="OPEN", window_opened_at=accepted_at)
    # The task is due at the end of the deadline's day: 30 days 13:59:59 from now.
    assert opened == {"om_year": 2026, "om_due_date": "2026-12-02", "om_due_in": f"PT{30 * 86400 + 50399}S"}
    filed = call(
        "file_om",
        that_day,
        project_id=project_id,
        year=opened["om_year"],
        due_date=opened["om_due_date"],
        filing={"om_vendor_code": "91341500MA2146100G", "om_budget": "280000.00"},
    )
    assert (filed["om_due_date"], filed["om_overdue"], filed["next_filing_at"]) == (
        "2026-12-02",
        False,
        "2027-09-01T09:00:00+08:00",
    )


def test_reopening_the_task_keeps_its_deadline_and_a_passed_one_is_due_at_once(ctx, make_project):
    project_id = make_project(status="OPERATING")
    later = at(ctx, datetime(2026, 11, 20, 8, 0, tzinfo=BEIJING))
    reopened = REGISTRY["file_om"](
        later, project_id=project_id, status="OPEN", year=2026, due_date="2026-12-02"
    )
    assert reopened == {"om_year": 2026, "om_due_date": "2026-12-02", "om_due_in": f"PT{12 * 86400 + 57599}S"}
    assert due_in(datetime(2026, 12, 3, 0, 0, tzinfo=BEIJING), datetime(2026, 12, 2).date()) == "PT0S"


def test_a_filing_is_late_by_when_it_was_submitted_not_when_it_was_reviewed(ctx, make_project):
    project_id = make_project(status="OPERATING")
    filing = {"om_vendor_code": "91341500MA2146100G", "om_budget": "180000.00"}
    params = {"project_id": project_id, "year": 2027, "due_date": "2027-10-31", "filing": filing}
    submitted = call("file_om", at(ctx, datetime(2027, 10, 30, 16, 0, tzinfo=BEIJING)), **params)
    filed = call("file_om", at(ctx, datetime(2027, 11, 3, 9, 0, tzinfo=BEIJING)), **params, status="FILED")
    assert submitted["om_overdue"] is False and filed["om_overdue"] is False
    resubmitted = call(
        "file_om", at(ctx, datetime(2028, 11, 1, 9, 0, tzinfo=BEIJING)), **{**params, "year": 2028}
    )
    assert resubmitted["om_overdue"] is True


def om_refused(ctx, project_id, **filing) -> list[str]:
    with pytest.raises(HandlerError) as caught:
        call("file_om", ctx, project_id=project_id, year=2026, filing=filing)
    assert caught.value.code == "om_filing_invalid"
    assert caught.value.message == "运维备案未通过核对：" + "；".join(caught.value.details["problems"])
    return caught.value.details["problems"]


def test_a_filing_with_a_wrong_code_or_a_budget_above_the_approval_is_refused(ctx, make_project):
    """The browser review's case: 99,999,999,999 元 a year for a project approved at 1,200,000 元."""
    project_id = make_project()
    approve(ctx, project_id, budget="1,200,000")
    call("update_project", ctx, project_id=project_id, status="OPERATING")
    assert om_refused(ctx, project_id, om_vendor_code="91341500MA2146100H", om_budget=99999999999) == [
        "运维单位统一社会信用代码不正确（校验位不符或格式错误）：91341500MA2146100H",
        "年度运维经费99,999,999,999.00元超过项目批复投资1,200,000.00元，请核对金额单位（元）；超出部分须另行申报运维项目",
    ]
    assert om_refused(ctx, project_id, om_budget="100000") == [
        "运维单位统一社会信用代码不正确（校验位不符或格式错误）：未填写"
    ]
    assert om_refused(ctx, project_id, om_vendor_code="91341500MA2146100G", om_budget="-1") == [
        "年度运维经费不能为负数：-1"
    ]
    assert ctx.session.scalar(select(func.count()).select_from(OmFiling)) == 0
    # Up to the approved investment itself, and the code is read in capitals.
    ok = call(
        "file_om",
        ctx,
        project_id=project_id,
        year=2026,
        filing={"om_vendor_code": "91341500ma2146100g", "om_budget": "1200000.00"},
    )
    assert ok["om_status"] == "SUBMITTED"


def test_without_an_approval_the_budget_is_held_to_the_estimate(ctx, make_project):
    project_id = make_project(status="OPERATING")  # 总投资概算 3,200,000.00
    assert om_refused(ctx, project_id, om_vendor_code="91341500MA2146100G", om_budget="3200000.01") == [
        "年度运维经费3,200,000.01元超过项目总投资概算3,200,000.00元，请核对金额单位（元）；超出部分须另行申报运维项目"
    ]


def test_an_unknown_filing_status_is_a_modelling_error(ctx, make_project):
    with pytest.raises(ValueError, match="OPEN"):
        REGISTRY["file_om"](ctx, project_id=make_project(status="OPERATING"), status="CLOSED")
