"""The decision-table editor page: reached from a version's DMN file, for process admins only."""

from __future__ import annotations

import pytest

from processes import catalog
from tests.conftest import ROOT, ApiClient, deploy

EDITOR = "/admin/processes/approval/versions/1/dmn/route_by_amount.dmn"


@pytest.fixture
def admin(login) -> ApiClient:  # noqa: ANN001
    """The admin, with bpmn/ and the forms it names deployed as `egovflow deploy bpmn/` does."""
    client = login("admin")
    files = catalog.collect_files([ROOT / "bpmn"], ROOT / "forms")
    response = deploy(client, {name: content.decode("utf-8") for name, content in files.items()})
    assert response.status_code == 201, response.get_json()
    return client


def test_a_dmn_file_of_a_version_links_to_its_editor(admin: ApiClient) -> None:
    html = admin.get("/admin/processes/approval/versions/1?file=route_by_amount.dmn").get_data(as_text=True)
    assert f'href="{EDITOR}">编辑决策表</a>' in html
    diagram = admin.get("/admin/processes/approval/versions/1").get_data(as_text=True)
    assert "编辑决策表" not in diagram and "以此为底编辑" in diagram


def test_the_editor_page_renders_the_island_with_the_modeler_endpoints(admin: ApiClient) -> None:
    response = admin.get(EDITOR)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "决策表编辑：route_by_amount.dmn" in html
    assert 'src="/static/dist/dmn-editor.js"' in html
    assert 'data-xml-url="/admin/processes/approval/versions/1/files/route_by_amount.dmn"' in html
    assert 'data-validate-url="/admin/modeler/validate"' in html
    assert 'data-deploy-url="/admin/modeler/deploy"' in html
    assert 'data-file-name="route_by_amount.dmn"' in html
    assert "<code>&lt; 5000000</code>" in html and "<code>-</code> 任意" in html  # the entry syntax help
    users = html.split('id="dmn-users"', 1)[1].split("</p>", 1)[0]
    assert "（approval）第 1 版" in users and "（lifecycle）第 1 版" in users
    assert "不是最新部署的内容" not in html


def test_an_older_version_warns_that_a_deploy_replaces_the_newest_table(admin: ApiClient) -> None:
    files = catalog.collect_files([ROOT / "bpmn"], ROOT / "forms")
    changed = files["route_by_amount.dmn"].decode("utf-8").replace("5000000", "3000000")
    bundle = {name: content.decode("utf-8") for name, content in files.items()}
    bundle["route_by_amount.dmn"] = changed
    assert deploy(admin, bundle).status_code == 201
    html = admin.get(EDITOR).get_data(as_text=True)
    assert "不是最新部署的内容（最新的在" in html and "第 2 版）" in html


def test_only_dmn_files_of_the_version_open(admin: ApiClient) -> None:
    for url in (
        "/admin/processes/approval/versions/1/dmn/approval.bpmn",
        "/admin/processes/approval/versions/1/dmn/no_such_table.dmn",
        "/admin/processes/approval/versions/9/dmn/route_by_amount.dmn",
        "/admin/processes/no_such_process/versions/1/dmn/route_by_amount.dmn",
    ):
        assert admin.get(url).status_code == 404, url


def test_the_editor_is_for_process_admins_only(admin: ApiClient, login, app) -> None:  # noqa: ANN001
    for username in ("dsj_clerk", "jyj_jb", "manager"):
        refused = login(username).get(EDITOR)
        assert refused.status_code == 403, username
        assert "需要流程管理员权限" in refused.get_data(as_text=True)
    anonymous = app.test_client().get(EDITOR)
    assert anonymous.status_code == 302
    assert anonymous.headers["Location"].startswith("/login?next=")
