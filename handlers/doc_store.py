"""Store generated or uploaded files with their SHA-256 and SM3 digests."""

import hashlib
from datetime import datetime

from gmssl import func, sm3
from sqlalchemy.orm import Session

from handlers.models import Document

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# OpenSSL's SM3 (through hashlib) hashes a megabyte in milliseconds; gmssl's pure Python takes seconds, so it
# is only the fallback for a Python built without it.
_OPENSSL_SM3 = "sm3" in hashlib.algorithms_available


def sm3_hex(content: bytes) -> str:
    """Return the SM3 digest (GB/T 32905-2016) of `content` as 64 hex characters."""
    if _OPENSSL_SM3:
        return hashlib.new("sm3", content).hexdigest()
    return gmssl_sm3_hex(content)


def gmssl_sm3_hex(content: bytes) -> str:
    """Return the SM3 digest computed by gmssl's pure-Python implementation (the fallback)."""
    return sm3.sm3_hash(func.bytes_to_list(content))


def store_document(
    session: Session,
    *,
    kind: str,
    filename: str,
    content: bytes,
    created_at: datetime,
    media_type: str = DOCX_TYPE,
    project_id: str | None = None,
    instance_id: int | None = None,
) -> Document:
    """Add a document row with both digests and flush it so it has an id."""
    document = Document(
        kind=kind,
        filename=filename,
        media_type=media_type,
        content=content,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        sm3=sm3_hex(content),
        project_id=project_id,
        instance_id=instance_id,
        created_at=created_at,
    )
    session.add(document)
    session.flush()
    return document
