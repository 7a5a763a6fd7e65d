"""A project declared, reviewed and scored in real Chromium, on the repository's lifecycle diagrams."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from processes.store.models import Attachment, HumanTask, ProcessInstance, TaskStatus, User
from tests.browser.conftest import DESKTOP, PHONE, LiveServer, Visitor
from tests.browser.flows import deploy_lifecycle
from tests.browser.form_fields import choose, field, fill

pytestmark = pytest.mark.browser

PROJECT = "六安市教育局智慧校园管理平台建设项目"
CONTENT = "建设智慧校园管理平台，含学籍、教务、校园安全等模块，部署于市政务云，对接市数据共享交换平台。"
NECESSITY = "现有系统分散建设、数据不通，需要统一平台实现数据共享与业务协同，提升全市教育管理水平。"
DOCUMENTS = {  # file → its 材料类型 as the select lists it
    "申报表.pdf": "项目申报表",
    "需求及必要性说明.pdf": "建设必要性及需求说明",
    "投资估算明细.xlsx": "投资估算明细",
    "信息资源目录.xlsx": "信息资源目录",
}
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.fixture(scope="module")
def server(live_server: LiveServer) -> LiveServer:
    """The live server with bpmn/ and forms/ deployed."""
    deploy_lifecycle(live_server)
    return live_server


def press_submit(tab: Visitor) -> None:
    """Press the form island's submit button (when the form is expected to stay on the page)."""
    tab.page.locator("[data-jsonschema-form] .form-actions .btn-primary").click()


def submit_form(tab: Visitor) -> None:
    """Press the form island's submit button and wait for the page it leads to."""
    with tab.page.expect_navigation():
        tab.page.locator("[data-jsonschema-form] .form-actions .btn-primary").click()
    tab.page.wait_for_load_state("load")


def open_task(tab: Visitor, name: str, claim: bool = False) -> None:
    """Open a task from the home page's lists (claiming it from the role pool when asked)."""
    tab.goto("/")
    row = tab.page.locator("tr[data-task-id]", has_text=name).first
    row.get_by_role("button" if claim else "link", name="认领" if claim else "办理").click()
    tab.page.wait_for_url(re.compile(r"/tasks/\d+$"))
    tab.islands_ready()
    assert tab.page.locator("h1").inner_text() == name


def open_tasks_of(server: LiveServer, spec_id: str) -> list[tuple[int, str]]:
    """Return (task id, assignee user name) of the open tasks of one diagram element."""
    with server.app.extensions["egovflow"].sessions() as session:  # type: ignore[attr-defined]
        rows = session.execute(
            select(HumanTask.id, User.username)
            .join(User, User.id == HumanTask.assignee_id)
            .where(HumanTask.spec_id == spec_id, HumanTask.status == TaskStatus.READY)
        )
        return [tuple(r) for r in rows]


def declare(operator: Visitor, tmp_path) -> None:  # noqa: ANN001
    """Fill the declaration form field by field and upload the documents (their 材料类型 not chosen yet)."""
    fill(operator, "project_name", PROJECT)
    choose(operator, "project_type", "新建")
    fill(operator, "plan_year", "2026")
    field(operator, "planned").get_by_text("是", exact=True).click()
    fill(operator, "total_estimate", "99999999999999999")  # past what a browser number holds to the cent
    press_submit(operator)
    assert field(operator, "total_estimate").locator(".field-error").inner_text() == "金额过大，无法精确到分"
    fill(operator, "total_estimate", "6800000")
    choose(operator, "funding_source", "市级财政性资金")
    fill(operator, "construction_content", CONTENT)
    fill(operator, "necessity", NECESSITY)
    for path, answer in (
        ("on_egov_extranet", "是"),
        ("uses_gov_cloud", "是"),
        ("data_sharing_committed", "是"),
        ("crypto_required", "否"),
    ):
        field(operator, path).get_by_text(answer, exact=True).click()
    choose(operator, "mlps_level", "第一级")
    fill(operator, "period_months", "12")
    field(operator, "keywords").get_by_role("button", name="添加一行").click()
    field(operator, "keywords").locator("input").first.fill("智慧校园")
    fill(operator, "contact_name", "张老师")
    fill(operator, "contact_phone", "13800000000")
    uploads = []
    for name in DOCUMENTS:
        path = tmp_path / name
        path.write_bytes(f"{name} 测试内容".encode())
        uploads.append(str(path))
    field(operator, "documents").locator("input[type=file]").set_input_files(uploads)
    listed = '[data-path="documents"] .attachment-list li:not(.attachment-empty)'
    operator.page.wait_for_function(f"() => document.querySelectorAll('{listed}').length === {len(uploads)}")


def choose_document_kinds(operator: Visitor) -> None:
    """Pick each uploaded file's 材料类型 in the select on its line of the list."""
    for name, kind in DOCUMENTS.items():
        item = field(operator, "documents").locator(".attachment-list li", has_text=name)
        item.get_by_label("材料类型").select_option(label=kind)


