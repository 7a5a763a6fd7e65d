"""Compare two versions' files: BPMN/DMN element by element (by id), forms field by field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from service.web.diagrams import parse

DI_NAMESPACES = {
    "http://www.omg.org/spec/BPMN/20100524/DI",
    "http://www.omg.org/spec/DD/20100524/DC",
    "http://www.omg.org/spec/DD/20100524/DI",
    "https://www.omg.org/spec/DMN/20191111/DMNDI/",
    "http://www.omg.org/spec/DMN/20180521/DMNDI/",
    "http://www.omg.org/spec/DMN/20180521/DC/",
    "http://www.omg.org/spec/DMN/20180521/DI/",
}
CHANGE_LABELS = {"added": "新增", "removed": "删除", "changed": "修改", "moved": "仅布局变化"}
TYPE_LABELS = {
    "process": "流程",
    "lane": "泳道",
    "laneSet": "泳道集",
    "participant": "泳池",
    "collaboration": "协作",
    "startEvent": "开始事件",
    "endEvent": "结束事件",
    "userTask": "用户任务",
    "serviceTask": "服务任务",
    "scriptTask": "脚本任务",
    "businessRuleTask": "规则任务",
    "manualTask": "人工任务",
    "task": "任务",
    "callActivity": "调用活动",
    "subProcess": "子流程",
    "exclusiveGateway": "排他网关",
    "parallelGateway": "并行网关",
    "inclusiveGateway": "包容网关",
    "eventBasedGateway": "事件网关",
    "sequenceFlow": "顺序流",
    "intermediateCatchEvent": "中间捕获事件",
    "intermediateThrowEvent": "中间抛出事件",
    "boundaryEvent": "边界事件",
    "messageFlow": "消息流",
    "message": "消息",
    "error": "错误",
    "signal": "信号",
    "decision": "决策表",
    "decisionTable": "决策表",
    "rule": "规则",
    "input": "输入",
    "output": "输出",
    "dataObject": "数据对象",
    "textAnnotation": "注释",
    "association": "关联",
    "form": "表单",
    "field": "表单字段",
}


@dataclass
class Element:
    """What one element with an id says, without the elements nested in it that have ids of their own."""

    element_id: str
    tag: str
    name: str
    attrs: dict[str, str]
    content: list[str]  # its own descendants without ids, flattened to "path attr=value text" lines
    layout: str = ""  # its shape or edge bounds, from the diagram interchange part


@dataclass
class ElementChange:
    """One difference between two versions of a file."""

    file: str
    element_id: str
    tag: str
    name: str
    change: str
    details: list[str] = field(default_factory=list)

    @property
    def type_label(self) -> str:
        """Return the Chinese name of the element's type."""
        return TYPE_LABELS.get(self.tag, self.tag)

    @property
    def change_label(self) -> str:
        """Return the Chinese name of the kind of change."""
        return CHANGE_LABELS[self.change]


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _namespace(tag: object) -> str:
    return etree.QName(tag).namespace or "" if isinstance(tag, str) else ""


def _own_content(node: etree._Element, prefix: str = "") -> list[str]:
    lines = []
    for child in node:
        if not isinstance(child.tag, str) or child.get("id") is not None:
            continue
        path = f"{prefix}{_local(child.tag)}"
        attrs = " ".join(f"{_local(k)}={v}" for k, v in sorted(child.attrib.items()))
        text = (child.text or "").strip()
        lines.append(" ".join(p for p in (path, attrs, text) if p))
        lines += _own_content(child, path + "/")
    return lines


def elements_of(xml: str) -> dict[str, Element]:
    """Return the semantic elements of a BPMN/DMN file by id, with their layout from the DI part."""
    root = parse(xml)
    out: dict[str, Element] = {}
    layouts: dict[str, str] = {}
    for node in root.iter():
        if not isinstance(node.tag, str) or node.get("id") is None:
            continue
        if _namespace(node.tag) in DI_NAMESPACES:
            target = node.get("bpmnElement") or node.get("dmnElementRef")
            if target:
                layouts[target] = " ".join(line for line in _own_content(node) if "Label" not in line)
            continue
        attrs = {_local(k): v for k, v in node.attrib.items() if _local(k) != "id"}
        out[node.get("id")] = Element(
            node.get("id"), _local(node.tag), node.get("name", ""), attrs, _own_content(node)
        )
    for element_id, layout in layouts.items():
        if element_id in out:
            out[element_id].layout = layout
    return out


def _or_none(value: str | None) -> str:
    return "(无)" if value is None else value


