"""People and units: accounts, their roles and passwords, and organisations, with the rules they keep.

The API, the admin pages and the `egovflow user` / `egovflow org` commands all change accounts through
these functions, so a rule (a unit role needs a unit, an admin cannot lock themselves out, what a password
must hold) has one definition. Invalid input raises `FormInvalid` with Chinese messages per field.
Password hashing stays with the caller (`hasher`), as in `processes.seed`.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from handlers.uscc import is_valid_uscc
from processes.errors import FormInvalid, NotFound
from processes.queries import Page, paginate, searched
from processes.store.models import Organisation, Role, RoleScope, User, UserRole

Hasher = Callable[[str], str]

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,59}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 128
ORG_KINDS = {"unit": "项目建设单位", "bureau": "市直部门", "government": "市政府"}
# The account list's sort keys: what to order by. The latest log-ins come first, those never made last.
USER_SORTS = {
    "username": (User.username,),
    "name": (User.display_name,),
    "last_login": (User.last_login_at.is_(None), User.last_login_at.desc()),
}


@dataclass
class UserFilter:
    """What the account list narrows by; None means no narrowing."""

    q: str | None = None
    unit: str | None = None  # organisation code
    role: str | None = None
    active: bool | None = None


def password_problems(password: str, username: str = "") -> list[str]:
    """The rules a new password breaks (empty when it may be used)."""
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"密码至少 {MIN_PASSWORD} 位")
    if len(password) > MAX_PASSWORD:
        problems.append(f"密码不能超过 {MAX_PASSWORD} 位")
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        problems.append("密码须同时包含字母和数字")
    if username and password.lower() == username.lower():
        problems.append("密码不能与用户名相同")
    return problems


def temporary_password() -> str:
    """A random password that keeps the rules, for an account an admin creates or resets."""
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(12))
        if not password_problems(candidate):
            return candidate


def list_users(session: Session, where: UserFilter, sort: str, page: int, page_size: int) -> Page[User]:
    """One page of accounts, with their unit and roles loaded."""
    stmt = _users_query(where).order_by(*USER_SORTS.get(sort, USER_SORTS["username"]), User.id)
    return paginate(session, stmt, page, page_size)


def _users_query(where: UserFilter) -> Select:
    stmt = select(User).options(selectinload(User.organisation), selectinload(User.roles))
    stmt = searched(stmt, where.q, User.username, User.display_name)
    if where.unit:
        stmt = stmt.join(Organisation, Organisation.id == User.organisation_id).where(
            Organisation.code == where.unit
        )
    if where.role:
        stmt = stmt.where(User.roles.any(UserRole.role_code == where.role))
    if where.active is not None:
        stmt = stmt.where(User.active.is_(where.active))
    return stmt


def get_user(session: Session, user_id: int) -> User:
    """The account with this id, or NotFound."""
    user = session.get(User, user_id, options=[selectinload(User.roles)])
    if user is None:
        raise NotFound(f"用户 {user_id} 不存在")
    return user


def create_user(
    session: Session,
    hasher: Hasher,
    *,
    username: str,
    display_name: str,
    password: str,
    organisation_id: int | None = None,
    roles: Iterable[str] = (),
    is_admin: bool = False,
    is_manager: bool = False,
    must_change_password: bool = True,
) -> User:
    """Create an account; the password must be changed at first log-in unless told otherwise."""
    errors: dict[str, list[str]] = {}
    username = username.strip()
    if not USERNAME.match(username):
        errors["username"] = ["用户名为 2–60 位字母、数字或 . _ -，以字母或数字开头"]
    elif session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        errors["username"] = [f"用户名「{username}」已被使用"]
    problems = password_problems(password, username)
    if problems:
        errors["password"] = problems
    user = User(username=username, is_admin=is_admin, is_manager=is_manager, active=True)
    changes = {"display_name": display_name, "organisation_id": organisation_id, "roles": list(roles)}
    values = _checked(session, user, changes, errors)
    if errors:
        raise FormInvalid(errors)
    _set(user, values)
    user.password_hash = hasher(password)
    user.must_change_password = must_change_password
    session.add(user)
    session.flush()
    return user


def update_user(session: Session, user_id: int, acting: User, changes: dict[str, Any]) -> User:
    """Change an account's name, unit, roles, rights or state; an admin cannot lock themselves out."""
    user = get_user(session, user_id)
    errors: dict[str, list[str]] = {}
    if user.id == acting.id:
        if changes.get("active") is False:
            errors["active"] = ["不能停用自己的账号"]
        if changes.get("is_admin") is False:
            errors["is_admin"] = ["不能取消自己的流程管理员权限"]
    values = _checked(session, user, changes, errors)
    if errors:
        raise FormInvalid(errors)
    _set(user, values)
    for flag in ("is_admin", "is_manager", "active"):
        if changes.get(flag) is not None:
            setattr(user, flag, bool(changes[flag]))
    session.flush()
    return user


