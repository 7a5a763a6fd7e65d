"""Process admin in real Chromium: edit a DMN table in the grid, validate, deploy; a bad entry stops it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from processes import catalog
from processes.store.models import ProcessVersion
from service.web import bundles
from tests.browser.conftest import LiveServer, Visitor
from tests.browser.flows import deploy_lifecycle

pytestmark = pytest.mark.browser

TABLE = "route_by_amount.dmn"
EDITOR_READY = "[data-dmn-editor][data-island-state=ready]"
LEAVING_IS_STOPPED = """() => {
    const event = new Event('beforeunload', {cancelable: true});
    window.dispatchEvent(event);
    return event.defaultPrevented;
}"""


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    """The live server with bpmn/ and forms/ deployed."""
    deploy_lifecycle(live_server)
    return live_server


def sessions(server: LiveServer):  # noqa: ANN201
    """The app's session factory."""
    return server.app.extensions["egovflow"].sessions  # type: ignore[attr-defined]


def newest_table(server: LiveServer, name: str = TABLE) -> str:
    """Return the newest deployed text of a table, as the next deploy would complete a bundle with it."""
    with sessions(server)() as session:
        return bundles.newest_files(session)[name]


def a_version_with(server: LiveServer, name: str) -> tuple[str, int]:
    """Return (process id, version) of the newest version of a process whose files include `name`."""
    with sessions(server)() as session:
        version = bundles.versions_using(session, name)[0]
        return version.process_id, version.version


def newest_number(server: LiveServer, process_id: str) -> int:
    """Return the newest version number of a process."""
    with sessions(server)() as session:
        newest = select(func.max(ProcessVersion.version)).where(ProcessVersion.process_id == process_id)
        return session.scalar(newest)


def version_count(server: LiveServer) -> int:
    """Return how many process versions are stored."""
    with sessions(server)() as session:
        return session.scalar(select(func.count()).select_from(ProcessVersion))


def open_editor(admin: Visitor, process_id: str, version: int, name: str = TABLE) -> None:
    """Open the decision-table editor on a file of a version and wait for the grid."""
    admin.goto(f"/admin/processes/{process_id}/versions/{version}/dmn/{name}", shot=False)
    admin.page.wait_for_selector(EDITOR_READY)


def cell(admin: Visitor, label: str):  # noqa: ANN201
    """The grid's text field with this accessible name (规则 1 · 条件「总投资概算（元）」 …)."""
    return admin.page.get_by_role("textbox", name=label, exact=True)


def edited_xml(admin: Visitor) -> str:
    """The file as the editor would send it now."""
    return admin.page.evaluate("() => document.querySelector('[data-dmn-editor]').egovDmnEditor.xml()")


def rule_block(text: str, rule_id: str) -> str:
    """The text of one <rule> element, from its start tag to its end tag."""
    match = re.search(rf'<rule id="{rule_id}">.*?</rule>', text, re.S)
    assert match is not None, rule_id
    return match.group(0)


def test_every_table_reads_into_the_grid_and_writes_back_unchanged(server: LiveServer, visit) -> None:  # noqa: ANN001
    admin = visit("admin")
    names = sorted(p.name for p in (Path(catalog.__file__).parents[1] / "bpmn").glob("*.dmn"))
    assert len(names) >= 6
    for name in names:
        process_id, version = a_version_with(server, name)
        open_editor(admin, process_id, version, name)
        text = newest_table(server, name)
        assert edited_xml(admin) == text, name
        rules = admin.page.locator("tbody tr[data-rule]").count()
        assert rules == text.count("<rule ") and rules > 0, name
        assert admin.page.locator(".dmn-decision .alert-error").count() == 0, name
        assert not admin.page.evaluate(LEAVING_IS_STOPPED), name
    admin.shot("决策表-读写不变")


