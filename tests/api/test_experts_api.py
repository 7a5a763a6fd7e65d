"""The 专家库 through the HTTP API: entering and changing experts, and the draw following the pool."""

from __future__ import annotations

import pytest

from handlers.context import HandlerContext
from handlers.draw_experts import handle as draw_experts
from handlers.uscc import check_char
from tests.conftest import ApiClient

EMPLOYER = "12341500MA2N00001"  # + check character below


def uscc(first17: str) -> str:
    """A valid 统一社会信用代码 from its first 17 characters."""
    return first17 + check_char(first17)


@pytest.fixture
def admin(login) -> ApiClient:  # noqa: ANN001
    """The demo process admin."""
    return login("admin")


def new_expert_account(admin: ApiClient, username: str = "expert31") -> None:
    """An account holding the 评审专家 role."""
    made = admin.post(
        "/api/v1/users",
        json={
            "username": username,
            "display_name": "何新(专家)",
            "password": "Expert2026a",
            "roles": ["EXPERT"],
        },
    )
    assert made.status_code == 201, made.get_json()


def expert_id(admin: ApiClient, username: str) -> int:
    """The pool id of an expert by account name."""
    return next(
        e["id"] for e in admin.get(f"/api/v1/experts?q={username}").get_json() if e["username"] == username
    )


