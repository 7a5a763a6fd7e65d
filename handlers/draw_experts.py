"""Handler `draw_experts`: draw a reproducible expert panel, excluding conflicts of interest."""

import hashlib
import random
from datetime import date

from sqlalchemy import select

from handlers.coercion import as_int, as_text_list
from handlers.context import HandlerContext
from handlers.errors import HandlerError
from handlers.localtime import local_date, parse_date
from handlers.models import SPECIALTIES, Expert, ExpertDraw, ExpertStatus
from handlers.results import choice, confidential, internal, listing, record, text

TITLE = "随机抽取评审专家"
EXPERT = record(
    "专家",
    username=internal(text("用户名")),
    name=text("姓名"),
    specialties=listing("专业", choice("专业", SPECIALTIES)),
)
RETURNS = {
    "draw_id": internal(text("抽取记录编号")),
    "draw_seed": internal(text("随机种子")),
    "expert_panel": confidential(listing("抽取的评审专家", EXPERT)),
    "expert_usernames": confidential(internal(listing("评审专家用户名"))),
    "expert_backups": confidential(listing("备选专家", EXPERT)),
    "excluded_experts": confidential(
        listing(
            "回避的专家",
            record(
                "回避的专家", username=internal(text("用户名")), name=text("姓名"), reason=text("回避原因")
            ),
        )
    ),
    "draw_pool_size": text("可抽取专家人数"),
}
ERRORS = ("expert_pool_insufficient",)

DEFAULT_SPECIALTIES = ("SOFTWARE", "SECURITY", "COST")


def default_seed(project_id: str, purpose: str, day: str) -> int:
    """Return the seed used when none is given: stable for a project, purpose and day."""
    digest = hashlib.sha256(f"{project_id}|{purpose}|{day}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def exclusion_reason(expert: Expert, parties: dict[str, str], today: date, skipped: set[str]) -> str | None:
    """Return why `expert` must not sit on this panel, or None."""
    for code, role in parties.items():
        if expert.employer_code == code:
            return f"所在单位为{role}"
    for tie in expert.avoid_orgs or []:
        role = parties.get(tie.get("code"))
        until = parse_date(tie.get("until"))  # missing or unreadable: avoid for good, to be safe
        if role and (until is None or until >= today):
            reason = tie.get("reason") or "存在利害关系"
            limit = f"，回避至{until.isoformat()}" if until else ""
            return f"与{role}存在关联（{reason}{limit}）"
    if expert.username in skipped:
        return "本项目本轮已回避或已抽取"
    return None


def _card(expert: Expert) -> dict:
    return {"username": expert.username, "name": expert.name, "specialties": list(expert.specialties)}


def handle(
    ctx: HandlerContext,
    *,
    project_id: str,
    unit_code: str,
    vendor_code: str | None = None,
    specialties: list[str] | None = DEFAULT_SPECIALTIES,
    panel_size: int = 5,
    backups: int = 2,
    seed: int | None = None,
    purpose: str = "EXPERT_REVIEW",
    exclude_usernames: list[str] | None = None,
) -> dict:
    """Draw `panel_size` experts plus `backups` covering each specialty, and record the draw."""
    wanted = list(dict.fromkeys(DEFAULT_SPECIALTIES if specialties is None else as_text_list(specialties)))
    unknown = [code for code in wanted if code not in SPECIALTIES]
    if unknown:
        raise ValueError(f"未知的专家专业代码：{'、'.join(unknown)}")
    if not unit_code:
        raise ValueError("抽取专家须提供项目建设单位代码")
    panel_size, backups = int(panel_size), int(backups)
    if panel_size < 1 or backups < 0:
        raise ValueError("评审组人数须至少1人，备选人数不能为负")

    today = local_date(ctx.now)
    if seed is None:
        seed = default_seed(project_id, purpose, today.isoformat())
    elif as_int(seed) is None or not 0 <= as_int(seed) < 2**63:
        raise ValueError(f"抽取种子应为非负整数：{seed!r}")
    seed = int(seed)
    parties = {unit_code: "项目建设单位"}
    if vendor_code:
        parties[vendor_code] = "承建单位"
    skipped = set(as_text_list(exclude_usernames))

    active = ctx.session.scalars(
        select(Expert).where(Expert.status == ExpertStatus.ACTIVE.value).order_by(Expert.username)
    ).all()
    eligible, excluded = [], []
    for expert in active:
        reason = exclusion_reason(expert, parties, today, skipped)
        if reason:
            excluded.append({"expert": expert.username, "name": expert.name, "reason": reason})
        else:
            eligible.append(expert)

    order = list(eligible)
    random.Random(seed).shuffle(order)  # sorted input + recorded seed = the same panel on replay
    selected: list[Expert] = []
    uncovered = []
    for code in wanted:
        if any(code in expert.specialties for expert in selected):
            continue
        pick = next((e for e in order if e not in selected and code in e.specialties), None)
        if pick is None:
            uncovered.append(SPECIALTIES[code])
        else:
            selected.append(pick)
    if uncovered:
        raise HandlerError(
            "expert_pool_insufficient",
            f"回避后专家库中没有{'、'.join(uncovered)}专业的专家，无法组成评审组",
            details={"uncovered": uncovered, "eligible": len(order)},
        )
    if len(selected) > panel_size:
        raise HandlerError(
            "expert_pool_insufficient",
            f"覆盖所需专业至少需要{len(selected)}名专家，超过评审组人数{panel_size}名",
        )
    if len(order) < panel_size + backups:
        raise HandlerError(
            "expert_pool_insufficient",
            f"回避后可抽取专家仅{len(order)}名，不足评审组{panel_size}名加备选{backups}名",
            details={"eligible": len(order)},
        )
    for expert in order:
        if len(selected) == panel_size:
            break
        if expert not in selected:
            selected.append(expert)
    reserve = [expert for expert in order if expert not in selected][:backups]

    draw = ExpertDraw(
        project_id=project_id,
        purpose=purpose,
        instance_id=ctx.instance_id,
        seed=seed,
        pool_size=len(order),
        candidates=[expert.username for expert in order],
        specialties=wanted,
        excluded=excluded,
        selected=[expert.username for expert in selected],
        backups=[expert.username for expert in reserve],
        drawn_at=ctx.now,
    )
    ctx.session.add(draw)
    ctx.session.flush()
    return {
        "draw_id": draw.id,
        "draw_seed": seed,
        "draw_pool_size": len(order),
        "expert_panel": [_card(expert) for expert in selected],
        "expert_usernames": [expert.username for expert in selected],
        "expert_backups": [_card(expert) for expert in reserve],
        "excluded_experts": [
            {"username": item["expert"], "name": item["name"], "reason": item["reason"]} for item in excluded
        ],
    }
