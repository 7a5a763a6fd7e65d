"""What reviewers read of earlier submissions: the whole form as submitted, uploads by 材料类型, once each."""

from __future__ import annotations

import io
import re

from tests.api import test_returned_forms as returned
from tests.api.test_returned_forms import DECLARATION, RETURN_FOR_CORRECTION, form_data, open_task, submit
from tests.bpmn_builder import Process, end, for_each, script_task, start, user_task
from tests.conftest import ApiClient, deploy
from tests.workflows import bundle

lifecycle = returned.lifecycle  # bpmn/ and forms/ deployed


def upload(client: ApiClient, task_id: int, name: str, content: bytes) -> dict:
    """Upload a file for a task as the form island does; return the attachment entry the form keeps."""
    response = client.client.post(
        f"/tasks/{task_id}/upload",
        headers={"X-CSRFToken": client.csrf},
        data={"file": (io.BytesIO(content), name)},
    )
    assert response.status_code == 201, response.get_json()
    meta = response.get_json()
    return {"id": meta["id"], "filename": meta["filename"], "sha256": meta["sha256"]}


def card(html: str, section: str) -> str:
    """The HTML of one <section id=…> of a page."""
    found = re.search(rf'<section class="card" id="{section}">(.*?)</section>', html, re.S)
    assert found, section
    return found.group(1)


def declare_in_two_rounds(operator: ApiClient, instance_id: int) -> tuple[dict[str, dict], list[int]]:
    """Declare with one document (sent back as incomplete), then the rest, uploading 申报书 again.

    Returns the form's attachment entries by file name and the ids of the two rounds' tasks.
    """
    first = open_task(operator, instance_id, "填报项目申报")
    form = {**upload(operator, first["id"], "申报书.pdf", b"%PDF-1.4 form"), "kind": "DECLARATION_FORM"}
    submit(operator, first["id"], {**DECLARATION, "documents": [form]})
    again = open_task(operator, instance_id, "填报项目申报")
    # The same file uploaded once more on the returned form, and left there unused: still one file.
    upload(operator, again["id"], "申报书.pdf", b"%PDF-1.4 form")
    files = {"申报书.pdf": form}
    for name, kind in (
        ("需求说明.pdf", "NECESSITY"),
        ("估算明细.xlsx", "BUDGET_DETAIL"),
        ("资源目录.xlsx", "RESOURCE_CATALOG"),
    ):
        files[name] = {**upload(operator, again["id"], name, f"%PDF-1.4 {kind}".encode()), "kind": kind}
    submit(operator, again["id"], {**form_data(operator, again["id"]), "documents": list(files.values())})
    return files, [first["id"], again["id"]]


def test_documents_list_each_upload_once_with_the_kind_chosen_in_the_form(lifecycle, login) -> None:  # noqa: ANN001
    operator, leader, clerk = login("jyj_jb"), login("jyj_fzr"), login("dsj_clerk")
    instance_id = operator.post("/api/v1/instances", json={"process_id": "lifecycle"}).get_json()["id"]
    files, _rounds = declare_in_two_rounds(operator, instance_id)
    review = open_task(leader, instance_id, "单位审核")
    submit(leader, review["id"], {"unit_review_decision": "CONFIRM", "unit_review_opinion": "同意申报。"})
    # 初审 returns it; the correction re-submits the same documents unchanged.
    first = open_task(clerk, instance_id, "初审")
    answer = RETURN_FOR_CORRECTION
    submit(clerk, first["id"], answer)
    correction = open_task(operator, instance_id, "修改补正")
    submit(
        operator,
        correction["id"],
        {**form_data(operator, correction["id"]), "correction_note": "已补充收费依据。"},
    )

    expected = {
        "申报书.pdf": "项目申报表",
        "需求说明.pdf": "建设必要性及需求说明",
        "估算明细.xlsx": "投资估算明细",
        "资源目录.xlsx": "信息资源目录",
    }
    listed = clerk.get(f"/api/v1/instances/{instance_id}/documents").get_json()
    assert sorted((d["filename"], d["kind_name"]) for d in listed) == sorted(expected.items())
    assert {d["filename"]: d["kind"] for d in listed}["申报书.pdf"] == "DECLARATION_FORM"
    assert {d["filename"]: d["id"] for d in listed}["申报书.pdf"] == int(files["申报书.pdf"]["id"])
    html = card(clerk.get(f"/instances/{instance_id}").get_data(as_text=True), "documents")
    for name, kind in expected.items():
        assert html.count(f">{name}</a>") == 1 and f"<td>{kind}</td>" in html
    assert "<td>附件</td>" not in html

    project_id = clerk.get(f"/api/v1/instances/{instance_id}").get_json()["project_id"]
    assert project_id
    for rows in (
        clerk.get(f"/api/v1/projects/{project_id}/documents").get_json(),
        clerk.get(f"/api/v1/projects/{project_id}").get_json()["documents"],
    ):
        assert sorted((d["filename"], d["kind_name"]) for d in rows) == sorted(expected.items())
    page = card(operator.get(f"/projects/{project_id}").get_data(as_text=True), "documents")
    for name, kind in expected.items():
        assert page.count(f">{name}</a>") == 1 and f'data-label="类型">{kind}</td>' in page


