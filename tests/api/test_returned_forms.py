"""A task reached again (a return for correction) starts from its earlier answers; empty sentences drop."""

from __future__ import annotations

import pytest

from processes import catalog
from processes.forms import field_errors
from processes.instructions import render
from tests.conftest import ROOT, ApiClient

DECLARATION = {
    "project_name": "六安市教育局中小学课后服务管理平台建设项目",
    "project_type": "NEW",
    "plan_year": 2026,
    "planned": True,
    "total_estimate": 1200000.0,
    "funding_source": "CITY_FISCAL",
    "construction_content": "建设中小学课后服务管理平台，含课程报名、师资排课、收费公示和质量评价模块。",
    "necessity": "全市课后服务由各校分散管理，报名和收费不透明，需要统一平台规范管理并共享数据。",
    "on_egov_extranet": True,
    "uses_gov_cloud": True,
    "data_sharing_committed": True,
    "crypto_required": False,
    "mlps_level": 1,
    "period_months": 8,
    "keywords": ["课后服务"],
    "contact_name": "周老师",
    "contact_phone": "13900001111",
}


def document(kind: str, number: int) -> dict:
    """An attachment entry of the declaration form."""
    return {"id": str(number), "filename": f"{kind}.pdf", "sha256": "a" * 64, "kind": kind}


# 初审 sends the declaration back for one correction.
RETURN_FOR_CORRECTION = {
    "initial_review_decision": "RETURN",
    "initial_review_opinion": "请补充收费标准依据。",
    "correction_items": ["补充收费标准依据"],
    "correction_days": 5,
}
ONE_DOCUMENT = [document("DECLARATION_FORM", 1)]
ALL_DOCUMENTS = [
    document(k, n)
    for n, k in enumerate(("DECLARATION_FORM", "NECESSITY", "BUDGET_DETAIL", "RESOURCE_CATALOG"))
]


@pytest.fixture
def lifecycle(app) -> None:  # noqa: ANN001
    """bpmn/ and forms/ deployed."""
    state = app.extensions["egovflow"]
    with state.sessions() as session:
        files = catalog.collect_files([ROOT / "bpmn"], ROOT / "forms")
        catalog.deploy(session, files, state.runtime.handlers, now=state.runtime.clock.now())
        session.commit()


def open_task(client: ApiClient, instance_id: int, name: str) -> dict:
    """The caller's one open task of that name in the instance (claimed from the pool when needed)."""
    items = client.get("/api/v1/tasks?page_size=200").get_json()["items"]
    found = [t for t in items if t["instance_id"] == instance_id and t["name"] == name]
    assert len(found) == 1, [t["name"] for t in items]
    return found[0]


def form_data(client: ApiClient, task_id: int) -> dict:
    """The values the task page's form starts with."""
    response = client.get(f"/tasks/{task_id}/form.json")
    assert response.status_code == 200
    return response.get_json()["data"]


def submit(client: ApiClient, task_id: int, data: dict) -> None:
    """Submit a task through the form island's endpoint."""
    response = client.post(f"/tasks/{task_id}/submit", json={"data": data})
    assert response.status_code == 200, response.get_json()


def test_a_declaration_returned_for_documents_comes_back_filled_in_with_the_reason(lifecycle, login) -> None:  # noqa: ANN001
    operator, leader = login("jyj_jb"), login("jyj_fzr")
    started = operator.post("/api/v1/instances", json={"process_id": "lifecycle"})
    instance_id = started.get_json()["id"]
    first = open_task(operator, instance_id, "填报项目申报")
    assert form_data(operator, first["id"]) == {}
    detail = operator.get(f"/api/v1/tasks/{first['id']}").get_json()
    assert "：。" not in detail["instructions"] and "材料不全" not in detail["instructions"]
    described = detail["schema"]["properties"]["documents"]["description"]
    assert "必备材料：项目申报表、建设必要性及需求说明" in described

    submit(operator, first["id"], {**DECLARATION, "documents": ONE_DOCUMENT})
    returned = open_task(operator, instance_id, "填报项目申报")
    assert returned["id"] != first["id"]
    assert form_data(operator, returned["id"]) == {**DECLARATION, "documents": ONE_DOCUMENT}
    text = operator.get(f"/api/v1/tasks/{returned['id']}").get_json()["instructions"]
    assert text.startswith("材料不全，已退回补充：缺少建设必要性及需求说明、投资估算明细、信息资源目录。")

    # The unit leader returns it: the third round starts from the second round's answers.
    submit(operator, returned["id"], {**DECLARATION, "period_months": 9, "documents": ALL_DOCUMENTS})
    review = open_task(leader, instance_id, "单位审核")
    submit(
        leader, review["id"], {"unit_review_decision": "RETURN", "unit_review_opinion": "请补充对接方案。"}
    )
    third = open_task(operator, instance_id, "填报项目申报")
    assert form_data(operator, third["id"]) == {**DECLARATION, "period_months": 9, "documents": ALL_DOCUMENTS}
    text = operator.get(f"/api/v1/tasks/{third['id']}").get_json()["instructions"]
    assert text.startswith("单位负责人退回修改，意见：请补充对接方案。请填报") and "材料不全" not in text

    # A draft still wins over the earlier answers.
    operator.post(f"/api/v1/tasks/{third['id']}/draft", json={"data": {"project_name": "草稿中的名称"}})
    assert form_data(operator, third["id"]) == {"project_name": "草稿中的名称"}