def _checked(
    session: Session, user: User, changes: dict[str, Any], errors: dict[str, list[str]]
) -> dict[str, Any]:
    """Check the name, unit and roles an account is to have; return them (nothing is set yet)."""
    values: dict[str, Any] = {}
    if changes.get("display_name") is not None:
        name = str(changes["display_name"]).strip()
        if 1 <= len(name) <= 60:
            values["display_name"] = name
        else:
            errors["display_name"] = ["姓名为 1–60 个字"]
    elif not user.display_name:
        errors["display_name"] = ["请填写姓名"]
    if "organisation_id" in changes:
        org_id = changes["organisation_id"]
        if org_id is None or session.get(Organisation, org_id) is not None:
            values["organisation_id"] = org_id
        else:
            errors["organisation_id"] = ["单位不存在"]
    codes = sorted(set(changes["roles"])) if changes.get("roles") is not None else None
    if codes is not None:
        known = set(session.scalars(select(Role.code).where(Role.code.in_(codes))))
        unknown = [c for c in codes if c not in known]
        if unknown:
            errors["roles"] = [f"角色不存在：{'、'.join(unknown)}"]
        else:
            values["roles"] = codes
    held = codes if codes is not None else [r.role_code for r in user.roles]
    org_id = values.get("organisation_id", user.organisation_id)
    if held and org_id is None and "roles" not in errors and "organisation_id" not in errors:
        unit_roles = list(
            session.scalars(select(Role.name).where(Role.code.in_(held), Role.scope == RoleScope.UNIT))
        )
        if unit_roles:
            errors["organisation_id" if codes is None else "roles"] = [
                f"「{'、'.join(unit_roles)}」只办理本单位的任务，须有所属单位"
            ]
    return values


def _set(user: User, values: dict[str, Any]) -> None:
    """Apply what `_checked` returned."""
    codes = values.pop("roles", None)
    for name, value in values.items():
        setattr(user, name, value)
    if codes is not None:
        held = {r.role_code: r for r in user.roles}
        user.roles = [held.get(c) or UserRole(role_code=c) for c in codes]


def reset_password(
    session: Session, hasher: Hasher, user_id: int, password: str | None = None
) -> tuple[User, str]:
    """Give an account a new password (random if none is given) that must be changed at next log-in."""
    user = get_user(session, user_id)
    password = password or temporary_password()
    problems = password_problems(password, user.username)
    if problems:
        raise FormInvalid({"password": problems})
    user.password_hash = hasher(password)
    user.must_change_password = True
    session.flush()
    return user, password


