"""The managers' task lists (/dashboard/overdue, /dashboard/tasks): filters, sorting, empty states, export."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from processes.store.models import HumanTask, ProcessInstance, User
from service.web.dashboard import OverdueArgs, TaskListArgs
from tests.api.test_pages import APPROVE, JYJ, WJW, open_task, page, start, start_in_pool, submit
from tests.conftest import ApiClient, deploy
from tests.workflows import bundle, two_lanes

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _project(app, instance: int, project_id: str | None, title: str, due_in_days: float | None) -> None:  # noqa: ANN001
    """Give an instance its project facts and its open task a deadline `due_in_days` from now."""
    now = app.extensions["egovflow"].runtime.clock.now()
    due = None if due_in_days is None else now + timedelta(days=due_in_days)
    with app.extensions["egovflow"].sessions() as session:
        session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == instance)
            .values(project_id=project_id, title=title)
        )
        session.execute(update(HumanTask).where(HumanTask.instance_id == instance).values(due_at=due))
        session.commit()


@pytest.fixture
def tasks(app, login) -> dict[str, int]:  # noqa: ANN001
    """Five open tasks: three overdue (30, 10, 5 days), one due in 3 days, one pool task without deadline."""
    # a: 市教育局, held by its operator, 30 days over      b: 市教育局, 市数管局项目科's pool, 5 days over
    # c: 市卫健委, held by its operator, exactly 10 days over, a name with % and _ in it
    # d: 市卫健委, due in 3 days                            e: 市教育局's pool, no deadline, no project yet
    admin = login("admin")
    assert deploy(admin, bundle(two_lanes())).status_code == 201
    jyj, wjw = login("jyj_jb"), login("wjw_jb")
    ids = {"a": start(jyj), "b": start(jyj), "c": start(wjw), "d": start(wjw), "e": start_in_pool(admin)}
    assert submit(jyj, open_task(jyj, ids["b"])["id"], APPROVE).status_code == 200
    _project(app, ids["a"], "LA-2026-0001", "教育城域网升级改造", -30)
    _project(app, ids["b"], "LA-2026-0002", "智慧校园平台", -5)
    _project(app, ids["c"], "LA-2025-0003", "健康档案_共享%平台", -10)
    _project(app, ids["d"], "LA-2026-0004", "基层卫生信息系统", 3)
    _project(app, ids["e"], None, "两级审批", None)
    return ids


def rows(html: str) -> list[str]:
    """Return the project numbers of a list page's rows, in order ("—" for an instance without one)."""
    table = html.split('id="overdue-tasks"')[1].split("</table>")[0] if 'id="overdue-tasks"' in html else ""
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r'<td data-label="项目编号" class="project-no">(.*?)</td>', table, re.S)
    ]


def test_the_overdue_list_filters_by_unit(tasks, login) -> None:  # noqa: ANN001
    manager = login("manager")
    html = page(manager, "/dashboard/overdue")
    assert rows(html) == ["LA-2026-0001", "LA-2025-0003", "LA-2026-0002"]  # most overdue first
    # The unit choices are the units with overdue tasks, by their short names.
    units = re.search(r'<select name="unit">(.*?)</select>', html, re.S).group(1)
    assert re.findall(r"<option [^>]*>([^<]+)<", units) == ["全部", "市卫健委", "市教育局"]
    only = page(manager, f"/dashboard/overdue?unit={JYJ[0]}")
    assert rows(only) == ["LA-2026-0001", "LA-2026-0002"] and "超期任务：市教育局" in only
    assert f'<option value="{JYJ[0]}" selected>市教育局</option>' in only and "已设 1 项" in only
    assert rows(page(manager, f"/dashboard/tasks?unit={WJW[0]}")) == ["LA-2025-0003", "LA-2026-0004"]


def test_the_lists_filter_by_role_and_show_who_holds_each_task(tasks, login) -> None:  # noqa: ANN001
    manager = login("manager")
    clerk = page(manager, "/dashboard/overdue?role=DSJ_CLERK")
    assert rows(clerk) == ["LA-2026-0002"] and "超期任务：市数管局项目科" in clerk
    assert "待认领（市数管局项目科）" in clerk
    operators = page(manager, "/dashboard/overdue?role=UNIT_OPERATOR")
    assert rows(operators) == ["LA-2026-0001", "LA-2025-0003"]
    assert "市教育局经办人" in operators and "市卫健委经办人" in operators
    pool = page(manager, "/dashboard/tasks?role=UNIT_OPERATOR&q=两级审批")
    assert rows(pool) == ["—"] and "待认领（建设单位经办人）" in pool