def test_moving_adding_and_deleting_rules_keeps_the_rest_of_the_file(server: LiveServer, visit) -> None:  # noqa: ANN001
    process_id, version = a_version_with(server, TABLE)
    original = newest_table(server)
    first = rule_block(original, "route_by_amount_rule_1")
    second = rule_block(original, "route_by_amount_rule_2")
    admin = visit("admin")
    open_editor(admin, process_id, version)

    admin.page.get_by_role("button", name="上移规则 2").click()
    assert admin.page.evaluate("() => document.activeElement.getAttribute('aria-label')") == "下移规则 1"
    assert edited_xml(admin) == original.replace(first, "\0").replace(second, first).replace("\0", second)
    assert admin.page.evaluate(LEAVING_IS_STOPPED)  # unsaved edits: the browser asks before leaving
    admin.page.get_by_role("button", name="下移规则 1").click()
    assert edited_xml(admin) == original
    assert not admin.page.evaluate(LEAVING_IS_STOPPED)

    admin.page.get_by_role("button", name="添加规则").click()
    assert admin.page.evaluate("() => document.activeElement.getAttribute('aria-label')") == (
        "规则 3 · 条件「总投资概算（元）」"
    )
    cell(admin, "规则 3 · 条件「总投资概算（元）」").fill(">= 100000000")
    cell(admin, "规则 3 · 结果「立项路径」").fill('"HUGE"')
    cell(admin, "规则 3 · 结果「立项路径名称」").fill('"报市政府审定"')
    cell(admin, "规则 3 · 结果「打捆阈值（元）」").fill("5000000")
    cell(admin, "规则 3 · 规则说明").fill("1亿元以上 & 重大项目")
    added = "\n".join(
        [
            '<rule id="route_by_amount_rule_3">',
            "        <description>1亿元以上 &amp; 重大项目</description>",
            '        <inputEntry id="route_by_amount_rule_3_in_1">',
            "          <text>&gt;= 100000000</text>",
            "        </inputEntry>",
            '        <outputEntry id="route_by_amount_rule_3_out_1">',
            '          <text>"HUGE"</text>',
            "        </outputEntry>",
            '        <outputEntry id="route_by_amount_rule_3_out_2">',
            '          <text>"报市政府审定"</text>',
            "        </outputEntry>",
            '        <outputEntry id="route_by_amount_rule_3_out_3">',
            "          <text>5000000</text>",
            "        </outputEntry>",
            "      </rule>",
        ]
    )
    assert edited_xml(admin) == original.replace(second, f"{second}\n      {added}")

    admin.page.get_by_role("button", name="删除规则 1").click()
    assert admin.page.evaluate("() => document.activeElement.getAttribute('aria-label')") == "删除规则 1"
    without_first = original.replace(f"{first}\n      ", "")
    assert edited_xml(admin) == without_first.replace(second, f"{second}\n      {added}")
    assert admin.page.locator("tbody tr[data-rule]").count() == 2
    # A new rule after a deleted one never takes its id back.
    admin.page.get_by_role("button", name="添加规则").click()
    now = edited_xml(admin)
    assert 'id="route_by_amount_rule_4"' in now and 'id="route_by_amount_rule_1"' not in now

    # Renaming a column renames its cells in place: the field Tab moves to keeps the focus.
    before_rename = edited_xml(admin)
    column = cell(admin, "条件列 1 列名")
    column.fill("总投资（元）")
    column.press("Tab")
    focused = admin.page.evaluate("() => document.activeElement.getAttribute('aria-label')")
    assert focused == "条件列 1「总投资（元）」取值表达式"
    assert cell(admin, "规则 1 · 条件「总投资（元）」").input_value() == ">= 5000000"
    assert edited_xml(admin) == before_rename.replace('label="总投资概算（元）"', 'label="总投资（元）"')

    with admin.page.expect_download() as download:
        admin.page.get_by_role("button", name="下载").click()
    assert download.value.suggested_filename == TABLE
    assert Path(download.value.path()).read_text(encoding="utf-8") == edited_xml(admin)


def test_lowering_the_threshold_in_the_grid_deploys_new_versions(server: LiveServer, visit) -> None:  # noqa: ANN001
    original = newest_table(server)
    version = newest_number(server, "approval")
    admin = visit("admin")
    admin.goto(f"/admin/processes/approval/versions/{version}?file={TABLE}")
    admin.page.get_by_role("link", name="编辑决策表").click()
    admin.page.wait_for_url(re.compile(rf"/dmn/{TABLE}$"))
    admin.page.wait_for_selector(EDITOR_READY)
    assert "- 任意" in admin.page.locator("#dmn-help").inner_text()  # the entry syntax, in Chinese

    cell(admin, "规则 1 · 条件「总投资概算（元）」").fill("< 3000000")
    cell(admin, "规则 2 · 条件「总投资概算（元）」").fill(">= 3000000")
    for n in (1, 2):
        cell(admin, f"规则 {n} · 结果「打捆阈值（元）」").fill("3000000")
        description = cell(admin, f"规则 {n} · 规则说明")
        description.fill(description.input_value().replace("500万元", "300万元"))
    assert admin.page.evaluate(LEAVING_IS_STOPPED)
    assert admin.page.locator(".dmn-status").inner_text() == "有未部署的修改"
    admin.page.get_by_role("button", name="校验").click()
    admin.page.get_by_text("校验通过").first.wait_for()
    admin.shot("决策表-校验通过")

    asked: list[str] = []
    admin.page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    admin.page.get_by_role("button", name="部署新版本").click()
    admin.page.locator(".dmn-results", has_text="部署成功").wait_for()
    assert "正在办理的实例仍按原版本办理" in asked[0]  # the modeler's question, word for word
    result = admin.page.locator(".dmn-results").inner_text()
    assert f"流程 approval 第 {version + 1} 版（新版本）" in result
    assert re.search(r"流程 lifecycle 第 \d+ 版（新版本）", result)
    link = admin.page.locator('.dmn-results a[href="/admin/processes/approval"]')
    assert link.inner_text() == "查看此版本并迁移未结束的实例"
    assert not admin.page.evaluate(LEAVING_IS_STOPPED)
    admin.shot("决策表-部署成功")

    deployed = newest_table(server)
    rules = deployed.split("<rule ", 1)[1].split("</decisionTable>")[0]
    assert "<text>&lt; 3000000</text>" in rules and "5000000" not in rules
    expected = (
        original.replace("<text>&lt; 5000000</text>", "<text>&lt; 3000000</text>")
        .replace("<text>>= 5000000</text>", "<text>&gt;= 3000000</text>")
        .replace("<text>5000000</text>", "<text>3000000</text>")
        .replace("<description>500万元以下", "<description>300万元以下")
        .replace("<description>500万元（含）以上", "<description>300万元（含）以上")
    )
    assert deployed == expected  # only the edited texts changed, byte for byte
    dmndi = re.compile(r"<dmndi:DMNDI>.*</dmndi:DMNDI>", re.S)
    assert dmndi.search(deployed).group(0) == dmndi.search(original).group(0)
    with sessions(server)() as session:
        approval = catalog.get_version(session, "approval")
        assert catalog.version_file(session, approval, TABLE) == deployed


