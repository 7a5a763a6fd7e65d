"""What a reader is shown: experts read their task's documents, system steps by 系统, 无, periodic reports."""

from __future__ import annotations

import re

from tests.api.test_returned_forms import form_data, open_task, submit
from tests.api.test_submitted_forms import card, upload
from tests.bpmn_builder import Process, end, for_each, gateway, script_task, service_task, start, user_task
from tests.conftest import ROOT, deploy
from tests.workflows import FORM, bundle


def expert_panel() -> str:
    """The unit uploads 项目意见书 and 实施方案; two experts then score it, each in a task of their own."""
    p = Process("expert_panel", "专家评审")
    p.add(start(), "建设单位经办人", "start")
    p.add(
        user_task("docs", "编制项目意见书及实施方案", form="opinion_docs.schema.json"),
        "建设单位经办人",
        "docs",
    )
    p.add(script_task("draw", 'panel = ["expert01", "expert02"]'), "建设单位经办人", "draw")
    scoring = user_task("score", "专家评审打分", form="expert_score.schema.json", owner="reviewer")
    scoring = for_each(scoring, "panel", "reviewer")
    p.add(scoring, "评审专家", "score")
    p.add(end(), "评审专家", "end")
    p.chain("start", "docs", "draw", "score", "end")
    return p.xml()


SCORE = {
    "conflict_free_declared": True,
    "score": 85,
    "expert_recommended_budget": 2800000,
    "expert_opinion": "方案可行，建议压减硬件采购。",
}


def test_an_expert_downloads_the_documents_of_their_task_but_not_the_instance(login) -> None:  # noqa: ANN001
    assert deploy(login("admin"), bundle(expert_panel())).status_code == 201
    operator = login("jyj_jb")
    instance_id = operator.post("/api/v1/instances", json={"process_id": "expert_panel"}).get_json()["id"]
    docs = open_task(operator, instance_id, "编制项目意见书及实施方案")
    letter = upload(operator, docs["id"], "项目意见书.pdf", b"%PDF-1.4 letter")
    plan = upload(operator, docs["id"], "实施方案.pdf", b"%PDF-1.4 plan")
    summary = "建设全市统一的课后服务管理平台，共享学籍与收费数据，投资以软件开发为主。"
    submit(
        operator, docs["id"], {"opinion_letter": letter, "implementation_plan": plan, "plan_summary": summary}
    )

    expert, other = login("expert01"), login("expert02")
    mine = open_task(expert, instance_id, "专家评审打分")
    page = expert.get(f"/tasks/{mine['id']}").get_data(as_text=True)
    panel = card(page, "decisions")
    for name, entry in (("项目意见书.pdf", letter), ("实施方案.pdf", plan)):
        assert f'<a href="/api/v1/attachments/{entry["id"]}" download>{name}</a>' in panel
        download = expert.get(f"/api/v1/attachments/{entry['id']}")
        assert download.status_code == 200 and download.data.startswith(b"%PDF-1.4")
    # The instance (with the other experts' scores) stays closed, and no link leads there.
    assert "流程详情" not in page and f"/instances/{instance_id}" not in page
    assert expert.get(f"/instances/{instance_id}").status_code == 404
    assert expert.get(f"/api/v1/instances/{instance_id}").status_code == 404
    # An expert whose task did not show the file cannot read it.
    assert login("expert03").get(f"/api/v1/attachments/{letter['id']}").status_code == 404

    submit(other, open_task(other, instance_id, "专家评审打分")["id"], {**SCORE, "score": 61})
    panel = card(expert.get(f"/tasks/{mine['id']}").get_data(as_text=True), "decisions")
    assert "61" not in panel and "综合评分" not in panel
    # The confirmation after submitting does not point to the instance either; the unit's still does.
    response = expert.post(f"/tasks/{mine['id']}/submit", json={"data": SCORE})
    assert response.status_code == 200
    home = expert.get(response.get_json()["next_url"]).get_data(as_text=True)
    assert "已办理完成" in home and "查看流程进展" not in home
    # The documents stay readable for the task they completed.
    assert expert.get(f"/api/v1/attachments/{plan['id']}").status_code == 200
    unit_page = operator.get(f"/tasks/{docs['id']}").get_data(as_text=True)
    assert f"/instances/{instance_id}" in unit_page and "流程详情" in unit_page


