"""The OpenAPI document as a reader wants it: operations by topic, with their fields, bodies and answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")
TYPE_NAMES = {
    "string": "文本",
    "integer": "整数",
    "number": "数字",
    "boolean": "是/否",
    "object": "对象",
    "array": "列表",
}
FORMATS = {"date": "日期", "date-time": "时间", "binary": "文件"}


@dataclass
class Field:
    """One parameter or body field: where it goes, its type in words, whether required, what it means."""

    name: str
    where: str
    kind: str
    required: bool
    meaning: str


@dataclass
class Operation:
    """One method on one path."""

    method: str
    path: str
    summary: str
    fields: list[Field] = field(default_factory=list)
    body: str = ""  # the body's schema name (fields are in `fields`), or its media type
    answers: list[tuple[str, str]] = field(default_factory=list)  # (status, what it means)
    public: bool = False


@dataclass
class Topic:
    """The operations of one blueprint (an OpenAPI tag)."""

    name: str
    title: str
    operations: list[Operation] = field(default_factory=list)


def reference(spec: dict[str, Any]) -> list[Topic]:
    """Group a spec's operations by tag, with each operation's parameters, body fields and answers."""
    topics = {t["name"]: Topic(t["name"], t.get("description") or t["name"]) for t in spec.get("tags", [])}
    components = spec.get("components", {})
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            if (op := item.get(method)) is not None:
                tag = (op.get("tags") or ["其他"])[0]
                operation = _operation(method, path, op, item.get("parameters", []), components)
                topics.setdefault(tag, Topic(tag, tag)).operations.append(operation)
    return [topic for topic in topics.values() if topic.operations]


PLACES = {"path": "路径", "query": "查询", "header": "请求头"}


def _operation(
    method: str, path: str, op: dict[str, Any], shared: list[dict[str, Any]], components: dict[str, Any]
) -> Operation:
    schemas = components.get("schemas", {})
    operation = Operation(method.upper(), path, op.get("summary") or "", public=op.get("security") == [])
    for p in [*shared, *op.get("parameters", [])]:
        where = PLACES.get(p.get("in"), p.get("in", ""))
        operation.fields.append(_field(p["name"], where, p.get("schema", {}), p.get("required", False)))
    operation.body, body_fields = _body(op.get("requestBody"), schemas)
    operation.fields += body_fields
    responses = op.get("responses", {})
    common = components.get("responses", {})
    operation.answers = [(status, _answer(answer, schemas, common)) for status, answer in responses.items()]
    return operation


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ref = schema.get("$ref", "")
    name = ref.rsplit("/", 1)[-1] if ref else ""
    return name, schemas.get(name, schema) if name else schema


def _kind(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    words = TYPE_NAMES.get(schema.get("type", ""), schema.get("type", "任意"))
    if schema.get("format") in FORMATS:
        words = FORMATS[schema["format"]]
    if schema.get("type") == "array" and schema.get("items"):
        words = f"{_kind(schema['items'])}的列表"
    if "enum" in schema:
        words += "：" + " | ".join(str(v) for v in schema["enum"])
    bounds = [
        f"{label} {schema[key]}"
        for key, label in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "至少"), ("maxLength", "至多"))
        if key in schema
    ]
    if bounds:
        words += f"（{'，'.join(bounds)}）"
    if schema.get("nullable"):
        words += "，可为空"
    return words


def _field(name: str, where: str, schema: dict[str, Any], required: bool) -> Field:
    meaning = " ".join(str(schema[k]) for k in ("title", "description") if schema.get(k))
    return Field(name, where, _kind(schema), required, meaning)


def _body(body: dict[str, Any] | None, schemas: dict[str, Any]) -> tuple[str, list[Field]]:
    if not body:
        return "", []
    media, content = next(iter(body.get("content", {}).items()), ("", {}))
    name, schema = _resolve(content.get("schema", {}), schemas)
    required = set(schema.get("required", []))
    where = "表单字段" if media == "multipart/form-data" else "JSON 请求体"
    fields = [_field(k, where, v, k in required) for k, v in schema.get("properties", {}).items()]
    return name or media, fields


def _answer(answer: dict[str, Any], schemas: dict[str, Any], common: dict[str, Any]) -> str:
    """An answer in words: its description as the spec gives it (service/api describes them in Chinese)."""
    if "$ref" in answer:
        answer = common.get(answer["$ref"].rsplit("/", 1)[-1], {})
        return f"{answer.get('description', '')}（Error）"  # a shared error answer: the error shape
    words = answer.get("description", "")
    content = answer.get("content", {}).get("application/json", {})
    name, _schema = _resolve(content.get("schema", {}), schemas)
    if content.get("schema", {}).get("type") == "array":
        name = f"{_resolve(content['schema'].get('items', {}), schemas)[0]} 的列表"
    return f"{words}（{name}）" if name else words
