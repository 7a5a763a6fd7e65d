"""The instance list and the project register: sort direction, contradictory bounds, the folding filters."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from tests.api.test_pages import JYJ, WJW, add_project, page, start
from tests.conftest import ApiClient, deploy
from tests.workflows import bundle, two_lanes

AMOUNT_RANGE = "概算不低于「500」不能大于概算不高于「100」"
CLOSED = '<details class="filter-panel" id="filter-panel">'
OPEN = '<details class="filter-panel" id="filter-panel" open>'


@pytest.fixture
def operator(login) -> ApiClient:  # noqa: ANN001
    """市教育局's clerk, with two_lanes deployed."""
    assert deploy(login("admin"), bundle(two_lanes())).status_code == 201
    return login("jyj_jb")


@pytest.fixture
def amounts(operator: ApiClient) -> list[int]:
    """Four instances started at the same moment: 300, 100, 300 and no amount (ids ascending)."""
    return [
        start(operator, data={"total_estimate": amount} if amount is not None else {})
        for amount in (300, 100, 300, None)
    ]


@pytest.fixture
def projects(app, login) -> ApiClient:  # noqa: ANN001
    """Four register rows; two of them with the same amount. Returns the manager's client."""
    with app.extensions["egovflow"].sessions() as session:
        add_project(session, "LA-2026-0001", *JYJ, 2026, "3200000.00", "初审", "INITIAL_REVIEW")
        add_project(session, "LA-2026-0002", *JYJ, 2026, "8800000.50", "立项", "APPROVED")
        add_project(session, "LA-2025-0003", *WJW, 2025, "450000.00", "建设", "BUILDING")
        add_project(session, "LA-2026-0004", *WJW, 2026, "3200000.00", "初审", "INITIAL_REVIEW")
        session.commit()
    return login("manager")


def ids(client: ApiClient, url: str) -> list[int]:
    """The instance ids an API list answers, in its order."""
    response = client.get(url)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def numbers(client: ApiClient, url: str) -> list[str]:
    """The project numbers the register API answers, in its order."""
    response = client.get(url)
    assert response.status_code == 200, response.get_json()
    return [item["project_id"] for item in response.get_json()["items"]]


def shown_numbers(html: str) -> list[str]:
    """The project numbers of the register page's table, in its order."""
    return re.findall(r'class="project-no"><a href="/projects/[^"]+">([^<]+)</a>', html)


# ----------------------------------------------------------------------------- sort direction


def test_instance_list_sorts_either_way_from_each_keys_default(operator, amounts) -> None:  # noqa: ANN001
    one, two, three, four = amounts
    # Times newest first, amounts largest first, the number ascending; equal values fall back on the id.
    assert ids(operator, "/api/v1/instances") == [four, three, two, one]
    assert ids(operator, "/api/v1/instances?order=asc") == [one, two, three, four]
    assert ids(operator, "/api/v1/instances?sort=id") == [one, two, three, four]
    assert ids(operator, "/api/v1/instances?sort=id&order=desc") == [four, three, two, one]
    # An instance without an amount comes last either way.
    assert ids(operator, "/api/v1/instances?sort=amount") == [three, one, two, four]
    assert ids(operator, "/api/v1/instances?sort=amount&order=asc") == [two, one, three, four]
    # Pages of an order with ties neither repeat nor skip a row.
    paged = [i for n in (1, 2) for i in ids(operator, f"/api/v1/instances?sort=amount&page_size=2&page={n}")]
    assert paged == [three, one, two, four]
    bad = operator.get("/api/v1/instances?order=up")
    assert bad.status_code == 422 and "order" in bad.get_json()["errors"]


def test_register_sorts_either_way_and_keeps_the_earlier_spellings(projects) -> None:  # noqa: ANN001
    every = ["LA-2025-0003", "LA-2026-0001", "LA-2026-0002", "LA-2026-0004"]
    assert numbers(projects, "/api/v1/projects") == every
    assert numbers(projects, "/api/v1/projects?order=desc") == every[::-1]
    by_amount = ["LA-2026-0002", "LA-2026-0004", "LA-2026-0001", "LA-2025-0003"]
    assert numbers(projects, "/api/v1/projects?sort=amount") == by_amount
    assert numbers(projects, "/api/v1/projects?sort=amount&order=asc") == by_amount[::-1]
    assert numbers(projects, "/api/v1/projects?sort=-amount") == by_amount[::-1]
    assert numbers(projects, "/api/v1/projects?sort=-project_id") == every[::-1]
    assert projects.get("/api/v1/projects?order=down").status_code == 422


