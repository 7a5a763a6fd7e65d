"""issue_approval and check_contract."""

import hashlib
import io
from datetime import UTC, datetime

import docx
import pytest
from sqlalchemy import select

from handlers.demo_data import DEMO_VENDORS
from handlers.doc_store import sm3_hex
from handlers.errors import HandlerError
from handlers.localtime import BEIJING
from handlers.models import Approval, Contract, Document, Project
from handlers.queries import ProjectNotFound
from tests.handlers.handler_support import NOW, at, call

VENDOR = DEMO_VENDORS[0]


def approve(ctx, project_id, authority="CITY_DATA_BUREAU", budget="1,234,567.5"):
    return call("issue_approval", ctx, project_id=project_id, authority=authority, approved_budget=budget)


def test_approval_numbers_document_and_register(ctx, make_project):
    project_id = make_project(status="IN_PLAN")
    result = approve(ctx, project_id)
    assert result == {
        "approval_doc_no": "六数管〔2026〕1号",
        "approval_authority": "CITY_DATA_BUREAU",
        "approval_authority_name": "六安市数据资源管理局",
        "approval_document_id": result["approval_document_id"],
        "approved_budget": "1234567.50",
        "approval_kind": "立项批复",
    }

    document = ctx.session.get(Document, result["approval_document_id"])
    assert document.kind == "APPROVAL" and document.filename.endswith(".docx")
    assert document.sha256 == hashlib.sha256(document.content).hexdigest()
    assert document.sm3 == sm3_hex(document.content) and len(document.sm3) == 64
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(document.content)).paragraphs)
    assert "六数管〔2026〕1号" in text
    assert "关于六安市智慧教育云平台二期立项的批复" in text
    assert "六安市教育局：" in text
    assert "人民币1,234,567.50元（大写：壹佰贰拾叁万肆仟伍佰陆拾柒元伍角）" in text
    assert "六安市数据资源管理局\n2026年11月25日" in text

    project = ctx.session.scalar(select(Project).where(Project.project_id == project_id))
    assert (project.status, project.stage, project.approval_doc_no) == (
        "APPROVED",
        "建设",
        "六数管〔2026〕1号",
    )
    assert str(project.approved_budget) == "1234567.50"
    assert ctx.session.scalar(select(Approval.document_id)) == document.id


