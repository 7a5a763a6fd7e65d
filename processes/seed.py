"""Roles, the default lane mapping and the demo organisations and accounts that `make run` seeds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.demo_data import DEMO_UNITS, EXPERT_POOL
from handlers.experts import seed_experts
from processes.store.models import LaneRole, Organisation, Role, RoleScope, User, UserRole

# code, name (= the lane name in diagrams), scope
ROLES: list[tuple[str, str, RoleScope]] = [
    ("UNIT_OPERATOR", "建设单位经办人", RoleScope.UNIT),
    ("UNIT_LEADER", "建设单位负责人", RoleScope.UNIT),
    ("DSJ_CLERK", "市数管局项目科", RoleScope.GLOBAL),
    ("DSJ_LEADER", "市数管局领导", RoleScope.GLOBAL),
    ("FIN", "市财政局", RoleScope.GLOBAL),
    ("NDRC", "市发改委", RoleScope.GLOBAL),
    ("CRYPTO", "市密码管理局", RoleScope.GLOBAL),
    ("GGJ", "市公管局", RoleScope.GLOBAL),
    ("GOV", "市政府办公室", RoleScope.GLOBAL),
    ("AUDIT", "市审计局", RoleScope.GLOBAL),
    ("EXPERT", "评审专家", RoleScope.GLOBAL),
]
DEFAULT_LANES: dict[str, str] = {name: code for code, name, _ in ROLES}
SYSTEM_LANE = "系统"

BUREAUS: list[dict[str, str]] = [
    {"code": "11341500MB1A00001Y", "name": "六安市数据资源管理局", "short": "市数管局", "kind": "bureau"},
    {"code": "11341500MB1A000110", "name": "六安市财政局", "short": "市财政局", "kind": "bureau"},
    {"code": "11341500MB1A000211", "name": "六安市发展和改革委员会", "short": "市发改委", "kind": "bureau"},
    {"code": "11341500MB1A000312", "name": "六安市密码管理局", "short": "市密码管理局", "kind": "bureau"},
    {
        "code": "11341500MB1A000413",
        "name": "六安市公共资源交易监督管理局",
        "short": "市公管局",
        "kind": "bureau",
    },
    {"code": "11341500MB1A000514", "name": "六安市审计局", "short": "市审计局", "kind": "bureau"},
    {
        "code": "11341500MB1A000615",
        "name": "六安市人民政府办公室",
        "short": "市政府办公室",
        "kind": "government",
    },
]
DEMO_PASSWORD = "Egov@2026"

# username, display name, organisation short name, roles, admin, manager
STAFF: list[tuple[str, str, str, list[str], bool, bool]] = [
    ("admin", "流程管理员(市数管局)", "市数管局", ["DSJ_CLERK"], True, True),
    ("dsj_clerk", "王科员(市数管局项目科)", "市数管局", ["DSJ_CLERK"], False, False),
    ("dsj_leader", "李局长(市数管局)", "市数管局", ["DSJ_LEADER"], False, True),
    ("fin", "赵科长(市财政局)", "市财政局", ["FIN"], False, False),
    ("ndrc", "钱科长(市发改委)", "市发改委", ["NDRC"], False, False),
    ("crypto", "孙科长(市密码管理局)", "市密码管理局", ["CRYPTO"], False, False),
    ("ggj", "周科长(市公管局)", "市公管局", ["GGJ"], False, False),
    ("gov", "吴秘书(市政府办公室)", "市政府办公室", ["GOV"], False, False),
    ("audit", "郑审计(市审计局)", "市审计局", ["AUDIT"], False, True),
    ("manager", "陈主任(市数管局)", "市数管局", [], False, True),
]
UNIT_ACCOUNT_PREFIX = {
    "市教育局": "jyj",
    "市卫健委": "wjw",
    "市公安局": "gaj",
    "市人社局": "rsj",
    "市自然资源局": "zrj",
    "市城管局": "cgj",
}


def seed_roles(session: Session) -> None:
    """Create the roles and the default lane mapping (existing rows are kept as admins edited them)."""
    for code, name, scope in ROLES:
        if session.get(Role, code) is None:
            session.add(Role(code=code, name=name, scope=scope))
    session.flush()
    for lane, code in DEFAULT_LANES.items():
        if session.get(LaneRole, lane) is None:
            session.add(LaneRole(lane=lane, role_code=code))
    session.flush()


def seed_demo(session: Session, hash_password: Callable[[str], str], now: datetime) -> list[tuple[str, str]]:
    """Create demo organisations, one account per role and unit, and the expert pool; idempotent.

    Returns (username, display name) of every demo account.
    """
    seed_roles(session)
    orgs: dict[str, Organisation] = {}
    for row in BUREAUS + [dict(u, kind="unit") for u in DEMO_UNITS]:
        org = session.scalar(select(Organisation).where(Organisation.code == row["code"]))
        if org is None:
            org = Organisation(code=row["code"], name=row["name"], short_name=row["short"], kind=row["kind"])
            session.add(org)
        orgs[row["short"]] = org
    session.flush()
    password = hash_password(DEMO_PASSWORD)
    accounts: list[tuple[str, str, str, list[str], bool, bool]] = list(STAFF)
    for short, prefix in UNIT_ACCOUNT_PREFIX.items():
        accounts.append((f"{prefix}_jb", f"{short}经办人", short, ["UNIT_OPERATOR"], False, False))
        accounts.append((f"{prefix}_fzr", f"{short}负责人", short, ["UNIT_LEADER"], False, False))
    for expert in EXPERT_POOL:
        accounts.append((expert["username"], f"{expert['name']}(专家)", "", ["EXPERT"], False, False))
    created = []
    for username, display, short, roles, admin, manager in accounts:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            user = User(
                username=username,
                display_name=display,
                password_hash=password,
                organisation_id=orgs[short].id if short else None,
                is_admin=admin,
                is_manager=manager,
            )
            user.roles = [UserRole(role_code=code) for code in roles]
            session.add(user)
        created.append((username, display))
    session.flush()
    seed_experts(session, now)
    session.flush()
    return created
