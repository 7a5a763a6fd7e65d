"""Helpers shared by the handler tests: the clock, a valid declaration, a checked handler call."""

import json
from dataclasses import replace
from datetime import datetime

from handlers import HANDLER_DOCS, REGISTRY
from handlers.context import HandlerContext
from handlers.demo_data import DEMO_UNITS
from handlers.localtime import BEIJING

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=BEIJING)
EDU = DEMO_UNITS[0]  # 市教育局


def call(operator: str, ctx: HandlerContext, **params) -> dict:
    """Run a handler as the engine does and check its result can be merged into task data."""
    result = REGISTRY[operator](ctx, **params)
    assert json.loads(json.dumps(result, ensure_ascii=False)) == result
    assert sorted(result) == sorted(HANDLER_DOCS[operator]["returns"])
    return result


def at(ctx: HandlerContext, now: datetime, **changes) -> HandlerContext:
    """Return the same context with another clock value (and other changes)."""
    return replace(ctx, now=now, **changes)


def declaration(**overrides) -> dict:
    """Return a valid declaration of 市教育局, with overrides."""
    data = {
        "name": "六安市智慧教育云平台二期",
        "project_type": "NEW",
        "plan_year": 2026,
        "planned": True,
        "total_estimate": "3,200,000.00",
        "unit_code": EDU["code"],
        "unit_name": EDU["name"],
        "on_egov_extranet": True,
        "uses_gov_cloud": True,
        "data_sharing_committed": True,
        "crypto_required": True,
        "mlps_level": 3,
    }
    data.update(overrides)
    return data


# The 打捆项目建议书 a plan with bundled projects is compiled with (compile_annual_plan's bundle_proposal).
PROPOSAL = {"id": "9801", "filename": "打捆项目建议书.pdf", "kind": "PROPOSAL"}
