"""Document kind codes and their Chinese names, shared by forms, diagrams and handlers.

These names are the only ones: every form's 材料类型 choice must give a kind the title it has here
(`tests/handlers/test_document_kinds.py` checks forms/ and the kinds bpmn/required_documents.dmn lists).
"""

# Kinds a construction unit or a third party uploads as attachments.
ATTACHMENT_KINDS: dict[str, str] = {
    "DECLARATION_FORM": "项目申报表",
    "NECESSITY": "建设必要性及需求说明",
    "PROPOSAL": "项目建议书",
    "OPINION_LETTER": "项目意见书",
    "IMPLEMENTATION_PLAN": "实施方案",
    "BUDGET_DETAIL": "投资估算明细",
    "RESOURCE_CATALOG": "信息资源目录",
    "CRYPTO_PLAN": "密码应用方案",
    "MLPS_GRADING": "等级保护定级报告",
    "GOV_SPECIAL_REQ": "市政府专题请示",
    "CONTRACT": "合同",
    "THREE_LISTS": "数据三清单",
    "TRIAL_REPORT": "试运行报告",
    "TEST_REPORT": "第三方测评报告",
    "MLPS_REPORT": "等级保护测评报告",
    "CRYPTO_ASSESSMENT": "商用密码应用安全性评估报告",
    "SUPERVISION_REPORT": "监理报告",
    "OM_PLAN": "运维方案",
    "PERF_REPORT": "绩效评价报告",
}

# Kinds the platform itself generates.
GENERATED_KINDS: dict[str, str] = {
    "APPROVAL": "立项批复",
    "CHANGE_APPROVAL": "变更批复",
}

DOC_KIND_LABELS: dict[str, str] = {**ATTACHMENT_KINDS, **GENERATED_KINDS}


def kind_label(kind: str) -> str:
    """Return the Chinese name of a document kind (the code itself if unknown)."""
    return DOC_KIND_LABELS.get(kind, kind)


def present_kinds(documents: list[dict] | None) -> set[str]:
    """Return the kinds among attachment dicts that actually carry a file."""
    found = set()
    for doc in documents or []:
        if not isinstance(doc, dict):
            continue
        has_file = doc.get("filename") or doc.get("document_id") or doc.get("id") or doc.get("sha256")
        if doc.get("kind") and has_file:
            found.add(doc["kind"])
    return found
