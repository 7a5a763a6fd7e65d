"""Money parsing, USCC check characters, dates, demo data and the registry's description."""

import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from handlers import HANDLER_DOCS, REGISTRY
from handlers.demo_data import DEMO_UNITS, DEMO_VENDORS, EMPLOYERS, EXPERT_POOL
from handlers.experts import seed_experts
from handlers.localtime import add_months, format_cn_date, parse_date
from handlers.models import SPECIALTIES, DocNumber, DomainBase, Expert
from handlers.money import MoneyError, format_yuan, parse_yuan, yuan_in_words, yuan_str, yuan_text
from handlers.sequences import insert_numbered
from handlers.uscc import is_valid_uscc

OPERATORS = {
    "register_project",
    "close_project",
    "check_completeness",
    "check_duplication",
    "check_integration",
    "draw_experts",
    "aggregate_scores",
    "issue_approval",
    "check_contract",
    "check_progress",
    "record_acceptance",
    "file_om",
    "record_performance",
    "plan_candidates",
    "compile_annual_plan",
    "issue_annual_plan",
    "update_project",
}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("1,234.50", "1234.50"),
        (1234, "1234.00"),
        (0.1, "0.10"),
        ("￥5,000,000元", "5000000.00"),
        (Decimal("2.005"), "2.01"),
        ("0", "0.00"),
        (" 12 ", "12.00"),
    ],
)
def test_parse_yuan_accepts_text_and_numbers(given, expected):
    assert yuan_str(parse_yuan(given)) == expected


@pytest.mark.parametrize("given", ["-1", -0.5, "abc", None, True, "NaN", "1e20", [], ""])
def test_parse_yuan_refuses_negative_and_garbage(given):
    with pytest.raises(MoneyError):
        parse_yuan(given)


def test_money_formats():
    assert format_yuan(Decimal("1234567.5")) == "1,234,567.50"
    assert yuan_text(Decimal("3000000")) == "3,000,000.00元"
    assert yuan_in_words(Decimal("1234567")) == "壹佰贰拾叁万肆仟伍佰陆拾柒元整"
    assert yuan_in_words(Decimal("100001.05")) == "壹拾万零壹元零伍分"
    assert yuan_in_words(Decimal("5000000")) == "伍佰万元整"


def test_handlers_write_amounts_with_the_one_money_formatter():
    """An amount a handler puts in a message or a document text reads 3,000,000.00元, never 3000000.00元."""
    root = Path(__file__).resolve().parents[2] / "handlers"
    raw = []
    for path in sorted(root.glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for expression in re.findall(r"\{([^{}]+)\}\s*元", line):
                if not expression.startswith(("yuan_text(", "format_yuan(")):
                    raw.append(f"{path.name}:{number}: {expression}")
            if "yuan_str(" in line and "元" in line:
                raw.append(f"{path.name}:{number}: yuan_str in a text")
    assert raw == []


def test_uscc_check_character():
    assert is_valid_uscc("91350100M000100Y43")  # the example of GB 32100-2015
    assert not is_valid_uscc("91350100M000100Y44")
    assert not is_valid_uscc("91350100M000100Y4")  # 17 characters
    assert not is_valid_uscc("91350100I000100Y43")  # I is not a code character
    assert not is_valid_uscc("91350100m000100y43")
    assert not is_valid_uscc(None)


def test_demo_codes_are_valid_and_distinct():
    codes = (
        [u["code"] for u in DEMO_UNITS]
        + [v["code"] for v in DEMO_VENDORS]
        + [c for c, _ in EMPLOYERS.values()]
    )
    assert all(is_valid_uscc(code) for code in codes)
    employer_codes = {code for code, _ in EMPLOYERS.values()}
    assert len(employer_codes) == len(EMPLOYERS) and set(codes) == employer_codes  # units, vendors employ too
    assert {u["short"] for u in DEMO_UNITS} == {
        "市教育局",
        "市卫健委",
        "市公安局",
        "市人社局",
        "市自然资源局",
        "市城管局",
    }


def test_expert_pool_seed(session):
    added = seed_experts(session, date(2026, 1, 1))
    assert len(added) == len(EXPERT_POOL) >= 30
    assert seed_experts(session, date(2026, 1, 1)) == []  # idempotent
    experts = session.scalars(select(Expert).order_by(Expert.username)).all()
    assert [e.username for e in experts] == [f"expert{i:02d}" for i in range(1, 31)]
    assert all(set(e.specialties) <= set(SPECIALTIES) for e in experts)
    assert {s for e in experts for s in e.specialties} == set(SPECIALTIES)
    unit_codes = {u["code"] for u in DEMO_UNITS}
    assert sum(e.employer_code in unit_codes for e in experts) >= 5
    assert sum(bool(e.avoid_orgs) for e in experts) >= 3


def test_dates():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)
    assert parse_date("2026-09-30T20:00:00Z") == date(2026, 10, 1)  # Beijing date
    assert parse_date("2026/09/30") is None
    assert format_cn_date(date(2026, 11, 5)) == "2026年11月5日"


