"""The runtime's plain-SQL step path and the ORM read the same rows the same way (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from processes.errors import Conflict
from processes.store.models import HumanTask, InstanceEvent, ProcessInstance, TaskStatus, User
from processes.store.steps import StepStore
from tests.conftest import deploy
from tests.workflows import bundle, two_lanes


@pytest.fixture
def started(app, login):  # noqa: ANN001, ANN201
    """An instance of two_lanes started by jyj_jb, with its first task open."""
    deploy(login("admin"), bundle(two_lanes()))
    state = app.extensions["egovflow"]
    with state.sessions() as session:
        user = session.scalar(select(User).where(User.username == "jyj_jb"))
        data = {"amount": 12.5, "project_name": "智慧城管"}
        record = state.runtime.start(session, "two_lanes", data, initiator=user)
        session.commit()
    return state, record


def test_rows_written_by_the_step_path_read_back_through_the_orm(started) -> None:  # noqa: ANN001
    state, record = started
    with state.sessions() as session:
        instance = session.get(ProcessInstance, record.id)
        assert instance.status == "running" and instance.lock_version == record.lock_version
        assert instance.started_at == record.started_at and instance.started_at.tzinfo is not None
        assert instance.data_json["amount"] == 12.5 and instance.title == "智慧城管"
        assert instance.data_json["initiator"] == "jyj_jb"
        assert instance.element_state["two_lanes"]["active"] == ["fill"]
        assert instance.serializer_version.startswith("spiff-")
        task = session.scalars(select(HumanTask).where(HumanTask.instance_id == record.id)).one()
        assert (task.status, task.spec_id, task.role_code) == (TaskStatus.READY, "fill", "UNIT_OPERATOR")
        assert task.unit_id == instance.unit_id and task.created_at == record.started_at
        assert task.context_json["amount"] == 12.5
        events = session.scalars(select(InstanceEvent).where(InstanceEvent.instance_id == record.id)).all()
        assert [e.kind for e in events] == ["started"]
        assert events[0].detail["data"]["project_name"] == "智慧城管" and events[0].at.tzinfo is not None


def test_timestamps_compare_in_sql_the_way_the_orm_binds_them(started) -> None:  # noqa: ANN001
    state, record = started
    with state.sessions() as session:
        before = session.scalar(
            select(ProcessInstance.id).where(
                ProcessInstance.id == record.id, ProcessInstance.started_at < datetime(2100, 1, 1, tzinfo=UTC)
            )
        )
        after = session.scalar(
            select(ProcessInstance.id).where(
                ProcessInstance.id == record.id, ProcessInstance.started_at > record.started_at
            )
        )
    assert (before, after) == (record.id, None)


def test_a_stale_row_version_is_a_conflict_and_writes_nothing(started) -> None:  # noqa: ANN001
    state, record = started
    with state.sessions() as session:
        store = StepStore(session)
        locked = store.lock_instance(record.id)
        locked.lock_version -= 1  # as if another process had written the row since it was read
        with pytest.raises(Conflict):
            store.write_status(locked)
        session.rollback()
    with state.sessions() as session:
        assert session.get(ProcessInstance, record.id).lock_version == record.lock_version


class _StatementSpy:
    """A DB-API cursor that records the SQL it is given."""

    def __init__(self, cursor: object) -> None:
        self.cursor = cursor
        self.sent: list[str] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.cursor, name)

    def execute(self, sql: str, params: object = None) -> object:
        self.sent.append(sql)
        return self.cursor.execute(sql, params)


def test_indexed_columns_are_written_when_they_change_and_only_then(started) -> None:  # noqa: ANN001
    """An unchanged indexed column stays out of the UPDATE; a changed one, in any mix, is written."""
    state, record = started
    wakeup = datetime(2030, 5, 1, 8, 30, tzinfo=UTC)
    steps = [
        {},  # nothing indexed changed: state and row version only
        {"stage": "立项"},
        {"status": "waiting", "next_wakeup_at": wakeup},
        {"project_id": "LA-2030-0001", "stage": "建设", "next_wakeup_at": None},
    ]
    expected = {"status": "running", "stage": None, "project_id": None, "next_wakeup_at": None}
    for changes in steps:
        with state.sessions() as session:
            store = StepStore(session)
            locked = store.lock_instance(record.id)
            store._cursor = spy = _StatementSpy(store._cursor)
            for column, value in changes.items():
                setattr(locked, column, value)
            store.write_instance(locked, '{"state": 1}', "spiff-test")
            session.commit()
        expected.update(changes)
        written = spy.sent[-1].split(" WHERE ")[0]
        for column in ("status", "stage", "project_id", "next_wakeup_at"):
            assert (f"{column} =" in written) == (column in changes), (column, written)
        with state.sessions() as session:
            row = session.get(ProcessInstance, record.id)
            assert {c: getattr(row, c) for c in expected} == expected
            assert row.state_json == '{"state": 1}' and row.serializer_version == "spiff-test"


def test_orm_objects_loaded_before_a_step_are_refreshed_after_it(started, login) -> None:  # noqa: ANN001
    state, record = started
    with state.sessions() as session:
        user = session.scalar(select(User).where(User.username == "jyj_jb"))
        task = session.scalars(select(HumanTask).where(HumanTask.instance_id == record.id)).one()
        instance = session.get(ProcessInstance, record.id)
        assert task.status == TaskStatus.READY
        state.runtime.complete_task(session, task.id, user, {"decision": "APPROVE", "amount": 100})
        assert task.status == TaskStatus.COMPLETED and task.completed_by_id == user.id
        assert instance.lock_version == record.lock_version + 1
        session.commit()
