"""Engine benchmark (`make bench`): prints figures, asserts nothing about time.

(a) in-memory SpiffWorkflow floor per user-task completion (linear diagram: a script task and 10 user tasks)
(b) the runtime on SQLite per completion (lock, restore-or-cache, run, projections, history, commit)
    (a) and (b) are taken in alternating rounds: each figure is its fastest round's median (as timeit takes
    the minimum: on a shared machine a slow round measures the neighbours, not the code), and b/a is the
    median over rounds of b/a within a round, where both ran under the same conditions. Alongside:
    (b0) an empty SQLAlchemy session transaction on the same database (the framework's own floor), and
    where a completion's time goes (engine, state dump, snapshot, SQL, begin/commit, the rest).
    (b*) the floor of any durable step, in rounds alternating with (a): the engine step, the snapshot, the
    whole-state dump and one bare sqlite3 transaction (no SQLAlchemy) that locks, writes the instance row,
    closes and opens task rows and appends an event; and the same without writing the state.
(c) the HTTP API under gunicorn (1 worker, SQLite) per completion (median, p95), and script-only instances/s
(d) one step on an instance whose looped subprocess has run 200 times, against the same step at iteration 1
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from processes import engine  # noqa: E402
from processes.store.models import HumanTask, TaskStatus, User  # noqa: E402
from service.auth import new_token  # noqa: E402
from tests.conftest import make_app  # noqa: E402
from tests.workflows import linear, script_only  # noqa: E402

ROUNDS = 7
RUNS_A = 30  # instances per round
INSTANCES_B = 5  # instances per round
INSTANCES_C = 30
SCRIPT_ONLY_C = 200
LOOP_ITERATIONS = 205

LOOPED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://egovflow/bench">
  <bpmn:process id="looped" name="年度循环" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="建设单位经办人">
      <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>init</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>yearly</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="init" name="初始化">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>year = 2000</bpmn:script></bpmn:scriptTask>
    <bpmn:subProcess id="yearly" name="年度填报">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:standardLoopCharacteristics><bpmn:loopCondition>year &lt; 2400</bpmn:loopCondition>
      </bpmn:standardLoopCharacteristics>
      <bpmn:startEvent id="s_start"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:userTask id="file" name="填报">
        <bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing></bpmn:userTask>
      <bpmn:scriptTask id="next_year" name="下一年">
        <bpmn:incoming>g2</bpmn:incoming><bpmn:outgoing>g3</bpmn:outgoing>
        <bpmn:script>year = year + 1</bpmn:script></bpmn:scriptTask>
      <bpmn:endEvent id="s_end"><bpmn:incoming>g3</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="g1" sourceRef="s_start" targetRef="file"/>
      <bpmn:sequenceFlow id="g2" sourceRef="file" targetRef="next_year"/>
      <bpmn:sequenceFlow id="g3" sourceRef="next_year" targetRef="s_end"/>
    </bpmn:subProcess>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="init"/>
    <bpmn:sequenceFlow id="f2" sourceRef="init" targetRef="yearly"/>
    <bpmn:sequenceFlow id="f3" sourceRef="yearly" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def ms(seconds: float) -> float:
    """Seconds to milliseconds, rounded for printing."""
    return round(seconds * 1000, 3)


def p95(values: list[float]) -> float:
    """The 95th percentile."""
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


@functools.cache
def linear_specs() -> tuple:
    """The benchmark diagram's parsed specs (spec, subprocess specs), parsed once."""
    bundle, _ = engine.parse_bundle({"linear.bpmn": linear().encode()})
    return bundle.specs("linear")


def bench_memory() -> list[float]:
    """(a) Per-completion times of the bare engine, sandbox included, no database."""
    spec, subs = linear_specs()
    eng = engine.StepEngine()
    times = []
    for _ in range(RUNS_A):
        wf = engine.new_workflow(spec, subs, {})
        engine.run(wf, eng)
        while tasks := engine.ready_user_tasks(wf):
            t0 = time.perf_counter()
            engine.complete_user_task(wf, tasks[0].guid, {}, eng)
            times.append(time.perf_counter() - t0)
    return times


def deploy(app, files: dict[str, str]) -> None:  # noqa: ANN001
    """Deploy a bundle directly through the catalog."""
    from processes import catalog

    state = app.extensions["egovflow"]
    with state.sessions() as session:
        catalog.deploy(
            session,
            {k: v.encode() for k, v in files.items()},
            state.runtime.handlers,
            now=state.runtime.clock.now(),
        )
        session.commit()


