"""Input no view should ever see: refused up front with a clear 4xx, in Chinese, and nothing written."""

from __future__ import annotations

import io
import json

import pytest

from tests.api.test_runtime_api import complete, start, task_named
from tests.conftest import ApiClient, deploy
from tests.workflows import bundle, two_lanes

SURROGATE = "包含无效字符(不成对的 Unicode 代理项)"


def raw(client: ApiClient, method: str, url: str, body: str | bytes, content_type: str = "application/json"):  # noqa: ANN201
    """Send a body exactly as given (json= would refuse to encode a lone surrogate)."""
    headers = {"X-CSRFToken": client.csrf, "Content-Type": content_type}
    return client.client.open(url, method=method, data=body, headers=headers)


@pytest.fixture
def admin(login) -> ApiClient:  # noqa: ANN001
    return login("admin")


def test_a_lone_surrogate_is_a_field_error_wherever_it_comes(app, admin, login) -> None:  # noqa: ANN001
    anonymous = app.test_client()
    refused = anonymous.post(
        "/api/v1/auth/login",
        data='{"username": "a\\ud800", "password": "x"}',
        content_type="application/json",
    )
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"username": [SURROGATE]}
    deploy(admin, bundle(two_lanes()))
    clerk = login("jyj_jb")
    body = '{"process_id": "two_lanes", "data": {"project_name": "平台\\udfff", "\\ud800": 1}}'
    refused = raw(clerk, "POST", "/api/v1/instances", body)
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {"data.project_name": [SURROGATE], "data": [SURROGATE]}
    assert clerk.get("/api/v1/instances").get_json()["total"] == 0
    start(clerk, "two_lanes")
    task = task_named(clerk, "填写申请")
    draft = raw(clerk, "POST", f"/api/v1/tasks/{task['id']}/draft", '{"data": {"project_name": "\\ud800"}}')
    assert draft.status_code == 422 and draft.get_json()["errors"] == {"data.project_name": [SURROGATE]}
    assert clerk.get(f"/api/v1/tasks/{task['id']}").status_code == 200  # the task still opens
    assert complete(clerk, task["id"], {"decision": "APPROVE", "amount": 100}).status_code == 200


def test_a_body_nested_past_any_form_is_refused_before_it_is_walked(app, admin) -> None:  # noqa: ANN001
    anonymous = app.test_client()
    for depth in (5000, 900, 70):
        body = "[" * depth + "]" * depth
        refused = anonymous.post("/api/v1/auth/login", data=body, content_type="application/json")
        assert refused.status_code == 422, depth
        assert refused.get_json()["errors"] == {"": ["嵌套层数过多(最多 64 层)"]}, depth
    nested: object = "x"
    for _ in range(70):
        nested = {"a": nested}
    refused = admin.post("/api/v1/instances", json={"process_id": "two_lanes", "data": nested})
    assert refused.status_code == 422 and list(refused.get_json()["errors"]) == [""]


def test_an_api_body_that_is_not_json_is_refused_not_ignored(admin) -> None:
    users = admin.get("/api/v1/users?q=jyj_jb").get_json()["items"]
    user_id = users[0]["id"]
    body = json.dumps({"display_name": "改名"})
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        refused = raw(admin, "PATCH", f"/api/v1/users/{user_id}", body, content_type)
        assert refused.status_code == 415, content_type
        assert refused.get_json()["message"].startswith("请求体须为 JSON"), content_type
    assert admin.get(f"/api/v1/users/{user_id}").get_json()["display_name"] != "改名"
    assert raw(admin, "PATCH", f"/api/v1/users/{user_id}", body).status_code == 200  # as JSON it is read


def test_an_anonymous_call_is_a_401_before_its_arguments_are_read(app) -> None:  # noqa: ANN001
    anonymous = app.test_client()
    for body in ({}, {"username": "x", "display_name": "x"}):
        refused = anonymous.post("/api/v1/users", json=body)
        assert refused.status_code == 401 and refused.get_json()["errors"] == {}
    assert anonymous.get("/api/v1/tasks?page=-1").status_code == 401


