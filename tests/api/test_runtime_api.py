"""The runtime through the HTTP API: deploy, versions, assignment, forms, conflicts, incidents, timers."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta

import pytest

from handlers import REGISTRY
from handlers.errors import HandlerError
from processes.scheduler import tick
from tests.conftest import ApiClient, deploy
from tests.workflows import bundle, caught_error, flaky, linear, routed, timed, two_lanes


def start(client: ApiClient, process_id: str, data: dict | None = None) -> dict:
    """Start an instance and return its JSON."""
    response = client.post("/api/v1/instances", json={"process_id": process_id, "data": data or {}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def my_tasks(client: ApiClient, scope: str = "all") -> list[dict]:
    """Return the caller's open tasks."""
    response = client.get(f"/api/v1/tasks?scope={scope}")
    assert response.status_code == 200
    return response.get_json()["items"]


def task_named(client: ApiClient, name: str) -> dict:
    """Return the caller's one open task with this name."""
    found = [t for t in my_tasks(client) if t["name"] == name]
    assert len(found) == 1, [t["name"] for t in my_tasks(client)]
    return found[0]


def complete(client: ApiClient, task_id: int, data: dict | None = None):  # noqa: ANN201
    """Complete a task through the API."""
    return client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data or {}})


@pytest.fixture
def admin(login) -> ApiClient:  # noqa: ANN001
    return login("admin")


def test_deploy_is_versioned_and_unchanged_content_is_a_no_op(admin: ApiClient) -> None:
    first = deploy(admin, bundle(two_lanes()))
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["versions"] == [
        {"process_id": "two_lanes", "name": "两级审批", "version": 1, "created": True}
    ]
    again = deploy(admin, bundle(two_lanes()))
    assert again.get_json()["versions"][0] == {
        "process_id": "two_lanes",
        "name": "两级审批",
        "version": 1,
        "created": False,
    }
    changed = deploy(admin, bundle(two_lanes(review_lane="市数管局领导")))
    assert changed.get_json()["versions"][0]["version"] == 2
    versions = admin.get("/api/v1/processes/two_lanes/versions").get_json()
    assert [v["version"] for v in versions] == [2, 1]
    detail = admin.get("/api/v1/processes/two_lanes/versions/1").get_json()
    assert "市数管局项目科" in detail["contents"]["test.bpmn"]
    assert "approval.schema.json" in detail["contents"]


def test_a_diagram_deploys_alone_with_the_forms_it_names_from_the_servers_forms_dir(
    app, admin: ApiClient, tmp_path
) -> None:  # noqa: ANN001
    alone = bundle(two_lanes(), with_form=False)
    missing = admin.post("/api/v1/validate", json={"files": alone}).get_json()
    assert not missing["ok"] and any("approval.schema.json" in p["message"] for p in missing["problems"])
    (tmp_path / "approval.schema.json").write_text(bundle(two_lanes())["approval.schema.json"], "utf-8")
    app.config["FORMS_DIR"] = str(tmp_path)
    assert admin.post("/api/v1/validate", json={"files": alone}).get_json() == {"ok": True, "problems": []}
    deployed = deploy(admin, alone)
    assert deployed.status_code == 201, deployed.get_json()
    detail = admin.get("/api/v1/processes/two_lanes/versions/1").get_json()
    assert sorted(detail["contents"]) == ["approval.schema.json", "test.bpmn"]
    # A form posted with the diagram wins over the server's copy.
    edited = json.loads(bundle(two_lanes())["approval.schema.json"])
    edited["title"] = "改过的表单"
    again = deploy(admin, {**alone, "approval.schema.json": json.dumps(edited, ensure_ascii=False)})
    assert again.get_json()["versions"][0]["version"] == 2
    newest = admin.get("/api/v1/processes/two_lanes/versions/2").get_json()
    assert "改过的表单" in newest["contents"]["approval.schema.json"]


def test_only_admins_deploy_and_bad_bundles_are_refused_with_element_messages(admin, login) -> None:
    assert deploy(login("dsj_clerk"), bundle(two_lanes())).status_code == 403
    broken = two_lanes().replace("big = amount", "import os\nbig = amount")
    response = deploy(admin, bundle(broken))
    assert response.status_code == 422
    problems = response.get_json()["errors"]
    assert any(p["element_id"] == "calc" and "导入" in p["message"] for p in problems), problems
    assert admin.get("/api/v1/processes").get_json() == []


def test_instances_stay_on_their_version_after_a_redeploy(admin, login) -> None:
    deploy(admin, bundle(two_lanes()))
    operator = login("jyj_jb")
    old = start(operator, "two_lanes")
    deploy(admin, bundle(two_lanes(review_lane="市数管局领导")))
    new = start(operator, "two_lanes")
    assert (old["version"], new["version"]) == (1, 2)
    # The start response is the whole instance as stored, relations included.
    assert new["initiator"]["username"] == "jyj_jb"
    assert new["unit"]["code"] and new["serializer_version"].startswith("spiff-")
    assert new["status"] == "running" and new["started_at"]
    for instance in (old, new):
        task = [t for t in my_tasks(operator) if t["instance_id"] == instance["id"]][0]
        assert complete(operator, task["id"], {"decision": "APPROVE", "amount": 100}).status_code == 200
    clerk_tasks = my_tasks(login("dsj_clerk"))
    leader_tasks = my_tasks(login("dsj_leader"))
    assert [t["instance_id"] for t in clerk_tasks] == [old["id"]]
    assert [t["instance_id"] for t in leader_tasks] == [new["id"]]