def integration_gate() -> str:
    """A unit's answers, then a handler (集约整合审查) and an empty review, as a 市数管局 clerk does it."""
    p = Process("integration_gate", "集约整合审查")
    p.add(start(), "建设单位经办人", "start")
    p.add(user_task("fill", "填写申请", form="approval.schema.json"), "建设单位经办人", "fill")
    params = {
        "on_egov_extranet": "True",
        "uses_gov_cloud": "True",
        "data_sharing_committed": "True",
    }
    p.add(service_task("check", "check_integration", params, "集约整合审查"), "建设单位经办人", "check")
    p.add(user_task("review", "审核", form="approval.schema.json"), "市数管局项目科", "review")
    p.add(end(), "市数管局项目科", "end")
    p.chain("start", "fill", "check", "review", "end")
    return p.xml()


def test_system_steps_are_done_by_the_system_and_empty_values_read_none(login) -> None:  # noqa: ANN001
    assert deploy(login("admin"), bundle(integration_gate())).status_code == 201
    operator, clerk = login("jyj_jb"), login("dsj_clerk")
    instance_id = operator.post("/api/v1/instances", json={"process_id": "integration_gate"}).get_json()["id"]
    fill = open_task(operator, instance_id, "填写申请")
    submit(operator, fill["id"], {"decision": "APPROVE", "amount": 100, "items": []})

    history = card(clerk.get(f"/instances/{instance_id}").get_data(as_text=True), "history")
    system = re.search(r'timeline-time">([^<]*)</span>\s*<span class="timeline-title">系统处理', history)
    assert system and system.group(1).endswith("· 系统"), history
    assert "集约整合问题：无" in history and "空列表" not in history and "(空)" not in history
    # Admins also see whose action ran it.
    admin = card(login("admin").get(f"/instances/{instance_id}").get_data(as_text=True), "history")
    assert re.search(r"· 系统（[^<]*操作时触发）</span>\s*<span class=\"timeline-title\">系统处理", admin)

    review = open_task(clerk, instance_id, "审核")
    panel = card(clerk.get(f"/tasks/{review['id']}").get_data(as_text=True), "decisions")
    assert re.search(r"明细：</span>\s*无<", panel) and "空列表" not in panel, panel


def periodic_report() -> dict[str, str]:
    """A standard-loop call activity, as construction calls progress_report: one report per period."""
    p = Process("period_report", "本期进度")
    p.add(start(), "建设单位经办人", "start")
    p.add(user_task("report", "报送建设进度", form="progress.schema.json"), "建设单位经办人", "report")
    p.add(end(), "建设单位经办人", "end")
    p.chain("start", "report", "end")
    outer = Process("periods", "按期报送")
    outer.add(start(), "建设单位经办人", "start")
    outer.add(
        '<bpmn:callActivity id="call_period" name="本期进度" calledElement="period_report">'
        "<bpmn:standardLoopCharacteristics><bpmn:loopCondition>not construction_complete</bpmn:loopCondition>"
        "</bpmn:standardLoopCharacteristics></bpmn:callActivity>",
        "建设单位经办人",
        "call_period",
    )
    outer.add(end(), "建设单位经办人", "end")
    outer.chain("start", "call_period", "end")
    form = (ROOT / "forms" / "progress.schema.json").read_text(encoding="utf-8")
    return {"periods.bpmn": outer.xml(), "period_report.bpmn": p.xml(), "progress.schema.json": form}


FIRST_PERIOD = {
    "report_period": "2026-10",
    "pct_complete": 40,
    "spent_to_date": 1000000,
    "progress_issues": ["接口联调滞后"],
    "construction_complete": False,
    "change_requested": True,
    "change_type": "SCHEDULE",
    "budget_delta": 0,
    "change_reason": "接口单位系统升级，工期顺延一个月。",
}


def test_a_new_period_starts_empty_and_reads_as_a_report_of_its_own(login) -> None:  # noqa: ANN001
    assert deploy(login("admin"), periodic_report()).status_code == 201
    operator = login("jyj_jb")
    instance_id = operator.post("/api/v1/instances", json={"process_id": "periods"}).get_json()["id"]
    first = open_task(operator, instance_id, "报送建设进度")
    submit(operator, first["id"], FIRST_PERIOD)
    second = open_task(operator, instance_id, "报送建设进度")
    assert second["id"] != first["id"]
    # Last period's change request is not requested again by submitting the form as it opens.
    assert form_data(operator, second["id"]) == {}
    answer = {**{k: FIRST_PERIOD[k] for k in ("pct_complete", "progress_issues")}, "report_period": "2026-11"}
    answer.update(spent_to_date=1500000, construction_complete=False, change_requested=False)
    submit(operator, second["id"], answer)
    third = open_task(operator, instance_id, "报送建设进度")
    panel = card(operator.get(f"/tasks/{third['id']}").get_data(as_text=True), "decisions")
    # Each period's report is whole, none a correction of the one before.
    assert panel.count('aria-label="报送建设进度提交内容"') == 2, panel
    assert "早前一轮" not in panel and "本次修改" not in panel
    assert re.search(r"申请变更：</span>\s*否", panel) and re.search(
        r"存在问题：</span>\s*接口联调滞后", panel
    )
    history = card(operator.get(f"/instances/{instance_id}").get_data(as_text=True), "history")
    assert "是 → 否" not in history and "→" not in history, history