def test_reviewers_see_the_whole_declaration_with_download_links(lifecycle, login) -> None:  # noqa: ANN001
    operator, leader, clerk = login("jyj_jb"), login("jyj_fzr"), login("dsj_clerk")
    instance_id = operator.post("/api/v1/instances", json={"process_id": "lifecycle"}).get_json()["id"]
    files, rounds = declare_in_two_rounds(operator, instance_id)
    review = open_task(leader, instance_id, "单位审核")
    panel = card(leader.get(f"/tasks/{review['id']}").get_data(as_text=True), "decisions")
    latest = panel.split('aria-label="填报项目申报提交内容"', 1)[1].split("</ul>", 1)[0]
    for title, text in (
        ("项目名称", DECLARATION["project_name"]),
        ("项目类型", "新建"),
        ("总投资概算", "1,200,000.00 元"),
        ("资金来源", "市级财政性资金"),
        ("建设内容及规模", DECLARATION["construction_content"]),
        ("建设必要性", DECLARATION["necessity"]),
        ("涉及商用密码应用", "否"),
        ("等级保护级别", "第一级"),
        ("建设周期", "8 月"),
        ("功能关键词", "课后服务"),
        ("联系人", "周老师"),
        ("联系电话", "13900001111"),
    ):
        assert re.search(rf"{title}：</span>\s*{re.escape(text)}", latest), (title, latest)
    for name, entry in files.items():
        assert f'<a href="/api/v1/attachments/{entry["id"]}" download>{name}</a>' in latest
    assert "（项目申报表）" in latest and "（建设必要性及需求说明）" in latest
    download = leader.get(f"/api/v1/attachments/{files['申报书.pdf']['id']}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4 form"
    assert login("wjw_jb").get(f"/api/v1/attachments/{files['申报书.pdf']['id']}").status_code == 404
    # The earlier round lists only what it changed, folded away.
    assert panel.count('aria-label="填报项目申报修改内容"') == 1 and "早前一轮" in panel

    # A completed task's own page shows its whole form too, not only what the submission changed.
    assert form_data(operator, rounds[0])["documents"] == [{**files["申报书.pdf"]}]
    second = form_data(operator, rounds[1])
    assert second["contact_phone"] == "13900001111" and len(second["documents"]) == 4

    submit(leader, review["id"], {"unit_review_decision": "CONFIRM", "unit_review_opinion": "同意申报。"})
    first = open_task(clerk, instance_id, "初审")
    panel = card(clerk.get(f"/tasks/{first['id']}").get_data(as_text=True), "decisions")
    assert "建设必要性：</span>" in panel and "联系电话：</span>" in panel and "周老师" in panel
    assert f'href="/api/v1/attachments/{files["需求说明.pdf"]["id"]}"' in panel
    assert re.search(r"审核结论：</span>\s*同意申报", panel)
    assert clerk.get(f"/api/v1/attachments/{files['需求说明.pdf']['id']}").status_code == 200


def panel_scores() -> str:
    """The unit fills an amount; then two experts score it, each in a task of their own (multi-instance)."""
    p = Process("panel_scores", "独立评分")
    p.add(start(), "建设单位经办人", "start")
    p.add(user_task("fill", "填写申请", form="approval.schema.json"), "建设单位经办人", "fill")
    p.add(script_task("draw", 'panel = ["expert01", "expert02"]'), "建设单位经办人", "draw")
    scoring = user_task("score", "专家打分", form="approval.schema.json", owner="reviewer")
    scoring = for_each(scoring, "panel", "reviewer")
    p.add(scoring, "评审专家", "score")
    p.add(end(), "评审专家", "end")
    p.chain("start", "fill", "draw", "score", "end")
    return p.xml()


def test_an_expert_sees_the_declaration_but_not_the_other_experts_answers(login) -> None:  # noqa: ANN001
    assert deploy(login("admin"), bundle(panel_scores())).status_code == 201
    operator = login("jyj_jb")
    instance_id = operator.post("/api/v1/instances", json={"process_id": "panel_scores"}).get_json()["id"]
    fill = open_task(operator, instance_id, "填写申请")
    submit(operator, fill["id"], {"decision": "APPROVE", "amount": 123456.5, "items": [{"name": "服务器"}]})
    second = login("expert02")
    submit(second, open_task(second, instance_id, "专家打分")["id"], {"decision": "REJECT", "amount": 777})
    first = login("expert01")
    mine = open_task(first, instance_id, "专家打分")
    panel = card(first.get(f"/tasks/{mine['id']}").get_data(as_text=True), "decisions")
    assert re.search(r"金额\(元\)：</span>\s*123456.5<", panel) and "名称 服务器" in panel
    assert "777" not in panel and "不同意" not in panel and "专家打分" not in panel
    # Once it is done, whoever reads the instance sees every answer.
    submit(first, mine["id"], {"decision": "APPROVE", "amount": 888})
    done = login("admin").get(f"/tasks/{mine['id']}").get_data(as_text=True)
    assert re.search(r"金额\(元\)：</span>\s*777<", card(done, "decisions"))
    assert re.search(r"金额\(元\)：</span>\s*888<", card(done, "decisions"))