def test_only_holders_of_the_start_lanes_role_may_start(admin, login) -> None:
    deploy(admin, bundle(two_lanes()))
    refused = login("dsj_clerk").post("/api/v1/instances", json={"process_id": "two_lanes", "data": {}})
    assert refused.status_code == 403 and refused.get_json()["message"] == "您无权发起此流程"
    assert start(login("jyj_jb"), "two_lanes")["status"] == "running"
    assert start(admin, "two_lanes")["status"] == "running"  # admins may start anything startable


def test_lane_role_and_unit_scoping(admin, login) -> None:
    deploy(admin, bundle(two_lanes()))
    edu, health = login("jyj_jb"), login("wjw_jb")
    instance = start(edu, "two_lanes")
    assert [t["instance_id"] for t in my_tasks(edu)] == [instance["id"]]
    assert my_tasks(health) == []  # same role, other unit
    task = my_tasks(edu)[0]
    assert complete(health, task["id"], {"decision": "APPROVE", "amount": 1}).status_code == 403
    assert health.get(f"/api/v1/instances/{instance['id']}").status_code == 404
    assert edu.get(f"/api/v1/instances/{instance['id']}").status_code == 200


def test_claim_complete_and_instructions(admin, login) -> None:
    deploy(admin, bundle(two_lanes()))
    operator = login("jyj_jb")
    instance = start(operator, "two_lanes", {"project_name": "智慧教育平台"})
    fill = my_tasks(operator)[0]
    assert complete(operator, fill["id"], {"decision": "APPROVE", "amount": 6000000}).status_code == 200
    clerk, admin_clerk = login("dsj_clerk"), admin
    review = task_named(clerk, "审核申请")
    assert review["id"] in [t["id"] for t in my_tasks(clerk, "roles")]
    claimed = clerk.post(f"/api/v1/tasks/{review['id']}/claim")
    assert claimed.status_code == 200 and claimed.get_json()["claimed_by"]["username"] == "dsj_clerk"
    assert review["id"] in [t["id"] for t in my_tasks(clerk, "mine")]
    assert review["id"] not in [t["id"] for t in my_tasks(admin_clerk, "roles")]
    refused = admin_clerk.post(f"/api/v1/tasks/{review['id']}/claim")
    assert refused.status_code == 409 and "王科员" in refused.get_json()["message"]
    detail = clerk.get(f"/api/v1/tasks/{review['id']}").get_json()
    assert detail["instructions"] == "请审核 智慧教育平台，金额 6000000 元"
    assert detail["schema"]["title"] == "测试审批表"
    assert detail["data"]["big"] is True  # the script task ran between the two user tasks
    done = complete(clerk, review["id"], {"decision": "APPROVE", "amount": 5900000})
    assert done.status_code == 200 and done.get_json()["instance_status"] == "complete"
    shown = operator.get(f"/api/v1/instances/{instance['id']}").get_json()
    assert shown["status"] == "complete"
    kinds = [e["kind"] for e in shown["history"]]
    assert kinds[0] == "started" and kinds.count("task_completed") == 2 and kinds[-1] == "completed"
    changes = [e for e in shown["history"] if e["kind"] == "task_completed"][-1]["detail"]["changes"]
    assert changes["amount"] == {"old": 6000000, "new": 5900000}


def test_form_errors_are_reported_per_field_and_nothing_changes(admin, login) -> None:
    deploy(admin, bundle(two_lanes()))
    operator = login("jyj_jb")
    instance = start(operator, "two_lanes")
    task = my_tasks(operator)[0]
    bad = complete(
        operator,
        task["id"],
        {
            "decision": "MAYBE",
            "amount": -1.005,
            "contact_date": "2026-13-40",
            "items": [{"name": ""}],
            "surprise": 1,
        },
    )
    assert bad.status_code == 422
    errors = bad.get_json()["errors"]
    assert errors["decision"] == ["请选择有效的选项"]
    assert "不能小于 0" in errors["amount"]
    assert errors["contact_date"] == ["日期格式应为 YYYY-MM-DD"]
    assert errors["items.0.name"] == ["此项为必填项"]
    assert errors["surprise"] == ["表单中没有此字段"]
    missing = complete(operator, task["id"], {})
    assert set(missing.get_json()["errors"]) == {"decision", "amount"}
    shown = operator.get(f"/api/v1/instances/{instance['id']}").get_json()
    assert [t["status"] for t in shown["tasks"]] == ["ready"]
    assert [e["kind"] for e in shown["history"]] == ["started"]
    not_json = operator.client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        data="x",
        headers={"X-CSRFToken": operator.csrf, "Content-Type": "application/json"},
    )
    assert not_json.status_code in (400, 422)


def test_double_completion_from_two_threads_gives_one_winner_and_a_409(app, admin, login) -> None:
    deploy(admin, bundle(routed()))
    operator = login("jyj_jb")
    start(operator, "routed")
    task = my_tasks(operator)[0]
    clients = [login("jyj_jb"), login("jyj_jb")]
    results: list = [None, None]
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = complete(clients[i], task["id"], {"decision": "APPROVE", "amount": 10})

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409], [r.get_json() for r in results]
    loser = [r for r in results if r.status_code == 409][0].get_json()
    assert "办理完成" in loser["message"] and loser["detail"]["completed_by"] == "jyj_jb"


