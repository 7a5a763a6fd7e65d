"""The timer worker: due instances advance exactly once, even with two workers racing."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import func, select, update

from processes.scheduler import tick
from processes.store.models import InstanceEvent, ProcessInstance
from tests.api.test_runtime_api import complete, my_tasks, start
from tests.conftest import deploy
from tests.workflows import bundle, timed


def test_two_workers_never_advance_the_same_instance_twice(app, login, clock) -> None:
    admin, operator = login("admin"), login("jyj_jb")
    deploy(admin, bundle(timed()))
    instances = [start(operator, "timed") for _ in range(12)]
    for task in my_tasks(operator):
        complete(operator, task["id"])  # each now waits on its one-month timer
    clock.advance(timedelta(days=40))
    state = app.extensions["egovflow"]
    fired = [0, 0]
    barrier = threading.Barrier(2)

    def work(i: int) -> None:
        barrier.wait()
        fired[i] = tick(state.sessions, state.runtime)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(fired) == len(instances)
    with state.sessions() as session:
        counts = dict(
            session.execute(
                select(InstanceEvent.instance_id, func.count())
                .where(InstanceEvent.kind == "timer_fired")
                .group_by(InstanceEvent.instance_id)
            ).all()
        )
    assert counts == {i["id"]: 1 for i in instances}
    assert len(my_tasks(operator)) == len(instances)
    assert tick(state.sessions, state.runtime) == 0


def test_an_instance_that_cannot_be_woken_does_not_hold_up_the_others(app, login, clock) -> None:
    admin, operator = login("admin"), login("jyj_jb")
    deploy(admin, bundle(timed()))
    broken, fine = start(operator, "timed"), start(operator, "timed")
    for task in my_tasks(operator):
        complete(operator, task["id"])
    clock.advance(timedelta(days=40))
    state = app.extensions["egovflow"]
    state.runtime.workflows.clear()  # the next wake restores from the row
    with state.sessions() as session:  # a row whose state cannot be read back (the first due of the two)
        session.execute(
            update(ProcessInstance).where(ProcessInstance.id == broken["id"]).values(state_json="{")
        )
        session.commit()
    assert tick(state.sessions, state.runtime) == 1  # logged and skipped; the other instance still moved
    shown = {i["id"]: i for i in operator.get("/api/v1/instances").get_json()["items"]}
    assert shown[fine["id"]]["status"] == "running"
    assert [t["name"] for t in my_tasks(operator)] == ["提交验收申请"]
    with state.sessions() as session:
        still_due = session.get(ProcessInstance, broken["id"]).next_wakeup_at
    assert still_due is not None  # untouched: tried again at the next tick
