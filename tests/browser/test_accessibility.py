"""Accessibility in real Chromium: skip link, focus after deletes and errors, contrast, touch sizes."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from tests.bpmn_builder import Process, end, user_task
from tests.bpmn_builder import start as start_event
from tests.browser.conftest import LiveServer, Visitor
from tests.browser.flows import deploy_lifecycle, start_lifecycle, task_of
from tests.conftest import ApiClient

pytestmark = pytest.mark.browser

STRING = {"type": "string"}
FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "无障碍检查",
    "type": "object",
    "properties": {
        "agreed": {"type": "boolean", "title": "是否同意"},
        "items": {
            "type": "array",
            "title": "清单",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string", "title": "名称", "maxLength": 20}},
            },
        },
        "files": {
            "type": "array",
            "title": "附件",
            "items": {
                "type": "object",
                "format": "attachment",
                "properties": {
                    "id": {"type": "string"},
                    "filename": {"type": "string"},
                    "sha256": {"type": "string"},
                },
            },
        },
    },
}
ACTIVE = "() => { const el = document.activeElement; return el ? el.outerHTML.slice(0, 200) : null; }"
CONTRAST = """(pair) => {
  const lum = (c) => { const v = c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map((x) => x / 255)
      .map((x) => (x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4));
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const [a, b] = [lum(pair[0]), lum(pair[1])].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    """A one-task process (radios, a table, attachments) started by 市公管局, whose task is overdue."""
    p = Process("a11y", "无障碍检查")
    p.add(start_event(), "市公管局", "start")
    p.add(user_task("check", "填写检查表", form="a11y.schema.json", due="P5D"), "市公管局", "check")
    p.add(end(), "市公管局", "end")
    p.chain("start", "check", "end")
    form = json.dumps(FORM, ensure_ascii=False).encode()
    live_server.deploy({"a11y.bpmn": p.xml().encode(), "a11y.schema.json": form})
    started = ApiClient(live_server.app, "ggj").post("/api/v1/instances", json={"process_id": "a11y"})
    assert started.status_code == 201, started.get_json()
    live_server.instance_id = started.get_json()["id"]  # type: ignore[attr-defined]
    deploy_lifecycle(live_server)  # a diagram with a layout, for the viewer
    live_server.lifecycle_id = start_lifecycle(live_server)  # type: ignore[attr-defined]
    live_server.app.extensions["egovflow"].runtime.clock.advance(timedelta(days=6))
    return live_server


def open_task(server: LiveServer, tab: Visitor) -> None:
    """Open the process's task page and wait for the form."""
    task = task_of(ApiClient(server.app, "ggj"), server.instance_id)  # type: ignore[attr-defined]
    tab.goto(f"/tasks/{task['id']}")
    tab.islands_ready()


def active(tab: Visitor) -> str:
    return tab.page.evaluate(ACTIVE) or ""


def test_skip_link_is_the_first_tab_stop_and_focus_is_visible(server: LiveServer, visit) -> None:  # noqa: ANN001
    tab = visit("ggj")
    tab.goto("/account/password")
    tab.page.keyboard.press("Tab")
    skip = tab.page.locator("a.skip-link")
    assert tab.page.evaluate("() => document.activeElement.className") == "skip-link"
    assert skip.inner_text() == "跳到主要内容"
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0 and box["height"] >= 30  # shown while focused
    tab.page.keyboard.press("Enter")
    assert tab.page.evaluate("() => document.activeElement.id") == "main"
    # Every form control shows a 2px solid outline when it has focus, also while it is marked invalid.
    old = tab.page.locator("#old_password")
    old.focus()
    outline = "el => { const s = getComputedStyle(el); return [s.outlineStyle, s.outlineWidth]; }"
    assert old.evaluate(outline) == ["solid", "2px"]
    old.evaluate("el => el.setAttribute('aria-invalid', 'true')")
    assert old.evaluate(outline) == ["solid", "2px"]


def test_grey_text_meets_contrast_on_white_page_and_overdue_rows(server: LiveServer, visit) -> None:  # noqa: ANN001
    tab = visit("ggj")
    tab.goto("/")
    value = tab.page.evaluate(
        "() => getComputedStyle(document.documentElement).getPropertyValue('--text-3').trim()"
    )
    assert value == "#666"
    grey = tab.page.evaluate(
        "() => { const el = document.createElement('span'); el.className = 'muted';"
        " document.body.append(el); return getComputedStyle(el).color; }"
    )
    for background in ("rgb(255, 255, 255)", "rgb(245, 246, 248)", "rgb(255, 248, 247)"):
        assert tab.page.evaluate(CONTRAST, [grey, background]) >= 4.5, background


def test_dashboard_has_no_invisible_tab_stops(server: LiveServer, visit) -> None:  # noqa: ANN001
    manager = visit("manager")
    manager.goto("/dashboard")
    manager.islands_ready()
    assert manager.page.locator("[data-chart] a, [data-chart] table").count() == 0
    label = manager.page.locator("#chart-overdue .chart-canvas").get_attribute("aria-label")
    assert "数据见下方“各角色超期任务”表格" in label
    invisible = []
    for _ in range(40):
        manager.page.keyboard.press("Tab")
        seen = manager.page.evaluate(
            "() => { const el = document.activeElement; if (el === document.body) return null;"
            " const r = el.getBoundingClientRect();"
            " return [el.textContent.trim().slice(0, 20), r.width, r.height, !!el.closest('.sr-only')]; }"
        )
        if seen is None:
            break
        if seen[1] < 2 or seen[2] < 2 or seen[3]:
            invisible.append(seen[0])
    assert invisible == [], invisible


def test_a_server_error_moves_focus_to_the_field_it_names(server: LiveServer, visit) -> None:  # noqa: ANN001
    tab = visit("ggj")
    tab.goto("/account/password")
    tab.page.fill("#old_password", "not-my-password1")
    tab.page.fill("#new_password", "Ggj2026newpass")
    tab.page.fill("#new_password_confirm", "Ggj2026newpass")
    button = tab.page.get_by_role("button", name="修改密码")
    button.click()
    tab.page.locator(".api-error.alert-error").wait_for()
    old = tab.page.locator("#old_password")
    tab.page.wait_for_function("() => document.activeElement && document.activeElement.id === 'old_password'")
    assert old.get_attribute("aria-invalid") == "true"
    described = old.get_attribute("aria-describedby").split()
    inline = tab.page.locator(f"#{described[-1]}")
    assert inline.inner_text() == "原密码不正确" and inline.is_visible()
    assert button.is_enabled()
    assert tab.page.locator(".api-error").get_attribute("role") == "alert"
    # The hint is linked to its field; required fields show the marker the task form uses.
    hint = tab.page.locator("#new_password").get_attribute("aria-describedby")
    assert hint and "至少" in tab.page.locator(f"#{hint}").inner_text()
    assert tab.page.locator("label[for=old_password]").text_content().endswith("*（必填）")
    assert tab.page.locator("label[for=old_password] .required").is_visible()
    button.click()  # the same mistake again: one inline message, not two
    tab.page.wait_for_function("() => document.activeElement && document.activeElement.id === 'old_password'")
    assert tab.page.locator("#password-form .field-error").count() == 1
    tab.shot("修改密码-原密码错误")
    # Correcting the field takes its message away, before any submit (the browser may block the next one).
    old.fill("Egov@2026")
    assert tab.page.locator("#password-form .field-error").count() == 0
    assert old.get_attribute("aria-invalid") is None and tab.page.locator(".api-error").inner_text() == ""


def test_a_taken_user_name_is_marked_on_its_field(server: LiveServer, visit) -> None:  # noqa: ANN001
    admin = visit("admin")
    admin.goto("/admin/users")
    form = admin.page.locator("#create-user")
    form.locator("#username").fill("ggj")
    form.locator("#display_name").fill("重复的人")
    form.locator("#password").fill("Abcdefgh12")
    form.get_by_role("button", name="创建用户").click()
    admin.page.wait_for_function("() => document.activeElement && document.activeElement.id === 'username'")
    username = form.locator("#username")
    assert username.get_attribute("aria-invalid") == "true"
    ids = username.get_attribute("aria-describedby").split()
    texts = [admin.page.locator(f"#{i}").inner_text() for i in ids]
    assert any("登录用" in t for t in texts) and any("已被使用" in t for t in texts), texts
    # Each row's 编辑 link names whom it edits.
    admin.goto("/admin/users?q=ggj")
    assert admin.page.get_by_role("link", name="编辑 ggj（周科长(市公管局)）").count() == 1


def test_focus_stays_in_the_row_list_after_a_delete(server: LiveServer, visit) -> None:  # noqa: ANN001
    admin = visit("admin")
    admin.goto("/admin/experts")
    admin.page.locator("#experts tbody tr").first.get_by_role("link", name="编辑").click()
    admin.page.wait_for_load_state("load")
    rows = admin.page.locator("#ties [data-row]")
    for _ in range(rows.count()):  # start from an empty list
        rows.first.get_by_role("button", name="删除").click()
    add = admin.page.get_by_role("button", name="添加回避单位")
    for reason in ("甲", "乙", "丙"):
        add.click()
        rows.last.locator("[data-key=reason]").fill(reason)
    rows.nth(1).get_by_role("button", name="删除").click()
    assert 'data-key="code"' in active(admin) and rows.count() == 2
    assert (
        admin.page.evaluate(
            "() => document.activeElement.closest('[data-row]').querySelector('[data-key=reason]').value"
        )
        == "丙"
    )  # the next row
    rows.nth(1).get_by_role("button", name="删除").click()
    assert (
        admin.page.evaluate(
            "() => document.activeElement.closest('[data-row]').querySelector('[data-key=reason]').value"
        )
        == "甲"
    )  # no next row: the previous one
    rows.first.get_by_role("button", name="删除").click()
    assert "添加回避单位" in active(admin)  # no rows left: the add button


def test_task_form_keeps_focus_after_deletes_and_announces_uploads(
    server: LiveServer, visit, tmp_path
) -> None:  # noqa: ANN001
    tab = visit("ggj")
    open_task(server, tab)
    table = tab.page.locator('[data-path="items"]')
    for name in ("一", "二", "三"):
        table.get_by_role("button", name="添加一行").click()
        tab.page.keyboard.type(name)
    table.get_by_role("button", name="删除第 2 行").click()
    assert tab.page.evaluate("() => document.activeElement.value") == "三"
    table.get_by_role("button", name="删除第 2 行").click()
    assert tab.page.evaluate("() => document.activeElement.value") == "一"
    table.get_by_role("button", name="删除第 1 行").click()
    assert "添加一行" in active(tab)

    files = tab.page.locator('[data-path="files"]')
    paths = []
    for name in ("甲.pdf", "乙.pdf"):
        (tmp_path / name).write_bytes(b"%PDF-1.4 test")
        paths.append(str(tmp_path / name))
    assert files.locator(".attachment-progress").get_attribute("role") == "status"
    files.locator("input[type=file]").set_input_files(paths)
    tab.page.wait_for_function(
        "() => document.querySelectorAll('[data-path=\"files\"] .attachment-remove').length === 2"
    )
    files.get_by_role("button", name="移除 甲.pdf").click()
    assert "移除 乙.pdf" in active(tab)
    files.get_by_role("button", name="移除 乙.pdf").click()
    assert 'type="file"' in active(tab)

    # A failed upload is an alert that stays until it is closed (or another file is picked).
    tab.page.route(
        re.compile(r".*/upload$"),
        lambda route: route.fulfill(
            status=500, content_type="application/json", body='{"code": 500, "message": "服务器出错"}'
        ),
    )
    files.locator("input[type=file]").set_input_files(paths[:1])
    failure = files.locator(".attachment-uploading.is-error")
    failure.wait_for()
    assert failure.get_attribute("role") == "alert" and "上传失败" in failure.inner_text()
    tab.page.wait_for_timeout(500)
    assert failure.is_visible()
    failure.get_by_role("button", name=re.compile("关闭")).click()
    assert failure.count() == 0 and 'type="file"' in active(tab)
    tab.page.unroute(re.compile(r".*/upload$"))


def test_phone_touch_targets_and_navigation(server: LiveServer, visit) -> None:  # noqa: ANN001
    tab = visit("ggj", phone=True)
    open_task(server, tab)
    size = "el => { const r = el.getBoundingClientRect(); return [r.width, r.height]; }"
    for locator in (
        tab.page.get_by_role("link", name="修改密码"),
        tab.page.get_by_role("button", name="退出"),
        tab.page.locator('[data-path="agreed"] label.form-check').first,
        tab.page.locator('[data-path="files"] label.btn'),
        tab.page.get_by_role("button", name="添加一行"),
    ):
        width, height = locator.evaluate(size)
        assert width >= 44 and height >= 44, (locator, width, height)
    tab.page.get_by_role("button", name="添加一行").click()
    width, height = tab.page.get_by_role("button", name="删除第 1 行").evaluate(size)
    assert width >= 44 and height >= 44

    admin = visit("admin", phone=True)
    admin.goto("/admin/users")
    nav = admin.page.locator("nav.nav")
    current = nav.locator('[aria-current="page"]')
    inside = admin.page.evaluate(
        "() => { const n = document.querySelector('nav.nav').getBoundingClientRect();"
        " const c = document.querySelector('nav.nav [aria-current=page]').getBoundingClientRect();"
        " return c.left >= n.left && c.right <= n.right; }"
    )
    assert inside and current.inner_text() == "用户与单位"
    assert "more-left" in nav.get_attribute("class")  # the fade shows that more links lie to the left
    for name in ("编辑",):
        width, height = admin.page.locator("#users").get_by_role("link", name=name).first.evaluate(size)
        assert height >= 44
    admin.shot("手机-用户与单位")


def test_instance_pages_name_their_links_and_mark_overdue_tasks(server: LiveServer, visit) -> None:  # noqa: ANN001
    tab = visit("ggj")
    tab.goto("/instances")
    first = tab.page.locator("#instances tbody tr").first
    assert first.locator('a:not([tabindex="-1"])').count() == 1  # one tab stop per row
    tab.goto(f"/instances/{server.instance_id}")  # type: ignore[attr-defined]
    tab.islands_ready()
    assert "已超期" in tab.page.locator("#open-tasks tr.overdue .badge-error").inner_text()
    tab = visit("wjw_jb")
    tab.goto(f"/instances/{server.lifecycle_id}")  # type: ignore[attr-defined]
    tab.islands_ready()
    assert "（进行中）" in tab.page.locator(".diagram-tabs").text_content()
    viewer = tab.page.locator("#viewer")
    stops = viewer.evaluate(
        "el => [...el.querySelectorAll('[tabindex]')].filter(x => x.tabIndex >= 0).length"
    )
    assert stops == 1
    svg = viewer.locator(".egov-canvas svg").first
    assert svg.get_attribute("aria-label") == "流程图" and svg.get_attribute("role") == "application"
    hint = tab.page.locator(f"#{svg.get_attribute('aria-describedby')}")
    assert "方向键平移" in hint.inner_text() and hint.is_visible()
    before = viewer.evaluate("el => el.egovViewer.get('canvas').viewbox().x")
    svg.focus()
    tab.page.keyboard.press("ArrowRight")
    assert viewer.evaluate("el => el.egovViewer.get('canvas').viewbox().x") != before
