"""Review forms ask for an opinion only where the process needs one: a return must say why."""

from __future__ import annotations

import json

from processes.forms import field_errors
from tests.conftest import ROOT


def form(name: str) -> dict:
    """A form of forms/ as the runtime validates it."""
    return json.loads((ROOT / "forms" / name).read_text(encoding="utf-8"))


def test_a_unit_leader_confirms_without_an_opinion_but_returns_with_one() -> None:
    schema = form("unit_review.schema.json")
    assert field_errors(schema, {"unit_review_decision": "CONFIRM"}) == {}
    returned = field_errors(schema, {"unit_review_decision": "RETURN"})
    assert list(returned) == ["unit_review_opinion"]
    reasoned = {"unit_review_decision": "RETURN", "unit_review_opinion": "缺少预算明细"}
    assert field_errors(schema, reasoned) == {}


def test_an_initial_review_return_lists_what_to_correct() -> None:
    schema = form("initial_review.schema.json")
    passed = {"initial_review_decision": "PASS", "initial_review_opinion": "同意", "correction_days": 5}
    assert field_errors(schema, passed) == {}
    returned = field_errors(schema, {**passed, "initial_review_decision": "RETURN"})
    assert list(returned) == ["correction_items"]