def test_the_project_search_takes_name_or_number_literally(tasks, login) -> None:  # noqa: ANN001
    manager = login("manager")

    def found(q: str, path: str = "/dashboard/overdue") -> list[str]:
        return rows(page(manager, path + "?" + f"q={q.replace('%', '%25')}"))

    assert found("智慧校园") == ["LA-2026-0002"]
    assert found("  LA-2026-0001  ") == ["LA-2026-0001"]  # pasted with spaces around it
    assert found("la-2025") == ["LA-2025-0003"]
    assert found("%") == ["LA-2025-0003"] and found("_共享") == ["LA-2025-0003"]  # not wildcards
    assert found("卫生信息") == [] and found("卫生信息", "/dashboard/tasks") == ["LA-2026-0004"]


def test_the_overdue_list_filters_by_whole_days_overdue(tasks, login) -> None:  # noqa: ANN001
    manager = login("manager")
    assert rows(page(manager, "/dashboard/overdue?days_min=10")) == ["LA-2026-0001", "LA-2025-0003"]
    assert rows(page(manager, "/dashboard/overdue?days_min=11")) == ["LA-2026-0001"]
    html = page(manager, "/dashboard/overdue?days_min=1")
    assert '<input type="number" name="days_min" value="1"' in html and "30 天" in html
    bad = page(manager, "/dashboard/overdue?days_min=很多")
    assert "查询条件有误：超期天数不少于「很多」不是有效的取值，已忽略" in bad and len(rows(bad)) == 3
    assert 'name="days_min"' not in page(manager, "/dashboard/tasks")  # every waiting task counts there


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sort=overdue", ["LA-2026-0001", "LA-2025-0003", "LA-2026-0002"]),
        ("sort=overdue&order=asc", ["LA-2026-0002", "LA-2025-0003", "LA-2026-0001"]),
        ("sort=due", ["LA-2026-0001", "LA-2025-0003", "LA-2026-0002"]),
        ("sort=due&order=desc", ["LA-2026-0002", "LA-2025-0003", "LA-2026-0001"]),
        ("sort=project_id", ["LA-2025-0003", "LA-2026-0001", "LA-2026-0002"]),
        ("sort=project_id&order=desc", ["LA-2026-0002", "LA-2026-0001", "LA-2025-0003"]),
    ],
)
def test_the_overdue_list_sorts_both_ways(tasks, login, query: str, expected: list[str]) -> None:  # noqa: ANN001
    html = page(login("manager"), f"/dashboard/overdue?{query}")
    assert rows(html) == expected
    key = query.split("&")[0].split("=")[1]
    assert re.search(rf'<option value="{key}" data-order="\w+" selected>', html)


def test_the_waiting_list_puts_tasks_without_a_deadline_last_either_way(tasks, login) -> None:  # noqa: ANN001
    manager = login("manager")
    ordered = ["LA-2026-0001", "LA-2025-0003", "LA-2026-0002", "LA-2026-0004", "—"]
    assert rows(page(manager, "/dashboard/tasks")) == ordered  # the nearest deadline first
    assert rows(page(manager, "/dashboard/tasks?sort=due&order=desc")) == [*ordered[-2::-1], "—"]
    by_number = rows(page(manager, "/dashboard/tasks?sort=project_id&order=desc"))
    assert by_number == ["LA-2026-0004", "LA-2026-0002", "LA-2026-0001", "LA-2025-0003", "—"]


def test_an_empty_result_says_why_and_how_to_widen_it(tasks, login) -> None:  # noqa: ANN001
    manager = login("manager")
    html = page(manager, f"/dashboard/overdue?unit={WJW[0]}&days_min=100")
    assert "<strong>没有符合条件的超期任务</strong>" in html and "共 0 条" in html
    assert 'href="/dashboard/overdue">查看全部超期任务</a>' in html
    assert 'id="export"' not in html  # nothing to export
    assert f'<option value="{WJW[0]}" selected>' in html  # the form keeps what was asked
    unknown = page(manager, "/dashboard/overdue?unit=11341500XXXXXXXXXX&role=NOBODY")
    assert "建设单位「11341500XXXXXXXXXX」不是有效的取值，已忽略" in unknown
    assert "角色「NOBODY」不是有效的取值，已忽略" in unknown and len(rows(unknown)) == 3


def test_no_overdue_task_at_all_reads_as_good_news(app, login) -> None:  # noqa: ANN001
    manager = login("manager")
    html = page(manager, "/dashboard/overdue")
    assert "<strong>没有超期任务</strong>" in html and "所有待办任务都在办理期限内" in html
    assert "<strong>没有待办任务</strong>" in page(manager, "/dashboard/tasks")


def test_a_page_past_the_last_shows_the_last_page_with_the_filters(tasks, login) -> None:  # noqa: ANN001
    manager = login("manager")
    far = manager.get(f"/dashboard/tasks?unit={JYJ[0]}&page_size=2&page=9")
    assert far.status_code == 302
    assert far.headers["Location"] == f"/dashboard/tasks?unit={JYJ[0]}&page_size=2&page=2"
    last = page(manager, far.headers["Location"])
    assert "共 3 条，第 2/2 页" in last and rows(last) == ["—"]
    assert manager.get("/dashboard/overdue?page=5").headers["Location"] == "/dashboard/overdue?page=1"