def test_a_fraction_where_a_whole_number_belongs_is_refused_not_cut(admin) -> None:
    user_id = admin.get("/api/v1/users?q=jyj_jb").get_json()["items"][0]["id"]
    before = admin.get(f"/api/v1/users/{user_id}").get_json()
    refused = admin.patch(f"/api/v1/users/{user_id}", json={"organisation_id": 1.9})
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"organisation_id": ["应填写整数"]}
    assert admin.get(f"/api/v1/users/{user_id}").get_json() == before
    assert admin.patch(f"/api/v1/users/{user_id}", json={"organisation_id": 1.0}).status_code == 200
    assert admin.get("/api/v1/users?page=1.5").status_code == 422


def test_body_errors_name_their_fields_in_chinese(admin) -> None:
    for body in ([1], "s", 5):
        refused = admin.post("/api/v1/instances", json=body)
        assert refused.status_code == 422 and refused.get_json()["errors"] == {"": ["应为对象"]}, body
    refused = admin.post("/api/v1/validate", json={})
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"files": ["此项为必填项"]}


def test_an_upload_past_the_limit_says_what_the_limit_is(app, login) -> None:  # noqa: ANN001
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    clerk = login("jyj_jb")
    refused = clerk.client.post(
        "/api/v1/attachments",
        data={"file": (io.BytesIO(b"x" * (3 * 1024 * 1024)), "大文件.pdf")},
        headers={"X-CSRFToken": clerk.csrf},
    )
    assert refused.status_code == 413
    assert refused.get_json()["message"] == "上传的文件过大(每次上传不能超过 2 MB)"


def test_a_bundle_holding_two_files_of_one_name_is_refused_not_merged(admin) -> None:
    files = {"a/test.bpmn": two_lanes(), "b/test.bpmn": two_lanes("other")}
    refused = admin.post("/api/v1/validate", json={"files": files})
    assert refused.status_code == 422
    assert [p["message"] for p in refused.get_json()["errors"]] == [
        "与另一个文件同名（test.bpmn），部署包中文件名不能重复"
    ]
    assert admin.get("/api/v1/processes/nothing_here/versions").status_code == 404


def test_a_name_of_spaces_only_is_no_name(admin) -> None:
    refused = admin.post("/api/v1/auth/tokens", json={"name": "   "})
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"name": ["此项不能为空"]}
    made = admin.post("/api/v1/auth/tokens", json={"name": " 报表 "})
    assert made.status_code == 201 and made.get_json()["name"] == "报表"


def test_a_user_lists_and_revokes_their_own_tokens(app, admin, login) -> None:  # noqa: ANN001
    clerk = login("dsj_clerk")
    made = clerk.post("/api/v1/auth/tokens", json={"name": "报表程序"}).get_json()
    other = admin.post("/api/v1/auth/tokens", json={"name": "管理员的"}).get_json()
    listed = clerk.get("/api/v1/auth/tokens").get_json()
    assert [t["name"] for t in listed] == ["报表程序"] and "token" not in listed[0]
    program = app.test_client()
    bearer = {"Authorization": f"Bearer {made['token']}"}
    assert program.get("/api/v1/auth/me", headers=bearer).status_code == 200
    refused = clerk.client.delete(f"/api/v1/auth/tokens/{other['id']}", headers={"X-CSRFToken": clerk.csrf})
    assert refused.status_code == 404  # another person's token is not theirs to see or revoke
    gone = clerk.client.delete(f"/api/v1/auth/tokens/{made['id']}", headers={"X-CSRFToken": clerk.csrf})
    assert gone.status_code == 204 and clerk.get("/api/v1/auth/tokens").get_json() == []
    assert program.get("/api/v1/auth/me", headers=bearer).status_code == 401
