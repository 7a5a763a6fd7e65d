"""Handler `check_contract`: check a signed contract (vendor, amount, 三清单) against the approval."""

from handlers.context import HandlerContext
from handlers.errors import HandlerError
from handlers.localtime import local_date, parse_date
from handlers.models import Contract, ProjectStatus
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


def handle(ctx: HandlerContext, *, project_id: str, contract: dict, approved_budget: object = None) -> dict:
    """Record the contract if it is complete and within budget; otherwise raise contract_invalid."""
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

    signed_at = parse_date(contract.get("signed_at"))
    if signed_at is None:
        problems.append("合同签订日期未填写或格式不正确")
    elif signed_at > local_date(ctx.now):
        problems.append("合同签订日期不能晚于今天")

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
        signed_at=signed_at,
        checked_ok=True,
        created_at=ctx.now,
    )
    ctx.session.add(row)
    project.status = ProjectStatus.CONTRACTED.value
    project.stage = "建设"
    project.updated_at = ctx.now
    ctx.session.flush()
    return {"contract_ok": True, "contract_id": row.id, "contract_amount": yuan_str(amount)}
