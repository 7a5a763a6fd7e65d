"""Task instructions: a diagram's Jinja text rendered for people, in Jinja's sandbox.

What a template writes stays readable in Chinese whatever the data holds: `None` reads 无, booleans 是/否,
lists are joined with 、 (an empty list reads 无), and records show their name. Two helpers are available:

- `{{ total_estimate | money }}` → 3,200,000.00
- `{{ label('change_type') }}` → 预算调整: the title the instance's own forms give the field's current code
  (`label('perf_grade', last_perf_grade)` looks another value up in that field's choices).

A sentence whose placeholders all have nothing to show is left out: "修改补正说明：{{ correction_note }}。"
disappears while no correction was made, instead of reading "修改补正说明：。". A sentence ends with 。！？；
or a line break; nothing is a value the data does not hold, `None`, empty text or an empty list. A sentence
that also shows a value keeps its empty parts (`None` and an empty list still read 无 there). A value that
ends with its own 。 is not followed by the template's second one. To show a sentence whatever the data
holds, give the placeholder a default: `{{ similar_projects or "无" }}`; for anything else, Jinja's
`{% if … %}…{% endif %}` works as usual.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from handlers.localtime import format_instant, format_local

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


def wan(value: Any) -> str:
    """Format an amount of 元 in 万元 as a rule states it (5000000 → 500万); other values unchanged."""
    try:
        amount = Decimal(str(value)) / 10000
    except (InvalidOperation, ValueError, TypeError):
        return "" if value is None else str(value)
    return f"{amount.quantize(Decimal('0.0001')).normalize():f}万"


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
    if isinstance(value, datetime):
        return format_local(value)
    if isinstance(value, str):
        return format_instant(value) or value  # a recorded instant reads in 六安 time
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


# While a template renders, each placeholder writes a marker and its text goes to this list; the markers
# then tell which sentences show nothing, and are replaced by the texts (so a value's own 。 splits nothing).
_SHOWN: ContextVar[list[str] | None] = ContextVar("egovflow_instruction_values", default=None)
_EMPTY, _FILLED, _END = "\ue000", "\ue001", "\ue002"
_MARKERS = re.compile(f"[{_EMPTY}{_FILLED}]([0-9]+){_END}([。！？；]?)")
_ENDS_SENTENCE = ("。", "！", "？", "；", ".", "!", "?", ";")
_SENTENCE = re.compile(r"[^。！？；\n]*(?:[。！？；\n]+|$)")


def _is_nothing(value: Any) -> bool:
    if value is None or isinstance(value, ChainableUndefined):
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | tuple | set | dict) and not value


def _placeholder(value: Any) -> Any:
    """Jinja's finalize: what a placeholder shows, as a marker while render() collects the sentences."""
    shown = readable(value)
    collected = _SHOWN.get()
    if collected is None:
        return shown
    collected.append(str(shown))
    return f"{_EMPTY if _is_nothing(value) else _FILLED}{len(collected) - 1}{_END}"


def _drop_empty_sentences(text: str, shown: list[str]) -> str:
    kept = [sentence for sentence in _SENTENCE.findall(text) if _FILLED in sentence or _EMPTY not in sentence]
    return _MARKERS.sub(lambda m: _with_end(shown[int(m.group(1))], m.group(2)), "".join(kept)).strip()


def _with_end(value: str, end: str) -> str:
    """A value and the template's 。 after it, without a second 。 when the value ends a sentence itself."""
    return value if value.rstrip().endswith(_ENDS_SENTENCE) else value + end


_TEMPLATES = SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False, finalize=_placeholder)
_TEMPLATES.filters["money"] = money
_TEMPLATES.filters["wan"] = wan
_TEMPLATES.globals["label"] = label


Labels = Mapping[str, Mapping[str, str]]  # field → code → title


def render(template: str, data: Mapping[str, Any], labels: Labels | None = None) -> str:
    """Render instructions against task data without sentences that show nothing; errors keep the text."""
    shown: list[str] = []
    token = _SHOWN.set(shown)
    try:
        text = _TEMPLATES.from_string(template).render({**data, LABELS_KEY: labels or {}})
    except TemplateError as err:
        log.warning("instructions could not be rendered: %s", err)
        return template
    finally:
        _SHOWN.reset(token)
    return _drop_empty_sentences(text, shown)


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
