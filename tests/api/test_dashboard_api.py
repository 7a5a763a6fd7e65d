"""The manager dashboard API: who may read it, the figures from SQL, and the chart shapes for the island."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import update

from handlers import REGISTRY
from processes.store.models import HumanTask
from tests.api.test_pages import APPROVE, JYJ, WJW, add_project, open_task, start, submit
from tests.api.test_runtime_api import FlakyHandler
from tests.bpmn_builder import Process, user_task
from tests.bpmn_builder import end as end_event
from tests.bpmn_builder import start as start_event
from tests.conftest import deploy
from tests.workflows import bundle, flaky, timed, two_lanes

CHARTS = ("stages", "amounts", "overdue", "durations", "incidents")


@pytest.fixture
def figures(app, login, clock) -> dict:  # noqa: ANN001
    """Three register rows, a task overdue by 10 days, a finished review, and an instance in error."""
    admin = login("admin")
    app.extensions["egovflow"].runtime.handlers = {**REGISTRY, "flaky": FlakyHandler()}
    assert deploy(admin, bundle(two_lanes())).status_code == 201
    assert deploy(admin, bundle(flaky())).status_code == 201
    operator = login("jyj_jb")
    done = start(operator)
    submit(operator, open_task(operator, done)["id"], APPROVE)
    clock.advance(timedelta(days=4))
    clerk = login("dsj_clerk")
    submit(clerk, open_task(clerk, done)["id"], APPROVE)
    waiting = start(operator)
    broken = start(operator, "flaky")
    with app.extensions["egovflow"].sessions() as session:
        add_project(session, "LA-2026-0001", *JYJ, 2026, "3200000.00", "初审", "INITIAL_REVIEW")
        add_project(session, "LA-2026-0002", *JYJ, 2026, "8800000.50", "立项", "APPROVED")
        add_project(session, "LA-2025-0003", *WJW, 2025, "450000.00", "建设", "BUILDING")
        session.execute(
            update(HumanTask)
            .where(HumanTask.instance_id == waiting)
            .values(due_at=clock.now() - timedelta(days=10))
        )
        session.commit()
    return {"done": done, "waiting": waiting, "broken": broken}


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("manager", 200),
        ("admin", 200),
        ("dsj_leader", 200),
        ("audit", 200),
        ("dsj_clerk", 403),
        ("jyj_jb", 403),
    ],
)
def test_only_managers_and_admins_read_the_dashboard(login, username: str, status: int) -> None:  # noqa: ANN001
    client = login(username)
    assert client.get("/api/v1/dashboard").status_code == status
    assert client.get("/api/v1/dashboard/charts/stages").status_code == status


def test_anonymous_callers_get_401_json(app) -> None:  # noqa: ANN001
    response = app.test_client().get("/api/v1/dashboard")
    assert response.status_code == 401 and response.get_json()["code"] == "unauthenticated"


def test_summary_figures_come_from_the_projections(figures, login) -> None:  # noqa: ANN001
    data = login("manager").get("/api/v1/dashboard").get_json()
    assert data["headline"] == {
        "projects": 3,
        "total_estimate": "12450000.50",
        "running_instances": 2,
        "open_tasks": 1,
        "overdue_tasks": 1,
        "instances_with_incidents": 1,
    }
    stages = {row["stage"]: row["count"] for row in data["by_stage"]}
    assert list(stages)[:6] == ["申报", "初审", "立项", "建设", "验收", "运维"]
    assert (stages["初审"], stages["立项"], stages["申报"]) == (1, 1, 0)
    assert data["by_stage"][1]["url"] == "/projects?stage=%E5%88%9D%E5%AE%A1"
    amounts = {(r["unit_code"], r["year"]): r["amount"] for r in data["amounts"]}
    assert amounts == {(JYJ[0], 2026): "12000000.50", (WJW[0], 2025): "450000.00"}
    assert data["overdue_by_role"] == [
        {
            "role_code": "UNIT_OPERATOR",
            "role_name": "建设单位经办人",
            "count": 1,
            "url": "/dashboard/overdue?role=UNIT_OPERATOR",
        }
    ]
    durations = {d["process_id"]: d for d in data["durations"]}
    # Two instances went through two_lanes: one took 4 days, the other has just started (0 days so far).
    assert durations["two_lanes"]["median_days"] == pytest.approx(2.0, abs=0.1)
    assert durations["two_lanes"]["instances"] == 2 and durations["two_lanes"]["open_instances"] == 1
    [incident] = data["incidents"]
    assert incident["instance_id"] == figures["broken"] and "下游系统不可用" in incident["last_message"]
    assert incident["url"] == f"/instances/{figures['broken']}"


@pytest.mark.parametrize("name", CHARTS)
def test_charts_have_the_islands_shape(figures, login, name: str) -> None:  # noqa: ANN001
    chart = login("manager").get(f"/api/v1/dashboard/charts/{name}").get_json()
    assert chart["title"] and chart["type"] in ("bar", "pie", "line")
    assert chart["series"] and all(len(s["data"]) == len(chart["categories"]) for s in chart["series"])
    assert len(chart["links"]) == len(chart["categories"])
    assert all(link.startswith("/") for link in chart["links"])


def test_amounts_chart_is_in_wan_yuan_per_unit_and_year(figures, login) -> None:  # noqa: ANN001
    chart = login("manager").get("/api/v1/dashboard/charts/amounts").get_json()
    assert chart["categories"] == ["卫生健康委员会", "教育局"]
    assert chart["series"] == [
        {"name": "2025年", "data": [45.0, 0.0]},
        {"name": "2026年", "data": [0.0, 1200.0]},
    ]
    assert chart["links"][1] == f"/projects?unit={JYJ[0]}"


def test_overdue_chart_links_to_the_overdue_list(figures, login) -> None:  # noqa: ANN001
    manager = login("manager")
    chart = manager.get("/api/v1/dashboard/charts/overdue").get_json()
    assert chart["categories"] == ["建设单位经办人"] and chart["series"][0]["data"] == [1]
    page = manager.get(chart["links"][0]).get_data(as_text=True)
    assert "超期任务：建设单位经办人" in page and "10 天" in page and "填写申请" in page
    assert login("jyj_jb").get(chart["links"][0]).status_code == 403


def test_incident_chart_links_to_the_instances_in_error(figures, login) -> None:  # noqa: ANN001
    manager = login("manager")
    chart = manager.get("/api/v1/dashboard/charts/incidents").get_json()
    assert chart["categories"] == ["故障重试流程"] and chart["series"][0]["data"] == [1]
    assert chart["links"] == ["/instances?status=error&process_id=flaky"]
    listed = manager.get(chart["links"][0]).get_data(as_text=True)
    assert f'href="/instances/{figures["broken"]}"' in listed
    assert f'href="/instances/{figures["done"]}"' not in listed


def test_unknown_chart_is_404(login) -> None:  # noqa: ANN001
    response = login("manager").get("/api/v1/dashboard/charts/nope")
    assert response.status_code == 404 and response.get_json()["message"] == "没有图表 nope"


def test_dashboard_page_renders_charts_and_tables(figures, login) -> None:  # noqa: ANN001
    html = login("manager").get("/dashboard").get_data(as_text=True)
    for name in CHARTS:
        assert f'data-chart-url="/api/v1/dashboard/charts/{name}"' in html
    assert "1,245.00 万元" in html and "故障重试流程" in html
    # A manager is told the admin is on it, not the engine's own words (those are for the admin).
    assert "已通知流程管理员处理" in html and "下游系统不可用" not in html
    assert "下游系统不可用" in login("admin").get("/dashboard").get_data(as_text=True)


def test_the_running_figure_and_the_list_it_links_to_agree(figures, login) -> None:  # noqa: ANN001
    manager = login("manager")
    assert deploy(login("admin"), bundle(timed())).status_code == 201
    operator = login("jyj_jb")
    timer = start(operator, "timed")
    submit(operator, open_task(operator, timer)["id"], {})  # now waits a month for its timer
    assert operator.get(f"/api/v1/instances/{timer}").get_json()["status"] == "waiting"
    html = manager.get("/dashboard").get_data(as_text=True)
    card = re.search(
        r'<a class="card" href="([^"]+)"[^>]*><span class="muted">进行中的流程</span>'
        r'<span class="figure">(\d+)</span>',
        html,
    )
    assert card is not None, html
    figure = int(card.group(2))
    assert figure == 3 == manager.get("/api/v1/dashboard").get_json()["headline"]["running_instances"]
    listed = manager.get(unescape(card.group(1))).get_data(as_text=True)
    assert f"共 {figure} 条" in listed
    for instance in (figures["waiting"], figures["broken"], timer):
        assert f'href="/instances/{instance}"' in listed
    assert f'href="/instances/{figures["done"]}"' not in listed
    assert manager.get("/api/v1/instances?status=active").get_json()["total"] == figure


def test_a_called_process_row_links_to_the_instances_that_ran_it(login) -> None:  # noqa: ANN001
    """A called process runs inside its caller's instance: its row lists the callers, not its own (none)."""
    child = Process("called_step", "被调用环节")
    child.add(start_event(), "建设单位经办人", "start")
    child.add(user_task("work", "办理被调用环节"), "建设单位经办人", "work")
    child.add(end_event(), "建设单位经办人", "end")
    child.chain("start", "work", "end")
    parent = Process("calling_flow", "调用流程")
    parent.add(start_event(), "建设单位经办人", "start")
    parent.add(
        '<bpmn:callActivity id="call" name="被调用环节" calledElement="called_step"/>',
        "建设单位经办人",
        "call",
    )
    parent.add(end_event(), "建设单位经办人", "end")
    parent.chain("start", "call", "end")
    files = {**bundle(two_lanes()), "calling.bpmn": parent.xml(), "called.bpmn": child.xml()}
    assert deploy(login("admin"), files).status_code == 201
    operator = login("jyj_jb")
    ran = [start(operator, "calling_flow") for _ in range(2)]
    submit(operator, open_task(operator, ran[0])["id"], {})
    other = start(operator)  # a two_lanes instance: it never ran the called process

    manager = login("manager")
    rows = {d["process_id"]: d for d in manager.get("/api/v1/dashboard").get_json()["durations"]}
    row = rows["called_step"]
    assert (row["instances"], row["open_instances"]) == (2, 1)
    assert row["url"] == "/instances?step=called_step"
    chart = manager.get("/api/v1/dashboard/charts/durations").get_json()
    assert chart["links"][chart["categories"].index("被调用环节")] == row["url"]

    listed = manager.get(row["url"]).get_data(as_text=True)
    assert "没有符合条件的流程实例" not in listed and f"共 {row['instances']} 条" in listed
    for instance in ran:
        assert f'href="/instances/{instance}"' in listed
    assert f'href="/instances/{other}"' not in listed
    api = manager.get("/api/v1/instances?step=called_step").get_json()
    assert sorted(i["id"] for i in api["items"]) == sorted(ran)


def test_the_waiting_tasks_figure_links_to_a_list_of_exactly_those_tasks(figures, login) -> None:  # noqa: ANN001
    manager = login("manager")
    assert deploy(login("admin"), bundle(two_lanes())).status_code == 201
    on_time = start(login("jyj_jb"))  # one more open task, not overdue
    html = manager.get("/dashboard").get_data(as_text=True)
    card = re.search(
        r'<a class="card" href="([^"]+)"><span class="muted">待办任务</span>'
        r'<span class="figure">(\d+)</span>',
        html,
    )
    assert card is not None and int(card.group(2)) == 2
    listed = manager.get(card.group(1)).get_data(as_text=True)
    assert '<h1 class="page-title">待办任务</h1>' in listed and "共 2 条" in listed
    rows = re.findall(r'<tr class="([^"]*)">.*?href="/instances/(\d+)"', listed, re.S)
    # The overdue task first, marked; then the one still in time.
    assert rows == [("overdue", str(figures["waiting"])), ("", str(on_time))]
    assert "未超期" in listed and "10 天" in listed
    assert login("jyj_jb").get(card.group(1)).status_code == 403
