"""Validate task submissions against their JSON Schema and report errors per field, in Chinese."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError

_FORMAT_CHECKER = FormatChecker()
# Python's JSON parser's messages, for people editing a form.
_JSON_MESSAGES = {
    "Expecting value": "此处应为一个值",
    "Expecting ',' delimiter": "缺少逗号(,)",
    "Expecting ':' delimiter": "缺少冒号(:)",
    "Expecting property name enclosed in double quotes": "属性名须用英文双引号括起",
    "Unterminated string starting at": "字符串缺少结尾的双引号",
    "Invalid control character at": "字符串中有控制字符",
    "Extra data": "JSON 结束后还有多余内容",
    "Invalid \\escape": "无效的转义字符",
    "Invalid \\uXXXX escape": "无效的 \\u 转义",
}
_validators: dict[int, tuple[dict, Draft202012Validator]] = {}


def _validator(schema: dict) -> Draft202012Validator:
    key = id(schema)  # schemas are cached per version and never mutated, so identity is stable
    found = _validators.get(key)
    if found is None or found[0] is not schema:
        # Numbers as Decimal on both sides: with floats, multipleOf 0.01 refuses amounts such as 19.99.
        exact = json.loads(json.dumps(schema), parse_float=Decimal)
        found = (schema, Draft202012Validator(exact, format_checker=_FORMAT_CHECKER))
        _validators[key] = found
    return found[1]


def read_form(text: str, is_schema: bool = True) -> tuple[dict, str | None]:
    """Parse a form file's text: (the form, None), or ({}, why it is no usable form) in Chinese."""
    try:
        schema = json.loads(text)
        if not isinstance(schema, dict):
            return {}, "表单必须是 JSON 对象"
        if is_schema:
            Draft202012Validator.check_schema(schema)
    except json.JSONDecodeError as err:
        return {}, f"表单不是合法的 JSON：{json_syntax_problem(err)}"
    except SchemaError as err:
        return {}, f"JSON Schema 不合法：{schema_problem(err)}"
    except RecursionError:
        return {}, "表单嵌套层数过多"
    undeclared = _undeclared_required(schema, "") if is_schema else []
    if undeclared:
        return {}, "；".join(undeclared)
    return schema, None


def _undeclared_required(schema: dict, field: str, depth: int = 0) -> list[str]:
    """Name each `required` entry its object does not declare in `properties`: no submission could pass it.

    The object's conditions (if/then/else, allOf, anyOf, oneOf) require among the object's own fields, so
    they are checked against its `properties`, as submissions are (`field_errors`); nested objects and the
    rows of a table against theirs. An object open to other keys (patternProperties, additionalProperties)
    is left alone.
    """
    properties = schema.get("properties")
    props = properties if isinstance(properties, dict) else {}
    open_ended = "patternProperties" in schema or schema.get("additionalProperties") not in (None, False)
    out: list[str] = []
    if not open_ended and (props or not field):
        where = f"字段 {field} 的" if field else ""
        for part in _with_conditions(schema, depth):
            for name in part.get("required") or []:
                message = f"{where}必填字段 {name} 未在 properties 中定义"
                if name not in props and message not in out:
                    out.append(message)
    if depth < _MAX_DEPTH:
        for name, sub in props.items():
            path = f"{field}.{name}" if field else str(name)
            for nested in (sub, sub.get("items") if isinstance(sub, dict) else None):
                if isinstance(nested, dict):
                    out += _undeclared_required(nested, path, depth + 1)
    return out


_MAX_DEPTH = 32  # a form nests a few levels; jsonschema's own check bounds the rest


def _with_conditions(schema: dict, depth: int) -> list[dict]:
    """Return a schema and its condition branches (if/then/else, allOf/anyOf/oneOf), nested ones too."""
    found = [schema]
    if depth >= _MAX_DEPTH:
        return found
    branches = [schema.get(key) for key in ("if", "then", "else")]
    for key in ("allOf", "anyOf", "oneOf"):
        members = schema.get(key)
        branches += members if isinstance(members, list) else []
    for branch in branches:
        if isinstance(branch, dict):
            found += _with_conditions(branch, depth + 1)
    return found


def json_syntax_problem(err: json.JSONDecodeError) -> str:
    """A JSON syntax error in Chinese, with its line and column."""
    return f"第 {err.lineno} 行第 {err.colno} 列：{_JSON_MESSAGES.get(err.msg, err.msg)}"


