"""Form drafts: a process admin makes a new form in the browser and a deployed diagram takes it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from processes.forms import read_form
from processes.store.models import Deployment, FormDraft
from tests.bpmn_builder import Process, end, start, user_task
from tests.conftest import ApiClient, deploy
from tests.workflows import bundle, two_lanes

JSON = {"Accept": "application/json"}
NAME = "supplement_fsr.schema.json"


@pytest.fixture
def admin(login) -> ApiClient:  # noqa: ANN001
    client = login("admin")
    assert deploy(client, bundle(two_lanes())).status_code == 201
    return client


def create(admin: ApiClient, name: str = NAME, title: str = "补充可研材料"):  # noqa: ANN201
    """POST a new form's name and title, as the 新建表单 page does."""
    return admin.post("/admin/forms", {"name": name, "title": title})


def save(admin: ApiClient, text: str, name: str = NAME):  # noqa: ANN201
    """POST a form's text, as the form editor's save button does."""
    return admin.post(f"/admin/forms/{name}", {"text": text})


def delete(admin: ApiClient, name: str = NAME):  # noqa: ANN201
    """DELETE a form's draft, as the 删除草稿 button does."""
    return admin.client.delete(f"/admin/forms/{name}", headers={"X-CSRFToken": admin.csrf, **JSON})


def html(admin: ApiClient, url: str, status: int = 200) -> str:
    """GET a page, check its status, return its HTML."""
    response = admin.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def supplement(form: str = NAME) -> dict[str, str]:
    """A bundle of one diagram whose only user task names `form` and brings no form file."""
    p = Process("supplement", "补充材料")
    p.add(start(), "建设单位经办人", "start")
    p.add(user_task("fsr", "补充可研材料", form=form), "建设单位经办人", "fsr")
    p.add(end(), "建设单位经办人", "end")
    p.chain("start", "fsr", "end")
    return {"supplement.bpmn": p.xml()}


def drafts(app) -> list[str]:  # noqa: ANN001
    """Return the names of the stored drafts."""
    with app.extensions["egovflow"].sessions() as session:
        return list(session.scalars(select(FormDraft.name)))


def deployments(app) -> int:  # noqa: ANN001
    """Return how many deployments are stored."""
    with app.extensions["egovflow"].sessions() as session:
        return len(list(session.scalars(select(Deployment.id))))


def test_a_new_form_is_a_draft_listed_in_the_forms_and_the_modeler(admin, login) -> None:  # noqa: ANN001
    listing = html(admin, "/admin/forms")
    assert 'href="/admin/forms/new"' in listing and "新建表单" in listing
    page = html(admin, "/admin/forms/new")
    assert 'data-api-url="/admin/forms" data-api-method="POST"' in page and ".schema.json" in page

    created = create(admin, name=f" {NAME} ", title=" 补充可研材料 ")
    assert created.status_code == 201, created.get_json()
    assert created.get_json() == {"name": NAME, "title": "补充可研材料", "url": f"/admin/forms/{NAME}"}

    row = html(admin, "/admin/forms").split(f'data-form="{NAME}"')[1].split("</tr>")[0]
    assert "补充可研材料" in row and "草稿（未部署）" in row and "删除草稿" in row and "未被使用" in row
    editor = html(admin, f"/admin/forms/{NAME}?created=1")
    assert "草稿（未部署）" in editor and "保存草稿" in editor and "已创建表单草稿「补充可研材料」" in editor
    text = editor.split('id="schema-text"')[1].split(">", 1)[1].split("</textarea>")[0]
    starter = json.loads(text.replace("&#34;", '"').replace("&quot;", '"'))
    assert starter["title"] == "补充可研材料" and starter["type"] == "object"
    assert starter["required"] == ["remark"] and starter["properties"]["remark"]["type"] == "string"
    assert read_form(json.dumps(starter)) == (starter, None)

    catalog = {f["name"]: f for f in login("dsj_clerk").get("/api/v1/forms").get_json()}
    assert catalog[NAME] == {"name": NAME, "title": "补充可研材料", "draft": True}
    assert catalog["approval.schema.json"]["draft"] is False  # deployed with two_lanes, not in forms/
    assert catalog["declare.schema.json"] == {
        "name": "declare.schema.json",
        "title": "电子政务项目申报表",
        "draft": False,
    }


