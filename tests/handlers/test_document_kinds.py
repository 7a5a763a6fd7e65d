"""One set of 材料类型 names: handlers/documents.py, the forms' choices and the required documents agree."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers.documents import ATTACHMENT_KINDS, kind_label

ROOT = Path(__file__).resolve().parents[2]
DMN = "{https://www.omg.org/spec/DMN/20191111/MODEL/}"


def kind_choices(node: object) -> Iterator[tuple[str, str]]:
    """Yield (code, title) of every `kind` property's choices in a JSON Schema."""
    if isinstance(node, dict):
        kind = (node.get("properties") or {}).get("kind")
        if isinstance(kind, dict):
            for option in kind.get("oneOf") or []:
                yield option["const"], option["title"]
        for value in node.values():
            yield from kind_choices(value)
    elif isinstance(node, list):
        for value in node:
            yield from kind_choices(value)


def required_kinds() -> list[str]:
    """The document kinds bpmn/required_documents.dmn can ask for."""
    tree = ET.parse(ROOT / "bpmn" / "required_documents.dmn")
    return [entry.findtext(f"{DMN}text").strip('"') for entry in tree.iter(f"{DMN}outputEntry")]


@pytest.mark.parametrize("form", sorted((ROOT / "forms").glob("*.schema.json")), ids=lambda p: p.name)
def test_every_forms_document_kind_has_the_shared_name(form: Path) -> None:
    choices = list(kind_choices(json.loads(form.read_text(encoding="utf-8"))))
    assert [(code, kind_label(code)) for code, _ in choices] == choices


def test_the_declaration_form_names_every_required_document_before_the_first_submit() -> None:
    schema = json.loads((ROOT / "forms" / "declare.schema.json").read_text(encoding="utf-8"))
    described = schema["properties"]["documents"]["description"]
    kinds = required_kinds()
    assert kinds and all(kind in ATTACHMENT_KINDS for kind in kinds)
    assert [kind_label(k) for k in kinds if kind_label(k) not in described] == []
