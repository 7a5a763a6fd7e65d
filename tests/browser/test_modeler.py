"""Process admin in real Chromium: change a lane in the modeler, deploy, compare the versions."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from processes.store.models import HumanTask, ProcessInstance, TaskStatus
from tests.browser.conftest import LiveServer, Visitor
from tests.browser.flows import declare, deploy_lifecycle, start_lifecycle
from tests.conftest import ApiClient

pytestmark = pytest.mark.browser

LANE = "lane_dsj_clerk"  # 市数管局项目科 in initial_review.bpmn


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    """The live server with bpmn/ and forms/ deployed."""
    deploy_lifecycle(live_server)
    return live_server


def initial_review_role(server: LiveServer, instance_id: int) -> str | None:
    """Return the role of an instance's open 初审 task."""
    with server.app.extensions["egovflow"].sessions() as session:  # type: ignore[attr-defined]
        return session.scalar(
            select(HumanTask.role_code).where(
                HumanTask.instance_id == instance_id,
                HumanTask.spec_id == "review_declaration",
                HumanTask.status == TaskStatus.READY,
            )
        )


def version_of(server: LiveServer, instance_id: int) -> int:
    """Return the version number an instance is pinned to."""
    with server.app.extensions["egovflow"].sessions() as session:  # type: ignore[attr-defined]
        return session.get(ProcessInstance, instance_id).version.version


def change_lane_in_modeler(admin: Visitor, lane_id: str, role_name: str) -> None:
    """Select a lane on the canvas by clicking its header and pick a role in the properties panel."""
    box = admin.page.evaluate(
        """id => {
        const modeler = document.querySelector('[data-bpmn-modeler]').egovModeler;
        const gfx = modeler.get('elementRegistry').getGraphics(id);
        const r = gfx.getBoundingClientRect();
        return {x: r.left, y: r.top, height: r.height};
    }""",
        lane_id,
    )
    admin.page.mouse.click(box["x"] + 12, box["y"] + box["height"] / 2)
    select = admin.page.locator(f'select[data-key="{lane_id}:role"]')
    select.wait_for()
    select.select_option(value=role_name)


def test_lane_changed_in_the_modeler_applies_to_new_instances_only(server: LiveServer, visit) -> None:  # noqa: ANN001
    old = start_lifecycle(server)  # started on version 1, before the change

    admin = visit("admin")
    admin.goto("/admin/processes")
    admin.page.locator('tr[data-process="initial_review"]').get_by_role("link", name="编辑").click()
    admin.page.wait_for_url(re.compile(r"/modeler"))
    admin.islands_ready(timeout=30_000)
    change_lane_in_modeler(admin, LANE, "市数管局领导")
    admin.page.get_by_role("button", name="校验").click()
    admin.page.get_by_text("校验通过").first.wait_for()
    asked: list[str] = []
    admin.page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    admin.page.get_by_role("button", name="部署新版本").click()
    admin.page.locator(".egov-results", has_text="部署").wait_for()
    assert "正在办理的实例仍按原版本办理" in asked[0]  # a deploy is confirmed first
    result = admin.page.locator(".egov-results").inner_text()
    assert "部署成功" in result and "流程 initial_review 第 2 版（新版本）" in result
    links = admin.page.locator('.egov-results a[href="/admin/processes/initial_review"]')
    assert links.inner_text() == "查看此版本并迁移未结束的实例"
    assert "流程 lifecycle 第 2 版（新版本）" in result and "1970" not in result
    admin.shot("建模-部署成功")

    new = start_lifecycle(server)
    declare(server, old)
    declare(server, new)
    assert version_of(server, old) == 1 and version_of(server, new) == 2
    assert initial_review_role(server, new) == "DSJ_LEADER"
    assert initial_review_role(server, old) == "DSJ_CLERK"

    leader = visit("dsj_leader")
    assert leader.page.locator("#pool tr[data-task-id]", has_text="初审").count() == 1
    leader.shot("领导待办-新版本初审")
    clerk = visit("dsj_clerk")
    assert clerk.page.locator("#pool tr[data-task-id]", has_text="初审").count() == 1

    admin.goto(f"/instances/{old}")
    assert "lifecycle 第 1 版" in admin.page.locator("#facts").inner_text()
    admin.goto(f"/instances/{new}")
    assert "lifecycle 第 2 版" in admin.page.locator("#facts").inner_text()

    admin.goto("/admin/processes/initial_review/diff")
    admin.islands_ready()
    row = admin.page.locator(f'#changes tr[data-element="{LANE}"]')
    assert "修改" in row.inner_text() and "市数管局领导" in row.inner_text()
    assert admin.page.locator(f'#viewer-new [data-element-id="{LANE}"].egov-active').count() == 1
    admin.shot("版本比较")


def test_a_lane_mapped_on_the_lanes_page_is_offered_in_the_modeler(server: LiveServer, visit) -> None:  # noqa: ANN001
    mapped = ApiClient(server.app, "admin").post(
        "/api/v1/lanes", json={"lane": "市数管局规划科", "role_code": "DSJ_CLERK"}
    )
    assert mapped.status_code in (201, 409), mapped.get_json()
    admin = visit("admin")
    admin.goto("/admin/processes/initial_review/versions/1/modeler")
    admin.islands_ready(timeout=30_000)
    change_lane_in_modeler(admin, LANE, "市数管局规划科")
    select = admin.page.locator(f'select[data-key="{LANE}:role"]')
    chosen = select.locator("option:checked").inner_text()
    assert chosen == "市数管局规划科（→ 市数管局项目科）" and "未登记" not in chosen
    admin.page.get_by_role("button", name="校验").click()
    admin.page.get_by_text("校验通过").first.wait_for()  # the mapped lane validates
