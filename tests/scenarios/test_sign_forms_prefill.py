"""The signers' forms open with what the diagrams prefill: 联审 conditions and the requested change amount."""

import json
from pathlib import Path

from service.web.tasks import prefill

FORMS = Path(__file__).resolve().parents[2] / "forms"


def form(name: str) -> dict:
    return json.loads((FORMS / name).read_text(encoding="utf-8"))


def test_the_approval_form_opens_with_the_joint_review_conditions() -> None:
    data = {"approved_budget": "5800000.00", "approval_conditions": ["资金分两年安排"], "sign_opinion": "旧"}
    opened = prefill(form("approval_sign.schema.json"), data)
    assert opened == {"approved_budget": "5800000.00", "approval_conditions": ["资金分两年安排"]}


def test_the_change_approval_form_opens_with_the_requested_budget() -> None:
    data = {"approved_budget": 8000000.0, "change_decision": "APPROVE", "change_opinion": "上次的意见"}
    assert prefill(form("change_approval.schema.json"), data) == {"approved_budget": 8000000.0}
