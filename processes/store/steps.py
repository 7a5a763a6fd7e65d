"""The runtime's per-step reads and writes as plain SQL on the session's own connection.

A step (start, complete, wake, message) touches the same few rows every time: it locks the instance, reads
the task, writes the instance's state and projections, closes and opens human tasks and appends history.
Going through the ORM's unit of work costs several times the engine step itself, so these statements are
written out here once and run on the DB-API connection the session already holds: same transaction,
same lock, no identity map. Everything else (claims, drafts, reads, handlers' own tables) stays on the
ORM; `StepStore.expire` tells the session which loaded objects these writes made stale.

Values are converted the way SQLAlchemy stores them (`UTCDateTime`, `JSON`), so ORM reads see the same
rows whichever path wrote them; `tests/api/test_step_store.py` holds both paths to that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from processes.errors import Conflict
from processes.store.models import HumanTask, ProcessInstance

_INSTANCE_COLUMNS = """
    i.id, i.process_version_id, i.process_id, i.status, i.unit_id, i.initiator_id, i.parent_instance_id,
    i.title, i.project_id, i.stage, i.total_estimate, i.plan_year, i.started_at, i.updated_at, i.ended_at,
    i.next_wakeup_at, i.waiting_messages, i.lock_version, v.version, v.name, v.content_hash, o.code,
    o.name, o.short_name, u.username"""
_INSTANCE_JOINS = """
    JOIN process_version v ON v.id = i.process_version_id
    LEFT JOIN organisation o ON o.id = i.unit_id
    LEFT JOIN app_user u ON u.id = i.initiator_id"""
_TASK_COLUMNS = """
    t.id, t.instance_id, t.task_guid, t.spec_id, t.name, t.process_id, t.lane, t.role_code, t.unit_id,
    t.assignee_id, t.claimed_by_id, t.form, t.status"""

_SQL = {
    "lock": f"SELECT {_INSTANCE_COLUMNS} FROM process_instance i {_INSTANCE_JOINS} WHERE i.id = :id",
    # A task, its instance, and whether the caller holds the task's role, in one statement.
    "lock_task": f"""SELECT {_INSTANCE_COLUMNS}, {_TASK_COLUMNS},
        EXISTS (SELECT 1 FROM user_role r WHERE r.user_id = :user_id AND r.role_code = t.role_code)
        FROM human_task t JOIN process_instance i ON i.id = t.instance_id {_INSTANCE_JOINS}
        WHERE t.id = :task_id""",
    "state": "SELECT state_json FROM process_instance WHERE id = :id",
    "open_tasks": "SELECT id, task_guid FROM human_task WHERE instance_id = :id AND status = 'ready'",
    "arrivals": "SELECT id, created_at FROM human_task WHERE instance_id = :id AND status = 'ready'",
    "lane_roles": "SELECT l.lane, r.code, r.scope FROM lane_role l JOIN role r ON r.code = l.role_code",
    "user_id": "SELECT id FROM app_user WHERE username = :username",
    # Who takes a pool task again: whoever last completed this step of the instance or, for a step not done
    # before, the latest completed task of the same role in it (the project's own clerk), if they may take it:
    # active, holding the role and, for a unit role, in the task's unit. Otherwise nobody (the pool).
    "last_holder": """SELECT t.completed_by_id FROM human_task t JOIN app_user u ON u.id = t.completed_by_id
        WHERE t.id = (SELECT l.id FROM human_task l WHERE l.instance_id = :instance_id
            AND l.role_code = :role_code AND l.status = 'completed'
            ORDER BY CASE WHEN l.process_id = :process_id AND l.spec_id = :spec_id THEN 0 ELSE 1 END,
            l.completed_at DESC, l.id DESC LIMIT 1)
        AND u.active = :active
        AND EXISTS (SELECT 1 FROM user_role r WHERE r.user_id = u.id AND r.role_code = :role_code)
        AND (CAST(:unit_id AS INTEGER) IS NULL OR u.organisation_id = :unit_id)""",
    "insert_instance": """INSERT INTO process_instance (process_version_id, process_id, status, unit_id,
        initiator_id, parent_instance_id, title, project_id, stage, total_estimate, plan_year, started_at,
        updated_at, ended_at, next_wakeup_at, waiting_messages, lock_version, serializer_version,
        state_json, data_json, element_state)
        VALUES (:process_version_id, :process_id, :status, :unit_id, :initiator_id, :parent_instance_id,
        :title, :project_id, :stage, :total_estimate, :plan_year, :started_at, :updated_at, :ended_at,
        :next_wakeup_at, :waiting_messages, :lock_version, :serializer_version, :state_json, :data_json,
        :element_state)
        RETURNING id""",
    # The columns of update_instance (see _update_sql): indexed ones are set only when their value changed,
    # because SQLite rewrites an index entry for every column in SET, changed or not (four extra pages of
    # WAL on every step otherwise).
    "update_status": """UPDATE process_instance SET status = :status, updated_at = :updated_at,
        lock_version = :lock_version WHERE id = :id AND lock_version = :old_lock_version""",
    "set_version": "UPDATE process_instance SET process_version_id = :version_id WHERE id = :id",
    # A migration: the open task's row follows its new definition; a claim made under the old one lapses.
    "remake_task": """UPDATE human_task SET spec_id = :spec_id, name = :name, process_id = :process_id,
        lane = :lane, role_code = :role_code, unit_id = :unit_id, assignee_id = :assignee_id, form = :form,
        instructions = :instructions, due_at = :due_at, context_json = :context_json, claimed_by_id = NULL
        WHERE id = :id""",
    "complete_task": """UPDATE human_task SET status = 'completed', completed_at = :at,
        completed_by_id = :user_id, draft_json = NULL WHERE id = :id""",
    "cancel_task": "UPDATE human_task SET status = 'cancelled', completed_at = :at WHERE id = :id",
    "insert_task": """INSERT INTO human_task (instance_id, task_guid, spec_id, name, process_id, lane,
        role_code, unit_id, assignee_id, claimed_by_id, form, instructions, status, created_at, due_at,
        context_json, round_key)
        VALUES (:instance_id, :task_guid, :spec_id, :name, :process_id, :lane, :role_code, :unit_id,
        :assignee_id, :claimed_by_id, :form, :instructions, 'ready', :created_at, :due_at, :context_json,
        :round_key)""",
    # The submitter's own uploads a submission references, not yet linked to an instance, become this one's.
    "adopt_upload": """UPDATE attachment SET instance_id = :instance_id
        WHERE id = :id AND instance_id IS NULL AND uploaded_by_id = :user_id""",
    "insert_event": """INSERT INTO instance_event (instance_id, at, kind, user_id, spec_id, task_name,
        detail) VALUES (:instance_id, :at, :kind, :user_id, :spec_id, :task_name, :detail)""",
    "insert_incident": """INSERT INTO incident (instance_id, task_guid, spec_id, message, traceback,
        created_at) VALUES (:instance_id, :task_guid, :spec_id, :message, :traceback, :created_at)""",
}

_UPDATED_ALWAYS = (
    "title", "total_estimate", "plan_year", "updated_at", "ended_at", "waiting_messages", "lock_version",
    "serializer_version", "state_json", "data_json", "element_state",
)  # fmt: skip
_UPDATED_IF_CHANGED = ("status", "project_id", "stage", "next_wakeup_at")  # each in an index


def _update_sql(changed: tuple[str, ...]) -> str:
    """The UPDATE of a locked instance row that sets the always-written columns plus `changed`."""
    sets = ", ".join(f"{column} = :{column}" for column in (*changed, *_UPDATED_ALWAYS))
    return f"UPDATE process_instance SET {sets} WHERE id = :id AND lock_version = :old_lock_version"


for _n in range(2 ** len(_UPDATED_IF_CHANGED)):
    _changed = tuple(c for i, c in enumerate(_UPDATED_IF_CHANGED) if _n >> i & 1)
    _SQL[f"update_instance:{','.join(_changed)}"] = _update_sql(_changed)

# Written with :name parameters (sqlite3's named style); psycopg gets %(name)s. So no statement may hold a
# literal % or a :: cast.
_PYFORMAT = {name: re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql) for name, sql in _SQL.items()}


@dataclass(frozen=True)
class VersionRef:
    """The process version an instance runs: enough to find its cached specs and forms."""

    id: int
    process_id: str
    version: int
    name: str
    content_hash: str


@dataclass
class InstanceRecord:
    """One process instance as the runtime reads and writes it (no ORM identity, no lazy loads)."""

    id: int | None
    process_version_id: int
    process_id: str
    status: str
    unit_id: int | None
    initiator_id: int | None
    parent_instance_id: int | None
    title: str | None
    started_at: datetime
    updated_at: datetime
    lock_version: int
    version: VersionRef
    project_id: str | None = None
    stage: str | None = None
    total_estimate: float | None = None
    plan_year: int | None = None
    ended_at: datetime | None = None
    next_wakeup_at: datetime | None = None
    waiting_messages: list[str] = field(default_factory=list)
    unit_code: str | None = None
    unit_name: str | None = None
    unit_short_name: str | None = None
    initiator_username: str | None = None
    data_text: str = "{}"  # the instance's current data as JSON text, written as is
    serializer_version: str | None = None  # the state format last written
    element_state: dict[str, Any] = field(default_factory=dict)
    stored: dict[str, Any] = field(default_factory=dict, repr=False)  # indexed columns as in the row

    @property
    def data_json(self) -> dict[str, Any]:
        """The instance's current data."""
        return json.loads(self.data_text)


