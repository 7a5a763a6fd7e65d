"""A field is required exactly when the process needs it, in the browser's form island as on the server.

"Required only when …" is written as `if`/`then` in the forms; the island evaluates it against the values
entered (its marker and its check follow the condition) and the server's jsonschema enforces the same.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from processes.forms import declared_fields, field_errors
from service.web.tasks import prefill
from tests.conftest import ROOT

FORMS = sorted((ROOT / "forms").glob("*.schema.json"))


def form(name: str) -> dict:
    return json.loads((ROOT / "forms" / name).read_text(encoding="utf-8"))


WITNESS = {"witness_name": "周明", "witness_org": "市公管局", "witness_signed_at": "2026-11-02"}
ACCEPTANCE = {"acceptance_date": "2026-11-02", "acceptance_opinion": "同意通过竣工验收。"}
PROGRESS = {
    "report_period": "2026-11",
    "pct_complete": 50,
    "spent_to_date": 100.0,
    "construction_complete": False,
}
SIGN = {"sign_opinion": "同意立项。"}

# (form, data, the fields the server and the island must both report)
CASES = [
    ("witness.schema.json", {**WITNESS, "witness_signed": True}, []),
    ("witness.schema.json", {**WITNESS, "witness_signed": False}, ["witness_refusal_reason"]),
    (
        "witness.schema.json",
        {**WITNESS, "witness_signed": False, "witness_refusal_reason": "不合规"},
        ["witness_refusal_reason"],
    ),
    (
        "witness.schema.json",
        {**WITNESS, "witness_signed": False, "witness_refusal_reason": "专家组成员不足五人"},
        [],
    ),
    ("joint_opinion.schema.json", {"joint_result": "AGREE", "joint_opinion": "同意"}, []),
    (
        "joint_opinion.schema.json",
        {"joint_result": "AGREE_WITH_CONDITIONS", "joint_opinion": "同意"},
        ["joint_conditions"],
    ),
    (
        "joint_opinion.schema.json",
        {"joint_result": "AGREE_WITH_CONDITIONS", "joint_opinion": "同意", "joint_conditions": []},
        ["joint_conditions"],
    ),
    (
        "joint_opinion.schema.json",
        {
            "joint_result": "AGREE_WITH_CONDITIONS",
            "joint_opinion": "同意",
            "joint_conditions": ["压缩硬件投资"],
        },
        [],
    ),
    ("acceptance_review.schema.json", {**ACCEPTANCE, "acceptance_conclusion": "PASS"}, []),
    ("acceptance_review.schema.json", {**ACCEPTANCE, "acceptance_conclusion": "RECTIFY"}, ["rectify_items"]),
    ("progress.schema.json", {**PROGRESS, "change_requested": False}, []),
    (
        "progress.schema.json",
        {**PROGRESS, "change_requested": True},
        ["change_type", "budget_delta", "change_reason"],
    ),
    (
        "progress.schema.json",
        {
            **PROGRESS,
            "change_requested": True,
            "change_type": "SCOPE",
            "budget_delta": 0,
            "change_reason": "调整部署方式",
        },
        [],
    ),
    (  # a change of the 投资概算 that changes no money is no such change
        "progress.schema.json",
        {
            **PROGRESS,
            "change_requested": True,
            "change_type": "BUDGET",
            "budget_delta": 0,
            "change_reason": "调整投资结构",
        },
        ["budget_delta"],
    ),
    ("approval_sign.schema.json", {**SIGN, "sign_decision": "REJECT"}, []),
    ("approval_sign.schema.json", {**SIGN, "sign_decision": "APPROVE"}, ["approved_budget"]),
    ("change_approval.schema.json", {"change_decision": "REFUSE", "change_opinion": "不同意"}, []),
    (
        "change_approval.schema.json",
        {"change_decision": "APPROVE", "change_opinion": "同意"},
        ["approved_budget"],
    ),
    ("initial_review.schema.json", {"initial_review_decision": "PASS", "initial_review_opinion": "同意"}, []),
    (
        "initial_review.schema.json",
        {"initial_review_decision": "RETURN", "initial_review_opinion": "补充"},
        ["correction_items", "correction_days"],
    ),
    ("unit_review.schema.json", {"unit_review_decision": "CONFIRM"}, []),
    (
        "unit_review.schema.json",
        {"unit_review_decision": "RETURN", "unit_review_opinion": "否"},
        ["unit_review_opinion"],
    ),
    (
        "prelim_acceptance.schema.json",
        {"prelim_conclusion": "PASS", "prelim_date": "2026-10-02", "prelim_opinion": "同意"},
        ["trial_started_at"],
    ),
]


@pytest.mark.parametrize(("name", "data", "fields"), CASES)
def test_the_server_requires_a_field_exactly_when_its_condition_holds(
    name: str, data: dict, fields: list
) -> None:
    assert sorted(field_errors(form(name), data)) == sorted(fields)


def test_the_island_checks_the_same_conditions_as_the_server() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = """
import { readFileSync } from 'node:fs';
import { validate } from './frontend/forms/validate.js';
import { requiredFor } from './frontend/forms/schema.js';
const cases = JSON.parse(readFileSync(0, 'utf8'));
const out = cases.map(([name, data]) => {
  const schema = JSON.parse(readFileSync(`forms/${name}`, 'utf8'));
  const errors = Object.keys(validate(schema, data, schema)).sort();
  return { errors, required: requiredFor(schema, data, schema) };
});
process.stdout.write(JSON.stringify(out));
"""
    result = subprocess.run(
        [node, "--input-type=module", "-e", script],
        cwd=ROOT,
        input=json.dumps([[name, data] for name, data, _ in CASES]),
        capture_output=True,
        text=True,
        check=True,
    )
    answers = json.loads(result.stdout)
    for (name, data, fields), answer in zip(CASES, answers, strict=True):
        assert answer["errors"] == sorted(fields), (name, data)
        # The required marker follows the condition: the fields marked but not filled in are exactly
        # the ones the server reports as missing.
        missing = {f for f in fields if f not in data}
        assert set(answer["required"]) - set(data) == missing, (name, data)


@pytest.mark.parametrize("path", FORMS, ids=lambda p: p.stem)
def test_a_conditionally_required_field_is_not_also_always_required(path) -> None:  # noqa: ANN001
    schema = json.loads(path.read_text(encoding="utf-8"))
    always = set(schema.get("required") or [])
    for part in schema.get("allOf") or []:
        for branch in ("then", "else"):
            assert not always & set((part.get(branch) or {}).get("required") or []), path.name
    for name, prop in (schema.get("properties") or {}).items():
        if "时必填" in prop.get("description", ""):
            assert name not in always, f"{path.name}: {name} 只在条件成立时必填"


def test_a_field_needed_only_sometimes_still_reaches_the_process_when_left_out() -> None:
    # The diagrams' scripts read 拒签理由, 附加条件 and 整改事项 whatever the answer.
    witness = declared_fields(form("witness.schema.json"), {**WITNESS, "witness_signed": True})
    assert witness["witness_refusal_reason"] == ""
    joint = declared_fields(
        form("joint_opinion.schema.json"), {"joint_result": "AGREE", "joint_opinion": "同意"}
    )
    assert joint["joint_conditions"] == []
    review = declared_fields(
        form("acceptance_review.schema.json"), {**ACCEPTANCE, "acceptance_conclusion": "PASS"}
    )
    assert review["rectify_items"] == []
    kept = declared_fields(form("witness.schema.json"), {"witness_refusal_reason": "程序不合规"})
    assert kept["witness_refusal_reason"] == "程序不合规"


def test_the_approved_budget_and_the_proposed_plan_are_prefilled_from_the_process() -> None:
    data = {"approved_budget": 3000000.0, "total_estimate": 3200000.0, "plan_project_ids": ["LA-2026-0001"]}
    assert prefill(form("approval_sign.schema.json"), data)["approved_budget"] == 3000000.0
    assert prefill(form("change_approval.schema.json"), data)["approved_budget"] == 3000000.0
    assert prefill(form("annual_plan_compile.schema.json"), data)["plan_project_ids"] == ["LA-2026-0001"]


def test_short_texts_say_what_they_expect() -> None:
    period = form("progress.schema.json")["properties"]["report_period"]
    assert "如 2026-11" in period["description"]
    summary = form("opinion_docs.schema.json")["properties"]["plan_summary"]
    assert summary["minLength"] == 20 and "20" in summary["description"]
    # A name is a one-line text box (the island renders more than 200 characters as a textarea).
    for name, field in (
        ("prelim_acceptance.schema.json", "prelim_experts"),
        ("acceptance_review.schema.json", "acceptance_panel"),
    ):
        assert form(name)["properties"][field]["items"]["maxLength"] <= 50


def test_a_field_left_out_without_a_default_is_cleared_but_the_processs_facts_are_kept() -> None:
    schema = {
        "type": "object",
        "properties": {
            "decision": {"type": "string"},
            "opinion": {"type": "string"},
            "project_name": {"type": "string", "readOnly": True},
        },
    }
    # A second round's approval without an opinion: the first round's 退回 opinion does not stay behind.
    assert declared_fields(schema, {"decision": "APPROVE"}) == {"decision": "APPROVE", "opinion": None}


def test_a_budget_change_of_nothing_is_refused_in_words() -> None:
    data = {**PROGRESS, "change_requested": True, "change_type": "BUDGET", "budget_delta": 0}
    data["change_reason"] = "调整投资结构"
    assert field_errors(form("progress.schema.json"), data) == {"budget_delta": ["不能为 0"]}
