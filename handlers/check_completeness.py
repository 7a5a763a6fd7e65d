"""Handler `check_completeness`: are all required documents attached?"""

from handlers.coercion import as_text_list
from handlers.context import HandlerContext
from handlers.documents import DOC_KIND_LABELS, kind_label, present_kinds
from handlers.results import choice, flag, internal, listing

TITLE = "材料完整性检查"
RETURNS = {
    "completeness_ok": flag("材料齐全"),
    "missing_documents": listing("缺少的材料"),
    # The codes of the same list, for the diagrams' conditions.
    "missing_document_kinds": internal(listing("缺少的材料类型", choice("材料类型", DOC_KIND_LABELS))),
}
ERRORS: tuple[str, ...] = ()


def handle(ctx: HandlerContext, *, documents: list[dict] | None, required_documents: list[str] | str) -> dict:
    """Compare attached document kinds with the required ones (a list or comma-separated text)."""
    required = as_text_list(required_documents)
    unknown = [kind for kind in required if kind not in DOC_KIND_LABELS]
    if unknown:
        # The list comes from a DMN table, so an unknown code is a modelling error, not the unit's.
        raise ValueError(f"未知的材料类型代码：{'、'.join(unknown)}")
    present = present_kinds(documents)
    missing = [kind for kind in dict.fromkeys(required) if kind not in present]
    return {
        "completeness_ok": not missing,
        "missing_documents": [kind_label(kind) for kind in missing],
        "missing_document_kinds": missing,
    }