def complete_all(app, instance_id: int, user: User, collect: list[float] | None = None) -> None:  # noqa: ANN001
    """Complete every open task of an instance through the runtime, timing each transaction.

    The user was authenticated (loaded) beforehand, as a request's user is; the runtime reads its id
    and unit only, so the timed part is the session, the runtime's work and the commit.
    """
    from sqlalchemy import select

    state = app.extensions["egovflow"]
    while True:
        with state.sessions() as session:
            task_id = session.scalar(
                select(HumanTask.id).where(
                    HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.READY
                )
            )
        if task_id is None:
            return
        t0 = time.perf_counter()
        with state.sessions() as session:
            state.runtime.complete_task(session, task_id, user, {})
            session.commit()
        if collect is not None:
            collect.append(time.perf_counter() - t0)


def bench_runtime(app) -> list[float]:  # noqa: ANN001
    """(b) Per-completion times through the runtime on SQLite."""
    from sqlalchemy import select

    state = app.extensions["egovflow"]
    with state.sessions() as session:
        user = session.scalar(select(User).where(User.username == "jyj_jb"))
        session.expunge(user)
    times: list[float] = []
    for _ in range(INSTANCES_B):
        with state.sessions() as session:
            instance = state.runtime.start(session, "linear", {}, initiator=session.merge(user, load=False))
            session.commit()
        complete_all(app, instance.id, user, times)
    return times


def bench_transaction(app) -> float:  # noqa: ANN001
    """(b0) An empty session transaction on the same database: BEGIN IMMEDIATE, one read, COMMIT."""
    from sqlalchemy import text

    state = app.extensions["egovflow"]
    times = []
    for _ in range(500):
        t0 = time.perf_counter()
        with state.sessions() as session:
            session.execute(text("SELECT 1"))
            session.commit()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


_FLOOR_SCHEMA = (
    "CREATE TABLE inst (id INTEGER PRIMARY KEY, status TEXT, lock_version INT, state TEXT, data TEXT,"
    " at TEXT)",
    "CREATE TABLE task (id INTEGER PRIMARY KEY, instance_id INT, guid TEXT UNIQUE, status TEXT, name TEXT)",
    "CREATE INDEX task_open ON task (instance_id, status)",
    "CREATE TABLE event (id INTEGER PRIMARY KEY, instance_id INT, at TEXT, kind TEXT, detail TEXT)",
    "CREATE INDEX event_instance ON event (instance_id)",
)


def floor_database(path: str) -> sqlite3.Connection:
    """A bare sqlite3 database (WAL, synchronous=NORMAL, as the app's) with the step's few tables."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    for statement in _FLOOR_SCHEMA:
        db.execute(statement)
    return db


def bench_floor(db: sqlite3.Connection, write_state: bool) -> list[float]:
    """(b*) Per-completion times of a durable step with nothing but SpiffWorkflow and sqlite3."""
    spec, subs = linear_specs()
    eng = engine.StepEngine()
    times = []
    for _ in range(INSTANCES_B):
        wf = engine.new_workflow(spec, subs, {})
        engine.run(wf, eng)
        instance_id = db.execute(
            "INSERT INTO inst (status, lock_version, state, data, at) VALUES ('running', 1, '{}', '{}', '')"
        ).lastrowid
        while tasks := engine.ready_user_tasks(wf):
            t0 = time.perf_counter()
            db.execute("BEGIN IMMEDIATE")
            db.execute("SELECT status, lock_version FROM inst WHERE id = ?", (instance_id,)).fetchone()
            engine.complete_user_task(wf, tasks[0].guid, {}, eng)
            snap = engine.snapshot(wf)
            state = engine.dump_state(wf) if write_state else "{}"
            db.execute(
                "UPDATE inst SET status = 'running', lock_version = lock_version + 1, state = ?, data = ?, "
                "at = ? WHERE id = ?",
                (state, json.dumps(snap.data), "now", instance_id),
            )
            db.execute(
                "UPDATE task SET status = 'completed' WHERE instance_id = ? AND guid = ?",
                (instance_id, tasks[0].guid),
            )
            for view in snap.ready:
                db.execute(
                    "INSERT INTO task (instance_id, guid, status, name) VALUES (?, ?, 'ready', ?)",
                    (instance_id, view.guid, view.name),
                )
            db.execute(
                "INSERT INTO event (instance_id, at, kind, detail) VALUES (?, 'now', 'task_completed', '{}')",
                (instance_id,),
            )
            db.execute("COMMIT")
            times.append(time.perf_counter() - t0)
    return times


def breakdown(app) -> dict[str, float]:  # noqa: ANN001
    """Where a completion's time goes: median microseconds per part, timed by wrapping the parts."""
    from sqlalchemy import select

    from processes import runtime
    from processes.store import steps

    spent: dict[str, float] = {}
    originals: list[tuple[object, str, object]] = []

    def wrap(owner: object, name: str, part: str) -> None:
        original = getattr(owner, name)
        originals.append((owner, name, original))

        @functools.wraps(original)
        def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[part] = spent.get(part, 0.0) + time.perf_counter() - t0

        setattr(owner, name, timed)

    wrap(engine, "complete_user_task", "engine step")
    wrap(engine, "dump_state", "state dump")
    wrap(engine, "snapshot", "snapshot")
    for name in (
        "__init__", "lock_task", "complete_task", "write_instance",
        "open_tasks", "cancel_tasks", "lane_roles", "insert_tasks", "insert_events",
    ):  # fmt: skip
        wrap(steps.StepStore, name, "SQL (incl. BEGIN)")
    state = app.extensions["egovflow"]
    with state.sessions() as session:
        user = session.scalar(select(User).where(User.username == "jyj_jb"))
        session.expunge(user)
    parts: dict[str, list[float]] = {}
    try:
        for _ in range(INSTANCES_B):
            with state.sessions() as session:
                instance = state.runtime.start(session, "linear", {}, initiator=session.merge(user))
                session.commit()
            while True:
                with state.sessions() as session:
                    task_id = session.scalar(
                        select(HumanTask.id).where(
                            HumanTask.instance_id == instance.id, HumanTask.status == TaskStatus.READY
                        )
                    )
                if task_id is None:
                    break
                spent.clear()
                t0 = time.perf_counter()
                session = state.sessions()
                state.runtime.complete_task(session, task_id, user, {})
                t1 = time.perf_counter()
                session.commit()
                session.close()
                t2 = time.perf_counter()
                spent["COMMIT"] = t2 - t1
                spent["rest of the runtime"] = (t2 - t0) - sum(spent.values())
                for part, seconds in spent.items():
                    parts.setdefault(part, []).append(seconds)
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
        del runtime
    return {part: statistics.median(values) for part, values in parts.items()}