def test_an_unreadable_entry_names_its_rule_and_deploys_nothing(server: LiveServer, visit) -> None:  # noqa: ANN001
    process_id, version = a_version_with(server, TABLE)
    before = version_count(server)
    admin = visit("admin")
    open_editor(admin, process_id, version)
    entry = cell(admin, "规则 1 · 条件「总投资概算（元）」")
    entry.fill(">> 5")
    admin.page.get_by_role("button", name="校验").click()
    problems = admin.page.locator(".dmn-results .alert-error")
    problems.wait_for()
    text = problems.inner_text()
    assert "校验发现 1 个问题" in text
    assert "规则 1 · 条件「总投资概算（元）」（route_by_amount_rule_1_in_1）" in text and "「>>」" in text
    assert entry.get_attribute("aria-invalid") == "true"
    admin.shot("决策表-条件无法识别")
    problems.get_by_role("button").first.click()  # a problem leads to its cell
    assert admin.page.evaluate("() => document.activeElement.getAttribute('aria-label')") == (
        "规则 1 · 条件「总投资概算（元）」"
    )

    asked: list[str] = []
    admin.page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    admin.page.get_by_role("button", name="部署新版本").click()
    admin.page.locator(".dmn-results", has_text="未部署").wait_for()
    assert asked == []  # refused before the deploy question
    assert version_count(server) == before

    cell(admin, "规则 2 · 结果「立项路径」").fill('"LARGE')
    entry.fill("＜ 5000000")
    admin.page.get_by_role("button", name="部署新版本").click()
    admin.page.locator(".dmn-results", has_text="发现 2 个问题，未部署").wait_for()
    text = admin.page.locator(".dmn-results").inner_text()
    assert "「＜」应为「<」" in text and "（route_by_amount_rule_2_out_1）" in text and "引号不成对" in text
    assert asked == [] and version_count(server) == before
    assert entry.get_attribute("aria-invalid") == "true"
    entry.fill("< 5000000")
    assert entry.get_attribute("aria-invalid") == "false"  # corrected cells stop being marked

    admin.page.get_by_role("button", name="添加规则").click()  # a new rule starts with empty results: 3 more
    admin.page.get_by_role("button", name="部署新版本").click()
    admin.page.locator(".dmn-results", has_text="发现 4 个问题，未部署").wait_for()
    text = admin.page.locator(".dmn-results").inner_text()
    assert "规则 3 · 结果「立项路径」（route_by_amount_rule_3_out_1）：结果不能为空" in text
    assert asked == [] and version_count(server) == before


def test_on_a_phone_the_grid_scrolls_inside_its_card_with_touch_sized_controls(
    server: LiveServer, visit
) -> None:  # noqa: ANN001
    process_id, version = a_version_with(server, "required_documents.dmn")
    admin = visit("admin", phone=True)
    open_editor(admin, process_id, version, "required_documents.dmn")
    sizes = admin.page.evaluate(
        """() => ({
            page: document.documentElement.scrollWidth - window.innerWidth,
            grid: document.querySelector('.dmn-decision .table-wrap').scrollWidth
                - document.querySelector('.dmn-decision .table-wrap').clientWidth,
            smallest: Math.min(...[...document.querySelectorAll('[data-dmn-editor] button, .dmn-cell')]
                .map(el => el.getBoundingClientRect().height)),
        })"""
    )
    assert sizes["page"] <= 0 and sizes["grid"] > 0  # only the table scrolls sideways
    assert sizes["smallest"] >= 44
    admin.shot("决策表-手机")
