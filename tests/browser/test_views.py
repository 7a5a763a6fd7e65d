"""Pages in real Chromium: phone layout, dashboard, register and export, admin actions, forms, lanes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from tests.bpmn_builder import Process, end, user_task
from tests.bpmn_builder import start as start_event
from tests.browser.conftest import LiveServer, Visitor
from tests.browser.flows import (
    start_lifecycle,
    task_of,
    two_projects_at_initial_review,
)
from tests.conftest import ROOT, ApiClient

pytestmark = pytest.mark.browser

NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    """bpmn/ deployed, one project of 市卫健委 at 初审 and one of 市公安局 still being declared."""
    two_projects_at_initial_review(live_server)
    start_lifecycle(live_server, "gaj_jb")
    live_server.app.extensions["egovflow"].runtime.clock.advance(timedelta(days=20))  # 初审 is due in 15 days
    return live_server


def test_task_list_and_form_fit_a_phone(server: LiveServer, visit) -> None:  # noqa: ANN001
    phone = visit("gaj_jb", phone=True)
    assert phone.page.evaluate(NO_SIDEWAYS_SCROLL)
    row = phone.page.locator("#mine tr[data-task-id]").first  # who started a declaration holds it
    assert row.is_visible() and "填报项目申报" in row.inner_text()
    phone.shot("手机-待办")
    row.get_by_role("link", name="办理").click()
    phone.page.wait_for_url(re.compile(r"/tasks/\d+$"))
    phone.islands_ready()
    assert phone.page.evaluate(NO_SIDEWAYS_SCROLL)
    project_name = phone.page.locator('[data-path="project_name"] input')
    box = project_name.bounding_box()
    assert box is not None and box["width"] > 250  # labels sit above full-width inputs
    phone.shot("手机-申报表")


def test_dashboard_charts_and_tables_link_to_lists(server: LiveServer, visit) -> None:  # noqa: ANN001
    manager = visit("manager")
    manager.goto("/dashboard")
    manager.islands_ready()
    for name in ("stages", "amounts", "overdue", "durations"):
        assert manager.page.locator(f"#chart-{name}").get_attribute("data-island-state") == "ready"
    assert manager.page.locator("#chart-incidents").count() == 0  # no incidents: the table says so instead
    assert "没有出错的流程实例" in manager.page.locator("#incidents").inner_text()
    assert manager.page.locator("#chart-stages canvas").count() == 1
    overdue = manager.page.locator("#overdue-by-role tr.overdue")
    assert "市数管局项目科" in overdue.inner_text() and overdue.locator("td.num").inner_text() == "2"
    manager.shot("管理看板")
    manager.page.locator("#by-stage").get_by_role("link", name="初审").click()
    manager.page.wait_for_url(re.compile(r"/projects\?stage="))
    assert manager.page.locator("#projects tbody tr").count() == 2
    manager.shot("项目库-初审")
    manager.goto("/dashboard")
    manager.page.locator("#overdue-by-role").get_by_role("link", name="市数管局项目科").click()
    manager.page.wait_for_url(re.compile(r"/dashboard/overdue\?role=DSJ_CLERK"))
    assert manager.page.locator("#overdue-tasks tbody tr.overdue").count() == 2
    assert "5 天" in manager.page.locator("#overdue-tasks tbody tr").first.inner_text()
    manager.shot("超期任务")


def test_register_filters_and_exports_excel(server: LiveServer, visit, tmp_path) -> None:  # noqa: ANN001
    manager = visit("manager")
    manager.goto("/projects")
    assert manager.page.locator("#projects tbody tr").count() == 2
    # 顺序's 默认 names the chosen key's own direction at once, before 查询.
    default = manager.page.locator("select[name=order] option").first
    assert default.inner_text() == "默认（升序）"  # 项目编号
    manager.page.locator("select[name=sort]").select_option("amount")
    assert default.inner_text() == "默认（降序）"
    manager.page.locator("select[name=sort]").select_option("name")
    assert default.inner_text() == "默认（升序）"
    manager.page.locator("select[name=year]").select_option("2027")
    manager.page.get_by_role("button", name="查询").click()
    manager.page.wait_for_url(re.compile(r"year=2027"))
    rows = manager.page.locator("#projects tbody tr")
    assert rows.count() == 1 and "视频联网平台" in rows.inner_text() and "9,600,000.00" in rows.inner_text()
    manager.shot("项目库-2027")
    with manager.page.expect_download() as info:
        manager.page.locator("#export").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name.startswith("项目库_") and saved.suffix == ".xlsx"
    sheet = load_workbook(saved).active
    assert [r[1] for r in sheet.iter_rows(min_row=2, values_only=True)] == ["六安市公安局视频联网平台"]
    unit = visit("wjw_jb")
    unit.goto("/projects")
    assert unit.page.locator("#projects tbody tr").count() == 1  # a unit sees its own projects only


def test_list_filters_fold_behind_a_toggle_on_phones(server: LiveServer, visit) -> None:  # noqa: ANN001
    phone = visit("manager", phone=True)
    for path, table in (("/instances", "#instances"), ("/projects", "#projects")):
        phone.goto(path)
        form = phone.page.locator("form.filters")
        toggle = phone.page.locator("summary.filter-toggle")
        assert toggle.is_visible() and not form.is_visible()
        assert phone.page.locator(table).bounding_box()["y"] < 740 / 2  # the list starts on the first screen
        assert phone.page.evaluate(NO_SIDEWAYS_SCROLL)
        toggle.click()
        assert form.is_visible()
    phone.page.locator("select[name=year]").select_option("2027")
    phone.page.get_by_role("button", name="查询").click()
    phone.page.wait_for_url(re.compile(r"year=2027"))
    assert phone.page.locator("form.filters").is_visible()  # open while a filter is set
    assert "已设 1 项" in phone.page.locator("summary.filter-toggle").inner_text()
    phone.shot("手机-项目库-筛选")
    # Project numbers stay on one line, in the register and in task tables.
    one_line = "els => els.map(el => el.getClientRects().length)"
    assert set(phone.page.locator("#projects .project-no a").evaluate_all(one_line)) == {1}
    clerk = visit("dsj_clerk", phone=True)
    numbers = clerk.page.locator("tr[data-task-id] .project-no")
    assert numbers.count() >= 1 and set(numbers.evaluate_all(one_line)) == {1}
    # Wide screens keep the form as it was: always shown, without the toggle.
    desk = visit("manager")
    desk.goto("/projects")
    assert desk.page.locator("form.filters").is_visible()
    assert not desk.page.locator("summary.filter-toggle").is_visible()


def test_admin_suspends_and_resumes_an_instance(server: LiveServer, visit) -> None:  # noqa: ANN001
    admin = visit("admin")
    admin.goto("/instances?q=健康档案")
    admin.page.locator("#instances tbody a").first.click()
    admin.page.wait_for_url(re.compile(r"/instances/\d+$"))
    admin.islands_ready()
    admin.page.once("dialog", lambda dialog: dialog.accept())
    with admin.page.expect_navigation():
        admin.page.get_by_role("button", name="挂起").click()
    admin.islands_ready()
    assert "已挂起" in admin.page.locator(".page-head").inner_text()
    admin.shot("实例-已挂起")
    with admin.page.expect_navigation():
        admin.page.get_by_role("button", name="恢复").click()
    admin.islands_ready()
    assert "办理中" in admin.page.locator(".page-head").inner_text()
    history = admin.page.locator("#history").inner_text()
    assert "挂起" in history and "恢复" in history
    assert admin.page.locator("#viewer .djs-element.egov-active").count() >= 1
    admin.shot("实例-流程图")


def test_lane_mapping_and_form_editor(server: LiveServer, visit) -> None:  # noqa: ANN001
    admin = visit("admin")
    admin.goto("/admin/lanes")
    row = admin.page.locator('tr[data-lane="市审计局"]')
    row.locator("select").select_option("AUDIT")
    with admin.page.expect_navigation():
        row.get_by_role("button", name="保存").click()
    admin.goto("/admin/forms/unit_review.schema.json")
    preview = admin.page.frame_locator("#preview")
    preview.locator("[data-jsonschema-form]").get_by_text("审核结论").first.wait_for()
    text = admin.page.locator("#schema-text").input_value()
    text = text.replace('"title": "审核意见"', '"title": "单位审核意见"')
    admin.page.locator("#schema-text").fill(text)
    preview.get_by_text("单位审核意见").first.wait_for()
    admin.shot("表单编辑-预览")
    admin.page.get_by_role("button", name="保存并部署新版本").click()
    result = admin.page.locator("#save-result.alert-success")
    result.wait_for()
    assert "项目申报 第 2 版" in result.inner_text()
    assert "项目申报 第 2 版" in admin.page.locator("#source").inner_text()  # the page says what it now shows
    _check_no_errors(admin)
    admin.page.locator("#schema-text").fill(text.replace("单位审核意见", "单位审核意见(改)"))
    assert not result.is_visible()  # the earlier save's outcome is gone once the text changed
    # A schema the server would refuse is said so while typing, not "合法".
    admin.page.locator("#schema-text").fill(text.replace('"type": "string"', '"type": "strin"', 1))
    status = admin.page.locator("#schema-status")
    status.filter(has_text="JSON Schema 不合法").wait_for()
    assert "不符合 JSON Schema 规范" in status.inner_text()


def test_form_preview_fills_today_into_a_date_that_defaults_to_it(server: LiveServer, visit) -> None:  # noqa: ANN001
    admin = visit("admin")
    admin.goto("/admin/forms/prelim_acceptance.schema.json")
    preview = admin.page.frame_locator("#preview")
    started = preview.locator('[data-path="trial_started_at"] input')
    started.wait_for()
    today = admin.page.evaluate(
        "() => { const d = new Date(), p = (n) => String(n).padStart(2, '0');"
        " return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`; }"
    )
    assert started.input_value() == today  # "x-default": "today", in the browser's own time zone
    assert preview.locator('[data-path="prelim_date"] input').input_value() == ""
    admin.shot("表单预览-试运行日期默认当天")


def test_a_field_that_defaults_to_me_opens_with_the_users_name(server: LiveServer, visit) -> None:  # noqa: ANN001
    p = Process("witnessed", "现场见证")
    p.add(start_event(), "市公管局", "start")
    p.add(user_task("witness", "现场见证", form="witness.schema.json"), "市公管局", "witness")
    p.add(end(), "市公管局", "end")
    p.chain("start", "witness", "end")
    form = (ROOT / "forms" / "witness.schema.json").read_bytes()
    server.deploy({"witnessed.bpmn": p.xml().encode(), "witness.schema.json": form})
    started = ApiClient(server.app, "ggj").post("/api/v1/instances", json={"process_id": "witnessed"})
    assert started.status_code == 201, started.get_json()
    ggj = visit("ggj")
    ggj.goto(f"/tasks/{task_of(ApiClient(server.app, 'ggj'), started.get_json()['id'])['id']}")
    ggj.islands_ready()
    name = ggj.page.locator('[data-path="witness_name"] input')
    assert name.input_value() == "周科长(市公管局)"  # "x-default": "me"
    assert ggj.page.locator('[data-path="witness_org"] input').input_value() == "六安市公共资源交易监督管理局"
    ggj.shot("现场见证-见证人默认本人")


def _check_no_errors(tab: Visitor) -> None:
    assert not tab.page.locator(".alert-error:visible").count()


def test_an_instance_prints_its_whole_record_without_the_page_chrome(server: LiveServer, visit) -> None:  # noqa: ANN001
    manager = visit("manager")
    manager.goto("/instances")
    manager.page.locator('a[href^="/instances/"]').first.click()
    manager.page.wait_for_url(re.compile(r"/instances/\d+$"))
    manager.islands_ready()
    assert manager.page.get_by_role("button", name="打印").is_visible()
    manager.page.emulate_media(media="print")
    style = manager.page.evaluate(
        """() => {
          const history = getComputedStyle(document.querySelector('.history-scroll'));
          return {
            nav: getComputedStyle(document.querySelector('.nav')).display,
            topbar: getComputedStyle(document.querySelector('.topbar')).display,
            print: getComputedStyle(document.querySelector('.print-button')).display,
            height: history.maxHeight,
            overflow: history.overflowY,
          };
        }"""
    )
    assert style == {
        "nav": "none",
        "topbar": "none",
        "print": "none",
        "height": "none",
        "overflow": "visible",
    }
    manager.shot("打印-流程实例")