def test_a_claim_racing_a_completion_is_a_409_never_a_500(app, admin, login) -> None:
    """On PostgreSQL the two took the instance and task locks in opposite orders and deadlocked (500)."""
    deploy(admin, bundle(routed()))
    operator = login("jyj_jb")
    claimer, completer = login("fin"), login("fin")
    for _ in range(8):
        start(operator, "routed")
        complete(operator, my_tasks(operator)[0]["id"], {"decision": "APPROVE", "amount": 9000000})
        task = task_named(claimer, "财政意见")
        barrier = threading.Barrier(2)
        results: list = [None, None]
        calls = (
            lambda task_id=task["id"]: claimer.post(f"/api/v1/tasks/{task_id}/claim"),
            lambda task_id=task["id"]: complete(completer, task_id),
        )

        def run(i: int, barrier: threading.Barrier = barrier, results: list = results, calls=calls) -> None:  # noqa: ANN001
            barrier.wait()
            results[i] = calls[i]()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = [r.status_code for r in results]
        assert all(code in (200, 409) for code in codes), [r.get_json() for r in results]
        complete(login("ndrc"), task_named(login("ndrc"), "发改意见")["id"])


def test_gateways_route_by_data(admin, login) -> None:
    deploy(admin, bundle(routed()))
    operator = login("jyj_jb")
    small = start(operator, "routed")
    complete(operator, my_tasks(operator)[0]["id"], {"decision": "APPROVE", "amount": 100})
    assert operator.get(f"/api/v1/instances/{small['id']}").get_json()["status"] == "complete"
    big = start(operator, "routed")
    complete(operator, my_tasks(operator)[0]["id"], {"decision": "APPROVE", "amount": 9000000})
    fin, ndrc = task_named(login("fin"), "财政意见"), task_named(login("ndrc"), "发改意见")
    assert complete(login("fin"), fin["id"]).status_code == 200
    assert operator.get(f"/api/v1/instances/{big['id']}").get_json()["status"] == "running"
    assert complete(login("ndrc"), ndrc["id"]).status_code == 200
    assert operator.get(f"/api/v1/instances/{big['id']}").get_json()["status"] == "complete"


class FlakyHandler:
    """A downstream system that is down until someone fixes it."""

    def __init__(self) -> None:
        self.broken = True

    def __call__(self, ctx, *, value: int) -> dict:  # noqa: ANN001
        if value < 0:
            raise HandlerError("bad_input", "数值不能为负")
        if self.broken:
            raise ConnectionError("下游系统不可用")
        return {"answer": value + 1}


@pytest.fixture
def flaky_handler(app) -> FlakyHandler:  # noqa: ANN001
    handler = FlakyHandler()
    app.extensions["egovflow"].runtime.handlers = {**REGISTRY, "flaky": handler}
    return handler


def test_handler_failure_becomes_an_incident_and_retry_finishes(admin, login, flaky_handler) -> None:
    assert deploy(admin, bundle(flaky())).status_code == 201
    operator = login("jyj_jb")
    instance = start(operator, "flaky")
    assert instance["status"] == "error"
    incidents = admin.get(f"/api/v1/instances/{instance['id']}/incidents").get_json()
    assert len(incidents) == 1 and "下游系统不可用" in incidents[0]["message"]
    assert "ConnectionError" in incidents[0]["traceback"] and incidents[0]["spec_id"] == "call"
    assert operator.get(f"/api/v1/instances/{instance['id']}/incidents").get_json()[0]["traceback"] == ""
    assert my_tasks(operator) == []
    assert operator.post(f"/api/v1/instances/{instance['id']}/retry").status_code == 403
    flaky_handler.broken = False
    retried = admin.post(f"/api/v1/instances/{instance['id']}/retry")
    assert retried.status_code == 200, retried.get_json()
    task = my_tasks(operator)[0]
    shown = operator.get(f"/api/v1/instances/{instance['id']}").get_json()
    assert shown["data"]["answer"] == 42 and shown["status"] == "running"
    assert complete(operator, task["id"]).status_code == 200
    assert operator.get(f"/api/v1/instances/{instance['id']}").get_json()["status"] == "complete"
    assert admin.get(f"/api/v1/instances/{instance['id']}/incidents").get_json()[0]["resolved_at"]


def test_handler_error_code_is_caught_by_a_boundary_event(admin, login, flaky_handler) -> None:
    deploy(admin, bundle(caught_error()))
    operator = login("jyj_jb")
    instance = start(operator, "caught")
    assert instance["status"] == "running"
    task = my_tasks(operator)[0]
    assert task["name"] == "修改后重新提交"
    data = operator.get(f"/api/v1/instances/{instance['id']}").get_json()["data"]
    assert data["error_code"] == "bad_input" and data["error_message"] == "数值不能为负"