def test_the_initial_review_loop_corrects_with_its_answers_and_reviews_afresh(lifecycle, login) -> None:  # noqa: ANN001
    operator, leader, clerk = login("jyj_jb"), login("jyj_fzr"), login("dsj_clerk")
    instance_id = operator.post("/api/v1/instances", json={"process_id": "lifecycle"}).get_json()["id"]
    submit(
        operator,
        open_task(operator, instance_id, "填报项目申报")["id"],
        {**DECLARATION, "documents": ALL_DOCUMENTS},
    )
    review = open_task(leader, instance_id, "单位审核")
    submit(leader, review["id"], {"unit_review_decision": "CONFIRM", "unit_review_opinion": "同意申报。"})
    first = open_task(clerk, instance_id, "初审")
    assert form_data(clerk, first["id"]) == {}
    answer = RETURN_FOR_CORRECTION
    submit(clerk, first["id"], answer)

    # The correction form lists the documents and amount already declared.
    correction = open_task(operator, instance_id, "修改补正")
    assert form_data(operator, correction["id"]) == {"total_estimate": 1200000.0, "documents": ALL_DOCUMENTS}
    # Leaving the amount out would clear it (a submission is the whole form): refused, nothing lost.
    cleared = operator.post(
        f"/api/v1/tasks/{correction['id']}/complete",
        json={"data": {"correction_note": "已补充收费标准依据。", "documents": ALL_DOCUMENTS}},
    )
    assert cleared.status_code == 422 and "total_estimate" in cleared.get_json()["errors"]
    assert operator.get(f"/api/v1/instances/{instance_id}").get_json()["status"] == "running"
    # A correction that lacks a document it needs comes back with what was written in it, not blank.
    lacking = [d for d in ALL_DOCUMENTS if d["kind"] != "BUDGET_DETAIL"]
    note = "已补充收费标准依据。"
    submit(
        operator,
        correction["id"],
        {"correction_note": note, "total_estimate": 1100000.0, "documents": lacking},
    )
    bounced = open_task(operator, instance_id, "修改补正")
    assert bounced["id"] != correction["id"] and form_data(operator, bounced["id"])["correction_note"] == note
    correction = bounced
    submit(
        operator,
        correction["id"],
        {"correction_note": note, "total_estimate": 1100000.0, "documents": ALL_DOCUMENTS},
    )

    # The reviewer decides afresh on the corrected declaration (the earlier decision is in 办理记录).
    again = open_task(clerk, instance_id, "初审")
    assert form_data(clerk, again["id"]) == {}
    text = clerk.get(f"/api/v1/tasks/{again['id']}").get_json()["instructions"]
    assert "建设单位修改补正说明：已补充收费标准依据。退回修改时" in text


def test_an_amount_below_its_bound_gets_one_message(lifecycle, login) -> None:  # noqa: ANN001
    operator = login("jyj_jb")
    instance_id = operator.post("/api/v1/instances", json={"process_id": "lifecycle"}).get_json()["id"]
    task = open_task(operator, instance_id, "填报项目申报")
    for amount in (-1, 0):
        data = {**DECLARATION, "total_estimate": amount, "documents": ALL_DOCUMENTS}
        response = operator.post(f"/tasks/{task['id']}/submit", json={"data": data})
        assert response.status_code == 422
        assert response.get_json()["errors"] == {"total_estimate": ["必须大于 0"]}


def test_inclusive_and_exclusive_bounds_give_one_message_the_stricter() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {
                "type": "number",
                "minimum": 0,
                "exclusiveMinimum": 0,
                "maximum": 10,
                "exclusiveMaximum": 20,
            },
            "b": {"type": "number", "minimum": 5, "exclusiveMinimum": 0},
        },
    }
    assert field_errors(schema, {"a": -1, "b": -1}) == {"a": ["必须大于 0"], "b": ["不能小于 5"]}
    assert field_errors(schema, {"a": 30, "b": 5}) == {"a": ["不能大于 10"]}


def test_a_sentence_with_nothing_to_show_is_left_out() -> None:
    template = "缺少{{ missing }}。请填报。退回意见：{{ opinion }}；重复建设比对：{{ similar or '无' }}。"
    assert render(template, {}) == "请填报。重复建设比对：无。"
    assert (
        render(template, {"missing": [], "opinion": None, "similar": ["甲"]}) == "请填报。重复建设比对：甲。"
    )
    filled = render(template, {"missing": ["乙", "丙"], "opinion": "请补充。"})
    assert filled == "缺少乙、丙。请填报。退回意见：请补充。重复建设比对：无。"
    # A value's own 。 splits nothing, and a sentence showing any value keeps its empty parts (None reads 无).
    assert render("意见：{{ a }}，条件：{{ b }}。", {"a": "一。二", "b": None}) == "意见：一。二，条件：无。"
    assert render("第一行：{{ x }}\n第二行", {}) == "第二行"
