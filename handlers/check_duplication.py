"""Handler `check_duplication`: look for similar projects already in the register (查重)."""

import difflib
import re

from sqlalchemy import select

from handlers.coercion import as_text_list
from handlers.context import HandlerContext
from handlers.models import CLOSED_STATUSES, Project
from handlers.results import flag, listing, record, text

TITLE = "项目查重"
RETURNS = {
    "duplicate_found": flag("发现疑似重复项目"),
    "similar_projects": listing(
        "相似项目",
        record(
            "相似项目",
            project_id=text("项目编号"),
            name=text("项目名称"),
            unit_name=text("建设单位"),
            similarity=text("名称相似度"),
            matched_keywords=listing("相同关键词"),
        ),
    ),
    "similar_total": text("相似项目总数"),
}
ERRORS: tuple[str, ...] = ()
MAX_LISTED = 20  # similar projects listed (the closest); `similar_total` counts them all

_NOISE = re.compile(r"[\s\W_]+")


def similarity(a: str, b: str) -> float:
    """Return the difflib ratio of two project names, ignoring spaces and punctuation."""
    return difflib.SequenceMatcher(None, _NOISE.sub("", a), _NOISE.sub("", b)).ratio()


def handle(
    ctx: HandlerContext,
    *,
    project_id: str | None,
    name: str,
    unit_code: str,
    keywords: list[str] | None = None,
    threshold: float = 0.8,
) -> dict:
    """Return the open projects of the same unit with a similar name, or sharing a keyword (closest 20)."""
    wanted = {word for word in as_text_list(keywords) if len(word) >= 2}
    # Only the columns compared: the register's JSON columns (declarations, earlier checks) stay unread.
    stmt = select(
        Project.project_id, Project.name, Project.unit_name, Project.unit_code, Project.keywords
    ).where(Project.status.not_in([str(status) for status in CLOSED_STATUSES]))
    if project_id:
        stmt = stmt.where(Project.project_id != project_id)
    similar = []
    for other_id, other_name, other_unit_name, other_unit, other_keywords in ctx.session.execute(stmt):
        shared = sorted(wanted & set(other_keywords or []) | {word for word in wanted if word in other_name})
        if not shared and other_unit != unit_code:
            continue  # only a shared keyword or the same unit makes a project worth comparing by name
        ratio = similarity(name, other_name)
        if (other_unit == unit_code and ratio >= threshold) or shared:
            similar.append(
                {
                    "project_id": other_id,
                    "name": other_name,
                    "unit_name": other_unit_name,
                    "similarity": round(ratio, 2),
                    "matched_keywords": shared,
                }
            )
    # The closest first: most alike by name, then most keywords in common; a register of thousands would
    # otherwise list every project sharing a common word, so the list keeps the closest MAX_LISTED.
    similar.sort(key=lambda item: (-item["similarity"], -len(item["matched_keywords"]), item["project_id"]))
    total = len(similar)
    similar = similar[:MAX_LISTED]
    if project_id:
        own = ctx.session.scalar(select(Project).where(Project.project_id == project_id))
        if own is not None:
            own.duplicate_check = {
                "checked_at": ctx.now.isoformat(),
                "similar_projects": similar,
                "similar_total": total,
            }
            ctx.session.flush()
    return {"duplicate_found": bool(similar), "similar_projects": similar, "similar_total": total}