def test_timers_fire_when_the_clock_moves_and_not_before(app, admin, login, clock) -> None:
    deploy(admin, bundle(timed()))
    operator = login("jyj_jb")
    state = app.extensions["egovflow"]
    waiting = start(operator, "timed")
    answered = start(operator, "timed")
    assert waiting["next_wakeup_at"] is not None
    complete(operator, [t for t in my_tasks(operator) if t["instance_id"] == answered["id"]][0]["id"])
    clock.advance(timedelta(days=4, hours=23))
    assert tick(state.sessions, state.runtime) == 0
    assert operator.get(f"/api/v1/instances/{waiting['id']}").get_json()["status"] == "running"
    clock.advance(timedelta(hours=2))
    assert tick(state.sessions, state.runtime) == 1
    shown = operator.get(f"/api/v1/instances/{waiting['id']}").get_json()
    assert shown["status"] == "complete"  # withdrawn by the interrupting boundary timer
    assert [t["status"] for t in shown["tasks"]] == ["cancelled"]
    assert not [t for t in my_tasks(operator) if t["name"] == "提交验收申请"]
    clock.advance(timedelta(days=25))  # 30 days after answering: March has 31, so not yet
    assert tick(state.sessions, state.runtime) == 0
    clock.advance(timedelta(days=1))
    assert tick(state.sessions, state.runtime) == 1
    assert [t["name"] for t in my_tasks(operator)] == ["提交验收申请"]


def test_a_timer_written_as_a_bare_duration_fires_as_that_duration(app, admin, login, clock) -> None:
    """P5D unquoted (as 办理期限 takes it) is the period, not a name that fails when the timer is reached."""
    xml = timed("bare_timer").replace("&quot;P5D&quot;", "P5D").replace('"P5D"', "P5D")
    assert "P5D" in xml and '"P5D"' not in xml and "&quot;P5D&quot;" not in xml
    assert deploy(admin, bundle(xml)).status_code == 201
    operator = login("jyj_jb")
    state = app.extensions["egovflow"]
    waiting = start(operator, "bare_timer")
    assert waiting["next_wakeup_at"] is not None
    clock.advance(timedelta(days=4, hours=23))
    assert tick(state.sessions, state.runtime) == 0
    clock.advance(timedelta(hours=2))
    assert tick(state.sessions, state.runtime) == 1
    assert operator.get(f"/api/v1/instances/{waiting['id']}").get_json()["status"] == "complete"


def test_suspend_resume_terminate(admin, login) -> None:
    deploy(admin, bundle(two_lanes()))
    operator = login("jyj_jb")
    instance = start(operator, "two_lanes")
    task = my_tasks(operator)[0]
    assert admin.post(f"/api/v1/instances/{instance['id']}/suspend").get_json()["status"] == "suspended"
    blocked = complete(operator, task["id"], {"decision": "APPROVE", "amount": 1})
    assert blocked.status_code == 409 and "挂起" in blocked.get_json()["message"]
    assert admin.post(f"/api/v1/instances/{instance['id']}/resume").get_json()["status"] == "running"
    for blank in ({}, {"reason": "  "}):  # why it ended is what the register keeps
        refused = admin.post(f"/api/v1/instances/{instance['id']}/terminate", json=blank)
        assert refused.status_code == 422 and "reason" in refused.get_json()["errors"]
    terminated = admin.post(f"/api/v1/instances/{instance['id']}/terminate", json={"reason": "重复申报"})
    assert terminated.get_json()["status"] == "terminated"
    assert my_tasks(operator) == []
    assert complete(operator, task["id"], {"decision": "APPROVE", "amount": 1}).status_code == 409


def test_listing_filters_and_pages(admin, login) -> None:
    deploy(admin, bundle(two_lanes()))
    edu = login("jyj_jb")
    for _ in range(3):
        start(edu, "two_lanes")
    start(login("wjw_jb"), "two_lanes")
    listed = admin.get("/api/v1/instances?page_size=2&page=1").get_json()
    assert listed["total"] == 4 and len(listed["items"]) == 2
    assert admin.get("/api/v1/instances?page_size=2&page=2").get_json()["items"][0]["id"] == 2
    assert edu.get("/api/v1/instances").get_json()["total"] == 3
    by_unit = admin.get("/api/v1/instances?unit=11341500MB59083010").get_json()
    assert by_unit["total"] == 1 and by_unit["items"][0]["unit"]["short_name"] == "市卫健委"
    bad = admin.get("/api/v1/instances?status=nope")
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]