def corrected_report() -> dict[str, str]:
    """The periodic report of `periodic_report`, which 项目科 may return for correction within its period."""
    p = Process("period_report", "本期进度")
    p.add(start(), "建设单位经办人", "start")
    p.add(gateway("merge"), "建设单位经办人", "merge")
    p.add(user_task("report", "报送建设进度", form="progress.schema.json"), "建设单位经办人", "report")
    p.add(user_task("check", "审核进度", form="approval.schema.json"), "市数管局项目科", "check")
    p.add(gateway("decide", default="f_done"), "市数管局项目科", "decide")
    p.add(end(), "市数管局项目科", "end")
    p.chain("start", "merge", "report", "check", "decide")
    p.flow("decide", "merge", condition='decision == "REJECT"', flow_id="f_back")
    p.flow("decide", "end", flow_id="f_done")
    files = periodic_report()
    return {**files, "period_report.bpmn": p.xml(), "approval.schema.json": FORM}


def test_a_report_returned_within_its_period_opens_with_its_answers_and_the_next_period_empty(login) -> None:  # noqa: ANN001
    assert deploy(login("admin"), corrected_report()).status_code == 201
    operator, clerk = login("jyj_jb"), login("dsj_clerk")
    instance_id = operator.post("/api/v1/instances", json={"process_id": "periods"}).get_json()["id"]
    submit(operator, open_task(operator, instance_id, "报送建设进度")["id"], FIRST_PERIOD)
    submit(clerk, open_task(clerk, instance_id, "审核进度")["id"], {"decision": "REJECT", "amount": 1})
    corrected = open_task(operator, instance_id, "报送建设进度")
    assert form_data(operator, corrected["id"]) == FIRST_PERIOD  # the same period, returned: its answers
    submit(operator, corrected["id"], {**FIRST_PERIOD, "change_requested": False})
    submit(clerk, open_task(clerk, instance_id, "审核进度")["id"], {"decision": "APPROVE", "amount": 1})
    following = open_task(operator, instance_id, "报送建设进度")
    assert form_data(operator, following["id"]) == {}  # a new period
    # The period's report reads as one report corrected once: the returned run folded as an earlier round,
    # the correction whole, with what it changed marked.
    panel = card(operator.get(f"/tasks/{following['id']}").get_data(as_text=True), "decisions")
    assert panel.count('aria-label="报送建设进度提交内容"') == 1, panel
    assert "早前一轮，该轮修改了" in panel and "本次修改" in panel


def test_a_reference_to_someone_elses_upload_opens_nothing_ones_own_joins_the_instance(login) -> None:  # noqa: ANN001
    from tests.api.test_access_rules import upload as api_upload

    assert deploy(login("admin"), bundle(expert_panel())).status_code == 201
    operator, stranger = login("jyj_jb"), login("wjw_jb")

    def uploaded(client, name: str) -> dict:  # noqa: ANN001
        meta = api_upload(client, {}, name).get_json()  # through the API, linked to no instance
        return {"id": str(meta["id"]), "filename": meta["filename"], "sha256": meta["sha256"]}

    theirs, mine = uploaded(stranger, "他人的实施方案.pdf"), uploaded(operator, "项目意见书.pdf")
    instance_id = operator.post("/api/v1/instances", json={"process_id": "expert_panel"}).get_json()["id"]
    docs = open_task(operator, instance_id, "编制项目意见书及实施方案")
    summary = "建设全市统一的课后服务管理平台，共享学籍与收费数据，投资以软件开发为主。"
    data = {"opinion_letter": mine, "implementation_plan": theirs, "plan_summary": summary}
    submit(operator, docs["id"], data)
    expert = login("expert01")
    open_task(expert, instance_id, "专家评审打分")  # the task shows both references
    assert expert.get(f"/api/v1/attachments/{mine['id']}").status_code == 200  # joined the instance
    assert login("dsj_clerk").get(f"/api/v1/attachments/{mine['id']}").status_code == 200
    for reader in (expert, operator):  # a reference written into the form does not open the file
        assert reader.get(f"/api/v1/attachments/{theirs['id']}").status_code == 404
    assert stranger.get(f"/api/v1/attachments/{theirs['id']}").status_code == 200
