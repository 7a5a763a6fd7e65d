"""Instance migration in real Chromium: preview and move one instance, then the rest of a process at once."""

from __future__ import annotations

import pytest

from processes import catalog
from tests.browser.conftest import LiveServer
from tests.browser.flows import deploy_lifecycle, start_lifecycle
from tests.conftest import ROOT

pytestmark = pytest.mark.browser
RENAMED = "填报项目申报（2026修订）"


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    """bpmn/ deployed, two projects being declared, then a version whose declaration task is renamed."""
    deploy_lifecycle(live_server)
    live_server.first = start_lifecycle(live_server, "wjw_jb")  # type: ignore[attr-defined]
    live_server.second = start_lifecycle(live_server, "gaj_jb")  # type: ignore[attr-defined]
    files = catalog.collect_files([ROOT / "bpmn"], ROOT / "forms")
    edited = files["declaration.bpmn"].replace('name="填报项目申报"'.encode(), f'name="{RENAMED}"'.encode())
    assert edited != files["declaration.bpmn"]
    live_server.deploy({**files, "declaration.bpmn": edited})
    return live_server


def test_an_admin_previews_then_moves_one_instance_and_then_the_rest(server: LiveServer, visit) -> None:  # noqa: ANN001
    admin = visit("admin")
    admin.goto(f"/instances/{server.first}")
    card = admin.page.locator("#migration")
    assert "第 2 版（较新）" in card.locator("select[name=version]").inner_text()
    card.get_by_role("button", name="预览").click()
    report = card.locator(".migration-report")
    report.wait_for()
    assert "可迁移" in report.inner_text() and RENAMED in report.inner_text()
    facts = admin.page.locator("#facts").inner_text()
    assert "第 1 版" in facts and "可迁移到第 2 版" in facts  # a preview changes nothing
    admin.shot("实例-迁移预览")

    admin.page.once("dialog", lambda dialog: dialog.accept())
    with admin.page.expect_navigation():
        card.get_by_role("button", name="迁移").click()
    admin.islands_ready()
    assert "lifecycle 第 2 版" in admin.page.locator("#facts").inner_text()
    assert "可迁移到" not in admin.page.locator("#facts").inner_text()
    assert "迁移版本" in admin.page.locator("#history").inner_text()
    assert "第 1 版 → 第 2 版" in admin.page.locator("#history").inner_text()
    assert admin.page.locator("#migration select[name=version] option").all_inner_texts() == ["第 1 版"]
    admin.shot("实例-已迁移")

    admin.goto("/admin/processes/lifecycle")
    bulk = admin.page.locator("#bulk-migration")
    assert "有 1 个未结束的实例运行在旧版本上" in bulk.inner_text()
    bulk.get_by_role("button", name="预览").click()
    admin.page.locator(".migration-summary").wait_for()
    assert "预览：可迁移 1 个，不能迁移 0 个" in bulk.inner_text()
    assert f"#{server.second}" in bulk.locator("table").inner_text()
    admin.page.once("dialog", lambda dialog: dialog.accept())
    bulk.get_by_role("button", name="开始迁移").click()
    admin.page.get_by_text("完成：已迁移 1 个，不能迁移 0 个").wait_for()
    admin.shot("流程-批量迁移")
    admin.goto("/admin/processes/lifecycle")
    assert "无需迁移" in admin.page.locator("#bulk-migration").inner_text()

    operator = visit("gaj_jb")
    operator.goto("/")
    assert RENAMED in operator.page.locator("main").inner_text()
