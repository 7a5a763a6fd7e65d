"""Who may act on what through the API: a start's data, uploads, drafts and claims (a hostile review)."""

from __future__ import annotations

import io

import pytest

from tests.api.test_pages import JYJ, add_project
from tests.conftest import ApiClient, deploy
from tests.workflows import bundle, two_lanes

CGJ = ("11341500MB4628194Q", "六安市城市管理局")
WJW = "11341500MB59083010"
APPROVE = {"decision": "APPROVE", "amount": 1234567.8}


@pytest.fixture
def admin(login) -> ApiClient:  # noqa: ANN001
    client = login("admin")
    assert deploy(client, bundle(two_lanes())).status_code == 201
    return client


@pytest.fixture
def register(app) -> None:  # noqa: ANN001
    """Two register rows: LA-2026-0001 of 市教育局, LA-2026-0002 of 市城管局."""
    with app.extensions["egovflow"].sessions() as session:
        for project_id, unit in (("LA-2026-0001", JYJ), ("LA-2026-0002", CGJ)):
            add_project(session, project_id, *unit, 2026, "3200000.00", "申报", "DECLARED")
        session.commit()


def start(client: ApiClient, data: dict | None = None, unit_code: str | None = None):  # noqa: ANN201
    """POST a start of two_lanes and return the response."""
    body = {"process_id": "two_lanes", "data": data or {}, "unit_code": unit_code}
    return client.post("/api/v1/instances", json=body)


def started(client: ApiClient, unit_code: str | None = None) -> int:
    """Start two_lanes and return the instance id."""
    response = start(client, unit_code=unit_code)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def open_task(client: ApiClient, instance_id: int) -> dict:
    """The open task of an instance, as an admin sees it."""
    tasks = client.get(f"/api/v1/instances/{instance_id}").get_json()["tasks"]
    found = [t for t in tasks if t["status"] == "ready"]
    assert len(found) == 1, tasks
    return found[0]


def upload(client: ApiClient, fields: dict, name: str = "说明.pdf", content_type: str = "application/pdf"):  # noqa: ANN201
    """POST a multipart upload to /api/v1/attachments with these extra form fields."""
    data = {"file": (io.BytesIO(b"%PDF-1.4 x"), name, content_type), **fields}
    return client.client.post("/api/v1/attachments", data=data, headers={"X-CSRFToken": client.csrf})


# ----------------------------------------------------------------------------- 1. a start's data