def bench_loop(app) -> tuple[float, float, int]:  # noqa: ANN001
    """(d) A step at loop iteration ~200 against the same step at iteration 1–10; also the stored size.

    The old instance is first run to iteration 195 untimed; then steps on a fresh instance and on the old
    one alternate, so both are timed under the same machine conditions.
    """
    from sqlalchemy import select

    from processes.store.models import ProcessInstance

    state = app.extensions["egovflow"]
    deploy(app, {"looped.bpmn": LOOPED})
    with state.sessions() as session:
        user = session.scalar(select(User).where(User.username == "jyj_jb"))
        session.expunge(user)

    def started() -> int:
        with state.sessions() as session:
            instance = state.runtime.start(session, "looped", {}, initiator=session.merge(user))
            session.commit()
        return instance.id

    def step(instance_id: int) -> float:
        with state.sessions() as session:
            task_id = session.scalar(
                select(HumanTask.id).where(
                    HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.READY
                )
            )
        t0 = time.perf_counter()
        with state.sessions() as session:
            state.runtime.complete_task(session, task_id, user, {})
            session.commit()
        return time.perf_counter() - t0

    old = started()
    for _ in range(LOOP_ITERATIONS - 10):
        step(old)
    fresh = started()
    first, late = [], []
    for _ in range(10):
        first.append(step(fresh))
        late.append(step(old))
    with state.sessions() as session:
        size = len(session.scalar(select(ProcessInstance.state_json).where(ProcessInstance.id == old)))
    return statistics.median(first), statistics.median(late), size