def test_insert_numbered_retries_a_taken_number(session):
    session.add(
        DocNumber(
            authority="X", year=2026, seq=1, doc_no="X1", kind="k", subject=None, issued_at=date(2026, 1, 1)
        )
    )
    session.flush()
    proposals = iter([1, 2])  # a concurrent writer took 1 after we read max()

    def build(seq):
        return DocNumber(
            authority="X",
            year=2026,
            seq=seq,
            doc_no=f"X{seq}",
            kind="k",
            subject=None,
            issued_at=date(2026, 1, 1),
        )

    row = insert_numbered(session, lambda: next(proposals), build)
    assert row.seq == 2
    assert session.scalars(select(DocNumber.doc_no).order_by(DocNumber.seq)).all() == ["X1", "X2"]


def test_registry_lists_every_operator_with_docs():
    assert set(REGISTRY) == OPERATORS == set(HANDLER_DOCS)
    for operator, doc in HANDLER_DOCS.items():
        assert doc["title"] and doc["returns"], operator
        assert set(doc["required"]) <= set(doc["params"])
        assert set(doc["params"]) == set(doc["param_titles"])
        assert all("\u4e00" <= title[0] <= "\u9fff" for title in doc["param_titles"].values()), operator
    assert HANDLER_DOCS["draw_experts"]["defaults"]["specialties"] == ["SOFTWARE", "SECURITY", "COST"]
    assert HANDLER_DOCS["check_contract"]["errors"] == ["contract_invalid"]


def test_every_result_key_has_a_chinese_title_and_codes_their_labels():
    from handlers import RESULT_FIELDS
    from handlers.documents import kind_label

    for operator, doc in HANDLER_DOCS.items():
        assert list(doc["return_titles"]) == doc["returns"], operator
        assert all("\u4e00" <= title[0] <= "\u9fff" for title in doc["return_titles"].values()), operator
    for key, prop in RESULT_FIELDS.items():
        for inner in (prop, prop.get("items") or {}, *(prop.get("properties") or {}).values()):
            assert "\u4e00" <= (inner.get("title") or "中")[0] <= "\u9fff", key
    assert RESULT_FIELDS["total_estimate_yuan"]["x-unit"] == "元"
    statuses = {c["const"]: c["title"] for c in RESULT_FIELDS["project_status"]["oneOf"]}
    assert statuses["INITIAL_REVIEW"] == "初审中"
    kinds = {c["const"]: c["title"] for c in RESULT_FIELDS["missing_document_kinds"]["items"]["oneOf"]}
    assert kinds["NECESSITY"] == kind_label("NECESSITY")


def test_domain_tables_are_prefixed():
    assert all(name.startswith("dom_") for name in DomainBase.metadata.tables)


def test_handlers_import_no_upper_layer():
    code = (
        "import sys, handlers; bad = [m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'service', 'processes')]; print(bad); sys.exit(bool(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
