"""Seed the demo expert pool into the 专家库."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.demo_data import EMPLOYERS, EXPERT_POOL
from handlers.models import Expert


def seed_experts(session: Session, now: datetime) -> list[Expert]:
    """Add the demo experts that are not there yet (matched by username); return the added ones."""
    existing = set(session.scalars(select(Expert.username)))
    added = []
    for entry in EXPERT_POOL:
        if entry["username"] in existing:
            continue
        employer_code, employer_name = EMPLOYERS[entry["employer"]]
        expert = Expert(
            username=entry["username"],
            name=entry["name"],
            employer_code=employer_code,
            employer_name=employer_name,
            title=entry["title"],
            specialties=list(entry["specialties"]),
            avoid_orgs=[dict(tie) for tie in entry["avoid_orgs"]],
            status=entry["status"],
            created_at=now,
        )
        session.add(expert)
        added.append(expert)
    session.flush()
    return added
