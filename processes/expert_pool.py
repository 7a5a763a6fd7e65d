"""The 专家库: who may be drawn for an expert review, their specialties, employer and declared conflicts.

The `draw_experts` handler reads this pool (`handlers.models.Expert`); process admins keep it here, through
the API and the /admin/experts pages. An expert is a person with a user account holding the 评审专家 role,
so their scoring tasks reach them. Invalid input raises `FormInvalid` with Chinese messages per field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.models import SPECIALTIES, Expert, ExpertDraw, ExpertStatus
from handlers.uscc import is_valid_uscc
from processes.errors import FormInvalid, NotFound
from processes.queries import searched
from processes.store.models import Organisation, User, UserRole

EXPERT_ROLE = "EXPERT"
STATUS_LABELS = {ExpertStatus.ACTIVE.value: "可抽取", ExpertStatus.SUSPENDED.value: "暂停抽取"}
MAX_TIES = 50


@dataclass
class PoolEntry:
    """One expert as the pool list shows them: the record and how often they were drawn."""

    expert: Expert
    drawn: int
    last_drawn_at: datetime | None


def list_experts(
    session: Session, q: str | None = None, specialty: str | None = None, status: str | None = None
) -> list[PoolEntry]:
    """The pool, filtered by keyword (name, account, employer), specialty and status, by account name."""
    stmt = searched(select(Expert), q, Expert.name, Expert.username, Expert.employer_name)
    if status:
        stmt = stmt.where(Expert.status == status)
    experts = [
        e
        for e in session.scalars(stmt.order_by(Expert.username))
        if not specialty or specialty in (e.specialties or [])
    ]
    counts: dict[str, list[datetime]] = {}
    for selected, drawn_at in session.execute(select(ExpertDraw.selected, ExpertDraw.drawn_at)):
        for username in selected or []:
            counts.setdefault(username, []).append(drawn_at)
    return [
        PoolEntry(e, len(counts.get(e.username, [])), max(counts.get(e.username, []), default=None))
        for e in experts
    ]


def get_expert(session: Session, expert_id: int) -> Expert:
    """The expert with this id, or NotFound."""
    expert = session.get(Expert, expert_id)
    if expert is None:
        raise NotFound(f"专家 {expert_id} 不存在")
    return expert


def add_expert(session: Session, values: dict[str, Any], now: datetime) -> Expert:
    """Enter an account holding the 评审专家 role into the pool."""
    errors: dict[str, list[str]] = {}
    username = str(values.get("username") or "").strip()
    user = session.scalar(select(User).where(User.username == username)) if username else None
    if user is None:
        errors["username"] = [f"账号「{username}」不存在，请先在“用户与单位”中新建"]
    elif not session.get(UserRole, (user.id, EXPERT_ROLE)):
        errors["username"] = [f"账号「{username}」没有“评审专家”角色，请先在用户页勾选"]
    elif session.scalar(select(Expert.id).where(Expert.username == username)):
        errors["username"] = [f"账号「{username}」已在专家库中"]
    expert = Expert(username=username, specialties=[], avoid_orgs=[], created_at=now)
    defaults = {"name": user.display_name.split("(")[0] if user else "", "status": ExpertStatus.ACTIVE.value}
    given = {k: v for k, v in values.items() if v is not None and k != "username"}
    checked = _checked({**defaults, **given}, errors, _org_codes(session), creating=True)
    if errors:
        raise FormInvalid(errors)
    for name, value in checked.items():
        setattr(expert, name, value)
    session.add(expert)
    session.flush()
    return expert


def update_expert(session: Session, expert_id: int, values: dict[str, Any]) -> Expert:
    """Change an expert's details, specialties, status or declared conflicts of interest."""
    expert = get_expert(session, expert_id)
    errors: dict[str, list[str]] = {}
    given = {k: v for k, v in values.items() if v is not None}
    checked = _checked(given, errors, _org_codes(session), creating=False)
    if errors:
        raise FormInvalid(errors)
    for name, value in checked.items():
        setattr(expert, name, value)
    session.flush()
    return expert


_TEXT_FIELDS = {"name": ("姓名", 50), "employer_name": ("工作单位", 200), "title": ("职称", 50)}


def _org_codes(session: Session) -> set[str]:
    """The codes of the organisations on record: a unit added by an admin can always be named."""
    return set(session.scalars(select(Organisation.code)))


def _checked(
    values: dict[str, Any], errors: dict[str, list[str]], known: set[str], creating: bool
) -> dict[str, Any]:
    """The fields to set, checked; problems go into `errors` by field."""
    out: dict[str, Any] = {}
    for field, (label, limit) in _TEXT_FIELDS.items():
        if field in values:
            text = str(values[field]).strip()
            if 1 <= len(text) <= limit:
                out[field] = text
            else:
                errors[field] = [f"{label}为 1–{limit} 个字"]
        elif creating:
            errors[field] = [f"请填写{label}"]
    if "employer_code" in values or creating:
        code = _code(values.get("employer_code"), known)
        if is_valid_uscc(code) or code in known:
            out["employer_code"] = code
        else:
            errors["employer_code"] = ["工作单位的统一社会信用代码不正确（18 位，末位为校验码）"]
    if "specialties" in values or creating:
        codes = list(dict.fromkeys(values.get("specialties") or []))
        unknown = [c for c in codes if c not in SPECIALTIES]
        if unknown:
            errors["specialties"] = [f"未知的专业：{'、'.join(map(str, unknown))}"]
        elif not codes:
            errors["specialties"] = ["至少选择一个专业"]
        else:
            out["specialties"] = codes
    if "status" in values:
        if values["status"] in STATUS_LABELS:
            out["status"] = values["status"]
        else:
            errors["status"] = [f"状态须为：{'、'.join(STATUS_LABELS.values())}"]
    if "avoid_orgs" in values:
        ties = _checked_ties(values["avoid_orgs"], errors, known)
        if ties is not None:
            out["avoid_orgs"] = ties
    return out


def _checked_ties(rows: Any, errors: dict[str, list[str]], known: set[str]) -> list[dict[str, Any]] | None:
    """Declared conflicts: [{code, reason, until}], each code a valid 统一社会信用代码 or a unit on record."""
    if not isinstance(rows, list) or len(rows) > MAX_TIES:
        errors["avoid_orgs"] = [f"回避单位最多 {MAX_TIES} 个"]
        return None
    ties, problems = [], []
    first_row: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        code = _code(row.get("code"), known)
        reason = str(row.get("reason") or "").strip()
        until = str(row.get("until") or "").strip()
        if not (is_valid_uscc(code) or code in known):
            problems.append(f"第 {number} 行：统一社会信用代码不正确")
        elif code in first_row:
            problems.append(f"第 {number} 行：与第 {first_row[code]} 行是同一单位")
        first_row.setdefault(code, number)
        if len(reason) > 100:
            problems.append(f"第 {number} 行：原因不能超过 100 个字")
        if until and not _is_date(until):
            problems.append(f"第 {number} 行：回避截止日期应为 YYYY-MM-DD")
        ties.append({"code": code, "reason": reason or "存在利害关系", "until": until or None})
    if problems:
        errors["avoid_orgs"] = problems
        return None
    return ties


def _code(value: Any, known: set[str]) -> str:
    """A code as given when it is a unit on record, else in capitals (as 统一社会信用代码 are written)."""
    text = str(value or "").strip()
    return text if text in known else text.upper()


def _is_date(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