def test_an_admin_enters_an_expert_account_into_the_pool(admin) -> None:  # noqa: ANN001
    new_expert_account(admin)
    body = {
        "username": "expert31",
        "employer_code": uscc(EMPLOYER),
        "employer_name": "六安职业技术学院",
        "title": "副教授",
        "specialties": ["DATA", "SECURITY"],
    }
    made = admin.post("/api/v1/experts", json=body)
    assert made.status_code == 201, made.get_json()
    expert = made.get_json()
    assert expert["name"] == "何新" and expert["status"] == "ACTIVE" and expert["status_name"] == "可抽取"
    assert expert["specialty_names"] == ["数据资源", "网络安全"]
    listed = {e["username"]: e for e in admin.get("/api/v1/experts?specialty=DATA").get_json()}
    assert listed["expert31"]["drawn"] == 0 and listed["expert31"]["last_drawn_at"] is None
    again = admin.post("/api/v1/experts", json=body)
    assert again.status_code == 422
    assert again.get_json()["errors"]["username"] == ["账号「expert31」已在专家库中"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"username": "nobody"}, "username", "账号「nobody」不存在，请先在“用户与单位”中新建"),
        ({"username": "fin"}, "username", "账号「fin」没有“评审专家”角色，请先在用户页勾选"),
        (
            {"employer_code": "12341500MA2N000010"},
            "employer_code",
            "工作单位的统一社会信用代码不正确（18 位，末位为校验码）",
        ),
        ({"specialties": []}, "specialties", "至少选择一个专业"),
        ({"specialties": ["ASTROLOGY"]}, "specialties", "未知的专业：ASTROLOGY"),
        ({"title": ""}, "title", "职称为 1–50 个字"),
    ],
)
def test_invalid_experts_get_field_errors_and_nothing_is_written(
    admin, fields: dict, field: str, message: str
) -> None:  # noqa: ANN001
    new_expert_account(admin)
    before = len(admin.get("/api/v1/experts").get_json())
    body = {
        "username": "expert31",
        "employer_code": uscc(EMPLOYER),
        "employer_name": "六安职业技术学院",
        "title": "副教授",
        "specialties": ["DATA"],
        **fields,
    }
    response = admin.post("/api/v1/experts", json=body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"][field] == [message]
    assert len(admin.get("/api/v1/experts").get_json()) == before


def test_conflicts_are_checked_row_by_row(admin) -> None:  # noqa: ANN001
    url = f"/api/v1/experts/{expert_id(admin, 'expert01')}"
    bad = admin.patch(
        url,
        json={
            "avoid_orgs": [{"code": "X", "reason": "亲属"}, {"code": uscc(EMPLOYER), "until": "2027-02-30"}]
        },
    )
    assert bad.status_code == 422
    assert bad.get_json()["errors"]["avoid_orgs"] == [
        "第 1 行：统一社会信用代码不正确",
        "第 2 行：回避截止日期应为 YYYY-MM-DD",
    ]
    assert admin.get(url).get_json()["avoid_orgs"] == []
    good = admin.patch(
        url, json={"avoid_orgs": [{"code": uscc(EMPLOYER), "reason": "", "until": "2027-12-31"}]}
    )
    assert good.status_code == 200
    assert good.get_json()["avoid_orgs"] == [
        {"code": uscc(EMPLOYER), "reason": "存在利害关系", "until": "2027-12-31"}
    ]


def test_the_draw_follows_the_pool(app, admin) -> None:  # noqa: ANN001
    state = app.extensions["egovflow"]

    def panel(seed: int) -> set[str]:
        with state.sessions() as session:
            ctx = HandlerContext(
                session=session, now=state.runtime.clock.now(), instance_id=1, process_id="t", task_id="t"
            )
            drawn = draw_experts(
                ctx, project_id="LA-2026-0099", unit_code=uscc(EMPLOYER), seed=seed, panel_size=3
            )
            session.rollback()
        return set(drawn["expert_usernames"]) | {b["username"] for b in drawn["expert_backups"]}

    seen = set().union(*(panel(seed) for seed in range(12)))
    suspended, tied = sorted(seen)[:2]
    admin.patch(f"/api/v1/experts/{expert_id(admin, suspended)}", json={"status": "SUSPENDED"})
    admin.patch(f"/api/v1/experts/{expert_id(admin, tied)}", json={"avoid_orgs": [{"code": uscc(EMPLOYER)}]})
    later = set().union(*(panel(seed) for seed in range(12)))
    assert suspended not in later and tied not in later
    assert later  # the draw still finds a panel


def test_the_pool_is_for_managers_to_read_and_admins_to_change(login) -> None:  # noqa: ANN001
    assert login("manager").get("/api/v1/experts").status_code == 200
    assert login("manager").get("/api/v1/experts/1").status_code == 200  # one expert too, as the README says
    clerk = login("dsj_clerk")
    assert clerk.get("/api/v1/experts").status_code == 403
    assert clerk.patch("/api/v1/experts/1", json={"status": "SUSPENDED"}).status_code == 403
    assert login("manager").post("/api/v1/experts", json={"username": "x"}).status_code == 403


def test_a_unit_added_on_record_can_be_declared_a_conflict(admin) -> None:  # noqa: ANN001
    body = {"code": "wlj-01", "name": "六安市文化和旅游局", "short_name": "市文旅局"}
    refused = admin.post("/api/v1/organisations", json=body)  # the register and the draw go by its code
    assert refused.get_json()["errors"] == {"code": ["统一社会信用代码不正确（18 位，末位为校验码）"]}
    code = uscc("11341500MB1A00991")
    made = admin.post("/api/v1/organisations", json={**body, "code": code.lower()})
    assert made.status_code == 201 and made.get_json()["code"] == code  # kept as written on the certificate
    url = f"/api/v1/experts/{expert_id(admin, 'expert01')}"
    saved = admin.patch(url, json={"avoid_orgs": [{"code": code, "reason": "曾任顾问"}]})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["avoid_orgs"][0]["code"] == code
    refused = admin.patch(url, json={"avoid_orgs": [{"code": "WLJ-02"}]})
    assert refused.get_json()["errors"]["avoid_orgs"] == ["第 1 行：统一社会信用代码不正确"]
    twice = admin.patch(url, json={"avoid_orgs": [{"code": code}, {"code": code.lower()}]})
    assert twice.get_json()["errors"]["avoid_orgs"] == ["第 2 行：与第 1 行是同一单位"]
