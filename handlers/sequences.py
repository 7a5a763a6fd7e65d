"""Insert a row numbered max()+1, retrying when a concurrent transaction took the number."""

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

T = TypeVar("T")
ATTEMPTS = 5


def insert_numbered(session: Session, next_number: Callable[[], int], build: Callable[[int], T]) -> T:
    """Add and flush `build(n)` for n = `next_number()`, retrying on a unique-constraint clash.

    The number comes from a max() query and the table's unique constraint is the real guard:
    two instances may read the same max(), the second insert fails inside its own savepoint
    and simply reads max() again.
    """
    for attempt in range(1, ATTEMPTS + 1):
        number = next_number()
        row = build(number)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            log.info("number %s already taken (attempt %s), retrying", number, attempt)
            continue
        return row
    raise RuntimeError(f"连续 {ATTEMPTS} 次编号冲突，请稍后重试")