def look_at_phone_width(tab: Visitor, label: str) -> None:
    """Screenshot the page 375px wide (nothing may scroll sideways), then go back to the desktop size."""
    tab.page.set_viewport_size(PHONE)
    assert tab.page.evaluate(NO_SIDEWAYS_SCROLL)
    tab.shot(label)
    tab.page.set_viewport_size(DESKTOP)


def test_declare_then_initial_review_then_expert_scores(server: LiveServer, visit, tmp_path) -> None:  # noqa: ANN001
    anon = visit()
    anon.goto("/login")
    anon.page.fill("#username", "jyj_jb")
    anon.page.fill("#password", "错误密码")
    anon.page.click("button[type=submit]")
    assert "用户名或密码错误" in anon.page.locator(".alert-error").inner_text()
    anon.shot("登录失败")

    # 申报: the unit operator starts a declaration; empty required fields are marked where they are.
    operator = visit("jyj_jb")
    operator.shot("首页")
    operator.page.get_by_role("button", name="新建项目申报").click()
    operator.page.wait_for_url(re.compile(r"/tasks/\d+$"))
    operator.islands_ready()
    assert operator.page.locator("h1").inner_text() == "填报项目申报"
    operator.page.locator("[data-jsonschema-form] .form-actions .btn-primary").click()
    assert "此项为必填项" in field(operator, "project_name").locator(".field-error").inner_text()
    assert operator.page.locator("[data-jsonschema-form] .has-error").count() > 5
    operator.shot("申报表-必填提示")
    declare(operator, tmp_path)
    # Every upload needs its 材料类型: the select on each file's line is marked until one is chosen.
    assert field(operator, "documents").locator(".attachment-list select").count() == len(DOCUMENTS)
    press_submit(operator)
    for index in range(len(DOCUMENTS)):
        kind_error = field(operator, f"documents.{index}.kind").locator(".field-error")
        assert kind_error.inner_text() == "请选择材料类型"
    assert "申报材料“申报表.pdf”的材料类型" in operator.page.locator(".form-summary").inner_text()
    operator.shot("申报表-材料类型未选")
    choose_document_kinds(operator)
    fill(operator, "contact_phone", "12345")
    press_submit(operator)
    assert field(operator, "contact_phone").locator(".field-error").inner_text() != ""
    assert not field(operator, "documents").locator(".has-error").count()
    operator.shot("申报表-格式错误")
    fill(operator, "contact_phone", "13800000000")
    look_at_phone_width(operator, "手机-申报材料")
    operator.page.get_by_role("button", name="保存草稿").click()
    operator.page.get_by_text("草稿已保存").wait_for()
    submit_form(operator)
    assert operator.page.url.split("?")[0].endswith("/")
    operator.shot("申报已提交")

    # 单位审核: the unit leader claims the task from the role pool. A reason is required only for a
    # return, of two characters or more (if/then): the required marker follows the chosen conclusion,
    # and the island checks the rule before sending, as the server does.
    leader = visit("jyj_fzr")
    open_task(leader, "单位审核", claim=True)
    assert PROJECT in leader.page.locator("#decisions").inner_text()
    opinion = field(leader, "unit_review_opinion")
    marker = opinion.locator(".form-label .required")
    assert marker.count() == 0
    choose(leader, "unit_review_decision", "退回修改")
    assert marker.count() == 1 and "（必填）" in opinion.locator(".form-label").text_content()
    assert opinion.locator("textarea").get_attribute("aria-required") == "true"
    fill(leader, "unit_review_opinion", "否")
    press_submit(leader)
    opinion.locator(".field-error").filter(has_text="不能少于 2 个字").wait_for()
    assert "请修改标出的内容后再提交" in leader.page.locator(".form-summary").inner_text()
    leader.shot("单位审核-退回须说明理由")
    choose(leader, "unit_review_decision", "同意申报")
    assert marker.count() == 0 and opinion.locator("textarea").get_attribute("aria-required") is None
    choose(leader, "unit_review_decision", "同意申报")
    fill(leader, "unit_review_opinion", "经单位集体研究，同意申报。")
    leader.shot("单位审核")
    submit_form(leader)

    # 初审 by 市数管局项目科: the key facts and the earlier decisions are beside the form.
    clerk = visit("dsj_clerk")
    open_task(clerk, "初审")
    facts = clerk.page.locator("#facts").inner_text()
    assert PROJECT in facts and "6,800,000.00 元" in facts and "LA-2026-" in facts
    assert "单位审核" in clerk.page.locator("#decisions").inner_text()
    choose(clerk, "initial_review_decision", "通过")
    fill(clerk, "initial_review_opinion", "材料齐全，符合集约建设要求，同意进入立项程序。")
    clerk.shot("初审")
    submit_form(clerk)

    # 500万元及以上: the unit writes the 项目意见书 and 实施方案, uploaded with progress. Each field has a
    # fixed 材料类型, so no picker is shown and the kind goes with the upload.
    open_task(operator, "编制项目意见书及实施方案")
    for path, name in (("opinion_letter", "项目意见书.pdf"), ("implementation_plan", "实施方案.docx")):
        upload = tmp_path / name
        upload.write_bytes(b"%PDF-1.4 " + name.encode())
        field(operator, path).locator("input[type=file]").set_input_files(str(upload))
        field(operator, path).get_by_text(name).wait_for()
        assert not field(operator, path).locator(".attachment-kind").count()
    uploaded = select(Attachment.filename, Attachment.kind).where(
        Attachment.filename.in_(("项目意见书.pdf", "实施方案.docx"))
    )
    kinds: dict = {}
    deadline = time.monotonic() + 10
    while len(kinds) < 2 and time.monotonic() < deadline:  # the file name shows while the upload still runs
        with server.app.extensions["egovflow"].sessions() as session:  # type: ignore[attr-defined]
            kinds = dict(session.execute(uploaded).all())
        if len(kinds) < 2:
            operator.page.wait_for_timeout(100)
    assert kinds == {"项目意见书.pdf": "OPINION_LETTER", "实施方案.docx": "IMPLEMENTATION_PLAN"}
    fill(operator, "plan_summary", "建设统一的智慧校园管理平台，共享学籍和教职工数据，投资以软件开发为主。")
    operator.shot("意见书及实施方案")
    submit_form(operator)

    # 专家评审: each drawn expert scores independently, after ticking the 回避声明 (the first one on a phone).
    experts = open_tasks_of(server, "expert_scoring")
    assert len(experts) >= 3, experts
    for index, (task_id, username) in enumerate(experts):
        expert = visit(username, phone=index == 0)
        expert.goto(f"/tasks/{task_id}")
        declaration = field(expert, "conflict_free_declared")
        assert "本人承诺与项目建设单位及相关供应商无利害关系" in declaration.inner_text()
        fill(expert, "score", str(80 + index))
        fill(expert, "expert_recommended_budget", "3000000")
        fill(expert, "expert_opinion", "方案可行，建议压缩硬件投资，充分利用市政务云资源。")
        if index == 0:
            assert expert.page.evaluate(NO_SIDEWAYS_SCROLL)
            fill(expert, "score", "85.3")  # checked in the browser as the server would: half points only
            press_submit(expert)
            assert declaration.locator(".field-error").inner_text() == "请阅读并勾选此项"
            assert field(expert, "score").locator(".field-error").inner_text() == "必须是 0.5 的整数倍"
            expert.shot("手机-专家打分-未勾选回避声明")
            fill(expert, "score", "80.5")
        declaration.get_by_role("checkbox").check()
        if index < 2:
            expert.shot("手机-专家打分" if index == 0 else "专家打分")
        submit_form(expert)
        expert.close()

    # The highlighted diagram of the instance's own version: stages done in green, the current one blue.
    with server.app.extensions["egovflow"].sessions() as session:  # type: ignore[attr-defined]
        instance_id = session.scalar(select(ProcessInstance.id).where(ProcessInstance.title == PROJECT))
    clerk.goto(f"/instances/{instance_id}")
    clerk.islands_ready()
    viewer = clerk.page.locator("#viewer")
    assert viewer.get_attribute("data-island-state") == "ready"
    assert clerk.page.locator("#viewer .djs-element.egov-done").count() >= 3
    assert clerk.page.locator("#viewer .djs-element.egov-active").count() >= 1
    card = viewer.locator("xpath=ancestor::section[1]").bounding_box()
    legend = viewer.locator(".egov-legend").bounding_box()
    assert legend["y"] + legend["height"] <= card["y"] + card["height"]  # the legend stays inside its card
    # The whole diagram would be too small to read: it opens readable, on the current step.
    zoom = "() => document.querySelector('#viewer').egovViewer.get('canvas').zoom()"
    assert clerk.page.evaluate(zoom) == pytest.approx(0.75)
    frame = viewer.locator(".egov-canvas").bounding_box()
    active = viewer.locator(".djs-element.egov-active").first.bounding_box()
    assert frame["x"] <= active["x"] and active["x"] + active["width"] <= frame["x"] + frame["width"]
    assert frame["y"] <= active["y"] and active["y"] + active["height"] <= frame["y"] + frame["height"]
    viewer.get_by_role("button", name="适应").click()
    assert clerk.page.evaluate(zoom) < 0.75  # 适应 still shows the whole process
    clerk.shot("实例-生命周期图")
    clerk.page.get_by_role("link", name=re.compile("项目立项")).click()
    clerk.islands_ready()
    assert clerk.page.locator('#viewer [data-element-id="call_expert_review"].egov-done').count() == 1
    clerk.shot("实例-立项子流程图")
    history = clerk.page.locator("#history").inner_text()
    assert "办理：初审" in history and "王科员" in history