def free_port() -> int:
    """An unused TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_http(url: str) -> tuple[float, float, float]:
    """(c) Task completion over HTTP under gunicorn, and script-only instances per second."""
    app = make_app(url)
    deploy(app, {"linear.bpmn": linear(), "script_only.bpmn": script_only()})
    state = app.extensions["egovflow"]
    from sqlalchemy import select

    with state.sessions() as session:
        user = session.scalar(select(User).where(User.username == "jyj_jb"))
        token, secret = new_token(user, "bench")
        session.add(token)
        session.commit()
    state.engine.dispose()
    port = free_port()
    env = dict(
        os.environ, EGOVFLOW_DATABASE_URL=url, EGOVFLOW_SECRET_KEY="bench", EGOVFLOW_EMBEDDED_WORKER="0"
    )
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--config",
            str(ROOT / "service/gunicorn_conf.py"),
            "--access-logfile",
            "/dev/null",
            "--log-level",
            "warning",
            "service:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        conn = _wait_for(port)
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}

        def call(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"{}")

        times = []
        for _ in range(INSTANCES_C):
            status, started = call("POST", "/api/v1/instances", {"process_id": "linear", "data": {}})
            assert status == 201, started
            status, listed = call("GET", "/api/v1/tasks?scope=all&page_size=1")
            task_id = listed["items"][0]["id"]
            while task_id is not None:
                t0 = time.perf_counter()
                status, done = call("POST", f"/api/v1/tasks/{task_id}/complete", {"data": {}})
                times.append(time.perf_counter() - t0)
                assert status == 200, done
                task_id = done["next_task_id"]
        starts = []
        t_all = time.perf_counter()
        for _ in range(SCRIPT_ONLY_C):
            t0 = time.perf_counter()
            status, body = call("POST", "/api/v1/instances", {"process_id": "script_only", "data": {}})
            starts.append(time.perf_counter() - t0)
            assert status == 201 and body["status"] == "complete", body
        rate = SCRIPT_ONLY_C / (time.perf_counter() - t_all)
        print(
            f"    script-only instance over HTTP: median {ms(statistics.median(starts))} ms, "
            f"p95 {ms(p95(starts))} ms"
        )
        return statistics.median(times), p95(times), rate
    finally:
        server.terminate()
        server.wait(timeout=10)


def _wait_for(port: int) -> http.client.HTTPConnection:
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/api/openapi.json")
            conn.getresponse().read()
            return conn
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def main() -> None:
    """Run every benchmark and print the figures and ratios."""
    import logging

    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(f"sqlite:///{tmp}/b.db")
        deploy(app, {"linear.bpmn": linear()})
        bench_runtime(app)  # warm up: specs parsed, statements prepared
        a_rounds: list[float] = []
        b_rounds: list[float] = []
        for _ in range(ROUNDS):
            a_rounds.append(statistics.median(bench_memory()))
            b_rounds.append(statistics.median(bench_runtime(app)))
        a, b = min(a_rounds), min(b_rounds)
        ratio = statistics.median(y / x for x, y in zip(a_rounds, b_rounds, strict=True))
        b0 = bench_transaction(app)
        floor_db = floor_database(f"{tmp}/floor.db")
        bench_floor(floor_db, True)  # warm up
        floors: list[tuple[float, float, float]] = []
        for _ in range(ROUNDS):
            a_round = statistics.median(bench_memory())
            with_state = statistics.median(bench_floor(floor_db, True))
            without_state = statistics.median(bench_floor(floor_db, False))
            floors.append((a_round, with_state, without_state))
        floor_db.close()
        spread = f"rounds {ms(min(a_rounds))}–{ms(max(a_rounds))} ms"
        print(f"(a) in-memory SpiffWorkflow floor per completion: {ms(a)} ms ({spread})")
        spread = f"rounds {ms(min(b_rounds))}–{ms(max(b_rounds))} ms"
        print(f"(b) runtime on SQLite per completion:              {ms(b)} ms ({spread})")
        print(f"    (b0) an empty SQLAlchemy transaction:          {ms(b0)} ms ({b0 / a:.1f} × a)")
        whole = statistics.median(w / x for x, w, _ in floors)
        bare = statistics.median(n / x for x, _, n in floors)
        print(
            f"    (b*) a durable step with SpiffWorkflow and bare sqlite3: {whole:.2f} × a writing the whole "
            f"state, {bare:.2f} × a without it (median of rounds)"
        )
        parts = breakdown(app)
        total = sum(parts.values())
        print("    where (b) goes (median µs per part; parts timed separately, so they need not add up):")
        for part, seconds in sorted(parts.items(), key=lambda kv: -kv[1]):
            print(f"      {part:22s} {seconds * 1e6:7.0f}  ({seconds / total:.0%})")
        first, late, size = bench_loop(app)
        print(
            f"(d) looped subprocess step: iteration 1–10 {ms(first)} ms, iteration 196–205 {ms(late)} ms "
            f"(stored state {size // 1024} KB)"
        )
        c_med, c_p95, rate = bench_http(f"sqlite:///{tmp}/c.db")
        print(f"(c) HTTP under gunicorn per completion:            median {ms(c_med)} ms, p95 {ms(c_p95)} ms")
        print(f"    script-only instances started and finished over HTTP: {rate:.1f} /s")
        print(f"ratios: b/a = {ratio:.2f} (within rounds)   c/a = {c_med / a:.2f}   d = {late / first:.2f}")


if __name__ == "__main__":
    main()