def test_a_start_may_only_name_a_project_of_its_own_unit(admin, register, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    for project_id in ("LA-2026-0002", "LA-2026-0099", "x" * 5000):
        refused = start(operator, {"project_id": project_id})
        assert refused.status_code == 422, project_id
        assert refused.get_json()["errors"] == {"data.project_id": ["发起单位的项目库中没有此编号的项目"]}
    refused = start(operator, {"project_id": 2})
    assert refused.get_json()["errors"] == {"data.project_id": ["项目编号应为文本"]}
    assert operator.get("/api/v1/instances").get_json()["total"] == 0  # nothing was started
    assert operator.get("/api/v1/projects/LA-2026-0002").status_code == 404
    assert operator.get("/api/v1/projects/LA-2026-0002/documents").status_code == 404

    own = start(operator, {"project_id": "LA-2026-0001", "project_name": "智慧校园"})
    assert own.status_code == 201 and own.get_json()["project_id"] == "LA-2026-0001"
    # An admin starts for a unit: the project must be that unit's, not the admin's own unit's.
    assert start(admin, {"project_id": "LA-2026-0002"}).status_code == 422
    for_unit = start(admin, {"project_id": "LA-2026-0002"}, unit_code=CGJ[0])
    assert for_unit.status_code == 201 and for_unit.get_json()["project_id"] == "LA-2026-0002"
    assert start(admin, {"project_id": "LA-2026-0001"}, unit_code=CGJ[0]).status_code == 422
    assert operator.get("/api/v1/projects/LA-2026-0002").status_code == 404
    assert start(operator, {"project_id": None}).status_code == 201  # nothing named


def test_a_start_cannot_give_what_the_runtime_sets(admin, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    spoofed = {"unit_code": CGJ[0], "unit_name": CGJ[1], "initiator": "cgj_jb", "stage": "运维"}
    refused = start(operator, spoofed)
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {f"data.{k}": ["由系统填写，发起时不能指定"] for k in spoofed}
    assert start(admin, {"unit_code": JYJ[0]}, unit_code=JYJ[0]).status_code == 422  # admins too
    assert operator.get("/api/v1/instances").get_json()["total"] == 0
    instance = start(operator, {"project_name": "智慧校园", "total_estimate": 100}).get_json()
    data = operator.get(f"/api/v1/instances/{instance['id']}").get_json()["data"]
    assert (data["unit_code"], data["unit_name"], data["initiator"]) == (*JYJ, "jyj_jb")
    assert instance["title"] == "智慧校园" and instance["stage"] is None


# ----------------------------------------------------------------------------- 2. uploads


def test_only_who_sees_an_instance_or_works_on_it_attaches_files_to_it(admin, login) -> None:  # noqa: ANN001
    operator, expert = login("jyj_jb"), login("expert01")
    instance = started(operator)
    assert expert.get(f"/api/v1/instances/{instance}").status_code == 404
    for outsider in (expert, login("wjw_jb")):
        refused = upload(outsider, {"instance_id": str(instance), "kind": "OTHER"})
        assert refused.status_code == 404 and refused.get_json()["message"] == f"流程实例 {instance} 不存在"
    assert admin.get(f"/api/v1/instances/{instance}/documents").get_json() == []
    own = upload(operator, {"instance_id": str(instance)})
    assert own.status_code == 201
    # Attached: the instance's readers open it (it becomes one of its documents once a submission names it).
    url = f"/api/v1/attachments/{own.get_json()['id']}"
    assert login("jyj_fzr").get(url).status_code == 200 and login("wjw_jb").get(url).status_code == 404
    # An expert given one of its tasks works on it without seeing it, and may attach to it.
    task = open_task(admin, instance)
    assert (
        admin.post(f"/api/v1/tasks/{task['id']}/reassign", json={"username": "expert01"}).status_code == 200
    )
    assert expert.get(f"/api/v1/instances/{instance}").status_code == 404
    assert upload(expert, {"instance_id": str(instance)}).status_code == 201
    assert upload(expert, {}).status_code == 201  # linked to nothing: no instance to check


def test_upload_fields_are_checked_before_anything_is_stored(admin, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    instance = started(operator)
    for bad in ("0", "-1", "abc", "1.5", " 1", "99999999999999999999", str(2**63), str(2**31)):
        refused = upload(operator, {"instance_id": bad})
        assert refused.status_code == 422, bad
        assert refused.get_json()["errors"] == {"instance_id": ["应为有效的流程实例编号"]}, bad
    missing = upload(operator, {"instance_id": "99999"})
    assert missing.status_code == 404 and missing.get_json()["message"] == "流程实例 99999 不存在"
    refused = upload(
        operator, {"instance_id": str(instance), "kind": "K" * 100000, "task_guid": "g" * 100000}
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"kind": ["长度不能超过 40"], "task_guid": ["长度不能超过 36"]}
    for name in ("a\x00b.pdf", "a\x01b.pdf", "a\nb.pdf"):
        refused = upload(operator, {"instance_id": str(instance)}, name=name)
        assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["file"], name
    refused = upload(operator, {"instance_id": str(instance)}, name="a\x1fb.pdf")
    assert refused.get_json()["errors"] == {"file": ["文件名不能包含控制字符"]}
    assert admin.get(f"/api/v1/instances/{instance}/documents").get_json() == []  # none of those stored

    odd = upload(operator, {"instance_id": str(instance)}, content_type="application/" + "x" * 5000)
    assert odd.status_code == 201 and odd.get_json()["content_type"] == "application/octet-stream"
    kept = upload(operator, {"instance_id": str(instance), "kind": "K" * 40, "task_guid": "g" * 36})
    assert kept.status_code == 201 and kept.get_json()["content_type"] == "application/pdf"
    download = operator.get(f"/api/v1/attachments/{odd.get_json()['id']}")
    assert download.status_code == 200 and download.mimetype == "application/octet-stream"


# ----------------------------------------------------------------------------- 3. drafts


def test_a_draft_follows_the_rules_of_completing(admin, login) -> None:  # noqa: ANN001
    operator, clerk = login("jyj_jb"), login("dsj_clerk")
    instance = started(operator)
    fill = open_task(admin, instance)
    assert operator.post(f"/api/v1/tasks/{fill['id']}/complete", json={"data": APPROVE}).status_code == 200
    review = open_task(admin, instance)
    assert clerk.post(f"/api/v1/tasks/{review['id']}/claim").status_code == 200
    draft_url = f"/api/v1/tasks/{review['id']}/draft"
    assert clerk.post(draft_url, json={"data": {"amount": 1}}).status_code == 200

    taken = admin.post(draft_url, json={"data": {"amount": 2}})  # same role, but dsj_clerk holds it
    assert taken.status_code == 409 and taken.get_json()["message"] == "任务已由 王科员(市数管局项目科) 认领"
    assert operator.post(draft_url, json={"data": {"amount": 3}}).status_code == 403  # sees, may not work
    assert login("expert01").post(draft_url, json={"data": {"amount": 4}}).status_code == 404
    assert clerk.get(f"/api/v1/tasks/{review['id']}").get_json()["draft"] == {"amount": 1}

    assert admin.post(f"/api/v1/instances/{instance}/suspend").status_code == 200
    paused = clerk.post(draft_url, json={"data": {"amount": 5}})
    assert paused.status_code == 409 and paused.get_json()["message"] == "流程实例已挂起，暂不能办理"
    assert admin.post(f"/api/v1/instances/{instance}/resume").status_code == 200
    assert clerk.post(draft_url, json={"data": {"amount": 6}}).status_code == 200
    assert clerk.post(f"/api/v1/tasks/{review['id']}/complete", json={"data": APPROVE}).status_code == 200
    assert clerk.post(draft_url, json={"data": {"amount": 7}}).status_code == 409  # done


# ----------------------------------------------------------------------------- 4. claim and unclaim


def test_claim_and_unclaim_answer_only_about_tasks_one_sees(admin, login) -> None:  # noqa: ANN001
    instance = started(
        admin, unit_code=WJW
    )  # the admin holds no unit role: 市卫健委's task waits in the pool
    task = open_task(admin, instance)
    assert task["claimed_by"] is None
    for outsider in (login("jyj_jb"), login("expert01")):
        assert outsider.get(f"/api/v1/tasks/{task['id']}").status_code == 404
        for action in ("unclaim", "claim"):
            refused = outsider.post(f"/api/v1/tasks/{task['id']}/{action}")
            assert refused.status_code == 404 and "data" not in refused.get_json(), action
            assert refused.get_json()["message"] == f"任务 {task['id']} 不存在"
    clerk, unit = login("dsj_clerk"), login("wjw_jb")  # 市数管局 sees every instance; wjw_jb works on it
    unheld = unit.post(f"/api/v1/tasks/{task['id']}/unclaim")
    assert unheld.status_code == 409 and unheld.get_json()["message"] == "任务未被认领，无需退回认领"
    assert clerk.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 403
    assert unit.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    refused = clerk.post(f"/api/v1/tasks/{task['id']}/unclaim")
    assert refused.status_code == 403 and refused.get_json()["message"] == "只有认领人或管理员可以退回认领"
    assert login("jyj_jb").post(f"/api/v1/tasks/{task['id']}/unclaim").status_code == 404
    released = admin.post(f"/api/v1/tasks/{task['id']}/unclaim")
    assert released.status_code == 200 and released.get_json()["claimed_by"] is None

    # A completed task: who completed it is told to those who may see the task, not to others.
    assert unit.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": APPROVE}).status_code == 200
    assert login("expert01").post(f"/api/v1/tasks/{task['id']}/claim").status_code == 404
    refused = clerk.post(f"/api/v1/tasks/{task['id']}/claim")
    assert refused.status_code == 403 and "detail" not in refused.get_json()
    done = unit.post(f"/api/v1/tasks/{task['id']}/claim")
    assert done.status_code == 409 and done.get_json()["detail"]["completed_by"] == "wjw_jb"
    # Completing it again answers the same way: a 403 without who and when to one who may not work on it.
    again = clerk.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": APPROVE})
    assert again.status_code == 403 and "detail" not in again.get_json()
    again = unit.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": APPROVE})
    assert again.status_code == 409 and again.get_json()["detail"]["completed_by"] == "wjw_jb"