@dataclass
class TaskRecord:
    """One human task row as the runtime checks it before completing it."""

    id: int
    instance_id: int
    task_guid: str
    spec_id: str
    name: str
    process_id: str
    lane: str | None
    role_code: str | None
    unit_id: int | None
    assignee_id: int | None
    claimed_by_id: int | None
    form: str | None
    status: str
    caller_holds_role: bool = False  # whether the user completing it holds `role_code`


class StepStore:
    """Precompiled reads and writes of one step, run on the session's DB-API connection."""

    def __init__(self, session: Session) -> None:
        connection = session.connection()  # begins the session's transaction if it has not yet
        self.session = session
        self.postgres = connection.dialect.name == "postgresql"
        self._sql = _PYFORMAT if self.postgres else _SQL
        self._cursor = connection.connection.driver_connection.cursor()
        # NO KEY UPDATE: steps still exclude each other on the instance row, but a claim or draft that adds
        # an event row (its foreign key takes KEY SHARE on the instance) is not blocked by it, so the two
        # opposite lock orders (instance then task here, task then instance there) cannot deadlock.
        self._for_update = " FOR NO KEY UPDATE OF i" if self.postgres else ""
        # Both rows: a waiting lock then re-reads both, so the task's status is the one left by whoever
        # held the lock (SQLite's BEGIN IMMEDIATE already lets only one writer in).
        self._for_update_task = " FOR NO KEY UPDATE OF i FOR UPDATE OF t" if self.postgres else ""

    # ------------------------------------------------------------------------- reads

    def lock_instance(self, instance_id: int) -> InstanceRecord | None:
        """Lock an instance row for this transaction and read it."""
        return self._instance(self._sql["lock"] + self._for_update, {"id": instance_id})

    def lock_task(self, task_id: int, user_id: int) -> tuple[InstanceRecord, TaskRecord] | None:
        """Lock a human task and its instance and read both (with whether the user holds its role)."""
        self._cursor.execute(
            self._sql["lock_task"] + self._for_update_task, {"task_id": task_id, "user_id": user_id}
        )
        row = self._cursor.fetchone()
        if row is None:
            return None
        width = len(_INSTANCE_COLUMNS.split(","))
        task = TaskRecord(*row[width:-1], caller_holds_role=bool(row[-1]))
        return self._record(row[:width]), task

    def state(self, instance_id: int) -> str:
        """Read an instance's stored workflow state."""
        self._cursor.execute(self._sql["state"], {"id": instance_id})
        return self._cursor.fetchone()[0]

    def open_tasks(self, instance_id: int) -> dict[str, int]:
        """Return the ids of an instance's open human tasks by task guid."""
        self._cursor.execute(self._sql["open_tasks"], {"id": instance_id})
        return {guid: task_id for task_id, guid in self._cursor.fetchall()}

    def arrivals(self, instance_id: int) -> dict[int, datetime]:
        """Return when each of an instance's open human tasks arrived, by task id."""
        self._cursor.execute(self._sql["arrivals"], {"id": instance_id})
        return {task_id: self._read_time(at) for task_id, at in self._cursor.fetchall()}

    def lane_roles(self) -> dict[str, tuple[str, str]]:
        """Return (role code, role scope) by lane name."""
        self._cursor.execute(self._sql["lane_roles"])
        return {lane: (code, scope) for lane, code, scope in self._cursor.fetchall()}

    def user_id(self, username: str) -> int | None:
        """Return the id of a user by user name, or None."""
        self._cursor.execute(self._sql["user_id"], {"username": username})
        row = self._cursor.fetchone()
        return row[0] if row is not None else None

    def last_holder(self, task: Mapping[str, Any]) -> int | None:
        """Who takes this pool task: the step's last holder in its instance, else its role's (see the SQL)."""
        params = {k: task[k] for k in ("instance_id", "process_id", "spec_id", "role_code", "unit_id")}
        self._cursor.execute(self._sql["last_holder"], {**params, "active": True})
        row = self._cursor.fetchone()
        return row[0] if row is not None else None

    # ------------------------------------------------------------------------- writes

    def write_instance(self, record: InstanceRecord, state_json: str, serializer_version: str) -> None:
        """Insert a new instance or update a locked one, bumping its row version; sets `record.id`."""
        params = {
            "status": str(record.status),
            "title": record.title,
            "project_id": record.project_id,
            "stage": record.stage,
            "total_estimate": record.total_estimate,
            "plan_year": record.plan_year,
            "updated_at": self._time(record.updated_at),
            "ended_at": self._time(record.ended_at),
            "next_wakeup_at": self._time(record.next_wakeup_at),
            "waiting_messages": _json(record.waiting_messages),
            "serializer_version": serializer_version,
            "state_json": state_json,
            "data_json": record.data_text,
            "element_state": _json(record.element_state),
        }
        record.serializer_version = serializer_version
        if record.id is None:
            params.update(
                process_version_id=record.process_version_id,
                process_id=record.process_id,
                unit_id=record.unit_id,
                initiator_id=record.initiator_id,
                parent_instance_id=record.parent_instance_id,
                started_at=self._time(record.started_at),
                lock_version=record.lock_version,
            )
            self._cursor.execute(self._sql["insert_instance"], params)
            record.id = self._cursor.fetchone()[0]
            _remember_stored(record)
            return
        params.update(id=record.id, old_lock_version=record.lock_version)
        params["lock_version"] = record.lock_version + 1
        changed = tuple(c for c in _UPDATED_IF_CHANGED if getattr(record, c) != record.stored.get(c, _UNREAD))
        self._cursor.execute(self._sql[f"update_instance:{','.join(changed)}"], params)
        self._check_one_row(record)
        record.lock_version += 1
        _remember_stored(record)

    def write_status(self, record: InstanceRecord) -> None:
        """Write a status change that did not run the engine, bumping the row version."""
        self._cursor.execute(
            self._sql["update_status"],
            {
                "id": record.id,
                "status": str(record.status),
                "updated_at": self._time(record.updated_at),
                "old_lock_version": record.lock_version,
                "lock_version": record.lock_version + 1,
            },
        )
        self._check_one_row(record)
        record.lock_version += 1
        record.stored["status"] = record.status

    def set_version(self, instance_id: int, version_id: int) -> None:
        """Point a locked instance at another process version (a migration; the state follows in the step)."""
        self._cursor.execute(self._sql["set_version"], {"id": instance_id, "version_id": version_id})

    def complete_task(self, task_id: int, user_id: int, at: datetime) -> None:
        """Mark a human task completed by a user."""
        self._cursor.execute(
            self._sql["complete_task"], {"id": task_id, "user_id": user_id, "at": self._time(at)}
        )

    def cancel_tasks(self, task_ids: Iterable[int], at: datetime) -> None:
        """Mark human tasks cancelled (the process went another way)."""
        task_ids = list(task_ids)
        if not task_ids:
            return
        stamp = self._time(at)
        self._cursor.executemany(self._sql["cancel_task"], [{"id": i, "at": stamp} for i in task_ids])

    def adopt_uploads(self, ids: Iterable[int], instance_id: int, user_id: int) -> None:
        """Link a user's own unlinked uploads to the instance their submission referenced them in."""
        rows = [{"id": i, "instance_id": instance_id, "user_id": user_id} for i in ids]
        if rows:
            self._cursor.executemany(self._sql["adopt_upload"], rows)

    def insert_tasks(self, rows: list[dict[str, Any]]) -> None:
        """Insert new READY human tasks (dicts of the insert's columns; `context_json` as JSON text)."""
        self._run_many("insert_task", rows, times=("created_at", "due_at"), documents=())

    def remake_tasks(self, rows: Mapping[int, dict[str, Any]]) -> None:
        """Rewrite open human tasks (by id) from rows shaped as for `insert_tasks`; claims are released."""
        keys = ("spec_id", "name", "process_id", "lane", "role_code", "unit_id", "assignee_id", "form")
        keys += ("instructions", "due_at", "context_json")
        remade = [{"id": task_id, **{k: row[k] for k in keys}} for task_id, row in rows.items()]
        self._run_many("remake_task", remade, times=("due_at",), documents=())

    def insert_events(self, rows: list[dict[str, Any]]) -> None:
        """Append history rows."""
        self._run_many("insert_event", rows, times=("at",), documents=("detail",))

    def insert_incidents(self, rows: list[dict[str, Any]]) -> None:
        """Record incidents."""
        self._run_many("insert_incident", rows, times=("created_at",), documents=())

    def expire(self, instance_id: int) -> None:
        """Expire ORM objects of this instance (and its tasks) that the session loaded before the writes."""
        for obj in list(self.session.identity_map.values()):
            if (isinstance(obj, ProcessInstance) and obj.id == instance_id) or (
                isinstance(obj, HumanTask) and obj.instance_id == instance_id
            ):
                self.session.expire(obj)

    # ------------------------------------------------------------------------- helpers

    def _instance(self, sql: str, params: Mapping[str, Any]) -> InstanceRecord | None:
        self._cursor.execute(sql, params)
        row = self._cursor.fetchone()
        return self._record(row) if row is not None else None

    def _record(self, row: Sequence[Any]) -> InstanceRecord:
        (
            id_, pv_id, process_id, status, unit_id, initiator_id, parent_id, title, project_id, stage,
            total_estimate, plan_year, started_at, updated_at, ended_at, next_wakeup_at, waiting,
            lock_version, version, version_name, content_hash, unit_code, unit_name, unit_short_name,
            username,
        ) = row  # fmt: skip
        record = InstanceRecord(
            id=id_,
            process_version_id=pv_id,
            process_id=process_id,
            status=status,
            unit_id=unit_id,
            initiator_id=initiator_id,
            parent_instance_id=parent_id,
            title=title,
            project_id=project_id,
            stage=stage,
            total_estimate=total_estimate,
            plan_year=plan_year,
            started_at=self._read_time(started_at),
            updated_at=self._read_time(updated_at),
            ended_at=self._read_time(ended_at),
            next_wakeup_at=self._read_time(next_wakeup_at),
            waiting_messages=(json.loads(waiting) if isinstance(waiting, str) else waiting) or [],
            lock_version=lock_version,
            version=VersionRef(pv_id, process_id, version, version_name, content_hash),
            unit_code=unit_code,
            unit_name=unit_name,
            unit_short_name=unit_short_name,
            initiator_username=username,
        )
        _remember_stored(record)
        return record

    def _run_many(
        self, name: str, rows: list[dict[str, Any]], times: tuple[str, ...], documents: tuple[str, ...]
    ) -> None:
        """Run one statement for each row, converting timestamps and JSON documents as the ORM stores them."""
        if not rows:
            return
        for row in rows:
            for key in times:
                row[key] = self._time(row[key])
            for key in documents:
                row[key] = _json(row[key])
        self._cursor.executemany(self._sql[name], rows)

    def _check_one_row(self, record: InstanceRecord) -> None:
        if self._cursor.rowcount != 1:
            raise Conflict("流程实例已被他人同时修改，请刷新后重试", {"instance_id": record.id})

    def _time(self, value: datetime | None) -> Any:
        """A timestamp as SQLAlchemy's `UTCDateTime` stores it on this database."""
        if value is None or self.postgres:
            return value
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(" ", "microseconds")  # SQLAlchemy's SQLite layout, always with micros

    def _read_time(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


_UNREAD = object()  # compares unequal to any value: a column not read is written


def _remember_stored(record: InstanceRecord) -> None:
    """Note the indexed columns' values as the row now holds them."""
    record.stored = {column: getattr(record, column) for column in _UPDATED_IF_CHANGED}


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