def change_own_password(
    session: Session,
    hasher: Hasher,
    verify: Callable[[User, str], bool],
    user: User,
    old_password: str,
    new_password: str,
) -> User:
    """Let a user replace their password after proving the old one."""
    errors: dict[str, list[str]] = {}
    if not verify(user, old_password):
        errors["old_password"] = ["原密码不正确"]
    problems = password_problems(new_password, user.username)
    if new_password == old_password:
        problems.append("新密码不能与原密码相同")
    if problems:
        errors["new_password"] = problems
    if errors:
        raise FormInvalid(errors)
    user.password_hash = hasher(new_password)
    user.must_change_password = False
    session.flush()
    return user


def record_login(user: User, now: datetime) -> None:
    """Note when the user last logged in."""
    user.last_login_at = now


# ----------------------------------------------------------------------------- organisations


def list_organisations(session: Session, q: str | None = None, kind: str | None = None) -> list[Any]:
    """Every organisation with how many accounts belong to it, by kind then short name."""
    members = (
        select(User.organisation_id, func.count(User.id).label("n")).group_by(User.organisation_id).subquery()
    )
    stmt = select(Organisation, func.coalesce(members.c.n, 0)).outerjoin(
        members, members.c.organisation_id == Organisation.id
    )
    stmt = searched(stmt, q, Organisation.name, Organisation.short_name, Organisation.code)
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    rows = session.execute(stmt.order_by(Organisation.kind, Organisation.short_name, Organisation.id))
    out = []
    for org, count in rows:
        org.user_count = count  # a plain attribute for the response and the page
        out.append(org)
    return out


def create_organisation(
    session: Session, *, code: str, name: str, short_name: str, kind: str
) -> Organisation:
    """Add an organisation; its code (统一社会信用代码, with a correct check character) must be unique."""
    org = Organisation(kind="unit")
    _apply_org(session, org, {"code": code, "name": name, "short_name": short_name, "kind": kind})
    session.add(org)
    session.flush()
    return org


def update_organisation(session: Session, org_id: int, changes: dict[str, Any]) -> Organisation:
    """Rename an organisation or change its code or kind."""
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound(f"单位 {org_id} 不存在")
    _apply_org(session, org, changes)
    session.flush()
    return org


def _apply_org(session: Session, org: Organisation, changes: dict[str, Any]) -> None:
    errors: dict[str, list[str]] = {}
    values = {k: str(v).strip() for k, v in changes.items() if v is not None}
    if "code" in values:
        code = values["code"] = values["code"].upper()
        clash = session.scalar(select(Organisation.id).where(Organisation.code == code))
        if not is_valid_uscc(code):
            # The register, approval documents and the expert draw's conflicts all go by this code.
            errors["code"] = ["统一社会信用代码不正确（18 位，末位为校验码）"]
        elif clash is not None and clash != org.id:
            errors["code"] = [f"代码「{code}」已被其他单位使用"]
    for field, limit, label in (("name", 100, "单位全称"), ("short_name", 40, "简称")):
        if field in values and not 1 <= len(values[field]) <= limit:
            errors[field] = [f"{label}为 1–{limit} 个字"]
    if "kind" in values and values["kind"] not in ORG_KINDS:
        errors["kind"] = [f"类别须为：{'、'.join(ORG_KINDS.values())}"]
    if errors:
        raise FormInvalid(errors)
    for field, value in values.items():
        setattr(org, field, value)


def member_count(session: Session, org_id: int) -> int:
    """How many accounts belong to an organisation."""
    return session.scalar(select(func.count(User.id)).where(User.organisation_id == org_id)) or 0


def unit_choices(session: Session) -> list[Organisation]:
    """Organisations to pick from when placing an account, bureaus first."""
    return list(session.scalars(select(Organisation).order_by(Organisation.kind, Organisation.short_name)))


def role_choices(session: Session) -> list[Role]:
    """The roles an account may hold."""
    return list(session.scalars(select(Role).order_by(Role.scope.desc(), Role.code)))


def find_user(session: Session, username: str) -> User:
    """The account with this user name, or NotFound."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户 {username} 不存在")
    return user
