"""Pages through the Flask test client: who sees what, 403/404 rules, CSRF, the island adapters."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from handlers import REGISTRY
from handlers.doc_store import store_document
from handlers.models import Project
from processes.store.models import HumanTask
from tests.api.test_runtime_api import FlakyHandler
from tests.bpmn_builder import Process, end, user_task
from tests.bpmn_builder import start as start_event
from tests.conftest import ApiClient, deploy, make_app
from tests.workflows import bundle, flaky, returned, two_lanes

JSON = {"Accept": "application/json"}
ROLES = [
    "admin",
    "dsj_clerk",
    "dsj_leader",
    "fin",
    "ndrc",
    "crypto",
    "ggj",
    "gov",
    "audit",
    "manager",
    "jyj_jb",
    "jyj_fzr",
    "expert01",
]


@pytest.fixture
def admin(login) -> ApiClient:  # noqa: ANN001
    client = login("admin")
    assert deploy(client, bundle(two_lanes())).status_code == 201
    return client


def start(client: ApiClient, process_id: str = "two_lanes", data: dict | None = None) -> int:
    """Start an instance through the API and return its id."""
    response = client.post("/api/v1/instances", json={"process_id": process_id, "data": data or {}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def start_in_pool(admin: ApiClient, unit: str = "市教育局", process_id: str = "two_lanes") -> int:
    """Start an instance for a unit as the admin, who holds no unit role: its first task waits in the pool."""
    code = next(o["code"] for o in admin.get("/api/v1/organisations").get_json() if o["short_name"] == unit)
    body = {"process_id": process_id, "data": {}, "unit_code": code}
    response = admin.post("/api/v1/instances", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def open_task(client: ApiClient, instance_id: int) -> dict:
    """Return the caller's one open task of an instance."""
    found = [t for t in client.get("/api/v1/tasks").get_json()["items"] if t["instance_id"] == instance_id]
    assert len(found) == 1, found
    return found[0]


def page(client: ApiClient, url: str, status: int = 200) -> str:
    """GET a page, check its status, return its HTML."""
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:500])
    return response.get_data(as_text=True)


def submit(client: ApiClient, task_id: int, data: dict):  # noqa: ANN201
    """POST the form island's submission."""
    return client.client.post(
        f"/tasks/{task_id}/submit", json={"data": data}, headers={"X-CSRFToken": client.csrf, **JSON}
    )


APPROVE = {"decision": "APPROVE", "amount": 1234567.8}


# ----------------------------------------------------------------------------- log-in


def login_form(client, username: str, password: str, next_url: str = ""):  # noqa: ANN001, ANN201
    """Log in through the page as a browser does: GET the form for its CSRF token, then POST it."""
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return client.post(
        f"/login{next_url}", data={"username": username, "password": password, "csrf_token": token}
    )


def test_login_page_shows_chinese_errors_and_sends_home(app) -> None:  # noqa: ANN001
    client = app.test_client()
    assert client.get("/").status_code == 302
    assert client.get("/").headers["Location"].startswith("/login?next=")
    assert "用户登录" in client.get("/login").get_data(as_text=True)
    forged = client.post("/login", data={"username": "jyj_jb", "password": "Egov@2026"})
    assert forged.status_code == 400 and "CSRF" in forged.get_data(as_text=True)
    wrong = login_form(client, "jyj_jb", "nope")
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.get_data(as_text=True)
    ok = login_form(client, "jyj_jb", "Egov@2026", "?next=/projects")
    assert ok.status_code == 302 and ok.headers["Location"] == "/projects"
    assert client.get("/login").status_code == 302  # already logged in
    other = app.test_client()
    evil = login_form(other, "jyj_jb", "Egov@2026", "?next=//evil.example")
    assert evil.headers["Location"] == "/"


def test_login_is_rate_limited(db_url: str) -> None:
    app = make_app(db_url, LOGIN_MAX_FAILURES=2)
    client = app.test_client()
    for _ in range(2):
        assert login_form(client, "fin", "x").status_code == 401
    blocked = login_form(client, "fin", "Egov@2026")
    assert blocked.status_code == 429 and "登录失败次数过多" in blocked.get_data(as_text=True)
    app.extensions["egovflow"].engine.dispose()


def test_logout_needs_the_csrf_token(login) -> None:  # noqa: ANN001
    user = login("jyj_jb")
    refused = user.client.post("/logout")
    assert refused.status_code == 400 and "CSRF" in refused.get_data(as_text=True)
    assert user.client.post("/logout", data={"csrf_token": user.csrf}).status_code == 302
    assert user.get("/").status_code == 302


# ----------------------------------------------------------------------------- home


@pytest.mark.parametrize("username", ROLES)
def test_every_role_gets_its_pages(admin, login, username: str) -> None:  # noqa: ANN001
    start(login("jyj_jb"))
    user = login(username)
    if username == "manager":  # no role of its own, so no tasks: the day starts at the dashboard
        assert user.get("/").headers["Location"] == "/dashboard"
    home = page(user, "/?sort=due")
    assert "我的待办" in home and "我所在角色的待办" in home
    page(user, "/instances")
    page(user, "/projects")
    page(user, "/api/docs")
    manager = username in ("admin", "dsj_leader", "audit", "manager")
    page(user, "/dashboard", 200 if manager else 403)
    page(user, "/admin/processes", 200 if username == "admin" else 403)
    assert ("发起两级审批" in home) == (username in ("admin", "jyj_jb"))


def test_home_lists_pool_tasks_with_claim_counts_search_and_overdue(app, admin, login, clock) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    first = start_in_pool(admin)
    start_in_pool(admin)
    home = page(operator, "/")
    assert 'id="count-pool">2<' in home and 'id="count-mine">0<' in home
    task = open_task(operator, first)
    assert f'data-api-url="/api/v1/tasks/{task["id"]}/claim"' in home
    assert operator.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    home = page(operator, "/")
    assert 'id="count-mine">1<' in home and "退回认领" in home
    with app.extensions["egovflow"].sessions() as session:
        session.execute(
            update(HumanTask).where(HumanTask.id == task["id"]).values(due_at=clock.now() - timedelta(days=2))
        )
        session.commit()
    home = page(operator, "/")
    assert 'class="overdue"' in home and "已超期" in home and 'id="count-overdue">1<' in home
    assert "没有符合条件的任务" in page(operator, "/?q=不存在的项目")
    assert page(login("wjw_jb"), "/").count("data-task-id=") == 0  # another unit's pool is not theirs


