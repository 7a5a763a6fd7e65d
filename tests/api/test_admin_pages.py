"""Process admin pages say what happened: who deployed a version from where, a saved lane, the site icon."""

from __future__ import annotations

import re

from tests.conftest import ApiClient, deploy
from tests.workflows import bundle, two_lanes


def test_versions_name_the_deployer_and_the_source_in_words(login) -> None:  # noqa: ANN001
    admin: ApiClient = login("admin")
    assert deploy(admin, bundle(two_lanes())).status_code == 201
    html = admin.get("/admin/processes/two_lanes").get_data(as_text=True)
    row = re.search(r'<td data-label="部署人">(.*?)</td>', html, re.S)
    assert row is not None
    assert "流程管理员(市数管局)" in row.group(1) and "接口" in row.group(1)
    assert ">admin<" not in html and ">api<" not in html


def test_a_saved_lane_is_confirmed_on_the_page(login) -> None:  # noqa: ANN001
    admin: ApiClient = login("admin")
    assert admin.put("/api/v1/lanes", json={"lane": "市统计局", "role_code": "FIN"}).status_code == 200
    html = admin.get("/admin/lanes?saved=市统计局").get_data(as_text=True)
    assert "已保存：泳道「市统计局」由「市财政局」办理" in html
    assert 'data-next="/admin/lanes?saved={lane}"' in html
    assert "已保存" not in admin.get("/admin/lanes?saved=没有这个泳道").get_data(as_text=True)


def test_the_site_icon_is_served(app) -> None:  # noqa: ANN001
    client = app.test_client()
    redirect = client.get("/favicon.ico")
    assert redirect.status_code == 301 and redirect.headers["Location"].endswith("/static/favicon.svg")
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"


def test_a_saved_organisation_is_confirmed_on_the_page(login) -> None:  # noqa: ANN001
    admin: ApiClient = login("admin")
    html = admin.get("/admin/organisations?saved=市文旅局").get_data(as_text=True)
    assert "已保存单位「市文旅局」" in html
    assert 'data-next="/admin/organisations?saved={short_name}"' in html