def test_anonymous_callers_get_401_and_tokens_work(app, login) -> None:
    client = app.test_client()
    assert client.get("/api/v1/tasks").status_code == 401
    assert client.get("/api/v1/tasks").get_json()["code"] == "unauthenticated"
    token = login("dsj_clerk").post("/api/v1/auth/tokens", json={"name": "脚本"}).get_json()["token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["username"] == "dsj_clerk"
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_a_looped_subprocess_runs_every_iteration_and_stays_small(app, admin, login) -> None:
    from tests.workflows import looped

    deploy(admin, bundle(looped(until=2030), with_form=False))
    operator = login("jyj_jb")
    instance = start(operator, "looped")
    runtime = app.extensions["egovflow"].runtime
    sizes = []
    for i in range(30):
        if i % 7 == 0:
            runtime.workflows.clear()  # every few steps, restore from the database instead of the cache
        task = my_tasks(operator)[0]
        assert task["name"] == "填报"
        assert complete(operator, task["id"]).status_code == 200
        with app.extensions["egovflow"].sessions() as session:
            from processes.store.models import ProcessInstance

            sizes.append(len(session.get(ProcessInstance, instance["id"]).state_json))
    shown = operator.get(f"/api/v1/instances/{instance['id']}").get_json()
    assert shown["status"] == "complete" and shown["data"]["year"] == 2030
    assert sum(1 for e in shown["history"] if e["kind"] == "task_completed") == 30
    assert max(sizes[5:]) <= sizes[5] * 1.2  # finished iterations are dropped from the stored tree


def timer_started(process_id: str = "yearly_notice", cycle: str = '"R/2026-05-01T09:00:00+08:00/P1Y"') -> str:
    """A process started by a cycle timer: one user task for the 市数管局项目科."""
    from tests.bpmn_builder import Process, end, user_task

    p = Process(process_id, "年度申报通知")
    p.add(
        f'<bpmn:startEvent id="start"><bpmn:timerEventDefinition><bpmn:timeCycle>{cycle}</bpmn:timeCycle>'
        "</bpmn:timerEventDefinition></bpmn:startEvent>",
        "市数管局项目科",
        "start",
    )
    p.add(user_task("confirm", "确认发布年度申报通知"), "市数管局项目科", "confirm")
    p.add(end(), "市数管局项目科", "end")
    p.chain("start", "confirm", "end")
    return p.xml()


def test_a_timer_start_event_starts_one_short_instance_per_cycle(app, admin, login, clock) -> None:
    state = app.extensions["egovflow"]
    assert deploy(admin, bundle(timer_started(), with_form=False)).status_code == 201
    clerk = login("dsj_clerk")
    assert tick(state.sessions, state.runtime) == 0  # 2026-03-02: not yet May
    clock.advance(timedelta(days=60))  # 2026-05-01 09:00 UTC, after 09:00 +08:00
    assert tick(state.sessions, state.runtime) == 1
    assert [t["name"] for t in my_tasks(clerk)] == ["确认发布年度申报通知"]
    assert tick(state.sessions, state.runtime) == 0
    clock.advance(timedelta(days=364))
    assert tick(state.sessions, state.runtime) == 0
    clock.advance(timedelta(days=2))
    assert tick(state.sessions, state.runtime) == 1
    listed = admin.get("/api/v1/instances?process_id=yearly_notice").get_json()
    assert listed["total"] == 2 and all(i["status"] == "running" for i in listed["items"])


def test_an_invalid_start_timer_is_refused_at_validation(admin) -> None:
    response = deploy(admin, bundle(timer_started(cycle='"R/someday/P1Y"'), with_form=False))
    assert response.status_code == 422
    assert "定时启动表达式无效" in response.get_json()["errors"][0]["message"]


def test_admins_reassign_open_tasks(admin, login) -> None:
    deploy(admin, bundle(two_lanes()))
    operator = login("jyj_jb")
    start(operator, "two_lanes")
    complete(operator, my_tasks(operator)[0]["id"], {"decision": "APPROVE", "amount": 1})
    review = task_named(login("dsj_clerk"), "审核申请")
    assert (
        login("dsj_clerk")
        .post(f"/api/v1/tasks/{review['id']}/reassign", json={"username": "dsj_leader"})
        .status_code
        == 403
    )
    bad = admin.post(f"/api/v1/tasks/{review['id']}/reassign", json={"username": "nobody"})
    assert bad.status_code == 422 and bad.get_json()["errors"]["username"] == ["用户不存在"]
    moved = admin.post(f"/api/v1/tasks/{review['id']}/reassign", json={"username": "dsj_leader"})
    assert moved.status_code == 200 and moved.get_json()["assignee"]["username"] == "dsj_leader"
    assert [t["id"] for t in my_tasks(login("dsj_leader"), "mine")] == [review["id"]]
    assert my_tasks(login("dsj_clerk")) == []


def test_the_next_task_is_the_callers_own_in_the_same_instance(app, admin, login) -> None:
    from sqlalchemy import select

    from processes import queries
    from processes.store.models import User

    deploy(admin, bundle(linear(steps=3)))
    operator, leader = login("jyj_jb"), login("jyj_fzr")
    instance = start(operator, "linear")
    other = start(operator, "linear")  # its tasks are the operator's too, but in another instance
    first = [t for t in my_tasks(operator) if t["instance_id"] == instance["id"]][0]
    done = complete(operator, first["id"]).get_json()
    second = [t for t in my_tasks(operator) if t["instance_id"] == instance["id"]][0]
    assert done["next_task_id"] == second["id"] and other["id"] != instance["id"]
    # Given to the unit's 负责人, who does not hold the operator role: no next task for them afterwards.
    moved = admin.post(f"/api/v1/tasks/{second['id']}/reassign", json={"username": "jyj_fzr"})
    assert moved.status_code == 200
    assert complete(leader, second["id"]).get_json()["next_task_id"] is None
    # The page flow asks the same question through the same query.
    third = [t for t in my_tasks(operator) if t["instance_id"] == instance["id"]][0]
    with app.extensions["egovflow"].sessions() as session:
        user = session.scalar(select(User).where(User.username == "jyj_jb"))
        assert queries.next_task_id(session, user, instance["id"]) == third["id"]
        assert queries.next_task_id(session, user, other["id"]) is not None


def test_experts_see_their_own_scoring_task_but_not_the_project_file(app, login) -> None:
    from processes import catalog as catalog_module
    from tests.conftest import ROOT

    state = app.extensions["egovflow"]
    with state.sessions() as session:
        files = catalog_module.collect_files([ROOT / "bpmn"], ROOT / "forms")
        catalog_module.deploy(session, files, state.runtime.handlers, now=state.runtime.clock.now())
        session.commit()

    operator = login("wjw_jb")
    instance = start(operator, "lifecycle")
    docs = [
        {"id": str(i), "filename": f"{k}.pdf", "sha256": "a" * 64, "kind": k}
        for i, k in enumerate(
            ["DECLARATION_FORM", "NECESSITY", "BUDGET_DETAIL", "RESOURCE_CATALOG", "MLPS_GRADING"]
        )
    ]
    declaration = {
        "project_name": "六安市全民健康信息平台升级改造",
        "project_type": "UPGRADE",
        "plan_year": 2026,
        "planned": True,
        "total_estimate": 8600000.0,
        "funding_source": "CITY_FISCAL",
        "construction_content": "升级全民健康信息平台，建设健康档案共享调阅和数据交换子系统。",
        "necessity": "县区医疗机构数据未实现互通，需要统一健康档案并向省平台共享。",
        "on_egov_extranet": True,
        "uses_gov_cloud": True,
        "data_sharing_committed": True,
        "crypto_required": False,
        "mlps_level": 2,
        "period_months": 8,
        "keywords": ["健康"],
        "contact_name": "黄敏",
        "contact_phone": "0564-3371234",
        "documents": docs,
    }
    assert complete(operator, task_named(operator, "填报项目申报")["id"], declaration).status_code == 200
    leader = login("wjw_fzr")
    complete(
        leader,
        task_named(leader, "单位审核")["id"],
        {"unit_review_decision": "CONFIRM", "unit_review_opinion": "同意申报。"},
    )
    clerk = login("dsj_clerk")
    complete(
        clerk,
        task_named(clerk, "初审")["id"],
        {"initial_review_decision": "PASS", "initial_review_opinion": "符合条件。", "correction_days": 5},
    )
    attachment = {"id": "9", "filename": "x.pdf", "sha256": "b" * 64}
    done = complete(
        operator,
        task_named(operator, "编制项目意见书及实施方案")["id"],
        {
            "opinion_letter": {**attachment, "kind": "OPINION_LETTER"},
            "implementation_plan": {**attachment, "kind": "IMPLEMENTATION_PLAN"},
            "budget_detail": {**attachment, "kind": "BUDGET_DETAIL"},
            "plan_summary": "分两期实施：一期建设健康档案共享调阅和数据交换，"
            "二期建设医疗机构监管，全部部署在市政务云。",
        },
    )
    assert done.status_code == 200, done.get_json()
    # Who reviews is kept from the unit under review, not from the bureau.
    assert "expert_usernames" not in operator.get(f"/api/v1/instances/{instance['id']}").get_json()["data"]
    panel = (
        login("dsj_clerk").get(f"/api/v1/instances/{instance['id']}").get_json()["data"]["expert_usernames"]
    )
    expert = login(panel[0])
    own = my_tasks(expert)
    assert [t["name"] for t in own] == ["专家评审打分"]
    assert expert.get(f"/api/v1/tasks/{own[0]['id']}").status_code == 200
    assert expert.get(f"/api/v1/instances/{instance['id']}").status_code == 404
    assert expert.get("/api/v1/instances").get_json()["total"] == 0
    detail = expert.get(f"/api/v1/tasks/{own[0]['id']}").get_json()
    assert detail["data"]["project_name"] == "六安市全民健康信息平台升级改造"
    assert detail["data"]["expert"]["username"] == panel[0]
    first = login(panel[1])
    scored = complete(
        first,
        my_tasks(first)[0]["id"],
        {
            "score": 61,
            "expert_recommended_budget": 1.0,
            "expert_opinion": "本专家的意见不应被其他专家看到，" * 2,
            "conflict_free_declared": True,
        },
    )
    assert scored.status_code == 200, scored.get_json()
    again = expert.get(f"/api/v1/tasks/{own[0]['id']}").get_json()
    assert "61" not in str(again["data"]) and "本专家的意见" not in str(again["data"])


def test_instructions_render_money_and_survive_broken_templates() -> None:
    from processes.instructions import render

    amount = {"total_estimate": 3200000}
    assert render("概算 {{ total_estimate | money }} 元", amount) == "概算 3,200,000.00 元"
    assert render("{{ missing.deep | money }}|{{ x }}", {"x": "NEW"}) == "|NEW"
    assert render("{{ x.__class__ }}", {"x": 1}) == ""
    assert render("{% for %}", {}) == "{% for %}"


def test_instructions_read_as_chinese_whatever_the_data_holds() -> None:
    from processes.instructions import form_labels, render

    schema = {
        "properties": {
            "change_type": {"oneOf": [{"const": "BUDGET", "title": "投资调整"}]},
            "items": {"type": "array", "items": {"enum": ["A", "B"], "enumNames": ["甲", "乙"]}},
        }
    }
    labels = form_labels([schema])
    assert labels == {"change_type": {"BUDGET": "投资调整"}, "items": {"A": "甲", "B": "乙"}}
    data = {
        "change_type": "BUDGET",
        "picked": ["B", "A"],
        "note": None,
        "ids": ["LA-2026-0001", "LA-2026-0002"],
        "none": [],
        "similar": [{"project_id": "LA-2025-0007", "name": "智慧城管一期"}],
        "ok": True,
    }
    text = (
        "{{ label('change_type') }}|{{ label('items', picked) }}|{{ note }}|{{ ids }}|{{ none }}|"
        "{{ similar }}|{{ ok }}|{{ label('unknown') }}"
    )
    assert render(text, data, labels) == ("投资调整|乙、甲|无|LA-2026-0001、LA-2026-0002|无|智慧城管一期|是|")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/instances/{id}"),
        ("GET", "/api/v1/instances/{id}/incidents"),
        ("POST", "/api/v1/instances/{id}/suspend"),
        ("POST", "/api/v1/instances/{id}/resume"),
        ("GET", "/api/v1/tasks/{id}"),
        ("POST", "/api/v1/tasks/{id}/unclaim"),
        ("GET", "/tasks/{id}"),
    ],
)
def test_an_id_beyond_any_database_key_is_not_found(admin: ApiClient, method: str, path: str) -> None:
    """Found by fuzzing the OpenAPI spec: a 30-digit id used to reach the driver and fail with a 500."""
    for huge in (2**31, 2**63, 10**30):
        url = path.format(id=huge)
        response = admin.get(url) if method == "GET" else admin.post(url, json={})
        assert response.status_code == 404, (url, response.status_code)
    largest = path.format(id=2**31 - 1)
    response = admin.get(largest) if method == "GET" else admin.post(largest, json={})
    assert response.status_code == 404, (largest, response.status_code)