def test_home_pages_its_lists(admin, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    for _ in range(12):
        start_in_pool(admin)
    first = page(operator, "/")
    assert first.count("data-task-id=") == 10 and "pool_page=2" in first
    assert page(operator, "/?pool_page=2").count("data-task-id=") == 2


# ----------------------------------------------------------------------------- tasks


def test_task_page_form_adapter_and_submit(admin, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    instance = start(operator)
    task = open_task(operator, instance)
    html = page(operator, f"/tasks/{task['id']}")
    assert "填写申请" in html and f'data-submit-url="/tasks/{task["id"]}/submit"' in html
    assert "项目概况" in html and "总投资概算" in html
    form = operator.get(f"/tasks/{task['id']}/form.json").get_json()
    assert form["schema"]["title"] == "测试审批表" and form["data"] == {} and form["ui"] is None
    bad = submit(operator, task["id"], {"decision": "MAYBE"})
    assert bad.status_code == 422
    assert bad.get_json()["errors"]["amount"] == ["此项为必填项"]
    assert bad.get_json()["errors"]["decision"] == ["请选择有效的选项"]
    assert operator.post(f"/api/v1/tasks/{task['id']}/draft", json={"data": {"amount": 5}}).status_code == 200
    assert operator.get(f"/tasks/{task['id']}/form.json").get_json()["data"] == {"amount": 5}
    done = submit(operator, task["id"], APPROVE)
    assert done.status_code == 200 and done.get_json()["next_url"].startswith("/?done=")
    assert "「填写申请」已办理完成" in page(operator, done.get_json()["next_url"])
    assert "已办理完成" not in page(login("dsj_clerk"), done.get_json()["next_url"])
    again = submit(operator, task["id"], APPROVE)
    assert again.status_code == 409 and "办理完成" in again.get_json()["message"]
    finished = page(operator, f"/tasks/{task['id']}")
    assert "办理完成" in finished and "市教育局经办人" in finished and "data-readonly" in finished
    assert operator.get(f"/tasks/{task['id']}/form.json").get_json()["data"]["decision"] == "APPROVE"


def test_task_page_rules_for_others(admin, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    instance = start_in_pool(admin)
    task = open_task(operator, instance)
    page(login("wjw_jb"), f"/tasks/{task['id']}", 404)
    page(login("wjw_jb"), f"/tasks/{task['id']}/form.json", 404)
    clerk_view = page(login("dsj_clerk"), f"/tasks/{task['id']}")
    assert "您不是此任务的办理人" in clerk_view and "data-submit-url" not in clerk_view
    refused = submit(login("dsj_clerk"), task["id"], APPROVE)
    assert refused.status_code == 403
    page(operator, "/tasks/999999", 404)


def test_submit_without_csrf_is_refused(admin, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    task = open_task(operator, start(operator))
    response = operator.client.post(f"/tasks/{task['id']}/submit", json={"data": APPROVE}, headers=JSON)
    assert response.status_code == 400 and "CSRF" in response.get_json()["message"]
    assert open_task(operator, task["instance_id"])["status"] == "ready"


def test_next_url_is_the_users_next_task_of_the_same_instance(login) -> None:  # noqa: ANN001
    admin = login("admin")
    assert deploy(admin, bundle(two_lanes("chain", review_lane="建设单位经办人"))).status_code == 201
    operator = login("jyj_jb")
    instance = start(operator, "chain")
    first = open_task(operator, instance)
    done = submit(operator, first["id"], APPROVE).get_json()
    second = open_task(operator, instance)
    assert done["next_url"] == f"/tasks/{second['id']}"
    assert "请审核" in page(operator, done["next_url"])


def test_continue_goes_to_the_first_task_after_starting(admin, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    instance = start(operator)
    response = operator.get(f"/instances/{instance}/continue")
    assert response.status_code == 302 and response.headers["Location"].startswith("/tasks/")
    elsewhere = login("dsj_clerk").get(f"/instances/{instance}/continue")
    assert elsewhere.headers["Location"] == f"/instances/{instance}"


def test_upload_adapter_links_the_file_to_the_task(admin, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    instance = start(operator)
    task = open_task(operator, instance)
    response = operator.client.post(
        f"/tasks/{task['id']}/upload",
        headers={"X-CSRFToken": operator.csrf, **JSON},
        data={"file": (io.BytesIO(b"%PDF-1.4"), "需求说明.pdf")},
    )
    assert response.status_code == 201, response.get_json()
    meta = response.get_json()
    assert isinstance(meta["id"], str) and meta["filename"] == "需求说明.pdf"
    # Linked to the instance, so its readers may open it; but not yet a document: nothing submitted it.
    assert login("dsj_clerk").get(f"/api/v1/attachments/{meta['id']}").status_code == 200
    assert login("dsj_clerk").get(f"/api/v1/instances/{instance}/documents").get_json() == []
    refused = login("wjw_jb").client.post(
        f"/tasks/{task['id']}/upload", headers=JSON, data={"file": (io.BytesIO(b"x"), "a.pdf")}
    )
    assert refused.status_code in (400, 404)


# ----------------------------------------------------------------------------- instances


def test_the_starter_holds_the_first_step(admin, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    instance = start(operator)
    task = open_task(operator, instance)
    assert task["claimed_by"]["username"] == "jyj_jb"
    home = page(operator, "/")
    assert 'id="count-mine">1<' in home and 'id="count-pool">0<' in home and "退回认领" in home
    assert operator.get("/api/v1/tasks?scope=roles").get_json()["items"] == []  # not in the unit's pool
    assert operator.post(f"/api/v1/tasks/{task['id']}/unclaim").status_code == 200
    assert open_task(operator, instance)["claimed_by"] is None  # released to the unit's pool


def test_the_navigation_counts_the_tasks_waiting(admin, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    assert 'id="nav-waiting"' not in page(operator, "/instances")
    start(operator)
    start_in_pool(admin)
    assert 'id="nav-waiting" title="待我办理和我所在角色待认领的任务">2<' in page(operator, "/instances")
    assert 'id="nav-waiting"' not in page(login("wjw_jb"), "/")  # another unit's tasks are not theirs


def test_a_returned_step_goes_back_to_whoever_did_it_last(admin, login) -> None:  # noqa: ANN001
    assert deploy(admin, bundle(returned(), name="r.bpmn")).status_code == 201
    operator = login("jyj_jb")
    instance = start_in_pool(admin, process_id="returned")
    first = open_task(operator, instance)
    assert first["claimed_by"] is None  # nobody of the unit has done it yet: the pool
    assert operator.post(f"/api/v1/tasks/{first['id']}/claim").status_code == 200
    assert submit(operator, first["id"], {**APPROVE, "decision": "REJECT"}).status_code == 200
    again = open_task(operator, instance)
    assert again["id"] != first["id"] and again["claimed_by"]["username"] == "jyj_jb"
    # Done last by someone who does not hold the role (an admin handed it to a clerk): the pool again.
    clerk = login("dsj_clerk")
    handed = admin.post(f"/api/v1/tasks/{again['id']}/reassign", json={"username": "dsj_clerk"})
    assert handed.status_code == 200
    assert submit(clerk, again["id"], {**APPROVE, "decision": "REJECT"}).status_code == 200
    assert open_task(operator, instance)["claimed_by"] is None


def test_a_roles_next_step_goes_to_whoever_did_its_last_one(admin, login) -> None:  # noqa: ANN001
    p = Process("handback", "补正")
    p.add(start_event(), "建设单位经办人", "start")
    p.add(user_task("fill", "填报"), "建设单位经办人", "fill")
    p.add(user_task("review", "初审"), "市数管局项目科", "review")
    p.add(user_task("correct", "修改补正"), "建设单位经办人", "correct")
    p.add(end(), "建设单位经办人", "end")
    p.chain("start", "fill", "review", "correct", "end")
    assert deploy(admin, bundle(p.xml(), name="h.bpmn")).status_code == 201
    operator, clerk = login("jyj_jb"), login("dsj_clerk")
    instance = start_in_pool(admin, process_id="handback")
    fill = open_task(operator, instance)
    assert operator.post(f"/api/v1/tasks/{fill['id']}/claim").status_code == 200
    assert submit(operator, fill["id"], {}).status_code == 200
    review = open_task(clerk, instance)
    assert review["claimed_by"] is None  # nobody of this role has worked on the instance: the pool
    assert clerk.post(f"/api/v1/tasks/{review['id']}/claim").status_code == 200
    assert submit(clerk, review["id"], {}).status_code == 200
    correct = open_task(operator, instance)
    assert correct["name"] == "修改补正" and correct["claimed_by"]["username"] == "jyj_jb"


def test_a_project_not_yet_named_says_so(admin, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    instance = start(operator)
    for url in (f"/instances/{instance}", f"/tasks/{open_task(operator, instance)['id']}"):
        html = page(operator, url)
        assert "<dt>项目名称</dt><dd>尚未填写</dd>" in html, url
    named = start(operator, data={"project_name": "六安市教育局智慧校园平台"})
    assert "<dt>项目名称</dt><dd>六安市教育局智慧校园平台</dd>" in page(operator, f"/instances/{named}")
    assert '<span class="muted">第 1 版</span>' in page(operator, "/instances")  # as everywhere else


def test_a_bureaus_own_process_shows_its_facts_not_an_empty_project(admin, login) -> None:  # noqa: ANN001
    p = Process("plan_like", "年度计划编制")
    p.add(start_event(), "市数管局项目科", "start")
    p.add(user_task("compile", "编制计划"), "市数管局项目科", "compile")
    p.add(end(), "市数管局项目科", "end")
    p.chain("start", "compile", "end")
    assert deploy(admin, bundle(p.xml(), name="plan.bpmn")).status_code == 201
    clerk = login("dsj_clerk")
    instance = start(clerk, process_id="plan_like")
    for url in (f"/instances/{instance}", f"/tasks/{open_task(clerk, instance)['id']}"):
        html = page(clerk, url)
        assert "<dt>发起单位</dt><dd>六安市数据资源管理局</dd>" in html, url
        assert "项目名称" not in html and "尚未填写" not in html, url
    declared = start(login("jyj_jb"))  # a unit's own process is a project, named or not
    assert "<dt>项目名称</dt><dd>尚未填写</dd>" in page(login("jyj_jb"), f"/instances/{declared}")


def test_instance_page_diagram_endpoints_and_visibility(admin, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    instance = start_in_pool(admin)
    html = page(operator, f"/instances/{instance}")
    assert "流程图" in html and "办理历史" in html and "文档与附件" in html
    assert f'data-state-url="/instances/{instance}/diagram/two_lanes/state.json"' in html
    assert "admin-actions" not in html
    xml = operator.get(f"/instances/{instance}/diagram/two_lanes.bpmn")
    assert xml.status_code == 200 and xml.mimetype == "application/xml" and b"two_lanes" in xml.data
    state = operator.get(f"/instances/{instance}/diagram/two_lanes/state.json").get_json()
    assert "start" in state["completed"]
    assert state["active"] == [{"id": "fill", "label": "待认领（建设单位经办人）"}]
    assert "f_start_fill" in state["taken_flows"]
    operator.get("/")  # claim changes the holder label
    assert operator.post(f"/api/v1/tasks/{open_task(operator, instance)['id']}/claim").status_code == 200
    state = operator.get(f"/instances/{instance}/diagram/two_lanes/state.json").get_json()
    assert state["active"] == [{"id": "fill", "label": "市教育局经办人"}]
    page(operator, f"/instances/{instance}/diagram/nope.bpmn", 404)
    page(login("wjw_jb"), f"/instances/{instance}", 404)
    page(login("wjw_jb"), f"/instances/{instance}/diagram/two_lanes/state.json", 404)
    admin_html = page(admin, f"/instances/{instance}")
    assert 'id="admin-actions"' in admin_html and f"/api/v1/instances/{instance}/suspend" in admin_html


def test_instance_page_shows_incidents_and_history_with_titles(app, admin, login) -> None:  # noqa: ANN001
    app.extensions["egovflow"].runtime.handlers = {**REGISTRY, "flaky": FlakyHandler()}
    assert deploy(admin, bundle(flaky())).status_code == 201
    operator = login("jyj_jb")
    broken = start(operator, "flaky")
    html = page(admin, f"/instances/{broken}")
    assert "下游系统不可用" in html and "重试故障步骤" in html and "技术细节" in html
    seen_by_unit = page(operator, f"/instances/{broken}")
    assert "技术细节" not in seen_by_unit and "下游系统不可用" not in seen_by_unit
    assert "流程出现故障，已通知流程管理员处理" in seen_by_unit
    done = start(operator)
    task = open_task(operator, done)
    submit(operator, task["id"], APPROVE)
    history = page(operator, f"/instances/{done}")
    assert "办理：填写申请" in history and "审批意见：同意" in history and "金额(元)" in history


def test_instance_list_filters_like_the_api(admin, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    first = start(operator)
    html = page(operator, "/instances?status=running&process_id=two_lanes")
    assert f'href="/instances/{first}"' in html
    assert "没有符合条件的流程实例" in page(operator, "/instances?status=complete")
    bad = page(operator, "/instances?plan_year=abc")
    assert "查询条件有误" in bad and f'href="/instances/{first}"' in bad
    assert f'href="/instances/{first}"' not in page(login("wjw_jb"), "/instances")


# ----------------------------------------------------------------------------- project register and documents


def add_project(
    session,
    project_id: str,
    unit_code: str,
    unit_name: str,
    year: int,  # noqa: ANN001
    amount: str,
    stage: str,
    status: str,
    instance_id: int | None = None,
) -> None:
    """Add one row to the project register."""
    now = datetime(2026, 3, 1, tzinfo=UTC)
    session.add(
        Project(
            project_id=project_id,
            plan_year=year,
            seq=int(project_id[-4:]),
            name=f"{unit_name}项目{project_id}",
            unit_code=unit_code,
            unit_name=unit_name,
            project_type="NEW",
            planned=True,
            total_estimate=Decimal(amount),
            stage=stage,
            status=status,
            instance_id=instance_id,
            created_at=now,
            updated_at=now,
        )
    )


JYJ = ("11341500MB5260181F", "六安市教育局")
WJW = ("11341500MB59083010", "六安市卫生健康委员会")


@pytest.fixture
def register(app, admin, login) -> dict:  # noqa: ANN001
    """Three register rows (two of 市教育局, one of 市卫健委) and an instance of the first."""
    sessions = app.extensions["egovflow"].sessions
    with sessions() as session:  # the project is on record before an instance may name it
        add_project(session, "LA-2026-0001", *JYJ, 2026, "3200000.00", "初审", "INITIAL_REVIEW")
        session.commit()
    instance = start(login("jyj_jb"), data={"project_id": "LA-2026-0001"})
    with sessions() as session:
        first = update(Project).where(Project.project_id == "LA-2026-0001")
        session.execute(first.values(instance_id=instance))
        add_project(session, "LA-2026-0002", *JYJ, 2026, "8800000.50", "立项", "APPROVED")
        add_project(session, "LA-2025-0003", *WJW, 2025, "450000.00", "建设", "BUILDING")
        doc = store_document(
            session,
            kind="APPROVAL",
            filename="立项批复.docx",
            content=b"PK docx",
            created_at=datetime(2026, 3, 2, tzinfo=UTC),
            project_id="LA-2026-0001",
        )
        session.commit()
        return {"instance": instance, "document": doc.id}


def test_register_filters_sorts_pages_and_totals(app, register, login) -> None:  # noqa: ANN001
    manager = login("manager")
    html = page(manager, "/projects")
    assert "共 <strong>3</strong> 个项目" in html and "12,450,000.50 元" in html
    assert "LA-2025-0003" not in page(manager, "/projects?year=2026")
    only = page(manager, f"/projects?unit={JYJ[0]}&stage=立项")
    assert "LA-2026-0002" in only and "LA-2026-0001" not in only
    ranged = page(manager, "/projects?amount_min=400000&amount_max=3200000")
    assert "LA-2026-0001" in ranged and "LA-2025-0003" in ranged and "LA-2026-0002" not in ranged
    assert "LA-2026-0002" in page(manager, "/projects?status=APPROVED")
    by_amount = page(manager, "/projects?sort=amount")
    assert by_amount.index("LA-2026-0002") < by_amount.index("LA-2026-0001") < by_amount.index("LA-2025-0003")
    assert "查询条件有误" in page(manager, "/projects?amount_min=很多")
    api = manager.get("/api/v1/projects?page_size=2&sort=amount").get_json()
    assert api["total"] == 3 and len(api["items"]) == 2 and api["total_estimate"] == "12450000.50"
    assert api["approved_budget"] == "0.00"  # none of them approved yet
    with app.extensions["egovflow"].sessions() as session:
        approved = update(Project).where(Project.project_id == "LA-2026-0002")
        session.execute(approved.values(approved_budget=Decimal("8000000.00")))
        session.commit()
    assert manager.get("/api/v1/projects").get_json()["approved_budget"] == "8000000.00"
    assert 'id="sum-approved">8,000,000.00 元' in page(manager, "/projects")
    assert api["items"][0]["status_name"] == "已立项"


def test_a_manager_without_a_role_starts_at_the_dashboard(login) -> None:  # noqa: ANN001
    manager = login("manager")
    home = manager.get("/")
    assert home.status_code == 302 and home.headers["Location"] == "/dashboard"
    assert manager.get("/?q=x").status_code == 200  # a search of the task list still answers there
    assert login("jyj_jb").get("/").status_code == 200


def test_register_search_takes_what_is_typed_literally(register, login) -> None:  # noqa: ANN001
    manager = login("manager")

    def found(q: str) -> list[str]:
        items = manager.get("/api/v1/projects", query_string={"q": q}).get_json()["items"]
        return [p["project_id"] for p in items]

    assert found("  LA-2026-0002  ") == ["LA-2026-0002"]  # pasted with spaces around it
    assert found("%") == [] and found("_") == []  # not wildcards matching every project
    assert found("la-2025") == ["LA-2025-0003"]


def test_the_performance_grade_reads_in_chinese(app, register, login) -> None:  # noqa: ANN001
    with app.extensions["egovflow"].sessions() as session:
        rated = update(Project).where(Project.project_id == "LA-2025-0003")
        session.execute(rated.values(last_perf_score=Decimal("93.00"), last_perf_grade="EXCELLENT"))
        session.commit()
    html = page(login("manager"), "/projects/LA-2025-0003")
    assert "93.00 分（优）" in html and "EXCELLENT" not in html


def test_a_terminated_project_shows_why_it_ended(app, register, login) -> None:  # noqa: ANN001
    with app.extensions["egovflow"].sessions() as session:
        ended = update(Project).where(Project.project_id == "LA-2025-0003")
        reason = {"recorded": {"outcome_reason": "建设单位申请撤回"}}
        session.execute(ended.values(status="TERMINATED", declaration=reason))
        session.commit()
    html = page(login("manager"), "/projects/LA-2025-0003")
    assert "已终止" in html and "<dt>终止原因</dt><dd>建设单位申请撤回</dd>" in html


def test_a_stage_without_projects_is_still_offered_and_shown_chosen(register, login) -> None:  # noqa: ANN001
    html = page(login("manager"), "/projects?stage=验收")  # the dashboard links every stage
    assert '<option value="验收" selected>验收</option>' in html
    assert "<strong>没有符合条件的项目</strong>" in html


def test_register_is_scoped_to_the_units_own_projects(register, login) -> None:  # noqa: ANN001
    items = login("wjw_jb").get("/api/v1/projects").get_json()["items"]
    assert [p["project_id"] for p in items] == ["LA-2025-0003"]
    html = page(login("jyj_jb"), "/projects")
    assert "LA-2026-0001" in html and "LA-2025-0003" not in html
    page(login("wjw_jb"), "/projects/LA-2026-0001", 404)


def test_register_exports_the_filtered_rows_to_excel(register, login) -> None:  # noqa: ANN001
    manager = login("manager")
    assert "/api/v1/projects/export?year=2026" in page(manager, "/projects?year=2026&page=1")
    response = manager.get("/api/v1/projects/export?year=2026&sort=amount")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("项目编号", "项目名称")
    assert [r[0] for r in rows[1:]] == ["LA-2026-0002", "LA-2026-0001"]
    assert rows[1][7] == 8800000.5 and sheet.cell(row=2, column=8).number_format == "#,##0.00"


def test_project_page_and_document_download_rules(register, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    html = page(operator, "/projects/LA-2026-0001")
    assert "立项批复.docx" in html and f"/api/v1/documents/{register['document']}" in html
    assert f"/instances/{register['instance']}" in html
    download = operator.get(f"/api/v1/documents/{register['document']}")
    assert download.status_code == 200 and download.data == b"PK docx" and download.headers["X-Content-SM3"]
    assert login("wjw_jb").get(f"/api/v1/documents/{register['document']}").status_code == 404
    assert login("fin").get(f"/api/v1/documents/{register['document']}").status_code == 200
    assert "立项批复.docx" in page(operator, f"/instances/{register['instance']}")
    assert login("jyj_jb").get("/api/v1/documents/99999").status_code == 404


# ----------------------------------------------------------------------------- process admin


def test_modeler_deploys_one_edited_file_completed_with_the_deployed_forms(admin) -> None:  # noqa: ANN001
    html = page(admin, "/admin/processes/two_lanes/versions/1/modeler")
    assert 'data-deploy-url="/admin/modeler/deploy"' in html and 'data-file-name="test.bpmn"' in html
    edited = {"test.bpmn": two_lanes(review_lane="市数管局领导")}
    checked = admin.client.post(
        "/admin/modeler/validate", json={"files": edited}, headers={"X-CSRFToken": admin.csrf, **JSON}
    ).get_json()
    assert checked == {"ok": True, "problems": []}
    deployed = admin.client.post(
        "/admin/modeler/deploy", json={"files": edited}, headers={"X-CSRFToken": admin.csrf, **JSON}
    )
    assert deployed.status_code == 201, deployed.get_json()
    [made] = deployed.get_json()["versions"]
    assert (made["process_id"], made["version"], made["created"][:10]) == ("two_lanes", 2, "2026-03-02")
    files = admin.get("/api/v1/processes/two_lanes/versions/2").get_json()["contents"]
    assert "approval.schema.json" in files
    unknown_lane = {"test.bpmn": two_lanes(review_lane="无此角色")}
    broken = admin.client.post(
        "/admin/modeler/deploy", json={"files": unknown_lane}, headers={"X-CSRFToken": admin.csrf, **JSON}
    )
    assert broken.status_code == 422
    assert any(p["element_id"] == "review" and "未映射" in p["message"] for p in broken.get_json()["errors"])
    # Opening the older version now warns that deploying from it drops what version 2 changed.
    older = page(admin, "/admin/processes/two_lanes/versions/1/modeler")
    assert "当前最新为第 2 版" in older and "/admin/processes/two_lanes/versions/2/modeler" in older
    assert "当前最新为" not in page(admin, "/admin/processes/two_lanes/versions/2/modeler")


def test_modeler_takes_forms_only_in_the_forms_folder(admin) -> None:  # noqa: ANN001
    p = Process("uses_repo_form", "引用仓库表单")
    p.add(start_event(), "建设单位负责人", "start")
    p.add(user_task("review", "单位审核", form="unit_review.schema.json"), "建设单位负责人", "review")
    p.add(end(), "建设单位负责人", "end")
    p.chain("start", "review", "end")
    response = admin.client.post(
        "/admin/modeler/deploy",
        json={"files": {"repo_form.bpmn": p.xml()}},
        headers={"X-CSRFToken": admin.csrf, **JSON},
    )
    assert response.status_code == 201, response.get_json()
    contents = admin.get("/api/v1/processes/uses_repo_form/versions/1").get_json()["contents"]
    assert "unit_review.schema.json" in contents


def test_modeler_pages_are_for_admins_only(admin, login) -> None:  # noqa: ANN001
    clerk = login("dsj_clerk")
    for url in (
        "/admin/processes",
        "/admin/processes/two_lanes",
        "/admin/modeler/new",
        "/admin/forms",
        "/admin/lanes",
        "/admin/processes/two_lanes/diff",
    ):
        assert "需要流程管理员权限" in page(clerk, url, 403)
    refused = clerk.client.post(
        "/admin/modeler/deploy",
        json={"files": {"test.bpmn": two_lanes()}},
        headers={"X-CSRFToken": clerk.csrf, **JSON},
    )
    assert refused.status_code == 403
    assert page(admin, "/admin/modeler/new?file=新流程").count('data-file-name="新流程.bpmn"') == 1


def test_version_diff_shows_the_changed_lane(admin) -> None:  # noqa: ANN001
    assert deploy(admin, bundle(two_lanes(review_lane="市数管局领导"))).status_code == 201
    diff = admin.get("/admin/processes/two_lanes/diff.json?a=1&b=2").get_json()
    lanes = {c["element_id"]: c for c in diff["changes"]}
    assert lanes["lane1"]["change"] == "changed"
    assert "name：市数管局项目科 → 市数管局领导" in lanes["lane1"]["details"]
    html = page(admin, "/admin/processes/two_lanes/diff")
    assert "第 1 版 → 第 2 版" in html and "市数管局领导" in html
    state = admin.get("/admin/processes/two_lanes/diff/new/state.json?a=1&b=2&file=test.bpmn").get_json()
    assert {"id": "lane1", "label": "修改"} in state["active"]
    page(admin, "/admin/processes/two_lanes/diff/sideways/state.json", 404)


def test_version_diff_shows_a_form_change_field_by_field(admin) -> None:  # noqa: ANN001
    files = bundle(two_lanes())
    assert deploy(admin, files).status_code == 201
    form = json.loads(files["approval.schema.json"])
    field = next(iter(form["properties"]))
    form["properties"][field]["title"] = "新的标题"
    form["properties"]["remark"] = {"type": "string", "title": "备注"}
    assert (
        deploy(admin, {**files, "approval.schema.json": json.dumps(form, ensure_ascii=False)}).status_code
        == 201
    )
    diff = admin.get("/admin/processes/two_lanes/diff.json?a=1&b=2").get_json()
    changes = {c["element_id"]: c for c in diff["changes"] if c["file"] == "approval.schema.json"}
    assert changes["remark"]["change"] == "added" and changes["remark"]["type"] == "field"
    assert changes[field]["change"] == "changed" and changes[field]["name"] == "新的标题"
    assert any(d.startswith("title：") and d.endswith('→ "新的标题"') for d in changes[field]["details"])
    html = page(admin, "/admin/processes/two_lanes/diff")
    assert "差异（共 2 处）" in html and "表单字段" in html


def test_form_editor_saves_by_deploying_new_versions(admin) -> None:  # noqa: ANN001
    html = page(admin, "/admin/forms/approval.schema.json")
    assert "测试审批表" in html and "两级审批" in html
    assert "approval.schema.json" in page(admin, "/admin/forms")
    text = admin.get("/api/v1/processes/two_lanes/versions/1").get_json()["contents"]["approval.schema.json"]
    changed = text.replace("测试审批表", "测试审批表(修订)")
    saved = admin.client.post(
        "/admin/forms/approval.schema.json",
        json={"text": changed},
        headers={"X-CSRFToken": admin.csrf, **JSON},
    )
    assert saved.status_code == 201 and saved.get_json()["versions"][0]["version"] == 2
    assert "测试审批表(修订)" in page(admin, "/admin/forms/approval.schema.json")
    bad = admin.client.post(
        "/admin/forms/approval.schema.json", json={"text": "{"}, headers={"X-CSRFToken": admin.csrf, **JSON}
    )
    assert bad.get_json()["errors"]["text"] == ["不是合法的 JSON：第 1 行第 2 列：属性名须用英文双引号括起"]
    invalid_schema = admin.client.post(
        "/admin/forms/approval.schema.json",
        json={"text": '{"type": "object", "properties": {"a": {"type": "strin"}}}'},
        headers={"X-CSRFToken": admin.csrf, **JSON},
    )
    assert invalid_schema.status_code == 422
    problems = [p["message"] for p in invalid_schema.get_json()["errors"]]
    assert problems == ['JSON Schema 不合法：properties/a/type 处的值 "strin" 不符合 JSON Schema 规范']
    page(admin, "/admin/forms/nothing.schema.json", 404)


def test_lane_page_saves_through_the_api(admin, login) -> None:  # noqa: ANN001
    html = page(admin, "/admin/lanes")
    assert 'data-api-url="/api/v1/lanes" data-api-method="PUT"' in html and "市数管局项目科" in html
    moved = admin.put("/api/v1/lanes", {"lane": "市数管局项目科", "role_code": "DSJ_LEADER"})
    assert moved.status_code == 200
    assert login("dsj_clerk").put("/api/v1/lanes", {"lane": "x", "role_code": "FIN"}).status_code == 403
    operator = login("jyj_jb")
    task = open_task(operator, start(operator))
    submit(operator, task["id"], APPROVE)
    leader_tasks = login("dsj_leader").get("/api/v1/tasks").get_json()["items"]
    assert [t["name"] for t in leader_tasks] == ["审核申请"]


def test_a_lane_is_added_once_and_removed_only_when_no_diagram_has_it(admin, login) -> None:  # noqa: ANN001
    assert deploy(admin, bundle(two_lanes())).status_code == 201
    html = page(admin, "/admin/lanes")
    assert '<form class="filters" data-api-url="/api/v1/lanes" data-api-method="POST" id="add-lane"' in html
    added = admin.post("/api/v1/lanes", {"lane": " 测试泳道 ", "role_code": "FIN"})
    assert added.status_code == 201 and added.get_json()["lane"] == "测试泳道"
    again = admin.post("/api/v1/lanes", {"lane": "市数管局项目科", "role_code": "AUDIT"})
    assert (
        again.status_code == 409
        and again.get_json()["message"] == "泳道「市数管局项目科」已对应角色，请在列表中修改"
    )
    blank = admin.post("/api/v1/lanes", {"lane": "   ", "role_code": "FIN"})
    assert blank.status_code == 422 and blank.get_json()["errors"] == {"lane": ["此项不能为空"]}
    lanes = {m["lane"]: m["role_code"] for m in admin.get("/api/v1/lanes").get_json()}
    assert lanes["市数管局项目科"] == "DSJ_CLERK"  # not overwritten by the refused add
    html = page(admin, "/admin/lanes")
    assert (
        'data-api-url="/api/v1/lanes/%E6%B5%8B%E8%AF%95%E6%B3%B3%E9%81%93" data-api-method="DELETE"' in html
    )
    assert (
        "/api/v1/lanes/%E5%B8%82%E6%95%B0%E7%AE%A1%E5%B1%80%E9%A1%B9%E7%9B%AE%E7%A7%91" not in html
    )  # in use
    used = admin.client.delete("/api/v1/lanes/市数管局项目科", headers={"X-CSRFToken": admin.csrf})
    assert used.status_code == 409
    assert login("dsj_clerk").client.delete("/api/v1/lanes/测试泳道").status_code in (400, 403)
    gone = admin.client.delete("/api/v1/lanes/测试泳道", headers={"X-CSRFToken": admin.csrf})
    assert gone.status_code == 204 and "测试泳道" not in page(admin, "/admin/lanes")
    assert (
        admin.client.delete("/api/v1/lanes/测试泳道", headers={"X-CSRFToken": admin.csrf}).status_code == 404
    )


# ------------------------------------------------------------------------- readable history, filters, paging


def lifecycle_declaration(kinds: tuple[str, ...]) -> dict:
    """A complete declaration of a 320万 project, with one attachment of each of `kinds`."""
    return {
        "project_name": "六安市智慧教育资源共享平台",
        "project_type": "NEW",
        "plan_year": 2026,
        "planned": True,
        "total_estimate": 3200000.0,
        "funding_source": "CITY_FISCAL",
        "construction_content": "建设智慧教育资源共享平台，汇聚全市中小学教学资源。",
        "necessity": "全市教学资源分散在各校，缺少统一共享平台，需要建设市级平台统一汇聚并共享。",
        "on_egov_extranet": True,
        "uses_gov_cloud": True,
        "data_sharing_committed": True,
        "crypto_required": False,
        "mlps_level": 2,
        "period_months": 8,
        "keywords": ["教育"],
        "contact_name": "黄敏",
        "contact_phone": "0564-3371234",
        "documents": [
            {"id": str(n), "filename": f"附件{n}.pdf", "sha256": "a" * 64, "kind": kind}
            for n, kind in enumerate(kinds)
        ],
    }


def history_text(html: str) -> str:
    """The text of an instance page's history card."""
    card = html[html.index('id="history"') : html.index('id="documents"')]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", card))


def test_instance_history_reads_every_data_key_in_chinese(app, login) -> None:  # noqa: ANN001
    from processes import catalog
    from tests.api.test_runtime_api import complete, task_named
    from tests.conftest import ROOT

    state = app.extensions["egovflow"]
    with state.sessions() as session:
        files = catalog.collect_files([ROOT / "bpmn"], ROOT / "forms")
        catalog.deploy(session, files, state.runtime.handlers, now=state.runtime.clock.now())
        session.commit()
    operator, leader = login("jyj_jb"), login("jyj_fzr")
    kinds = ("DECLARATION_FORM", "NECESSITY", "BUDGET_DETAIL", "RESOURCE_CATALOG", "MLPS_GRADING")
    declared = start(operator, "lifecycle")
    assert (
        complete(
            operator, task_named(operator, "填报项目申报")["id"], lifecycle_declaration(kinds)
        ).status_code
        == 200
    )
    review = {"unit_review_decision": "CONFIRM", "unit_review_opinion": "同意申报。"}
    assert complete(leader, task_named(leader, "单位审核")["id"], review).status_code == 200
    incomplete = start(operator, "lifecycle")
    declaration = lifecycle_declaration(kinds[:1])
    assert complete(operator, task_named(operator, "填报项目申报")["id"], declaration).status_code == 200

    clerk = login("dsj_clerk")
    html = page(clerk, f"/instances/{declared}")
    assert "电子政务项目全生命周期（第 1 版）" in html and "lifecycle" not in re.sub(r'"[^"]*"', "", html)
    text = history_text(html) + history_text(page(clerk, f"/instances/{incomplete}"))
    # No internal name, code or raw amount reaches a non-admin.
    assert not re.search(r"[A-Za-z_]{3,}\s*：", text), text
    for raw in (
        "INITIAL_REVIEW",
        "NECESSITY",
        "BUDGET_DETAIL",
        "3200000.0",
        "project_status",
        "_ok",
        "_kinds",
    ):
        assert raw not in text, raw
    for shown in (
        "项目状态：初审中",
        "项目状态：已申报",
        "总投资概算：3,200,000.00 元",
        "符合集约整合要求：是",
        "发现疑似重复项目：否",
        "材料齐全：否",
        "缺少的材料：4 项：",
    ):
        assert shown in text, shown
    assert text.count("项目状态：初审中") == 1  # the code and its *_name twin read as one line
    # Admins see the internal keys too, raw and marked.
    admin_html = page(login("admin"), f"/instances/{incomplete}")
    assert "lifecycle 第 1 版" in admin_html
    assert "内部" in history_text(admin_html) and "missing_document_kinds" in admin_html


def test_filter_errors_name_the_fields_by_their_titles(register, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    bad = page(operator, "/instances?plan_year=abc&version=x")
    assert "查询条件有误：版本「x」不是有效的取值，已忽略；计划年度「abc」不是有效的取值，已忽略" in bad
    assert "plan_year" not in bad.split("查询条件有误")[1].split("</div>")[0]
    projects = page(login("manager"), "/projects?year=abc&amount_min=很多")
    assert "计划年度「abc」" in projects and "概算不低于「很多」" in projects
    users = page(login("admin"), "/admin/users?active=也许")
    assert "查询条件有误：账号状态「也许」不是有效的取值，已忽略" in users


@pytest.mark.parametrize(
    "schema",
    [
        "service.api.instances:ListArgs",
        "service.api.projects:ProjectArgs",
        "service.api.accounts:UserListArgs",
    ],
)
def test_every_filter_of_a_list_page_has_a_title(schema: str) -> None:
    import importlib

    module, name = schema.split(":")
    fields = getattr(importlib.import_module(module), name)().fields
    assert all(field.metadata.get("title") for field in fields.values()), schema


def test_a_page_past_the_last_shows_the_last_page(admin, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    first = [start(operator) for _ in range(3)][0]
    far = operator.get("/instances?page=99&page_size=2&status=running")
    assert far.status_code == 302
    assert far.headers["Location"] == "/instances?page=2&page_size=2&status=running"
    last = page(operator, far.headers["Location"])
    assert "共 3 条，第 2/2 页" in last and f'href="/instances/{first}"' in last
    assert "没有符合条件的流程实例" not in last
    # The API keeps paging as documented: past the end is an empty page with the total.
    api = operator.get("/api/v1/instances?page=99&page_size=2").get_json()
    assert api["items"] == [] and api["total"] == 3 and api["page"] == 99
    assert operator.get("/?page=99").headers["Location"] == "/?page=1"
    assert login("dsj_clerk").get("/?pool_page=7").headers["Location"] == "/?pool_page=1"
    users = login("admin").get("/admin/users?page=99&page_size=5")
    assert users.status_code == 302 and "page=" in users.headers["Location"]
    assert "page=99" not in users.headers["Location"]
    assert login("manager").get("/projects?page=5").headers["Location"] == "/projects?page=1"
    # An empty list stays on page 1 without a pager.
    assert "共 0 条" in page(operator, "/instances?status=complete")


def test_the_unit_under_review_knows_its_experts_only_as_评审专家(admin, login) -> None:  # noqa: ANN001
    from tests.bpmn_builder import script_task, service_task

    p = Process("reviewed", "专家评审")
    p.add(start_event(), "建设单位经办人", "start")
    params = {"project_id": '"LA-2026-0009"', "unit_code": "unit_code", "specialties": '["SOFTWARE"]'}
    params.update(panel_size="1", backups="0")
    p.add(service_task("draw", "draw_experts", params, "抽取专家"), "系统", "draw")
    # What a panel's diagram keeps in its data: who scores, and each score by user name.
    picked = 'panelist = {"username": expert_usernames[0]}\nscores = [{"username": expert_usernames[0]}]'
    p.add(script_task("pick", picked), "系统", "pick")
    p.add(user_task("score", "专家评审打分", owner="expert_usernames[0]"), "评审专家", "score")
    p.add(end(), "评审专家", "end")
    p.chain("start", "draw", "pick", "score", "end")
    assert deploy(admin, bundle(p.xml(), name="reviewed.bpmn")).status_code == 201
    operator, clerk = login("jyj_jb"), login("dsj_clerk")
    instance = start(operator, process_id="reviewed")
    drawn = admin.get(f"/api/v1/instances/{instance}").get_json()["tasks"][0]["assignee"]
    expert, name = drawn["username"], drawn["display_name"]
    unit_view = page(operator, f"/instances/{instance}")
    assert re.search(r"<td>评审专家\s*</td>", unit_view)
    assert name not in unit_view and "抽取的评审专家" not in unit_view
    api_view = operator.get(f"/api/v1/instances/{instance}").get_data(as_text=True)
    assert name not in api_view and expert not in api_view and "评审专家" in api_view
    assert "panelist" not in api_view and "scores" not in api_view  # data naming the reviewer
    diagram = operator.get(f"/api/v1/instances/{instance}/diagram").get_json()
    assert [t["holder"] for t in diagram["active_tasks"]] == ["评审专家"]
    assert expert in login("dsj_clerk").get(f"/api/v1/instances/{instance}").get_data(as_text=True)
    state = operator.get(f"/instances/{instance}/diagram/reviewed/state.json").get_json()
    assert state["active"] == [{"id": "score", "label": "评审专家"}]
    bureau_view = page(clerk, f"/instances/{instance}")
    assert name in bureau_view and "抽取的评审专家" in bureau_view
    reviewer = login(expert)
    assert (
        reviewer.post(
            f"/api/v1/tasks/{open_task(reviewer, instance)['id']}/complete", json={"data": {}}
        ).status_code
        == 200
    )
    unit_view = page(operator, f"/instances/{instance}")
    assert "· 评审专家</span>" in unit_view and name not in unit_view
    assert name in page(clerk, f"/instances/{instance}")


def test_the_api_docs_page_states_fields_bodies_and_answers(login) -> None:  # noqa: ANN001
    html = page(login("jyj_jb"), "/api/docs")
    start = re.search(
        r"<code>/api/v1/instances</code> <span class=\"muted\">发起流程实例.*?</details>", html, re.S
    )
    assert start, "the start operation"
    body = start.group(0)
    assert (
        "<td><code>process_id</code></td><td>JSON 请求体</td><td>文本（至少 1，至多 100）</td><td>是</td>"
        in body
    )
    assert "<code>StartArgs</code>" in body and "<code>201</code> 已创建（Instance）" in body
    assert "<code>415</code> 请求体须为 JSON（上传文件时为 multipart/form-data）（Error）" in body
    complete = re.search(r"<code>/api/v1/tasks/\{task_id\}/complete</code>.*?</details>", html, re.S).group(0)
    assert "<td><code>task_id</code></td><td>路径</td><td>整数" in complete  # the path's own parameter
    assert "无需登录" in re.search(r"<code>/api/v1/auth/login</code>.*?</summary>", html, re.S).group(0)
    assert 'href="#api-instances">流程实例</a>' in html