def _details(old: Element, new: Element) -> list[str]:
    details = []
    for key in sorted(old.attrs.keys() | new.attrs.keys()):
        before, after = old.attrs.get(key), new.attrs.get(key)
        if before != after:
            details.append(f"{key}：{_or_none(before)} → {_or_none(after)}")
    removed = [line for line in old.content if line not in new.content]
    added = [line for line in new.content if line not in old.content]
    details += [f"删除 {line}" for line in removed] + [f"新增 {line}" for line in added]
    if old.tag != new.tag:
        details.insert(0, f"类型：{TYPE_LABELS.get(old.tag, old.tag)} → {TYPE_LABELS.get(new.tag, new.tag)}")
    return details


def diff_files(old_files: Mapping[str, str], new_files: Mapping[str, str]) -> list[ElementChange]:
    """Return the differences of every .bpmn/.dmn file (by element) and form (by field) of two versions."""
    changes: list[ElementChange] = []
    names = sorted(n for n in old_files.keys() | new_files.keys() if n.endswith((".bpmn", ".dmn")))
    for name in sorted(n for n in old_files.keys() | new_files.keys() if n.endswith(".json")):
        changes += _form_changes(name, old_files.get(name), new_files.get(name))
    for name in names:
        old = elements_of(old_files[name]) if name in old_files else {}
        new = elements_of(new_files[name]) if name in new_files else {}
        for element_id in sorted(old.keys() | new.keys()):
            a, b = old.get(element_id), new.get(element_id)
            if a is None:
                changes.append(ElementChange(name, element_id, b.tag, b.name, "added"))
            elif b is None:
                changes.append(ElementChange(name, element_id, a.tag, a.name, "removed"))
            elif details := _details(a, b):
                changes.append(ElementChange(name, element_id, b.tag, b.name or a.name, "changed", details))
            elif a.layout != b.layout:
                changes.append(ElementChange(name, element_id, b.tag, b.name, "moved"))
    return changes


def _schema(text: str | None) -> dict[str, Any]:
    try:
        schema = json.loads(text) if text else {}
    except ValueError:
        return {}
    return schema if isinstance(schema, dict) else {}


def _shown(value: Any) -> str:
    text = "（无）" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:80] + "…"


def _form_changes(name: str, old_text: str | None, new_text: str | None) -> list[ElementChange]:
    """A form's differences: the form itself (title, required fields, rules) and each field by its key."""
    old, new = _schema(old_text), _schema(new_text)
    title = str(new.get("title") or old.get("title") or name)
    if old_text is None or new_text is None:
        return [ElementChange(name, name, "form", title, "added" if old_text is None else "removed")]
    out = []
    form_details = [
        f"{key}：{_shown(old.get(key))} → {_shown(new.get(key))}"
        for key in sorted((old.keys() | new.keys()) - {"properties"})
        if old.get(key) != new.get(key)
    ]
    if form_details:
        out.append(ElementChange(name, name, "form", title, "changed", form_details))
    old_fields, new_fields = old.get("properties") or {}, new.get("properties") or {}
    for key in [*old_fields, *(k for k in new_fields if k not in old_fields)]:
        a, b = old_fields.get(key), new_fields.get(key)
        label = str((b or a or {}).get("title") or key) if isinstance(b or a, dict) else key
        if a is None:
            out.append(ElementChange(name, key, "field", label, "added"))
        elif b is None:
            out.append(ElementChange(name, key, "field", label, "removed"))
        elif a != b:
            a, b = (x if isinstance(x, dict) else {"": x} for x in (a, b))
            details = [
                f"{attr}：{_shown(a.get(attr))} → {_shown(b.get(attr))}"
                for attr in sorted(a.keys() | b.keys())
                if a.get(attr) != b.get(attr)
            ]
            out.append(ElementChange(name, key, "field", label, "changed", details))
    return out


def viewer_state(changes: list[ElementChange], file: str, side: str) -> dict[str, list]:
    """Return the viewer island's state for one side of a diff: green added, blue changed, red removed."""
    mine = [c for c in changes if c.file == file]
    changed = [{"id": c.element_id, "label": "修改"} for c in mine if c.change == "changed"]
    if side == "old":
        removed = [c.element_id for c in mine if c.change == "removed"]
        return {"completed": [], "active": changed, "failed": removed, "taken_flows": []}
    return {
        "completed": [c.element_id for c in mine if c.change == "added"],
        "active": changed,
        "failed": [],
        "taken_flows": [],
    }