def test_tasks_without_a_role_keep_the_dashboards_link(app, tasks, login) -> None:  # noqa: ANN001
    with app.extensions["egovflow"].sessions() as session:
        holder = session.scalar(select(User.id).where(User.username == "jyj_jb"))
        session.execute(
            update(HumanTask)
            .where(HumanTask.instance_id == tasks["b"])
            .values(role_code=None, lane=None, assignee_id=holder)
        )
        session.commit()
    manager = login("manager")
    [row] = manager.get("/api/v1/dashboard").get_json()["overdue_by_role"][-1:]
    assert row["role_name"] == "指定办理人" and row["url"] == "/dashboard/overdue?role="
    moved = manager.get(row["url"])
    assert moved.status_code == 302 and moved.headers["Location"] == "/dashboard/overdue?role=none"
    html = page(manager, moved.headers["Location"])
    assert rows(html) == ["LA-2026-0002"] and "超期任务：指定办理人" in html
    assert '<option value="none" selected>指定办理人</option>' in html
    # The form's 全部 sends role= as well, with its other fields: that is every role.
    assert len(rows(page(manager, "/dashboard/overdue?q=&unit=&role=&sort=overdue"))) == 3


def _sheet(response) -> list[tuple]:  # noqa: ANN001
    assert response.status_code == 200 and response.mimetype == XLSX
    return list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))


def test_the_overdue_export_has_the_pages_rows_and_columns(tasks, login) -> None:  # noqa: ANN001
    manager = login("manager")
    query = f"unit={JYJ[0]}&sort=project_id&order=desc&page=1"
    html = page(manager, f"/dashboard/overdue?{query}")
    link = re.search(r'id="export" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert link == f"/dashboard/overdue/export?unit={JYJ[0]}&sort=project_id&order=desc"
    response = manager.get(link)
    disposition = unquote(response.headers["Content-Disposition"])
    assert disposition == "attachment; filename*=UTF-8''超期任务_20260302.xlsx"
    sheet = _sheet(response)
    assert sheet[0] == (
        "项目编号",
        "项目名称",
        "建设单位",
        "环节",
        "角色",
        "办理人",
        "到达时间",
        "办理期限",
        "超期天数",
    )
    assert [r[0] for r in sheet[1:]] == rows(html) == ["LA-2026-0002", "LA-2026-0001"]
    assert sheet[1] == (
        "LA-2026-0002",
        "智慧校园平台",
        "六安市教育局",
        "审核申请",
        "市数管局项目科",
        "待认领（市数管局项目科）",
        "2026-03-02 17:00",  # Beijing time: the manual clock starts at 09:00 UTC
        "2026-02-25 17:00",
        5,
    )
    assert sheet[2][3:6] == ("填写申请", "建设单位经办人", "市教育局经办人") and sheet[2][8] == 30


def test_each_filter_reaches_the_export(tasks, login) -> None:  # noqa: ANN001
    manager = login("manager")
    for query in ("role=DSJ_CLERK", "q=la-2025", "days_min=10", f"unit={WJW[0]}", "sort=due&order=desc"):
        html = page(manager, f"/dashboard/overdue?{query}")
        link = re.search(r'id="export" href="([^"]+)"', html).group(1).replace("&amp;", "&")
        assert [r[0] for r in _sheet(manager.get(link))[1:]] == rows(html), query


def test_the_waiting_export_has_no_days_overdue_column(tasks, login) -> None:  # noqa: ANN001
    sheet = _sheet(login("manager").get("/dashboard/tasks/export"))
    assert sheet[0][-1] == "办理期限" and len(sheet) == 6
    assert sheet[-1][0] is None and sheet[-1][2] == "六安市教育局" and sheet[-1][7] is None  # no deadline
    assert sheet[-1][5] == "待认领（建设单位经办人）"


@pytest.mark.parametrize(
    ("username", "status"),
    [("manager", 200), ("admin", 200), ("dsj_leader", 200), ("dsj_clerk", 403), ("jyj_jb", 403)],
)
def test_only_managers_see_and_export_the_lists(tasks, login, username: str, status: int) -> None:  # noqa: ANN001
    client: ApiClient = login(username)
    for path in ("overdue", "tasks", "overdue/export", "tasks/export"):
        response = client.get(f"/dashboard/{path}?unit={JYJ[0]}")
        assert response.status_code == status, path
        if status == 403:
            assert "需要管理人员权限" in response.get_data(as_text=True)


def test_anonymous_visitors_are_sent_to_log_in(app) -> None:  # noqa: ANN001
    response = app.test_client().get("/dashboard/overdue/export")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("schema", [TaskListArgs, OverdueArgs])
def test_every_filter_has_a_title(schema: type) -> None:
    assert all(field.metadata.get("title") for field in schema().fields.values())
