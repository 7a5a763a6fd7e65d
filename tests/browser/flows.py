"""Move lifecycle instances forward through the HTTP API, so browser tests only click what they test."""

from __future__ import annotations

import io

from tests.browser.conftest import LiveServer
from tests.conftest import ApiClient

DECLARATION = {
    "project_name": "六安市卫健委健康档案共享平台",
    "project_type": "NEW",
    "plan_year": 2026,
    "planned": True,
    "total_estimate": 1800000.0,
    "funding_source": "CITY_FISCAL",
    "construction_content": "建设居民电子健康档案共享平台，部署于市政务云，与省平台对接，实现档案调阅。",
    "necessity": "现有档案分散在各医疗机构，无法共享调阅，群众重复检查负担重，需要统一平台。",
    "on_egov_extranet": True,
    "uses_gov_cloud": True,
    "data_sharing_committed": True,
    "crypto_required": False,
    "mlps_level": 1,
    "period_months": 10,
    "keywords": ["健康档案"],
    "contact_name": "李医生",
    "contact_phone": "13900000000",
}
KINDS = ("DECLARATION_FORM", "NECESSITY", "BUDGET_DETAIL", "RESOURCE_CATALOG")


def deploy_lifecycle(server: LiveServer) -> None:
    """Deploy bpmn/ and forms/ as `egovflow deploy bpmn/` does."""
    server.deploy_repository_diagrams()


def start_lifecycle(server: LiveServer, operator: str = "wjw_jb") -> int:
    """Start a lifecycle as a unit operator; return the instance id."""
    started = ApiClient(server.app, operator).post("/api/v1/instances", json={"process_id": "lifecycle"})
    assert started.status_code == 201, started.get_json()
    return started.get_json()["id"]


def task_of(client: ApiClient, instance_id: int) -> dict:
    """Return the caller's first open task of an instance."""
    items = client.get("/api/v1/tasks?page_size=200").get_json()["items"]
    return [t for t in items if t["instance_id"] == instance_id][0]


def declare(
    server: LiveServer, instance_id: int, operator: str = "wjw_jb", leader: str = "wjw_fzr", **changes: object
) -> None:
    """Fill and confirm the declaration of an instance, so it reaches 初审."""
    client = ApiClient(server.app, operator)
    task = task_of(client, instance_id)
    docs = []
    for kind in KINDS:
        meta = client.client.post(
            f"/tasks/{task['id']}/upload",
            headers={"X-CSRFToken": client.csrf},
            data={"file": (io.BytesIO(b"%PDF-1.4"), f"{kind}.pdf")},
        ).get_json()
        docs.append({"id": meta["id"], "filename": meta["filename"], "sha256": meta["sha256"], "kind": kind})
    data = {**DECLARATION, **changes, "documents": docs}
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data})
    assert done.status_code == 200, done.get_json()
    boss = ApiClient(server.app, leader)
    review = task_of(boss, instance_id)
    done = boss.post(
        f"/api/v1/tasks/{review['id']}/complete",
        json={"data": {"unit_review_decision": "CONFIRM", "unit_review_opinion": "同意申报"}},
    )
    assert done.status_code == 200, done.get_json()


def two_projects_at_initial_review(server: LiveServer) -> None:
    """bpmn/ deployed; one project of 市卫健委 and one of 市公安局 (9,600,000 元, 2027) declared, at 初审."""
    deploy_lifecycle(server)
    declare(server, start_lifecycle(server))
    declare(
        server,
        start_lifecycle(server, "gaj_jb"),
        "gaj_jb",
        "gaj_fzr",
        project_name="六安市公安局视频联网平台",
        total_estimate=9600000.0,
        plan_year=2027,
    )
