"""Process admin in real Chromium: make a new form as a draft, edit it, pick it in the modeler, deploy."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from processes.store.models import FormDraft
from tests.browser.conftest import LiveServer, Visitor
from tests.browser.flows import deploy_lifecycle

pytestmark = pytest.mark.browser

NAME = "supplement_fsr.schema.json"
FORM = """{
  "title": "补充可研材料",
  "type": "object",
  "required": ["fsr_note"],
  "properties": {"fsr_note": {"type": "string", "title": "补充说明", "minLength": 1}}
}"""


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    """The live server with bpmn/ and forms/ deployed."""
    deploy_lifecycle(live_server)
    return live_server


def drafts(server: LiveServer) -> list[str]:
    """Return the names of the stored form drafts."""
    with server.app.extensions["egovflow"].sessions() as session:  # type: ignore[attr-defined]
        return list(session.scalars(select(FormDraft.name)))


def type_schema(admin: Visitor, text: str) -> str:
    """Replace the editor's text and return the live check's verdict once it speaks about this text."""
    status = admin.page.locator("#schema-status")
    admin.page.evaluate("() => { document.getElementById('schema-status').textContent = ''; }")
    admin.page.locator("#schema-text").fill(text)
    admin.page.wait_for_function("() => document.getElementById('schema-status').textContent !== ''")
    return status.inner_text()


def click_element(admin: Visitor, element_id: str) -> None:
    """Select a diagram element by clicking its middle on the canvas."""
    box = admin.page.evaluate(
        """id => {
        const modeler = document.querySelector('[data-bpmn-modeler]').egovModeler;
        const r = modeler.get('elementRegistry').getGraphics(id).getBoundingClientRect();
        return {x: r.left + r.width / 2, y: r.top + r.height / 2};
    }""",
        element_id,
    )
    admin.page.mouse.click(box["x"], box["y"])


def test_a_new_form_is_made_in_the_browser_and_deployed_with_a_diagram(server: LiveServer, visit) -> None:  # noqa: ANN001
    admin = visit("admin")
    admin.goto("/admin/forms")
    admin.page.get_by_role("link", name="新建表单").click()
    admin.page.wait_for_url(re.compile(r"/admin/forms/new$"))

    form = admin.page.locator("#new-form")
    form.get_by_label("文件名").fill("补充材料.json")
    form.get_by_label("表单标题").fill("补充可研材料")
    form.get_by_role("button", name="创建草稿并编辑").click()
    error = form.locator(".field-error")
    error.wait_for()
    assert error.inner_text() == "文件名须以 .schema.json 结尾，如 supplement_fsr.schema.json"
    assert form.get_by_label("文件名").get_attribute("aria-invalid") == "true"
    admin.shot("新建表单-文件名有误")

    form.get_by_label("文件名").fill(NAME)
    with admin.page.expect_navigation():
        form.get_by_role("button", name="创建草稿并编辑").click()
    admin.page.wait_for_url(re.compile(rf"/admin/forms/{NAME}\?created=1$"))
    assert "已创建表单草稿「补充可研材料」" in admin.page.locator(".alert-success").inner_text()
    admin.page.get_by_text("JSON Schema 合法，预览已更新").wait_for()
    preview = admin.page.frame_locator("#preview")
    preview.get_by_text("说明").first.wait_for()  # the starter's example field, rendered
    admin.shot("新建表单-草稿编辑")

    broken = FORM.replace('["fsr_note"]', '["fsr_note", "no_such_field"]')
    assert type_schema(admin, broken) == "必填字段 no_such_field 未在 properties 中定义"
    assert type_schema(admin, FORM) == "JSON Schema 合法，预览已更新"
    preview.get_by_text("补充说明").first.wait_for()
    admin.page.get_by_role("button", name="保存草稿").click()
    saved = admin.page.locator("#save-result.alert-success")
    saved.wait_for()
    assert saved.inner_text() == "草稿已保存。在流程图的用户任务中选择此表单并部署后生效"

    admin.goto("/admin/forms")
    row = admin.page.locator(f'#forms tr[data-form="{NAME}"]')
    assert "补充可研材料" in row.inner_text() and "草稿（未部署）" in row.inner_text()
    admin.shot("表单列表-草稿")

    # The new step's form: here the 修改补正 task of 初审 is given it.
    admin.goto("/admin/processes/initial_review/versions/1/modeler")
    admin.islands_ready(timeout=30_000)
    click_element(admin, "correction")
    choice = admin.page.locator('select[data-key="correction:form"]')
    choice.wait_for()
    assert "补充可研材料（supplement_fsr.schema.json，草稿）" in choice.locator("option").all_inner_texts()
    choice.select_option(value=NAME)
    admin.page.once("dialog", lambda dialog: dialog.accept())
    admin.page.get_by_role("button", name="部署新版本").click()
    result = admin.page.locator(".egov-results", has_text="部署")
    result.wait_for()
    assert (
        "部署成功" in result.inner_text() and "流程 initial_review 第 2 版（新版本）" in result.inner_text()
    )
    admin.shot("建模-选用草稿表单并部署")
    assert drafts(server) == []

    admin.goto("/admin/forms")
    row = admin.page.locator(f'#forms tr[data-form="{NAME}"]')
    assert "草稿" not in row.inner_text() and "项目初审（第 2 版）" in row.inner_text()