def test_list_arguments_out_of_range_are_field_errors_in_chinese(admin: ApiClient) -> None:
    response = admin.get("/api/v1/tasks?page=3946331545395554304&page_size=161")
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"page": ["应在 1 到 1000000 之间"]}
    response = admin.get("/api/v1/tasks?page=0&page_size=500")
    assert response.get_json()["errors"] == {
        "page": ["应在 1 到 1000000 之间"],
        "page_size": ["应在 1 到 200 之间"],
    }
    response = admin.get("/api/v1/projects?amount_min=-1&amount_max=inf")
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "amount_min": ["不能小于 0"],
        "amount_max": ["不能是无穷大或非数字"],
    }
    assert admin.get("/api/v1/tasks?page=1000000").get_json()["items"] == []


def test_the_openapi_spec_states_numeric_bounds_as_numbers(admin: ApiClient) -> None:
    spec = admin.get("/api/openapi.json").get_json()
    projects = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/projects"]["get"]["parameters"]}
    assert projects["amount_max"] == {"type": "number", "minimum": 0, "title": "概算不高于"}
    ids = {p["name"]: p["schema"] for p in spec["paths"]["/api/v1/tasks/{task_id}"]["parameters"]}
    assert ids["task_id"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}


def test_the_openapi_spec_states_the_error_shape_and_each_operations_error_answers(admin: ApiClient) -> None:
    spec = admin.get("/api/openapi.json").get_json()
    error = spec["components"]["schemas"]["Error"]["properties"]
    assert error["code"] == {"type": "string"} and error["status"] == {"type": "integer"}
    assert "detail" in error
    complete = spec["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]["responses"]
    assert {"401", "403", "404", "409", "415", "422"} <= complete.keys()
    assert complete["409"]["description"] == "任务已被他人办理或已取消"  # its own words are kept
    lanes = spec["paths"]["/api/v1/lanes"]["post"]["responses"]
    assert lanes["409"] == {"$ref": "#/components/responses/CONFLICT"}
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    assert login["security"] == [] and "401" not in login["responses"]
    listing = spec["paths"]["/api/v1/tasks"]["get"]["responses"]
    assert "401" in listing and "404" not in listing and "415" not in listing


def test_a_nul_character_anywhere_in_the_input_is_a_field_error_and_writes_nothing(admin, login) -> None:
    """PostgreSQL stores no NUL in text: such input must be refused before any work, on both databases."""
    deploy(admin, bundle(two_lanes()))
    clerk = login("jyj_jb")
    response = clerk.get("/api/v1/instances?q=%00&stage=%E5%BB%BA%E8%AE%BE")
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"q": ["不能包含空字符(\\0)"]}
    response = clerk.post(
        "/api/v1/instances",
        json={"process_id": "two_lanes", "data": {"project_name": "平台\x00", "items": ["a", "b\x00"]}},
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "data.project_name": ["不能包含空字符(\\0)"],
        "data.items.1": ["不能包含空字符(\\0)"],
    }
    assert clerk.get("/api/v1/instances").get_json()["total"] == 0
    started = start(clerk, "two_lanes")
    task = task_named(clerk, "填写申请")
    refused = complete(clerk, task["id"], {"project_name": "智慧\x00平台", "amount": 100})
    assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["data.project_name"]
    assert task_named(clerk, "填写申请")["id"] == task["id"]
    assert clerk.get(f"/api/v1/instances/{started['id']}").get_json()["history"][-1]["kind"] == "started"


