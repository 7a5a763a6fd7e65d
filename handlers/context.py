"""What a handler may know about the process instance that called it."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class HandlerContext:
    """Everything a service-task handler gets besides its parameters.

    `session` is the caller's transaction (inside a savepoint): a handler may add and query
    its own domain records but never commits. `now` is the process clock, never the wall clock.
    """

    session: Session
    now: datetime
    instance_id: int
    process_id: str
    task_id: str
    project_id: str | None = None
    unit_code: str | None = None
    initiator: str | None = None