@pytest.mark.parametrize(
    ("name", "title", "errors"),
    [
        ("", "标题", {"name": ["请填写文件名"]}),
        (
            "supplement.json",
            "标题",
            {"name": ["文件名须以 .schema.json 结尾，如 supplement_fsr.schema.json"]},
        ),
        (".schema.json", "标题", {"name": ["文件名须以 .schema.json 结尾，如 supplement_fsr.schema.json"]}),
        (
            "补充材料.schema.json",
            "标题",
            {"name": ["文件名只能包含英文字母、数字、下划线（_）、连字符（-）和点（.），并以字母或数字开头"]},
        ),
        (
            "../x.schema.json",
            "标题",
            {"name": ["文件名只能包含英文字母、数字、下划线（_）、连字符（-）和点（.），并以字母或数字开头"]},
        ),
        (
            "a b.schema.json",
            "",
            {
                "name": [
                    "文件名只能包含英文字母、数字、下划线（_）、连字符（-）和点（.），并以字母或数字开头"
                ],
                "title": ["请填写表单标题"],
            },
        ),
        ("a" * 90 + ".schema.json", "标题", {"name": ["文件名最多 100 个字符"]}),
        (NAME, "题" * 101, {"title": ["表单标题最多 100 个字符"]}),
        ("approval.schema.json", "标题", {"name": ["已有同名的已部署表单，请换一个文件名"]}),
        ("Approval.schema.json", "标题", {"name": ["已有同名的已部署表单，请换一个文件名"]}),
        ("declare.schema.json", "标题", {"name": ["forms/ 目录中已有同名表单，请换一个文件名"]}),
    ],
)
def test_a_bad_or_taken_name_is_refused_on_its_field(admin, app, name, title, errors) -> None:  # noqa: ANN001
    refused = create(admin, name=name, title=title)
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == errors
    assert drafts(app) == []


def test_a_draft_name_is_taken_once(admin, app, login) -> None:  # noqa: ANN001
    assert create(admin).status_code == 201
    for name in (NAME, NAME.upper().replace(".SCHEMA.JSON", ".schema.json")):
        again = create(admin, name=name, title="另一个")
        assert again.status_code == 422
        assert again.get_json()["errors"] == {"name": ["已有同名的表单草稿，请换一个文件名"]}
    assert drafts(app) == [NAME]
    clerk = login("dsj_clerk")
    assert create(clerk, name="other.schema.json").status_code == 403
    assert clerk.get("/admin/forms/new").status_code == 403
    assert clerk.client.post("/admin/forms", json={"name": "x.schema.json", "title": "x"}).status_code == 400


def test_saving_a_draft_stores_it_without_deploying(admin, app) -> None:  # noqa: ANN001
    assert create(admin).status_code == 201
    before = deployments(app)
    form = {
        "title": "补充可研材料（修订）",
        "type": "object",
        "required": ["fsr_note"],
        "properties": {"fsr_note": {"type": "string", "title": "补充说明"}},
    }
    saved = save(admin, json.dumps(form, ensure_ascii=False))
    assert saved.status_code == 200
    assert saved.get_json() == {
        "name": NAME,
        "draft": True,
        "message": "草稿已保存。在流程图的用户任务中选择此表单并部署后生效",
    }
    assert deployments(app) == before
    assert "补充说明" in html(admin, f"/admin/forms/{NAME}")
    assert "补充可研材料（修订）" in html(admin, "/admin/forms")  # the list follows the form's own title

    bad_json = save(admin, "{")
    assert bad_json.status_code == 422
    assert bad_json.get_json()["errors"] == {
        "text": ["不是合法的 JSON：第 1 行第 2 列：属性名须用英文双引号括起"]
    }
    undeclared = save(admin, json.dumps({**form, "required": ["fsr_note", "no_such_field"]}))
    assert undeclared.status_code == 422
    assert undeclared.get_json()["errors"] == {"text": ["必填字段 no_such_field 未在 properties 中定义"]}
    assert "补充说明" in html(admin, f"/admin/forms/{NAME}")  # the refused saves changed nothing
    # A form that is neither a draft nor used by a deployed diagram still cannot be saved.
    assert save(admin, json.dumps(form), name="declare.schema.json").status_code == 404


def test_a_draft_is_deleted_after_confirmation(admin, app, login) -> None:  # noqa: ANN001
    assert create(admin).status_code == 201
    editor = html(admin, f"/admin/forms/{NAME}")
    assert f'data-api-url="/admin/forms/{NAME}" data-api-method="DELETE"' in editor
    assert 'data-confirm="删除表单草稿「补充可研材料」' in editor
    clerk = login("dsj_clerk")
    assert clerk.client.delete(f"/admin/forms/{NAME}", headers={"X-CSRFToken": clerk.csrf}).status_code == 403
    assert delete(admin).status_code == 204
    assert drafts(app) == []
    listing = html(admin, f"/admin/forms?deleted={NAME}")
    assert f"已删除表单草稿 <code>{NAME}</code>" in listing and f'data-form="{NAME}"' not in listing
    html(admin, f"/admin/forms/{NAME}", 404)
    assert delete(admin).status_code == 404
    assert delete(admin, "approval.schema.json").status_code == 404  # deployed forms are not drafts


