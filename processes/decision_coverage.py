"""Whether a one-column numeric decision table answers every value: no gap between its rules, no overlap.

A UNIQUE table whose rules read `< 5000000` and `>= 6000000` has no rule for 5,500,000: a project of that
amount would stop at the decision (`engine` names the table then). Checked before deployment for tables of one
condition column whose cells are all plain comparisons with a number (`< N`, `<= N`, `> N`, `>= N`, `-`); any
other table is left to the engine.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from processes.engine import DecisionTableText

_CELL = re.compile(r"\s*(<=|>=|<|>)\s*(-?\d+(?:\.\d+)?)\s*")


@dataclass(frozen=True)
class _Interval:
    rule: str
    low: float
    low_closed: bool
    high: float
    high_closed: bool


def _interval(rule: str, cell: str) -> _Interval | None:
    """The values one cell matches, or None when it is not a plain numeric comparison."""
    text = cell.strip()
    if text in ("", "-"):
        return _Interval(rule, -math.inf, False, math.inf, False)
    found = _CELL.fullmatch(text)
    if found is None:
        return None
    op, bound = found.group(1), float(found.group(2))
    if op.startswith("<"):
        return _Interval(rule, -math.inf, False, bound, op == "<=")
    return _Interval(rule, bound, op == ">=", math.inf, False)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,}"


def _gap(reach: float, reach_closed: bool, low: float, low_closed: bool) -> str:
    """The values between what the rules so far cover (up to `reach`) and the next rule (from `low`)."""
    if reach == -math.inf:
        return f"{'小于' if low_closed else '不大于'} {_number(low)} "
    if low == reach:
        return f"等于 {_number(low)} "
    return f"{_number(reach)} 至 {_number(low)} 之间"


def coverage_problems(table: DecisionTableText) -> list[str]:
    """Return the gaps and overlaps of a one-column numeric UNIQUE table in Chinese; [] for other tables."""
    if table.hit_policy != "UNIQUE" or len(table.inputs) != 1 or not table.rules:
        return []
    intervals = [_interval(rule, cells[0][1] if cells else "") for rule, cells in table.rules]
    if any(i is None for i in intervals):
        return []
    column = table.inputs[0]
    spans = sorted((i for i in intervals if i is not None), key=lambda i: (i.low, not i.low_closed))
    problems: list[str] = []
    reach, reach_closed, last = -math.inf, False, None
    for span in spans:
        starts_open = span.low == reach and not (span.low_closed or reach_closed)
        if span.low > reach or (starts_open and reach != -math.inf):
            problems.append(
                f"「{column}」{_gap(reach, reach_closed, span.low, span.low_closed)}的取值没有相符的规则"
            )
        elif last is not None and (
            span.low < reach or (span.low == reach and span.low_closed and reach_closed)
        ):
            problems.append(f"规则 {last.rule} 与规则 {span.rule} 的条件重叠")
        if span.high > reach or (span.high == reach and span.high_closed):
            reach, reach_closed, last = span.high, span.high_closed, span
    if reach != math.inf:
        above = f"{'大于' if reach_closed else '不小于'} {_number(reach)} "
        problems.append(f"「{column}」{above}的取值没有相符的规则")
    return problems
