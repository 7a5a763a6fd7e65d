"""The managers' overdue list in real Chromium: filter by unit, then download the same rows as Excel."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook

from tests.browser.conftest import LiveServer
from tests.browser.flows import two_projects_at_initial_review

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    """bpmn/ deployed; one project of 市卫健委 and one of 市公安局 at 初审, five days past its deadline."""
    two_projects_at_initial_review(live_server)
    live_server.app.extensions["egovflow"].runtime.clock.advance(timedelta(days=20))  # 初审 is due in 15 days
    return live_server


def test_overdue_tasks_filtered_by_unit_and_exported(server: LiveServer, visit, tmp_path) -> None:  # noqa: ANN001
    manager = visit("manager")
    manager.goto("/dashboard/overdue")
    rows = manager.page.locator("#overdue-tasks tbody tr")
    assert rows.count() == 2
    manager.page.locator("select[name=unit]").select_option(label="市公安局")
    manager.page.get_by_role("button", name="查询").click()
    manager.page.wait_for_url(re.compile(r"unit=\w+"))
    assert rows.count() == 1
    row = rows.first.inner_text()
    assert "视频联网平台" in row and "市公安局" in row and "5 天" in row and "待认领（市数管局项目科）" in row
    number = manager.page.locator("#overdue-tasks tbody td.project-no").inner_text()
    assert re.fullmatch(r"LA-2027-\d{4}", number)
    assert "超期任务：市公安局" in manager.page.locator("h1").inner_text()
    manager.shot("超期任务-市公安局")
    with manager.page.expect_download() as info:
        manager.page.locator("#export").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name.startswith("超期任务_") and saved.suffix == ".xlsx"
    sheet = list(load_workbook(saved).active.iter_rows(values_only=True))
    assert sheet[0][:3] == ("项目编号", "项目名称", "建设单位") and sheet[0][-1] == "超期天数"
    assert [r[:3] for r in sheet[1:]] == [(number, "六安市公安局视频联网平台", "六安市公安局")]
    assert sheet[1][-1] == 5