def test_doc_no_sequence_per_authority_and_year(ctx, make_project):
    numbers = [approve(ctx, make_project())["approval_doc_no"] for _ in range(3)]
    assert numbers == ["六数管〔2026〕1号", "六数管〔2026〕2号", "六数管〔2026〕3号"]
    older = approve(ctx, make_project(), authority="CITY_NDRC")
    assert older["approval_doc_no"] == "六发改〔2026〕1号"
    assert older["approval_authority_name"] == "六安市发展和改革委员会"
    next_year = at(ctx, datetime(2027, 1, 4, 9, 0, tzinfo=BEIJING))
    assert approve(next_year, make_project())["approval_doc_no"] == "六数管〔2027〕1号"
    # 2026-12-31 23:30 UTC is already 2027 in Beijing; 16:00 UTC on the same day is still 2026.
    new_year_utc = at(ctx, datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    assert approve(new_year_utc, make_project())["approval_doc_no"] == "六数管〔2027〕2号"
    year_end_utc = at(ctx, datetime(2026, 12, 31, 15, 59, tzinfo=UTC))
    assert approve(year_end_utc, make_project())["approval_doc_no"] == "六数管〔2026〕4号"


def test_approval_refusals(ctx, make_project):
    project_id = make_project()
    with pytest.raises(HandlerError) as caught:
        approve(ctx, project_id, budget="-100")
    assert caught.value.code == "invalid_budget"
    with pytest.raises(HandlerError) as caught:
        approve(ctx, project_id, budget=0)
    assert caught.value.code == "invalid_budget"
    approve(ctx, project_id)
    with pytest.raises(HandlerError) as caught:
        approve(ctx, project_id)
    assert caught.value.code == "already_approved" and "六数管〔2026〕1号" in caught.value.message
    change = call(
        "issue_approval",
        ctx,
        project_id=project_id,
        authority="CITY_DATA_BUREAU",
        approved_budget=1300000,
        kind="变更批复",
    )
    assert change["approval_doc_no"] == "六数管〔2026〕2号"
    with pytest.raises(HandlerError) as caught:
        approve(ctx, make_project(status="REJECTED"))
    assert caught.value.code == "project_closed"
    with pytest.raises(ValueError, match="审批机关"):
        approve(ctx, make_project(), authority="CITY_GOV")
    with pytest.raises(ProjectNotFound):
        approve(ctx, "LA-2026-0999")


# --- check_contract ---------------------------------------------------------------------------------


def contract(**overrides):
    data = {
        "vendor_name": VENDOR["name"],
        "vendor_code": VENDOR["code"],
        "amount": "1,180,000.00",
        "award_notice_at": "2026-11-25",  # the fixture's 立项批复 is issued on 2026-11-25 (NOW)
        "signed_at": "2026-11-25",
        "three_lists": {
            "demand": [{"item": "学籍数据", "provider": "市教育局"}],
            "responsibility": [{"item": "数据安全", "owner": "承建单位"}],
            "negative": ["不得留存学生个人信息副本"],
        },
    }
    data.update(overrides)
    return data


@pytest.fixture
def approved(ctx, make_project):
    project_id = make_project()
    approve(ctx, project_id, budget="1,200,000")
    return project_id


def test_contract_within_budget_is_recorded(ctx, approved):
    result = call(
        "check_contract", ctx, project_id=approved, contract=contract(), approved_budget="1200000.00"
    )
    assert result == {
        "contract_ok": True,
        "contract_id": result["contract_id"],
        "contract_amount": "1180000.00",
    }
    row = ctx.session.get(Contract, result["contract_id"])
    assert row.checked_ok and row.vendor_code == VENDOR["code"] and row.three_lists["negative"]
    assert ctx.session.scalar(select(Project.status).where(Project.project_id == approved)) == "CONTRACTED"
    # The approved budget defaults to the register's.
    assert call("check_contract", ctx, project_id=approved, contract=contract(amount=1200000))["contract_ok"]


def refused(ctx, project_id, **params):
    with pytest.raises(HandlerError) as caught:
        call("check_contract", ctx, project_id=project_id, **params)
    assert caught.value.code == "contract_invalid"
    assert caught.value.details["problems"]
    return caught.value


@pytest.mark.parametrize(
    ("key", "label"), [("demand", "需求清单"), ("responsibility", "责任清单"), ("negative", "负面清单")]
)
def test_contract_without_one_of_the_three_lists_is_refused(ctx, approved, key, label):
    for broken in (None, [], [""], "见附件"):
        lists = dict(contract()["three_lists"])
        if broken is None:
            del lists[key]
        else:
            lists[key] = broken
        error = refused(ctx, approved, contract=contract(three_lists=lists))
        assert label in error.message
    assert ctx.session.scalars(select(Contract)).all() == []


@pytest.mark.parametrize(
    "blank", [" ", {"item": " ", "description": "  "}, {"item": "", "description": None}, [" "]]
)
def test_contract_with_only_blank_list_items_is_refused(ctx, approved, blank):
    lists = dict(contract()["three_lists"], negative=[blank])
    error = refused(ctx, approved, contract=contract(three_lists=lists))
    assert error.details["problems"] == ["合同未附数据“三清单”中的负面清单或其内容为空"]
    lists = dict(contract()["three_lists"], negative=[blank, {"item": "禁止外传", "description": " "}])
    result = call("check_contract", ctx, project_id=approved, contract=contract(three_lists=lists))
    assert result["contract_ok"]


def test_contract_over_budget_is_refused(ctx, approved):
    error = refused(ctx, approved, contract=contract(amount="1,200,000.01"))
    # Amounts in a message read as everywhere else: thousands separators, two decimals, 元.
    assert error.details["problems"] == ["合同金额1,200,000.01元超过批复金额1,200,000.00元"]
    error = refused(ctx, approved, contract=contract(), approved_budget=1000000)
    assert "超过批复金额1,000,000.00元" in error.message


@pytest.mark.parametrize("code", ["91341500MA2146100X", "91341500MA2146100", "", None, "91341500MA21461O0G"])
def test_contract_with_a_bad_vendor_code_is_refused(ctx, approved, code):
    error = refused(ctx, approved, contract=contract(vendor_code=code))
    assert "统一社会信用代码不正确" in error.message


def test_contract_vendor_code_is_read_in_capitals(ctx, approved):
    result = call(
        "check_contract", ctx, project_id=approved, contract=contract(vendor_code=VENDOR["code"].lower())
    )
    assert ctx.session.get(Contract, result["contract_id"]).vendor_code == VENDOR["code"]


def test_contract_problems_are_listed_together(ctx, approved, make_project):
    error = refused(ctx, approved, contract={"amount": "-3", "signed_at": "2026-12-01"})
    problems = "；".join(error.details["problems"])
    for fragment in (
        "承建单位名称未填写",
        "统一社会信用代码",
        "负数",
        "晚于今天",
        "需求清单",
        "责任清单",
        "负面清单",
    ):
        assert fragment in problems
    error = refused(ctx, make_project(), contract=contract())
    assert "尚无批复金额" in error.message


def test_contract_signed_late_in_the_day_counts_in_beijing_time(ctx, approved):
    evening = at(ctx, datetime(2026, 11, 25, 23, 0, tzinfo=BEIJING))
    assert call("check_contract", evening, project_id=approved, contract=contract(signed_at="2026-11-25"))
    assert NOW.date().isoformat() == "2026-11-25"
