"""Handler `check_contract`: check a signed contract (vendor, amount, 三清单) against the approval."""

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.context import HandlerContext
from handlers.errors import HandlerError
from handlers.issue_approval import PROJECT_APPROVAL
from handlers.localtime import local_date, parse_date
from handlers.models import Approval, Contract, ProjectStatus
from handlers.money import MoneyError, parse_yuan, yuan_str, yuan_text
from handlers.queries import load_project
from handlers.results import flag, internal, money, text
from handlers.uscc import is_valid_uscc

TITLE = "合同及数据三清单审查"
RETURNS = {
    "contract_ok": flag("合同审查通过"),
    "contract_id": internal(text("合同记录编号")),
    "contract_amount": money("合同金额"),
}
ERRORS = ("contract_invalid",)

THREE_LISTS = {"demand": "需求清单", "responsibility": "责任清单", "negative": "负面清单"}
# Procurement methods that end without a 中标（成交）通知书: 小额零星采购 is bought directly.
NO_AWARD_NOTICE = frozenset({"SMALL_DIRECT"})


def _blank(item: object) -> bool:
    """Return True for an item without any readable text (None, "", "  ", {"item": " "}, [] …)."""
    if isinstance(item, dict):
        return all(_blank(value) for value in item.values())
    if isinstance(item, list):
        return all(_blank(value) for value in item)
    return item is None or not str(item).strip()


def _has_items(rows: object) -> bool:
    """Return True for a list with at least one item that says something."""
    return isinstance(rows, list) and any(not _blank(item) for item in rows)


def _approved_on(session: Session, project_id: str) -> tuple[date, str] | None:
    """Return the Beijing date and 文号 of the project's 立项批复, or None before it is issued."""
    row = session.execute(
        select(Approval.issued_at, Approval.doc_no)
        .where(Approval.project_id == project_id, Approval.kind == PROJECT_APPROVAL)
        .order_by(Approval.issued_at)
        .limit(1)
    ).first()
    return (local_date(row.issued_at), row.doc_no) if row else None


def _date_problems(
    contract: dict, approval: tuple[date, str] | None, today: date, within_days: int
) -> list[str]:
    """Return what is wrong with the signing date against the award notice, the approval and today."""
    problems: list[str] = []
    raw_notice = contract.get("award_notice_at")
    notice = parse_date(raw_notice)
    if notice is None and (
        raw_notice not in (None, "") or contract.get("procurement_method") not in NO_AWARD_NOTICE
    ):
        problems.append("中标（成交）通知日期未填写或格式不正确")
    signed_at = parse_date(contract.get("signed_at"))
    if signed_at is None:
        problems.append("合同签订日期未填写或格式不正确")
        return problems
    signed = signed_at.isoformat()
    if signed_at > today:
        problems.append(f"合同签订日期{signed}晚于今天（{today.isoformat()}）")
    if approval is not None and signed_at < approval[0]:
        problems.append(f"合同签订日期{signed}早于立项批复日期{approval[0].isoformat()}（{approval[1]}）")
    if notice is not None and signed_at < notice:
        problems.append(f"合同签订日期{signed}早于中标（成交）通知日期{notice.isoformat()}")
    elif notice is not None and signed_at > notice + timedelta(days=within_days):
        last = (notice + timedelta(days=within_days)).isoformat()
        problems.append(
            f"合同签订日期{signed}超过中标（成交）通知书发出之日起{within_days}日的签订期限（最迟{last}）"
        )
    return problems


def handle(
    ctx: HandlerContext,
    *,
    project_id: str,
    contract: dict,
    approved_budget: object = None,
    sign_within_days: int = 30,
) -> dict:
    """Record the contract if complete, within budget and signed in time; otherwise raise contract_invalid.

    In time: not before the 立项批复 or the award notice, at most `sign_within_days` days after the notice
    (政府采购法第四十六条: 三十日内; the day of the notice is not counted), and not after today.
    """
    project = load_project(ctx.session, project_id)
    contract = contract if isinstance(contract, dict) else {}
    problems: list[str] = []

    vendor_name = str(contract.get("vendor_name") or "").strip()
    if not vendor_name:
        problems.append("承建单位名称未填写")
    vendor_code = str(contract.get("vendor_code") or "").strip().upper()
    if not is_valid_uscc(vendor_code):
        problems.append(f"承建单位统一社会信用代码不正确：{vendor_code or '未填写'}")

    ceiling = None
    try:
        if approved_budget not in (None, ""):
            ceiling = parse_yuan(approved_budget, "批复金额")
        else:
            ceiling = project.approved_budget
    except MoneyError as err:
        problems.append(str(err))
    if ceiling is None and not problems:
        problems.append("项目尚无批复金额，无法核对合同金额")

    amount = None
    try:
        amount = parse_yuan(contract.get("amount"), "合同金额")
        if amount <= 0:
            problems.append("合同金额必须大于零")
        elif ceiling is not None and amount > ceiling:
            problems.append(f"合同金额{yuan_text(amount)}超过批复金额{yuan_text(ceiling)}")
    except MoneyError as err:
        problems.append(str(err))

    approval = _approved_on(ctx.session, project_id)
    problems += _date_problems(contract, approval, local_date(ctx.now), int(sign_within_days))

    lists = contract.get("three_lists")
    lists = lists if isinstance(lists, dict) else {}
    for key, label in THREE_LISTS.items():
        if not _has_items(lists.get(key)):
            problems.append(f"合同未附数据“三清单”中的{label}或其内容为空")

    if problems:
        raise HandlerError(
            "contract_invalid", "合同审查未通过：" + "；".join(problems), details={"problems": problems}
        )
    row = Contract(
        project_id=project_id,
        vendor_name=vendor_name,
        vendor_code=vendor_code,
        amount=amount,
        three_lists={key: lists[key] for key in THREE_LISTS},
        signed_at=parse_date(contract["signed_at"]),
        checked_ok=True,
        created_at=ctx.now,
    )
    ctx.session.add(row)
    project.status = ProjectStatus.CONTRACTED.value
    project.stage = "建设"
    project.updated_at = ctx.now
    ctx.session.flush()
    return {"contract_ok": True, "contract_id": row.id, "contract_amount": yuan_str(amount)}
