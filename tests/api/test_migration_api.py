"""Moving running instances onto a new version of their process, through the HTTP API."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.api.test_runtime_api import complete, my_tasks, start, task_named
from tests.conftest import ROOT, ApiClient, deploy
from tests.workflows import bundle, steps


@pytest.fixture
def admin(login) -> ApiClient:  # noqa: ANN001
    return login("admin")


def deployed(admin: ApiClient, xml: str) -> int:
    """Deploy one diagram (with the test form) and return the new version number."""
    response = deploy(admin, bundle(xml))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["versions"][0]["version"]


def shown(client: ApiClient, instance_id: int) -> dict:
    """The instance as the API shows it."""
    response = client.get(f"/api/v1/instances/{instance_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def migrate(admin: ApiClient, instance_id: int, **body: object):  # noqa: ANN201
    """POST the migrate action."""
    return admin.post(f"/api/v1/instances/{instance_id}/migrate", json=body)


def test_a_dry_run_only_reports_then_the_instance_moves_and_follows_the_new_diagram(admin, login) -> None:
    assert deployed(admin, steps("p", "a", "b", "c")) == 1
    operator = login("jyj_jb")
    instance = start(operator, "p")
    assert complete(operator, task_named(operator, "步骤a")["id"]).status_code == 200
    held = task_named(operator, "步骤b")
    assert operator.post(f"/api/v1/tasks/{held['id']}/claim").status_code == 200
    assert deployed(admin, steps("p", "a", "b", "b2", "c")) == 2

    dry = migrate(admin, instance["id"], dry_run=True)
    assert dry.status_code == 200, dry.get_json()
    report = dry.get_json()
    assert (report["from_version"], report["to_version"], report["migrated"]) == (1, 2, False)
    assert report["added"] == ["步骤b2(b2)"] and report["problems"] == [] and report["refreshed"] == 0
    before = shown(admin, instance["id"])
    assert before["version"] == 1 and not any(e["kind"] == "migrated" for e in before["history"])

    moved = migrate(admin, instance["id"])
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["migrated"] is True
    after = shown(admin, instance["id"])
    assert after["version"] == 2
    event = [e for e in after["history"] if e["kind"] == "migrated"]
    assert (
        len(event) == 1 and event[0]["detail"]["to_version"] == 2 and event[0]["user"]["username"] == "admin"
    )
    # The open task kept its row, its claim and its data: nothing about it changed.
    kept = task_named(operator, "步骤b")
    assert kept["id"] == held["id"] and kept["claimed_by"]["username"] == "jyj_jb"
    assert complete(operator, kept["id"]).json["next_task_id"] == task_named(operator, "步骤b2")["id"]
    assert complete(operator, task_named(operator, "步骤b2")["id"]).status_code == 200
    assert complete(operator, task_named(operator, "步骤c")["id"]).status_code == 200
    assert shown(admin, instance["id"])["status"] == "complete"

    again = migrate(admin, instance["id"], version=1)
    assert again.status_code == 409 and "实例已结束" in again.get_json()["message"]


def test_a_move_that_would_lose_finished_work_is_refused_and_changes_nothing(admin, login) -> None:
    deployed(admin, steps("p", "a", "b", "c"))
    operator = login("jyj_jb")
    instance = start(operator, "p")
    complete(operator, task_named(operator, "步骤a")["id"])
    open_before = task_named(operator, "步骤b")
    deployed(admin, steps("p", "b", "c"))  # 步骤a, already done, is gone from version 2

    refused = migrate(admin, instance["id"])
    assert refused.status_code == 409
    body = refused.get_json()
    assert body["code"] == "conflict" and "步骤a(a)" in body["message"] and "已办结" in body["message"]
    assert body["detail"]["problems"] == ["环节「步骤a(a)」已办结，新版本中已删除"]
    after = shown(admin, instance["id"])
    assert after["version"] == 1 and not any(e["kind"] == "migrated" for e in after["history"])
    assert task_named(operator, "步骤b")["id"] == open_before["id"]
    assert complete(operator, open_before["id"]).status_code == 200  # still runs on version 1
    assert [t["name"] for t in my_tasks(operator)] == ["步骤c"]

    same = migrate(admin, instance["id"], version=1)
    assert same.status_code == 409 and "实例已在第 1 版" in same.get_json()["message"]
    assert migrate(admin, instance["id"], version=9).status_code == 404


def test_an_open_task_whose_form_changed_takes_the_new_form_and_its_claim_lapses(admin, login) -> None:
    deployed(admin, steps("p", "a", "b"))
    operator = login("jyj_jb")
    instance = start(operator, "p")
    complete(operator, task_named(operator, "步骤a")["id"])
    old = task_named(operator, "步骤b")
    assert operator.post(f"/api/v1/tasks/{old['id']}/claim").status_code == 200
    assert operator.get(f"/api/v1/tasks/{old['id']}").get_json()["schema"] is None
    deployed(admin, steps("p", "a", "b", formed=("b",)))

    report = migrate(admin, instance["id"]).get_json()
    assert report["migrated"] and report["refreshed"] == 1 and report["changed"] == ["步骤b(b)"]
    new = task_named(operator, "步骤b")
    assert new["id"] == old["id"] and new["claimed_by"] is None and new["form"] == "approval.schema.json"
    detail = operator.get(f"/api/v1/tasks/{new['id']}").get_json()
    assert detail["schema"]["title"] == "测试审批表"
    refused = complete(operator, new["id"], {})
    assert refused.status_code == 422 and "decision" in refused.get_json()["errors"]
    assert complete(operator, new["id"], {"decision": "APPROVE", "amount": 1}).status_code == 200
    assert shown(admin, instance["id"])["status"] == "complete"


def test_a_failing_step_is_fixed_by_migrating_to_a_corrected_version_and_retrying(admin, login) -> None:
    deployed(admin, steps("p", "a", script="ratio = 1 / 0"))
    operator = login("jyj_jb")
    instance = start(operator, "p")
    assert instance["status"] == "error"
    deployed(admin, steps("p", "a", script="ratio = 1 / 2"))

    moved = migrate(admin, instance["id"])
    assert moved.status_code == 200 and moved.get_json()["changed"] == ["calc"]
    assert shown(admin, instance["id"])["status"] == "error"  # moved, and still waiting for the retry
    retried = admin.post(f"/api/v1/instances/{instance['id']}/retry")
    assert retried.status_code == 200, retried.get_json()
    assert shown(admin, instance["id"])["data"]["ratio"] == 0.5
    assert complete(operator, task_named(operator, "步骤a")["id"]).status_code == 200
    assert shown(admin, instance["id"])["status"] == "complete"


def test_only_admins_migrate(admin, login) -> None:
    deployed(admin, steps("p", "a"))
    operator = login("jyj_jb")
    instance = start(operator, "p")
    assert migrate(operator, instance["id"], dry_run=True).status_code == 403
    assert operator.post("/api/v1/processes/p/migrations", json={"dry_run": True}).status_code == 403


def test_bulk_migration_moves_what_can_move_and_reports_the_rest(admin, login) -> None:
    deployed(admin, steps("p", "a", "b", "c"))
    operator = login("jyj_jb")
    at_a = start(operator, "p")
    at_b = start(operator, "p")
    complete(operator, [t for t in my_tasks(operator) if t["instance_id"] == at_b["id"]][0]["id"])
    ended = start(operator, "p")
    ending = admin.post(f"/api/v1/instances/{ended['id']}/terminate", json={"reason": "测试结束"})
    assert ending.status_code == 200
    deployed(admin, steps("p", "a", "c"))  # 步骤b is gone: fine ahead of a task, not under one

    dry = admin.post("/api/v1/processes/p/migrations", json={"dry_run": True})
    assert dry.status_code == 200, dry.get_json()
    body = dry.get_json()
    assert (body["to_version"], body["migrated"], body["refused"], body["remaining"]) == (2, 1, 1, 0)
    by_id = {item["instance_id"]: item for item in body["items"]}
    assert set(by_id) == {at_a["id"], at_b["id"]}  # the terminated one is not a candidate
    assert by_id[at_a["id"]]["removed"] == ["步骤b(b)"] and by_id[at_a["id"]]["problems"] == []
    assert by_id[at_b["id"]]["problems"] == ["环节「步骤b(b)」正在进行，新版本中已删除"]
    assert shown(admin, at_a["id"])["version"] == 1

    only = admin.post("/api/v1/processes/p/migrations", json={"instance_ids": [at_b["id"]], "dry_run": True})
    assert [i["instance_id"] for i in only.get_json()["items"]] == [at_b["id"]]
    none = admin.post("/api/v1/processes/p/migrations", json={"from_version": 2, "dry_run": True})
    assert none.get_json()["items"] == []

    done = admin.post("/api/v1/processes/p/migrations", json={}).get_json()
    assert (done["migrated"], done["refused"]) == (1, 1)
    on_v1 = admin.get("/api/v1/instances?process_id=p&version=1").get_json()["items"]
    assert sorted(i["id"] for i in on_v1) == sorted([at_b["id"], ended["id"]])
    assert [i["id"] for i in admin.get("/api/v1/instances?process_id=p&version=2").get_json()["items"]] == [
        at_a["id"]
    ]
    versions_page = admin.get("/admin/processes/p").get_data(as_text=True)
    assert "/instances?process_id=p&amp;version=1" in versions_page
    assert shown(admin, at_a["id"])["version"] == 2
    assert shown(admin, at_b["id"])["version"] == 1
    complete(operator, [t for t in my_tasks(operator) if t["instance_id"] == at_a["id"]][0]["id"])
    assert [t["name"] for t in my_tasks(operator) if t["instance_id"] == at_a["id"]] == ["步骤c"]
    missing = admin.post("/api/v1/processes/nope/migrations", json={})
    assert missing.status_code == 404


def test_a_lifecycle_instance_moves_when_a_called_stage_diagram_changes(app, admin, login) -> None:
    from processes import catalog

    state = app.extensions["egovflow"]
    files = catalog.collect_files([ROOT / "bpmn"], ROOT / "forms")
    with state.sessions() as session:
        catalog.deploy(session, files, state.runtime.handlers, now=state.runtime.clock.now())
        session.commit()
    operator = login("wjw_jb")
    instance = start(operator, "lifecycle")
    first = task_named(operator, "填报项目申报")
    edited = files["declaration.bpmn"].replace(
        'name="填报项目申报"'.encode(),
        'name="填报项目申报（2026版）"'.encode(),
    )
    assert edited != files["declaration.bpmn"]
    with state.sessions() as session:
        versions = catalog.deploy(
            session,
            {**files, "declaration.bpmn": edited},
            state.runtime.handlers,
            now=state.runtime.clock.now(),
        )
        session.commit()
    assert {v.process_id for v in versions} >= {"lifecycle", "declaration"}

    report = migrate(admin, instance["id"]).get_json()
    assert report["migrated"] and report["refreshed"] == 1, report
    assert report["changed"] == ["填报项目申报（2026版）(fill_declaration)"]
    renamed = task_named(operator, "填报项目申报（2026版）")
    assert renamed["id"] == first["id"] and shown(admin, instance["id"])["version"] == 2


def test_the_cli_migrates_a_process_and_exits_1_when_an_instance_cannot_move(db_url, admin, login) -> None:
    from click.testing import CliRunner

    from service.cli import main

    deployed(admin, steps("p", "a", "b"))
    operator = login("jyj_jb")
    waiting = start(operator, "p")
    deployed(admin, steps("p", "a", "b", "c"))
    env = {"EGOVFLOW_DATABASE_URL": db_url, "EGOVFLOW_SECRET_KEY": "cli-test"}

    dry = CliRunner().invoke(main, ["migrate", "p", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert f"#{waiting['id']} 第 1 版 → 第 2 版  可迁移  新增: 步骤c(c)" in dry.output
    assert shown(admin, waiting["id"])["version"] == 1

    done = CliRunner().invoke(main, ["migrate", "p"], env=env)
    assert done.exit_code == 0 and "p: 已迁移 1 个，不能迁移 0 个" in done.output
    assert shown(admin, waiting["id"])["version"] == 2

    back = CliRunner().invoke(main, ["migrate", "p", "--to", "1"], env=env)
    assert back.exit_code == 0 and "已迁移 1 个" in back.output  # moving back is allowed
    complete(operator, task_named(operator, "步骤a")["id"])
    deployed(admin, steps("p", "b"))  # version 3 drops 步骤a, which is done
    stuck = CliRunner().invoke(main, ["migrate", "p"], env=env)
    assert stuck.exit_code == 1 and "不能迁移: 环节「步骤a(a)」已办结，新版本中已删除" in stuck.output
    unknown = CliRunner().invoke(main, ["migrate", "nope"], env=env)
    assert unknown.exit_code == 1 and "流程 nope 不存在" in unknown.output


def test_bulk_migration_can_take_only_the_instances_waiting_at_one_step(admin, login) -> None:
    deployed(admin, steps("p", "a", "b"))
    operator = login("jyj_jb")
    at_a = start(operator, "p")
    at_b = start(operator, "p")
    complete(operator, [t for t in my_tasks(operator) if t["instance_id"] == at_b["id"]][0]["id"])
    deployed(admin, steps("p", "a", "b", "c"))

    only_b = admin.post("/api/v1/processes/p/migrations", json={"at_task": "b"}).get_json()
    assert [i["instance_id"] for i in only_b["items"]] == [at_b["id"]] and only_b["migrated"] == 1
    assert shown(admin, at_a["id"])["version"] == 1 and shown(admin, at_b["id"])["version"] == 2
    page = admin.get("/admin/processes/p").get_data(as_text=True)
    assert '<option value="a">步骤a（1 个实例）</option>' in page and 'value="b"' not in page
    bad = admin.post("/api/v1/processes/p/migrations", json={"at_task": ""})
    assert bad.status_code == 422 and "at_task" in bad.get_json()["errors"]


def test_every_demo_project_moves_onto_a_revised_lifecycle_and_goes_on(app, admin, login, clock) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import select

    from processes import catalog
    from processes.scenarios import run_demo
    from processes.scheduler import tick
    from processes.store.models import HumanTask

    state = app.extensions["egovflow"]
    files = catalog.collect_files([ROOT / "bpmn"], ROOT / "forms")
    with state.sessions() as session:
        catalog.deploy(session, files, state.runtime.handlers, now=clock.now())
        session.commit()
    demo = ROOT / "processes" / "demo" / "projects.yaml"
    assert run_demo(demo, state.sessions, state.engine, bpmn_dir=ROOT / "bpmn", forms_dir=ROOT / "forms").ok
    renames = {
        # a yearly loop waiting on a timer; five parallel scoring tasks; one plain open task
        "om_annual.bpmn": ('name="年度运维备案"', 'name="年度运维备案（修订）"'),
        "expert_review.bpmn": ('name="专家评审打分"', 'name="专家评审打分（修订）"'),
        "construction.bpmn": ('name="采购与合同签订"', 'name="采购与合同签订（修订）"'),
    }
    revised = dict(files)
    for name, (old, new) in renames.items():
        revised[name] = files[name].replace(old.encode(), new.encode())
        assert revised[name] != files[name]
    with state.sessions() as session:
        catalog.deploy(session, revised, state.runtime.handlers, now=clock.now())
        session.commit()

    moved = admin.post("/api/v1/processes/lifecycle/migrations", json={}).get_json()
    assert (moved["migrated"], moved["refused"], len(moved["items"])) == (6, 0, 6), moved
    assert sorted(i["refreshed"] for i in moved["items"]) == [0, 0, 0, 0, 1, 5]
    with state.sessions() as session:
        names = list(session.scalars(select(HumanTask.name).where(HumanTask.status == "ready")))
    assert names.count("专家评审打分（修订）") == 5 and "采购与合同签订（修订）" in names
    assert "专家评审打分" not in names and "采购与合同签订" not in names

    # The project in 运维 waits for next year's filing window; the timer still fires then, into the new step.
    stages = {i["instance_id"]: shown(admin, i["instance_id"])["stage"] for i in moved["items"]}
    operating = [instance_id for instance_id, stage in stages.items() if stage == "运维"]
    assert len(operating) == 1
    due = shown(admin, operating[0])["next_wakeup_at"]
    clock.set(datetime.fromisoformat(due).astimezone(UTC) + timedelta(hours=1))
    tick(state.sessions, state.runtime)
    filing = [t for t in my_tasks(login("jyj_jb")) if t["instance_id"] == operating[0]]
    assert [t["name"] for t in filing] == ["年度运维备案（修订）"]


def test_a_move_racing_a_completion_leaves_one_consistent_outcome(admin, login) -> None:
    import threading

    deployed(admin, steps("p", "a", "b"))
    operator = login("jyj_jb")
    instance = start(operator, "p")
    task = task_named(operator, "步骤a")
    deployed(admin, steps("p", "a", "a2", "b"))
    mover, worker = login("admin"), login("jyj_jb")
    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def move() -> None:
        barrier.wait()
        results["move"] = migrate(mover, instance["id"])

    def work() -> None:
        barrier.wait()
        results["work"] = complete(worker, task["id"])

    threads = [threading.Thread(target=move), threading.Thread(target=work)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["move"].status_code == 200 and results["work"].status_code == 200
    # The instance lock orders the two. Moved first, 步骤a then leads to the added 步骤a2; completed first,
    # 步骤b was already open when the instance moved, so a2 (inserted before it) is not reached.
    assert shown(admin, instance["id"])["version"] == 2
    open_names = [t["name"] for t in my_tasks(operator) if t["instance_id"] == instance["id"]]
    history = [e["kind"] for e in shown(admin, instance["id"])["history"]]
    moved_first = history.index("migrated") < history.index("task_completed")
    assert open_names == (["步骤a2"] if moved_first else ["步骤b"])


def test_a_step_added_before_the_current_one_is_not_reached(admin, login) -> None:
    deployed(admin, steps("p", "a", "b"))
    operator = login("jyj_jb")
    instance = start(operator, "p")
    complete(operator, task_named(operator, "步骤a")["id"])
    deployed(admin, steps("p", "a", "a2", "b"))
    report = migrate(admin, instance["id"]).get_json()
    assert report["migrated"] and report["added"] == ["步骤a2(a2)"]
    complete(operator, task_named(operator, "步骤b")["id"])
    assert shown(admin, instance["id"])["status"] == "complete"


def test_a_moved_task_keeps_the_deadline_counted_from_its_arrival(admin, login, clock) -> None:  # noqa: ANN001
    from tests.bpmn_builder import Process, end, user_task
    from tests.bpmn_builder import start as start_event

    def timed(name: str, due: str) -> str:
        p = Process("timed_review", "限期审核")
        p.add(start_event(), "建设单位经办人", "start")
        p.add(user_task("review", name, due=due), "建设单位经办人", "review")
        p.add(end(), "建设单位经办人", "end")
        p.chain("start", "review", "end")
        return p.xml()

    deployed(admin, timed("审核", "P10D"))
    operator = login("jyj_jb")
    instance = start(operator, "timed_review")
    due = task_named(operator, "审核")["due_at"]
    clock.advance(timedelta(days=12))  # overdue by two days
    deployed(admin, timed("审核申请", "P10D"))  # a rename only
    assert migrate(admin, instance["id"]).get_json()["refreshed"] == 1
    assert task_named(operator, "审核申请")["due_at"] == due  # still overdue, not ten days from the move
    deployed(admin, timed("审核申请", "P15D"))  # a longer period counts from the arrival too
    assert migrate(admin, instance["id"]).get_json()["refreshed"] == 1
    moved = datetime.fromisoformat(task_named(operator, "审核申请")["due_at"])
    assert moved - datetime.fromisoformat(due) == timedelta(days=5)