def schema_problem(err: SchemaError) -> str:
    """What makes a form's JSON Schema invalid, in Chinese: where, and the value that is wrong there."""
    where = "/".join(str(part) for part in err.path) or "根"
    value = json.dumps(err.instance, ensure_ascii=False, default=str)
    value = value if len(value) <= 60 else value[:60] + "…"
    return f"{where} 处的值 {value} 不符合 JSON Schema 规范"


def field_errors(schema: dict | None, data: Any) -> dict[str, list[str]]:
    """Return {field path: [messages]} for `data` against `schema`; {} when valid."""
    if not isinstance(data, dict):
        return {"": ["提交的数据必须是对象"]}
    if schema is None:
        return {}
    errors: dict[str, list[str]] = {}
    declared = set((schema.get("properties") or {}).keys())
    if declared and schema.get("additionalProperties") is not True:
        for key in data:
            if key not in declared:
                errors.setdefault(str(key), []).append("表单中没有此字段")
    exact = json.loads(json.dumps(data, default=str), parse_float=Decimal)
    for err in _validator(schema).iter_errors(exact):
        messages = errors.setdefault(_path(err), [])
        message = _message(err)
        if message not in messages:  # e.g. minimum and exclusiveMinimum both broken: one bound, one message
            messages.append(message)
    return errors


def declared_fields(schema: dict | None, data: dict[str, Any]) -> dict[str, Any]:
    """Return the part of `data` the form declares (what gets merged into the process).

    A field left out takes its form's `default`, so a field that is required only sometimes (拒签理由,
    附加条件) still reaches the process as "" or [] when it was not needed. One without a default is
    cleared (None): a submission is the whole form, so a second round's decision does not carry the first
    round's opinion. Fields the form shows read-only (the process's own facts) are never touched.
    """
    if schema is None or not (schema.get("properties")):
        return dict(data)
    declared = {k: v for k, v in data.items() if k in schema["properties"]}
    for name, prop in schema["properties"].items():
        if name in declared or not isinstance(prop, dict) or prop.get("readOnly"):
            continue
        declared[name] = copy.deepcopy(prop["default"]) if "default" in prop else None
    return declared


def _path(err: ValidationError) -> str:
    parts = [str(p) for p in err.absolute_path]
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else ""
        parts.append(missing)
    return ".".join(parts)


def _bound(schema: dict, lower: bool) -> str:
    """The one message of a number's lower (or upper) bound: the stricter of inclusive and exclusive."""
    inclusive = schema.get("minimum" if lower else "maximum")
    exclusive = schema.get("exclusiveMinimum" if lower else "exclusiveMaximum")
    if exclusive is not None and (
        inclusive is None or (exclusive >= inclusive if lower else exclusive <= inclusive)
    ):
        return f"必须{'大于' if lower else '小于'} {exclusive}"
    return f"不能{'小于' if lower else '大于'} {inclusive}"


def _title(err: ValidationError) -> str:
    schema = err.schema if isinstance(err.schema, dict) else {}
    return schema.get("title", "")


def _message(err: ValidationError) -> str:
    v, value = err.validator, err.validator_value
    if v == "required":
        return "此项为必填项"
    if v == "type":
        names = {
            "string": "文本",
            "number": "数字",
            "integer": "整数",
            "boolean": "是/否",
            "array": "列表",
            "object": "对象",
            "null": "空值",
        }
        wanted = value if isinstance(value, list) else [value]
        return "应填写" + "或".join(names.get(t, t) for t in wanted)
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        return _bound(err.schema if isinstance(err.schema, dict) else {}, v.lower().endswith("minimum"))
    if v == "multipleOf":
        return "金额最多保留两位小数" if value == 0.01 else f"必须是 {value} 的整数倍"
    if v == "minLength":
        return "此项为必填项" if value == 1 else f"至少 {value} 个字符"
    if v == "maxLength":
        return f"最多 {value} 个字符"
    if v == "pattern":
        return "格式不正确"
    if v == "format":
        return {
            "date": "日期格式应为 YYYY-MM-DD",
            "date-time": "时间格式不正确",
            "email": "邮箱格式不正确",
        }.get(value, "格式不正确")
    if v in ("enum", "const", "oneOf", "anyOf"):
        return "请选择有效的选项"
    if v == "minItems":
        return f"至少需要 {value} 项"
    if v == "maxItems":
        return f"最多 {value} 项"
    if v == "uniqueItems":
        return "不能有重复项"
    if v == "additionalProperties":
        return "包含表单中没有的字段"
    if v == "not" and isinstance(value, dict) and "const" in value:
        return f"不能为 {value['const']}"
    return f"不符合要求({v})"
