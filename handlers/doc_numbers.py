"""Issuing authorities and their 文号 (document numbers), one sequence per authority and year."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.models import DocNumber
from handlers.sequences import insert_numbered


@dataclass(frozen=True)
class Authority:
    """An issuing authority: code used in DMN tables, full and short Chinese names, 文号 prefix."""

    code: str
    name: str
    short: str
    prefix: str


AUTHORITIES: dict[str, Authority] = {
    # Approves projects since the 2023 revision (六政办〔2023〕24号).
    "CITY_DATA_BUREAU": Authority("CITY_DATA_BUREAU", "六安市数据资源管理局", "市数管局", "六数管"),
    # Approved projects under the 2021 text (六政办〔2021〕21号); kept for older records.
    "CITY_NDRC": Authority("CITY_NDRC", "六安市发展和改革委员会", "市发改委", "六发改"),
}


def get_authority(code: str) -> Authority:
    """Return the authority of a code or raise ValueError naming the known codes."""
    try:
        return AUTHORITIES[code]
    except KeyError:
        raise ValueError(f"未知的审批机关代码 {code!r}，可选：{'、'.join(AUTHORITIES)}") from None


def format_doc_no(authority: Authority, year: int, seq: int) -> str:
    """Return a 文号 such as 六数管〔2026〕12号."""
    return f"{authority.prefix}〔{year}〕{seq}号"


def allocate_doc_no(
    session: Session, authority: Authority, year: int, kind: str, subject: str | None, issued_at: datetime
) -> DocNumber:
    """Register and return the next 文号 of `authority` in `year`."""

    def next_seq() -> int:
        stmt = select(func.max(DocNumber.seq)).where(
            DocNumber.authority == authority.code, DocNumber.year == year
        )
        return (session.scalar(stmt) or 0) + 1

    def build(seq: int) -> DocNumber:
        return DocNumber(
            authority=authority.code,
            year=year,
            seq=seq,
            doc_no=format_doc_no(authority, year, seq),
            kind=kind,
            subject=subject,
            issued_at=issued_at,
        )

    return insert_numbered(session, next_seq, build)