def test_numbers_no_column_holds_are_refused_or_left_out_of_the_projections(admin, login) -> None:
    """Start data is free-form: an infinite amount is a field error; an absurd year is not projected."""
    deploy(admin, bundle(two_lanes()))
    clerk = login("jyj_jb")
    response = clerk.client.post(
        "/api/v1/instances",
        data='{"process_id": "two_lanes", "data": {"total_estimate": 1e999}}',
        headers={"Content-Type": "application/json", "X-CSRFToken": clerk.csrf},
    )
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"] == {"data.total_estimate": ["不能是无穷大或非数字"]}
    started = start(clerk, "two_lanes", {"plan_year": 10**12, "total_estimate": 10**30})
    shown = clerk.get(f"/api/v1/instances/{started['id']}").get_json()
    assert shown["plan_year"] is None and shown["total_estimate"] == 1e30
    assert shown["data"]["plan_year"] == 10**12


def test_a_workflow_that_loses_sight_of_its_open_task_becomes_an_incident_not_complete(
    admin, login, monkeypatch
) -> None:
    # SpiffWorkflow's iterators, given a depth bound (1000 by default; the engine lifts it), report a
    # workflow complete once its READY task lies deeper. Bound them at 30 to meet that within a few rounds.
    from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
    from SpiffWorkflow.util.task import TaskIterator

    from processes import engine
    from tests.workflows import returned

    monkeypatch.setattr(engine, "VERIFY_STATE", False)  # it compares the task maps with the (bounded) walk
    for iterator in (TaskIterator, BpmnTaskIterator):
        defaults = list(iterator.__init__.__defaults__)
        defaults[1] = 30  # max_depth
        monkeypatch.setattr(iterator.__init__, "__defaults__", tuple(defaults))
    assert deploy(admin, bundle(returned())).status_code == 201
    operator = login("jyj_jb")
    instance = start(operator, "returned")
    statuses = []
    for _ in range(20):
        tasks = [t for t in my_tasks(operator) if t["instance_id"] == instance["id"]]
        if not tasks:
            break
        done = complete(operator, tasks[0]["id"], {"decision": "REJECT", "amount": 1})
        statuses.append(done.get_json()["instance_status"])
    assert "complete" not in statuses and statuses[-1] == "error", statuses
    incidents = admin.get(f"/api/v1/instances/{instance['id']}/incidents").get_json()
    assert "仍有未完成的任务" in incidents[-1]["message"]