def test_the_api_validates_and_deploys_a_diagram_naming_a_draft(admin, app) -> None:  # noqa: ANN001
    missing = admin.post("/api/v1/validate", {"files": supplement()}).get_json()
    assert [p["message"] for p in missing["problems"]] == [f"找不到表单文件 {NAME}"]
    assert create(admin).status_code == 201
    assert admin.post("/api/v1/validate", {"files": supplement()}).get_json() == {"ok": True, "problems": []}
    assert drafts(app) == [NAME]  # validating takes nothing away

    deployed = deploy(admin, supplement())
    assert deployed.status_code == 201, deployed.get_json()
    contents = admin.get("/api/v1/processes/supplement/versions/1").get_json()["contents"]
    assert json.loads(contents[NAME])["title"] == "补充可研材料"
    assert drafts(app) == []
    row = html(admin, "/admin/forms").split(f'data-form="{NAME}"')[1].split("</tr>")[0]
    assert "草稿" not in row and "补充材料（第 1 版）" in row
    editor = html(admin, f"/admin/forms/{NAME}")
    assert "补充材料 第 1 版" in editor and "保存并部署新版本" in editor
    # From now on saving deploys, as for every deployed form.
    text = contents[NAME].replace("补充可研材料", "补充可研材料（二）")
    saved = save(admin, text)
    assert saved.status_code == 201 and saved.get_json()["versions"][0]["version"] == 2


def test_the_modeler_deploys_a_draft_with_the_diagram_and_a_failed_deploy_keeps_it(admin, app) -> None:  # noqa: ANN001
    assert create(admin).status_code == 201
    assert save(
        admin, json.dumps({"title": "补充", "type": "object", "properties": {"a": {"type": "string"}}})
    )
    unmapped = supplement()["supplement.bpmn"].replace("建设单位经办人", "没有映射的泳道")
    failed = admin.post("/admin/modeler/deploy", {"files": {"supplement.bpmn": unmapped}})
    assert failed.status_code == 422
    assert drafts(app) == [NAME]

    checked = admin.post("/admin/modeler/validate", {"files": supplement()})
    assert checked.get_json() == {"ok": True, "problems": []}
    deployed = admin.post("/admin/modeler/deploy", {"files": supplement()})
    assert deployed.status_code == 201, deployed.get_json()
    contents = admin.get("/api/v1/processes/supplement/versions/1").get_json()["contents"]
    assert json.loads(contents[NAME])["properties"] == {"a": {"type": "string"}}
    assert drafts(app) == []
    # The newest two_lanes kept its own forms: only the new process got a version.
    assert [v["process_id"] for v in deployed.get_json()["versions"]] == ["supplement"]


def test_a_required_field_the_form_does_not_declare_is_a_problem(admin) -> None:  # noqa: ANN001
    def problem(schema: dict) -> str | None:
        return read_form(json.dumps(schema))[1]

    fields = {"decision": {"type": "string"}, "reason": {"type": "string"}}
    assert problem({"type": "object", "properties": fields, "required": ["decision"]}) is None
    assert (
        problem({"type": "object", "properties": fields, "required": ["no_such_field"]})
        == "必填字段 no_such_field 未在 properties 中定义"
    )
    conditional = {
        "type": "object",
        "properties": fields,
        "allOf": [{"if": {"properties": {"decision": {"const": "NO"}}}, "then": {"required": ["reasons"]}}],
        "if": {"required": ["decision"]},
        "else": {"required": ["remark"]},
    }
    assert problem(conditional) == (
        "必填字段 remark 未在 properties 中定义；必填字段 reasons 未在 properties 中定义"
    )
    table = {"type": "array", "items": {"type": "object", "properties": {"x": {}}, "required": ["y"]}}
    assert (
        problem({"type": "object", "properties": {"rows": table}})
        == "字段 rows 的必填字段 y 未在 properties 中定义"
    )
    open_ended = {"type": "object", "properties": fields, "additionalProperties": True, "required": ["other"]}
    assert problem(open_ended) is None
    assert read_form('{"required": ["x"]}', is_schema=False)[1] is None  # a ui schema is no schema

    broken = {"title": "x", "type": "object", "properties": fields, "required": ["no_such_field"]}
    check = admin.post("/admin/forms/check", {"text": json.dumps(broken)}).get_json()
    assert check == {"ok": False, "problem": "必填字段 no_such_field 未在 properties 中定义"}
    files = bundle(two_lanes()) | {"approval.schema.json": json.dumps(broken)}
    refused = deploy(admin, files)
    assert refused.status_code == 422
    assert [p["message"] for p in refused.get_json()["errors"]] == [
        "必填字段 no_such_field 未在 properties 中定义"
    ]