def test_register_page_shows_keeps_and_exports_the_direction(projects) -> None:  # noqa: ANN001
    html = page(projects, "/projects?sort=amount&order=asc&page_size=2")
    assert shown_numbers(html) == ["LA-2025-0003", "LA-2026-0001"]
    assert '<option value="asc" selected>升序</option>' in html
    assert '<option value="">默认（降序）</option>' in html  # 总投资概算 sorts largest first by default
    assert 'href="/projects?sort=amount&amp;order=asc&amp;page_size=2&amp;page=2"' in html
    export = re.search(r'id="export" href="([^"]+)"', html)[1].replace("&amp;", "&")
    assert "sort=amount" in export and "order=asc" in export and "page" not in export
    sheet = load_workbook(io.BytesIO(projects.get(export).data)).active
    rows = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert rows == ["LA-2025-0003", "LA-2026-0001", "LA-2026-0004", "LA-2026-0002"]
    assert '<option value="">默认（升序）</option>' in page(projects, "/projects?sort=name")
    # A link with an earlier spelling shows as the key with its direction chosen.
    legacy = page(projects, "/projects?sort=-amount")
    assert '<option value="amount" data-order="desc" selected>' in legacy
    assert '<option value="asc" selected>' in legacy
    assert shown_numbers(legacy)[0] == "LA-2025-0003"


def test_instance_page_shows_and_keeps_the_direction(operator, amounts) -> None:  # noqa: ANN001
    html = page(operator, "/instances?sort=id&order=desc&page_size=2")
    listed = [int(n) for n in re.findall(r'<td data-label="编号"><a href="/instances/\d+">#(\d+)</a>', html)]
    assert listed == amounts[::-1][:2]
    assert '<option value="desc" selected>降序</option>' in html
    assert 'href="/instances?sort=id&amp;order=desc&amp;page_size=2&amp;page=2"' in html
    assert '<option value="">默认（升序）</option>' in html
    assert '<option value="">默认（降序）</option>' in page(operator, "/instances")


# ----------------------------------------------------------------------------- contradictory bounds


def test_api_names_both_fields_of_a_reversed_range(operator, projects) -> None:  # noqa: ANN001
    for url in ("/api/v1/instances", "/api/v1/projects", "/api/v1/projects/export"):
        response = operator.get(f"{url}?amount_min=500&amount_max=100")
        assert response.status_code == 422, url
        assert response.get_json()["errors"] == {"amount_min": [AMOUNT_RANGE], "amount_max": [AMOUNT_RANGE]}
        assert operator.get(f"{url}?amount_min=100&amount_max=100").status_code == 200
        negative = operator.get(f"{url}?amount_min=-5")  # the same bound on every list
        assert negative.status_code == 422 and negative.get_json()["errors"] == {"amount_min": ["不能小于 0"]}
    late = operator.get("/api/v1/instances?started_from=2026-05-01T00:00:00&started_to=2026-04-01T00:00:00")
    assert late.status_code == 422
    assert late.get_json()["errors"]["started_to"] == [
        "发起时间起「2026-05-01T00:00:00」不能晚于发起时间止「2026-04-01T00:00:00」"
    ]
    # A time without an offset is UTC: 09:00 Beijing time is 01:00 UTC, before 02:00 UTC.
    mixed = "started_from=2026-04-01T09:00:00%2B08:00&started_to=2026-04-01T02:00:00"
    assert operator.get(f"/api/v1/instances?{mixed}").status_code == 200
    mixed = "started_from=2026-04-01T12:00:00%2B08:00&started_to=2026-04-01T02:00:00"
    assert operator.get(f"/api/v1/instances?{mixed}").status_code == 422


def test_pages_show_a_reversed_range_in_the_banner_and_ignore_it(operator, amounts, projects) -> None:  # noqa: ANN001
    html = page(operator, "/instances?amount_min=500&amount_max=100")
    banner = html.split('<div class="alert-error" role="alert">')[1].split("</div>")[0]
    assert banner == f"查询条件有误：{AMOUNT_RANGE}，已忽略"
    assert "没有符合条件的流程实例" not in html and "共 4 条" in html
    register = page(projects, "/projects?year=abc&amount_min=500&amount_max=100&sort=amount")
    banner = register.split('<div class="alert-error" role="alert">')[1].split("</div>")[0]
    assert banner == f"查询条件有误：计划年度「abc」不是有效的取值，已忽略；{AMOUNT_RANGE}，已忽略"
    assert "共 <strong>4</strong> 个项目" in register
    export = re.search(r'id="export" href="([^"]+)"', register)[1]
    assert export == "/api/v1/projects/export?sort=amount"  # the ignored filters are not exported
    dates = page(operator, "/instances?started_from=2026-05-01&started_to=2026-04-01")
    assert "发起时间起「2026-05-01」不能晚于发起时间止「2026-04-01」，已忽略" in dates


# ----------------------------------------------------------------------------- the filter form on phones


def test_filter_form_folds_into_a_toggle_open_while_a_filter_is_set(operator, projects) -> None:  # noqa: ANN001
    for url in ("/projects", "/projects?sort=amount&order=asc&page=1"):
        html = page(projects, url)
        assert CLOSED in html
        assert '<summary class="btn filter-toggle">筛选</summary>' in html
    html = page(projects, "/projects?year=2026&unit=&q=%E6%95%99%E8%82%B2")
    assert OPEN in html and "（已设 2 项）" in html
    assert '<td data-label="项目编号" class="project-no">' in html
    assert CLOSED in page(operator, "/instances") and OPEN in page(operator, "/instances?status=running")
