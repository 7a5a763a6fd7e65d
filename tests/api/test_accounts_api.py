"""Accounts and organisations through the HTTP API: create, change, reset, own password, who may do what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from tests.conftest import ApiClient, deploy
from tests.workflows import bundle, two_lanes

NEW_PASSWORD = "Lu4nAn2026x"


@pytest.fixture
def admin(login) -> ApiClient:  # noqa: ANN001
    """The demo process admin."""
    return login("admin")


def org_id(admin: ApiClient, short_name: str) -> int:
    """The id of a demo organisation by short name."""
    orgs = admin.get("/api/v1/organisations").get_json()
    return next(o["id"] for o in orgs if o["short_name"] == short_name)


def create(admin: ApiClient, **fields: object):  # noqa: ANN201
    """POST a new account with sensible defaults."""
    body = {"username": "jyj_zhang", "display_name": "张三(市教育局)", "password": "Temp2026ab", **fields}
    return admin.post("/api/v1/users", json=body)


def test_admin_creates_an_account_that_must_change_its_password_first(app, admin, clock) -> None:  # noqa: ANN001
    clock.advance(timedelta(minutes=5))  # jyj_zhang logs in after admin
    response = create(admin, organisation_id=org_id(admin, "市教育局"), roles=["UNIT_OPERATOR"])
    assert response.status_code == 201, response.get_json()
    made = response.get_json()
    assert made["username"] == "jyj_zhang"
    assert made["organisation"]["short_name"] == "市教育局"
    assert made["roles"] == ["UNIT_OPERATOR"]
    assert made["must_change_password"] is True and made["active"] is True
    assert made["initial_password"] is None  # the admin chose it, so it is not echoed

    user = ApiClient(app, "jyj_zhang", "Temp2026ab")
    refused = user.get("/api/v1/tasks")
    assert refused.status_code == 403
    assert refused.get_json()["message"] == "请先修改管理员设置的初始密码"
    assert user.get("/api/v1/auth/me").status_code == 200
    page = user.get("/")
    assert page.status_code == 302 and page.headers["Location"].endswith("/account/password")

    changed = user.post(
        "/api/v1/auth/password", json={"old_password": "Temp2026ab", "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 200, changed.get_json()
    assert user.get("/api/v1/tasks").status_code == 200  # this session goes on
    assert user.get("/").status_code == 200
    listed = admin.get("/api/v1/users?q=jyj_zhang").get_json()["items"]
    assert listed[0]["must_change_password"] is False and listed[0]["last_login_at"] is not None
    # The latest log-in first (jyj_zhang logged in after admin), those who never logged in last.
    by_login = admin.get("/api/v1/users?sort=last_login&page_size=200").get_json()["items"]
    assert [u["username"] for u in by_login[:2]] == ["jyj_zhang", "admin"]
    assert by_login[-1]["last_login_at"] is None


def test_a_new_unit_operator_receives_the_units_tasks(app, admin) -> None:  # noqa: ANN001
    assert deploy(admin, bundle(two_lanes())).status_code == 201
    create(admin, organisation_id=org_id(admin, "市教育局"), roles=["UNIT_OPERATOR"])
    user = ApiClient(app, "jyj_zhang", "Temp2026ab")
    user.post("/api/v1/auth/password", json={"old_password": "Temp2026ab", "new_password": NEW_PASSWORD})
    unit = {"process_id": "two_lanes", "data": {}, "unit_code": _code(admin, "市教育局")}
    started = admin.post("/api/v1/instances", json=unit)  # the admin holds no unit role: the task is pooled
    assert started.status_code == 201, started.get_json()
    pool = user.get("/api/v1/tasks?scope=roles").get_json()["items"]
    assert [t["instance_id"] for t in pool] == [started.get_json()["id"]]
    other_unit = ApiClient(app, "wjw_jb")
    assert other_unit.get("/api/v1/tasks?scope=roles").get_json()["items"] == []


def test_without_a_password_one_is_generated_and_shown_once(app, admin) -> None:  # noqa: ANN001
    response = create(admin, password=None, roles=["EXPERT"])
    assert response.status_code == 201
    generated = response.get_json()["initial_password"]
    assert len(generated) == 12
    assert ApiClient(app, "jyj_zhang", generated).get("/api/v1/auth/me").status_code == 200
    shown = admin.get(f"/api/v1/users/{response.get_json()['id']}").get_json()
    assert "initial_password" not in shown or shown["initial_password"] is None


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"username": "admin"}, "username", "用户名「admin」已被使用"),
        ({"username": "ADMIN"}, "username", "用户名「ADMIN」已被使用"),
        ({"username": "张三"}, "username", "用户名为 2–60 位字母、数字或 . _ -，以字母或数字开头"),
        ({"password": "short1"}, "password", "密码至少 8 位"),
        ({"password": "onlyletters"}, "password", "密码须同时包含字母和数字"),
        ({"roles": ["NO_SUCH"]}, "roles", "角色不存在：NO_SUCH"),
        ({"roles": ["UNIT_OPERATOR"]}, "roles", "「建设单位经办人」只办理本单位的任务，须有所属单位"),
        ({"organisation_id": 999999}, "organisation_id", "单位不存在"),
        ({"display_name": ""}, "display_name", "此项不能为空"),
    ],
)
def test_invalid_accounts_get_field_errors_and_nothing_is_written(
    admin, fields: dict, field: str, message: str
) -> None:  # noqa: ANN001
    before = admin.get("/api/v1/users?page_size=1").get_json()["total"]
    response = create(admin, **fields)
    assert response.status_code == 422, response.get_json()
    assert message in " ".join(response.get_json()["errors"][field]), response.get_json()
    assert admin.get("/api/v1/users?page_size=1").get_json()["total"] == before


def test_only_admins_manage_accounts(login) -> None:  # noqa: ANN001
    clerk = login("dsj_clerk")
    assert clerk.get("/api/v1/users").status_code == 403
    assert create(clerk).status_code == 403
    assert clerk.patch("/api/v1/users/1", json={"active": False}).status_code == 403
    assert clerk.post("/api/v1/users/1/password", json={}).status_code == 403
    assert (
        clerk.post(
            "/api/v1/organisations", json={"code": "X1", "name": "某局", "short_name": "某局"}
        ).status_code
        == 403
    )
    assert clerk.get("/api/v1/organisations").status_code == 200  # names of units are no secret


def test_a_deactivated_account_can_neither_log_in_nor_use_its_session_or_token(app, admin) -> None:  # noqa: ANN001
    user = ApiClient(app, "fin")
    token = user.post("/api/v1/auth/tokens", json={"name": "报表"}).get_json()["token"]
    program = app.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert program.get("/api/v1/auth/me", headers=bearer).status_code == 200
    fin = admin.get("/api/v1/users?q=fin").get_json()["items"][0]
    assert admin.patch(f"/api/v1/users/{fin['id']}", json={"active": False}).get_json()["active"] is False

    assert user.get("/api/v1/auth/me").status_code == 401
    assert program.get("/api/v1/auth/me", headers=bearer).status_code == 401
    refused = app.test_client().post("/api/v1/auth/login", json={"username": "fin", "password": "Egov@2026"})
    assert refused.status_code == 401
    assert admin.patch(f"/api/v1/users/{fin['id']}", json={"active": True}).status_code == 200
    assert ApiClient(app, "fin").get("/api/v1/auth/me").status_code == 200


def test_an_admin_cannot_lock_themselves_out(admin) -> None:  # noqa: ANN001
    me = admin.get("/api/v1/auth/me").get_json()
    response = admin.patch(f"/api/v1/users/{me['id']}", json={"active": False, "is_admin": False})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {
        "active": ["不能停用自己的账号"],
        "is_admin": ["不能取消自己的流程管理员权限"],
    }
    assert admin.get("/api/v1/auth/me").get_json()["is_admin"] is True


def test_changing_roles_and_unit_is_checked_as_a_whole(admin) -> None:  # noqa: ANN001
    jb = admin.get("/api/v1/users?q=jyj_jb").get_json()["items"][0]
    url = f"/api/v1/users/{jb['id']}"
    response = admin.patch(url, json={"organisation_id": None})
    assert response.status_code == 422
    assert response.get_json()["errors"]["organisation_id"] == [
        "「建设单位经办人」只办理本单位的任务，须有所属单位"
    ]
    assert admin.get(url).get_json()["organisation"]["short_name"] == "市教育局"
    moved = admin.patch(
        url, json={"organisation_id": org_id(admin, "市卫健委"), "roles": ["UNIT_OPERATOR", "UNIT_LEADER"]}
    )
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["roles"] == ["UNIT_LEADER", "UNIT_OPERATOR"]
    assert moved.get_json()["organisation"]["short_name"] == "市卫健委"
    assert admin.patch(url, json={"roles": [], "organisation_id": None}).status_code == 200
    assert admin.get(url).get_json()["roles"] == []


def test_a_reset_ends_the_users_sessions_and_demands_a_new_password(app, admin) -> None:  # noqa: ANN001
    user = ApiClient(app, "ndrc")
    ndrc = admin.get("/api/v1/users?q=ndrc").get_json()["items"][0]
    reset = admin.post(f"/api/v1/users/{ndrc['id']}/password", json={})
    assert reset.status_code == 200
    temporary = reset.get_json()["initial_password"]
    assert reset.get_json()["must_change_password"] is True and temporary
    assert user.get("/api/v1/auth/me").status_code == 401  # the old session ended
    again = ApiClient(app, "ndrc", temporary)
    assert again.get("/api/v1/tasks").status_code == 403
    weak = admin.post(f"/api/v1/users/{ndrc['id']}/password", json={"password": "ndrc"})
    assert weak.status_code == 422 and "密码至少 8 位" in weak.get_json()["errors"]["password"]


def test_a_programs_token_keeps_working_while_its_owner_must_change_the_password(app, admin) -> None:  # noqa: ANN001
    token = ApiClient(app, "ndrc").post("/api/v1/auth/tokens", json={"name": "报表"}).get_json()["token"]
    ndrc = admin.get("/api/v1/users?q=ndrc").get_json()["items"][0]
    assert admin.post(f"/api/v1/users/{ndrc['id']}/password", json={}).status_code == 200
    program = app.test_client()
    listed = program.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200  # the token is its own credential; the browser must change first


def test_own_password_change_checks_the_old_one_and_the_rules(app, login) -> None:  # noqa: ANN001
    user = login("crypto")
    other_device = ApiClient(app, "crypto")
    wrong = user.post("/api/v1/auth/password", json={"old_password": "nope", "new_password": "crypto"})
    assert wrong.status_code == 422
    errors = wrong.get_json()["errors"]
    assert errors["old_password"] == ["原密码不正确"]
    assert "密码至少 8 位" in errors["new_password"] and "密码不能与用户名相同" in errors["new_password"]
    same = user.post("/api/v1/auth/password", json={"old_password": "Egov@2026", "new_password": "Egov@2026"})
    assert same.get_json()["errors"]["new_password"] == ["新密码不能与原密码相同"]
    ok = user.post("/api/v1/auth/password", json={"old_password": "Egov@2026", "new_password": NEW_PASSWORD})
    assert ok.status_code == 200
    assert user.get("/api/v1/auth/me").status_code == 200
    assert other_device.get("/api/v1/auth/me").status_code == 401
    assert ApiClient(app, "crypto", NEW_PASSWORD).get("/api/v1/auth/me").status_code == 200


def test_users_list_filters_sorts_and_pages(admin) -> None:  # noqa: ANN001
    experts = admin.get("/api/v1/users?role=EXPERT&page_size=10&sort=username").get_json()
    assert experts["total"] == 30 and len(experts["items"]) == 10
    assert [u["username"] for u in experts["items"]][:2] == ["expert01", "expert02"]
    second = admin.get("/api/v1/users?role=EXPERT&page_size=10&page=2").get_json()["items"]
    assert second[0]["username"] == "expert11"
    unit = admin.get("/api/v1/users?unit=" + _code(admin, "市教育局")).get_json()["items"]
    assert sorted(u["username"] for u in unit) == ["jyj_fzr", "jyj_jb"]
    assert admin.get("/api/v1/users?active=false").get_json()["total"] == 0
    assert admin.get("/api/v1/users?sort=nonsense").status_code == 422


def _code(admin: ApiClient, short_name: str) -> str:
    orgs = admin.get("/api/v1/organisations").get_json()
    return next(o["code"] for o in orgs if o["short_name"] == short_name)


def test_organisations_are_added_renamed_and_keep_unique_codes(admin) -> None:  # noqa: ANN001
    body = {"code": "11341500MB1A009908", "name": "六安市文化和旅游局", "short_name": "市文旅局"}
    made = admin.post("/api/v1/organisations", json=body)
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["kind"] == "unit" and made.get_json()["user_count"] == 0
    clash = admin.post("/api/v1/organisations", json={**body, "name": "另一个局"})
    assert clash.status_code == 422
    assert clash.get_json()["errors"]["code"] == ["代码「11341500MB1A009908」已被其他单位使用"]
    renamed = admin.patch(f"/api/v1/organisations/{made.get_json()['id']}", json={"short_name": "市文旅"})
    assert renamed.get_json()["short_name"] == "市文旅"
    jyj = org_id(admin, "市教育局")
    taken = admin.patch(f"/api/v1/organisations/{jyj}", json={"code": "11341500MB1A009908"})
    assert taken.status_code == 422
    counted = {
        o["short_name"]: o["user_count"] for o in admin.get("/api/v1/organisations?kind=unit").get_json()
    }
    assert counted["市教育局"] == 2 and counted["市文旅"] == 0
    assert admin.patch("/api/v1/organisations/999999", json={"name": "x"}).status_code == 404


def test_the_cli_creates_the_first_admin_and_resets_a_password(app, db_url: str, monkeypatch) -> None:  # noqa: ANN001
    from service.cli import main

    monkeypatch.setenv("EGOVFLOW_DATABASE_URL", db_url)
    runner = CliRunner()
    made = runner.invoke(
        main,
        [
            "user",
            "add",
            "ops_admin",
            "--name",
            "运维管理员",
            "--admin",
            "--unit",
            _code(ApiClient(app, "admin"), "市数管局"),
        ],
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert made.exit_code == 0, made.output
    assert "已创建用户 ops_admin" in made.output
    admin = ApiClient(app, "ops_admin", NEW_PASSWORD)
    assert admin.get("/api/v1/users").status_code == 200  # the CLI's own password needs no change
    weak = runner.invoke(main, ["user", "add", "x_user", "--name", "某人"], input="short\nshort\n")
    assert weak.exit_code == 1 and "密码至少 8 位" in weak.output
    reset = runner.invoke(main, ["user", "password", "fin"], input="Reset2026ab\nReset2026ab\n")
    assert reset.exit_code == 0, reset.output
    assert ApiClient(app, "fin", "Reset2026ab").get("/api/v1/tasks").status_code == 403  # must change it
    missing = runner.invoke(main, ["user", "password", "nobody"], input="Reset2026ab\nReset2026ab\n")
    assert missing.exit_code == 1 and "用户 nobody 不存在" in missing.output