def test_a_due_period_written_bare_as_the_modeler_asks_sets_the_deadline(admin, login, clock) -> None:  # noqa: ANN001
    from tests.bpmn_builder import Process, end, user_task
    from tests.bpmn_builder import start as start_event

    p = Process("due", "限期办理")
    p.add(start_event(), "建设单位经办人", "start")
    p.add(user_task("bare", "五日内", due="P5D"), "建设单位经办人", "bare")
    p.add(user_task("quoted", "两日内", due="'PT48H'"), "建设单位经办人", "quoted")
    p.add(end(), "建设单位经办人", "end")
    p.chain("start", "bare", "quoted", "end")
    assert deploy(admin, bundle(p.xml())).status_code == 201
    clerk = login("jyj_jb")
    begun = clock.now()
    start(clerk, "due")
    task = task_named(clerk, "五日内")
    assert task["due_at"] is not None
    assert abs(_parsed(task["due_at"]) - (begun + timedelta(days=5))) < timedelta(seconds=1)
    assert complete(clerk, task["id"]).status_code == 200
    task = task_named(clerk, "两日内")
    assert abs(_parsed(task["due_at"]) - (clock.now() + timedelta(hours=48))) < timedelta(seconds=1)


def _parsed(stamp: str):  # noqa: ANN202
    from datetime import datetime

    return datetime.fromisoformat(stamp)


def test_an_amount_written_another_way_is_not_a_change(admin, login) -> None:  # noqa: ANN001
    deploy(admin, bundle(two_lanes()))
    operator = login("jyj_jb")
    # Handlers return money as text ("6900000.00"); the form sends a number: the same amount.
    instance = start(operator, "two_lanes", {"amount": "6900000.00", "decision": "APPROVE"})
    task = task_named(operator, "填写申请")
    assert complete(operator, task["id"], {"decision": "APPROVE", "amount": 6900000}).status_code == 200
    shown = operator.get(f"/api/v1/instances/{instance['id']}").get_json()
    changes = [e for e in shown["history"] if e["kind"] == "task_completed"][-1]["detail"]["changes"]
    assert "amount" not in changes and "decision" not in changes
    assert (
        complete(
            login("dsj_clerk"),
            task_named(login("dsj_clerk"), "审核申请")["id"],
            {"decision": "REJECT", "amount": 6900000.5},
        ).status_code
        == 200
    )
    shown = operator.get(f"/api/v1/instances/{instance['id']}").get_json()
    changes = [e for e in shown["history"] if e["kind"] == "task_completed"][-1]["detail"]["changes"]
    assert changes["amount"] == {"old": 6900000, "new": 6900000.5} and changes["decision"]["new"] == "REJECT"


def test_every_operation_is_summarised_in_chinese(admin: ApiClient) -> None:
    spec = admin.get("/api/openapi.json").get_json()
    shared = spec["components"]["responses"]
    assert shared["CONFLICT"]["description"].startswith("与当前状态冲突") and "Conflict" not in str(shared)
    complete = spec["paths"]["/api/v1/tasks/{task_id}/complete"]["post"]["responses"]
    assert complete["200"]["description"] == "成功"
    for path, item in spec["paths"].items():
        for method in ("get", "post", "put", "patch", "delete"):
            if method in item:
                summary = item[method]["summary"]
                assert re.search(r"[\u4e00-\u9fff]", summary), (method, path, summary)
                assert "description" not in item[method], (method, path)
