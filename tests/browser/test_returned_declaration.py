"""A declaration sent back for missing documents comes back filled in, with the reason on top, in Chromium;
once complete, the unit leader reviewing it reads the whole declaration and downloads its files.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import LiveServer
from tests.browser.flows import deploy_lifecycle
from tests.browser.form_fields import choose, field, fill

pytestmark = pytest.mark.browser

PROJECT = "六安市教育局中小学课后服务管理平台建设项目"
CONTENT = "建设中小学课后服务管理平台，含课程报名、师资排课、收费公示和质量评价模块，部署于市政务云。"
NECESSITY = "全市课后服务由各校分散管理，报名和收费不透明，需要统一平台规范管理并共享数据。"
NOTICE = "材料不全，已退回补充：缺少建设必要性及需求说明、投资估算明细、信息资源目录。"


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    """The live server with bpmn/ and forms/ deployed."""
    deploy_lifecycle(live_server)
    return live_server


def test_a_declaration_lacking_documents_comes_back_filled_in_with_the_notice(
    server: LiveServer,
    visit,  # noqa: ANN001
    tmp_path,  # noqa: ANN001
) -> None:
    operator = visit("jyj_jb")
    operator.page.get_by_role("button", name="新建项目申报").click()
    operator.page.wait_for_url(re.compile(r"/tasks/\d+$"))
    operator.islands_ready()
    first_url = operator.page.url
    instructions = operator.page.locator(".task-instructions").inner_text()
    assert "：。" not in instructions and "材料不全" not in instructions
    described = field(operator, "documents").inner_text()
    assert "必备材料：项目申报表、建设必要性及需求说明" in described

    fill(operator, "project_name", PROJECT)
    choose(operator, "project_type", "新建")
    fill(operator, "plan_year", "2026")
    choose(operator, "planned", "是")
    fill(operator, "total_estimate", "-1")
    operator.page.locator("[data-jsonschema-form] .form-actions .btn-primary").click()
    assert field(operator, "total_estimate").locator(".field-error").inner_text() == "必须大于 0"
    assert "不能小于" not in operator.page.locator(".form-summary").inner_text()
    fill(operator, "total_estimate", "1200000")
    choose(operator, "funding_source", "市级财政性资金")
    fill(operator, "construction_content", CONTENT)
    fill(operator, "necessity", NECESSITY)
    for path, reply in (
        ("on_egov_extranet", "是"),
        ("uses_gov_cloud", "是"),
        ("data_sharing_committed", "是"),
        ("crypto_required", "否"),
    ):
        choose(operator, path, reply)
    choose(operator, "mlps_level", "第一级")
    fill(operator, "period_months", "8")
    field(operator, "keywords").get_by_role("button", name="添加一行").click()
    field(operator, "keywords").locator("input").first.fill("课后服务")
    fill(operator, "contact_name", "周老师")
    fill(operator, "contact_phone", "13900001111")
    upload = tmp_path / "申报表.pdf"
    upload.write_bytes("申报表 测试内容".encode())
    field(operator, "documents").locator("input[type=file]").set_input_files(str(upload))
    item = field(operator, "documents").locator(".attachment-list li", has_text="申报表.pdf")
    item.get_by_label("材料类型").select_option(label="项目申报表")
    operator.shot("申报-只传一份材料")
    with operator.page.expect_navigation():
        operator.page.locator("[data-jsonschema-form] .form-actions .btn-primary").click()
    operator.page.wait_for_load_state("load")

    # The completeness check sends it back: the new task opens with the notice and the earlier answers.
    operator.page.wait_for_url(re.compile(r"/tasks/\d+$"))
    operator.islands_ready()
    assert operator.page.url != first_url
    assert operator.page.locator("h1").inner_text() == "填报项目申报"
    instructions = operator.page.locator(".task-instructions").inner_text()
    assert instructions.startswith(NOTICE), instructions
    assert field(operator, "project_name").locator("input").first.input_value() == PROJECT
    assert field(operator, "total_estimate").locator("input").first.input_value().replace(",", "") in (
        "1200000",
        "1200000.00",
    )
    assert field(operator, "necessity").locator("textarea").first.input_value() == NECESSITY
    assert field(operator, "contact_phone").locator("input").first.input_value() == "13900001111"
    assert field(operator, "keywords").locator("input").first.input_value() == "课后服务"
    returned = field(operator, "documents").locator(".attachment-list li", has_text="申报表.pdf")
    assert returned.count() == 1
    kind = returned.get_by_label("材料类型")
    assert kind.locator("option:checked").inner_text() == "项目申报表"
    operator.shot("申报-材料不全退回")

    # The operator adds the missing documents and sends it on; only 申报材料 changed in this round.
    more = {
        "需求说明.pdf": "建设必要性及需求说明",
        "估算明细.xlsx": "投资估算明细",
        "资源目录.xlsx": "信息资源目录",
    }
    for name, kind in more.items():
        extra = tmp_path / name
        extra.write_bytes(f"{name} 测试内容".encode())
        field(operator, "documents").locator("input[type=file]").set_input_files(str(extra))
        item = field(operator, "documents").locator(".attachment-list li", has_text=name)
        item.get_by_label("材料类型").select_option(label=kind)
    with operator.page.expect_navigation():
        operator.page.locator("[data-jsonschema-form] .form-actions .btn-primary").click()
    operator.page.wait_for_load_state("load")

    # 单位审核: the unit leader reads the whole declaration beside the form and downloads its files.
    leader = visit("jyj_fzr")
    leader.goto("/")
    leader.page.locator("tr[data-task-id]", has_text="单位审核").first.get_by_role(
        "link", name="办理"
    ).click()
    leader.page.wait_for_url(re.compile(r"/tasks/\d+$"))
    leader.islands_ready()
    latest = leader.page.locator('#decisions ul[aria-label="填报项目申报提交内容"]')
    text = latest.inner_text()
    for line in (
        f"项目名称：{PROJECT}",
        "项目类型：新建",
        "总投资概算：1,200,000.00 元",
        "资金来源：市级财政性资金",
        f"建设内容及规模：{CONTENT}",
        f"建设必要性：{NECESSITY}",
        "等级保护级别：第一级",
        "联系人：周老师",
        "联系电话：13900001111",
        "申报表.pdf（项目申报表）",
        "需求说明.pdf（建设必要性及需求说明）",
    ):
        assert line in text, (line, text)
    assert latest.locator('[data-field="documents"] .badge', has_text="本次修改").count() == 1
    assert latest.locator('[data-field="contact_phone"] .badge').count() == 0
    link = latest.get_by_role("link", name="申报表.pdf")
    with leader.page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "申报表.pdf"
    assert Path(download.value.path()).read_bytes() == "申报表 测试内容".encode()
    leader.shot("单位审核-完整申报内容")
