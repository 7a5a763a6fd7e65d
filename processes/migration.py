"""Moving running instances onto another version of their process: reports, and many at once.

`Runtime.migrate` moves one instance in one transaction (`engine.migrate` matches its tasks to the new
diagram). `migrate_many` runs it over the instances of a process, each in a transaction of its own, so one
instance that cannot move does not hold back the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from processes import catalog
from processes.errors import ProcessError
from processes.store.models import (
    ENDED,
    HumanTask,
    ProcessInstance,
    ProcessVersion,
    TaskStatus,
    User,
)

if TYPE_CHECKING:
    from processes.runtime import Runtime

MAX_PER_CALL = 500  # instances one bulk call looks at; the report says how many remain


@dataclass
class MigrationReport:
    """What moving one instance changes (dry run), changed, or why it cannot be done."""

    instance_id: int
    process_id: str
    from_version: int
    to_version: int
    title: str | None = None
    migrated: bool = False
    problems: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # open elements whose definition changed
    added: list[str] = field(default_factory=list)  # elements only the new version has
    removed: list[str] = field(default_factory=list)  # elements only the old version has (none reached)
    refreshed: int = 0  # open tasks remade from the new diagram (name, lane or form changed; claim released)


@dataclass
class BulkMigration:
    """The reports of one bulk call over a process's instances."""

    process_id: str
    to_version: int
    dry_run: bool
    items: list[MigrationReport]
    remaining: int  # matching instances beyond this call's MAX_PER_CALL

    @property
    def migrated(self) -> int:
        """How many instances moved (a dry run: how many could)."""
        return sum(1 for r in self.items if (r.migrated or self.dry_run) and not r.problems)

    @property
    def refused(self) -> int:
        """How many instances cannot move, each with its reasons."""
        return sum(1 for r in self.items if r.problems)


def candidates(
    session: Session,
    process_id: str,
    target: ProcessVersion,
    from_version: int | None = None,
    instance_ids: Iterable[int] | None = None,
    at_task: str | None = None,
) -> tuple[list[int], int]:
    """Ids of the unfinished instances of a process not on `target` (oldest first), and how many more.

    `at_task` keeps those with an open task at that element (its BPMN id): "every project now at 初审".
    """
    query = (
        select(ProcessInstance.id)
        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.process_version_id)
        .where(
            ProcessInstance.process_id == process_id,
            ProcessInstance.process_version_id != target.id,
            ProcessInstance.status.not_in(ENDED),
        )
    )
    if from_version is not None:
        query = query.where(ProcessVersion.version == from_version)
    if instance_ids is not None:
        query = query.where(ProcessInstance.id.in_(list(instance_ids)))
    if at_task is not None:
        query = query.where(
            exists().where(
                HumanTask.instance_id == ProcessInstance.id,
                HumanTask.status == TaskStatus.READY,
                HumanTask.spec_id == at_task,
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    ids = list(session.scalars(query.order_by(ProcessInstance.id).limit(MAX_PER_CALL)))
    return ids, total - len(ids)


def migrate_many(
    session: Session,
    runtime: Runtime,
    user: User | None,
    process_id: str,
    to_version: int | None = None,
    *,
    from_version: int | None = None,
    instance_ids: Iterable[int] | None = None,
    at_task: str | None = None,
    dry_run: bool = False,
) -> BulkMigration:
    """Move (or, dry, check) a process's unfinished instances onto a version, committing each one alone."""
    target = catalog.get_version(session, process_id, to_version)
    ids, remaining = candidates(session, process_id, target, from_version, instance_ids, at_task)
    session.commit()  # each instance below runs in its own transaction
    items = []
    for instance_id in ids:
        try:
            report = runtime.migrate(session, instance_id, user, target.version, dry_run=dry_run)
            session.commit()
        except ProcessError as err:  # e.g. it ended or vanished since the list was read
            session.rollback()
            report = MigrationReport(instance_id, process_id, 0, target.version, problems=[err.message])
        items.append(report)
    return BulkMigration(process_id, target.version, dry_run, items, remaining)


def open_steps(session: Session, process_id: str, not_on: ProcessVersion) -> list[tuple[str, str, int]]:
    """Where instances of a process not on `not_on` wait: (element id, task name, instances), most first."""
    instances = func.count(HumanTask.instance_id.distinct())
    rows = session.execute(
        select(HumanTask.spec_id, func.min(HumanTask.name), instances)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(
            ProcessInstance.process_id == process_id,
            ProcessInstance.process_version_id != not_on.id,
            HumanTask.status == TaskStatus.READY,
        )
        .group_by(HumanTask.spec_id)
        .order_by(instances.desc(), HumanTask.spec_id)
    )
    return [(spec_id, name, count) for spec_id, name, count in rows]
