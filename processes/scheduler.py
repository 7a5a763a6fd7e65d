"""Background work: find instances whose timers are due and advance each in its own transaction."""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select, true
from sqlalchemy.orm import Session, sessionmaker

from processes import engine
from processes.runtime import ACTIVE, Runtime
from processes.store.db import is_postgres
from processes.store.models import ProcessInstance, Schedule

log = logging.getLogger(__name__)


def claim_due(session: Session, now: datetime, skip: Collection[int] = ()) -> int | None:
    """Lock and return a due instance id not in `skip`; on PostgreSQL, rows other workers hold are skipped."""
    stmt = (
        select(ProcessInstance.id)
        .where(ProcessInstance.status.in_(ACTIVE), ProcessInstance.next_wakeup_at < now)
        .where(ProcessInstance.id.not_in(skip) if skip else true())
        .order_by(ProcessInstance.next_wakeup_at)
        .limit(1)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True, key_share=True)  # FOR NO KEY UPDATE, as a step locks it
    return session.scalar(stmt)


def start_due_schedules(sessions: sessionmaker[Session], runtime: Runtime, limit: int = 20) -> int:
    """Start an instance for each due timer start event, one transaction each; returns how many started."""
    started = 0
    for _ in range(limit):
        with sessions() as session, session.begin():
            now = runtime.clock.now()
            stmt = (
                select(Schedule)
                .where(Schedule.active.is_(True), Schedule.next_run_at <= now)
                .order_by(Schedule.next_run_at)
                .limit(1)
            )
            if is_postgres(session):
                stmt = stmt.with_for_update(skip_locked=True)
            schedule = session.scalar(stmt)
            if schedule is None:
                return started
            instance = runtime.start(
                session, schedule.process_id, {"scheduled_at": schedule.next_run_at.isoformat()}
            )
            schedule.last_run_at = schedule.next_run_at
            schedule.last_instance_id = instance.id
            schedule.next_run_at = engine.next_occurrence(schedule.expression, now, schedule.last_run_at)
            started += 1
            log.info(
                "schedule %s: started instance %s, next %s",
                schedule.process_id,
                instance.id,
                schedule.next_run_at,
            )
    return started


def tick(sessions: sessionmaker[Session], runtime: Runtime, limit: int = 100) -> int:
    """Start due scheduled processes, then advance up to `limit` due instances; returns how many moved."""
    fired = start_due_schedules(sessions, runtime)
    seen: set[int] = set()  # one wake per instance and tick: every due timer fires in that one wake
    for _ in range(limit):
        with sessions() as session, session.begin():
            instance_id = claim_due(session, runtime.clock.now(), seen)
            if instance_id is None:
                return fired
            seen.add(instance_id)
            try:
                with session.begin_nested():
                    if runtime.wake(session, instance_id):
                        fired += 1
            except Exception:
                # One instance that cannot be woken (a lock conflict, a database error) must not hold up the
                # others due in this tick: it is tried again at the next one.
                log.exception("instance %s: waking failed", instance_id)
    return fired


class Worker:
    """Runs `tick` every `interval` seconds in a daemon thread until stopped."""

    def __init__(self, sessions: sessionmaker[Session], runtime: Runtime, interval: float = 5.0) -> None:
        self.sessions = sessions
        self.runtime = runtime
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the background thread."""
        self._thread = threading.Thread(target=self.run_forever, name="egovflow-worker", daemon=True)
        self._thread.start()

    def run_forever(self) -> None:
        """Tick until stopped; a failing tick is logged and retried at the next interval."""
        while not self._stop.is_set():
            try:
                fired = tick(self.sessions, self.runtime)
                if fired:
                    log.info("worker advanced %s instance(s)", fired)
            except Exception:
                log.exception("worker tick failed")
            self._stop.wait(self.interval)

    def stop(self) -> None:
        """Ask the thread to stop and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
