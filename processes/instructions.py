"""Task instructions: a diagram's Jinja text rendered for people, in Jinja's sandbox.

What a template writes stays readable in Chinese whatever the data holds: `None` reads 无, booleans 是/否,
lists are joined with 、 (an empty list reads 无), and records show their name. Two helpers are available:

- `{{ total_estimate | money }}` → 3,200,000.00
- `{{ label('change_type') }}` → 预算调整: the title the instance's own forms give the field's current code
  (`label('perf_grade', last_perf_grade)` looks another value up in that field's choices).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

log = logging.getLogger(__name__)

NOTHING = "无"
LABELS_KEY = "egovflow_field_labels"  # where render() puts the labels in the template's context
_NAME_KEYS = ("name", "title", "project_name", "display_name", "project_id", "id")


def money(value: Any) -> str:
    """Format an amount of 元 with thousands separators and two decimals; other values unchanged."""
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError, TypeError):
        return "" if value is None else str(value)


def readable(value: Any) -> Any:
    """What `{{ value }}` shows: 无 for nothing, 是/否, lists joined with 、, a record by its name."""
    if value is None or isinstance(value, ChainableUndefined):
        return NOTHING if value is None else ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Mapping):
        for key in _NAME_KEYS:
            if value.get(key) not in (None, ""):
                return str(value[key])
        return "，".join(f"{k}：{readable(v)}" for k, v in value.items()) or NOTHING
    if isinstance(value, list | tuple | set):
        return "、".join(str(readable(v)) for v in value) or NOTHING
    return value


@pass_context
def label(context: Context, field: str, value: Any = ...) -> str:
    """The title of a field's code in the instance's forms (the code itself when no form names it)."""
    if value is ...:
        if field not in context:
            return ""  # like any variable the data does not hold
        value = context.get(field)
    titles = (context.get(LABELS_KEY) or {}).get(field, {})
    if isinstance(value, list | tuple):
        return "、".join(titles.get(str(v), str(v)) for v in value) or NOTHING
    return titles.get(str(value), str(readable(value)))


_TEMPLATES = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False, finalize=readable)
_TEMPLATES.filters["money"] = money
_TEMPLATES.globals["label"] = label


Labels = Mapping[str, Mapping[str, str]]  # field → code → title


def render(template: str, data: Mapping[str, Any], labels: Labels | None = None) -> str:
    """Render instructions against task data; a broken template is shown as written."""
    try:
        return _TEMPLATES.from_string(template).render({**data, LABELS_KEY: labels or {}})
    except TemplateError as err:
        log.warning("instructions could not be rendered: %s", err)
        return template


def form_labels(schemas: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Titles of coded choices by field, from JSON Schemas (`oneOf` of const/title, or enum + enumNames)."""
    labels: dict[str, dict[str, str]] = {}
    stack = [s for s in schemas if isinstance(s, Mapping)]
    while stack:
        schema = stack.pop()
        for field, prop in (schema.get("properties") or {}).items():
            if not isinstance(prop, Mapping):
                continue
            choices = _choices(prop) or _choices(prop.get("items") or {})
            if choices:
                labels.setdefault(field, {}).update(choices)
            stack.append(prop)
            if isinstance(prop.get("items"), Mapping):
                stack.append(prop["items"])
    return labels


def _choices(prop: Mapping[str, Any]) -> dict[str, str]:
    options = prop.get("oneOf") or prop.get("anyOf") or []
    found = {
        str(o["const"]): str(o["title"])
        for o in options
        if isinstance(o, Mapping) and "const" in o and o.get("title")
    }
    names = prop.get("enumNames") or prop.get("x-enumNames")
    if isinstance(prop.get("enum"), list) and isinstance(names, list):
        found.update({str(code): str(name) for code, name in zip(prop["enum"], names, strict=False)})
    return found
