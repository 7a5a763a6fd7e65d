"""Who is calling: session log-in for browsers, API tokens for programs, CSRF and log-in rate limits."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any

from flask import Flask, current_app, g, request, session
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, make_transient_to_detached
from werkzeug.security import check_password_hash, generate_password_hash

from processes import accounts
from processes.store.models import ApiToken, User
from processes.store.prepared import Prepared
from service.db import get_session, runtime

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
TOKEN_PREFIX = "egf_"


class AuthError(Exception):
    """Not logged in (401) or not allowed (403)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def hash_password(password: str) -> str:
    """Return a salted hash of a password."""
    return generate_password_hash(password, method="pbkdf2:sha256:60000")


def verify_password(user: User, password: str) -> bool:
    """Tell whether `password` is the user's."""
    return check_password_hash(user.password_hash, password)


def new_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create an API token; the secret is returned once and only its hash is stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_sha(secret), created_at=datetime.now(UTC))
    return token, secret


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class LoginLimiter:
    """Counts failed log-ins per client and user name within a sliding window."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, key: str, limit: int, window: float) -> bool:
        """Tell whether `key` failed `limit` times within `window` seconds."""
        with self._lock:
            q = self._failures[key]
            while q and q[0] < time.monotonic() - window:
                q.popleft()
            return len(q) >= limit

    def fail(self, key: str) -> None:
        """Record a failure."""
        with self._lock:
            self._failures[key].append(time.monotonic())

    def reset(self, key: str) -> None:
        """Forget the failures of `key` after a success."""
        with self._lock:
            self._failures.pop(key, None)


def login(username: str, password: str) -> User:
    """Check credentials and start a browser session; raises AuthError (401/429)."""
    limiter: LoginLimiter = current_app.extensions["egovflow_limiter"]
    key = f"{request.remote_addr}:{username}"
    if limiter.blocked(
        key, int(current_app.config["LOGIN_MAX_FAILURES"]), float(current_app.config["LOGIN_WINDOW_S"])
    ):
        raise AuthError(429, "登录失败次数过多，请 5 分钟后再试")
    user = get_session().scalar(select(User).where(User.username == username))
    if user is None or not user.active or not verify_password(user, password):
        limiter.fail(key)
        raise AuthError(401, "用户名或密码错误")
    limiter.reset(key)
    accounts.record_login(user, runtime().clock.now())
    get_session().commit()
    session.clear()
    session["user_id"] = user.id
    session["csrf"] = secrets.token_urlsafe(24)
    remember_password(user)
    session.permanent = True
    g.user = user
    return user


def remember_password(user: User) -> None:
    """Tie the browser session to the user's current password: a change or reset ends other sessions."""
    session["pw"] = _password_mark(user)


def _password_mark(user: User) -> str:
    return _sha(user.password_hash)[:16]


def logout() -> None:
    """End the browser session."""
    session.clear()


def csrf_token() -> str:
    """Return (creating if needed) the session's CSRF token."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return session["csrf"]


_WITH_ROLES = joinedload(User.roles)  # pages read them for nearly every permission check
# Programs call on every request with a token: the lookup runs prepared on the driver (it would otherwise
# cost more than a completion's own queries), and the user is rebuilt from the row without a second query.
# Roles load when first read; completing a task and starting an instance query what they check instead.
_TOKEN_USER_FIELDS = ("id", "username", "display_name", "organisation_id", "is_admin", "is_manager", "active")
_USER_BY_TOKEN = Prepared(
    select(*(getattr(User, name) for name in _TOKEN_USER_FIELDS))
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked.is_(False))
)


def current_user() -> User | None:
    """Return the caller: from a Bearer token, else from the session cookie."""
    if "user" in g:
        return g.user
    user = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        user = _token_user(get_session(), header[7:].strip())
        g.via_token = True
    elif "user_id" in session:
        user = get_session().get(User, session["user_id"], options=[_WITH_ROLES])
        if user is not None and session.get("pw") != _password_mark(user):
            user = None  # the password changed since this session logged in
    if user is not None and not user.active:
        user = None
    g.user = user
    return user


def _token_user(db: Session, secret: str) -> User | None:
    """The holder of an unrevoked API token, as a persistent User of `db` (other columns load lazily)."""
    row = _USER_BY_TOKEN.first(db, {"token_hash": _sha(secret)})
    if row is None:
        return None
    values = dict(zip(_TOKEN_USER_FIELDS, row, strict=True))
    for flag in ("is_admin", "is_manager", "active"):
        values[flag] = bool(values[flag])  # SQLite gives 0/1
    user = User(**values)
    make_transient_to_detached(user)  # as if loaded: nothing to flush, identity known
    db.add(user)
    return user


PUBLIC_API_ENDPOINTS = {"auth.Login", "auth.Logout"}  # API calls an anonymous caller may make

# What a user may still do while the password an admin gave them is unchanged.
PASSWORD_PENDING_ENDPOINTS = {"accounts.OwnPassword", "auth.Me", "auth.Logout", "web_accounts.password"}


def require_user() -> User:
    """Return the caller; raise 401 when anonymous, 403 while an admin-given password is unchanged."""
    user = current_user()
    if user is None:
        raise AuthError(401, "请先登录")
    # A program's token is its own credential; the check is for people in a browser (and a token's user
    # carries only the columns it was read with, so reading another would cost a query per request).
    pending = not g.get("via_token") and user.must_change_password
    if pending and request.endpoint not in PASSWORD_PENDING_ENDPOINTS:
        raise AuthError(403, "请先修改管理员设置的初始密码")
    return user


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse anonymous callers with 401."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        require_user()
        return view(*args, **kwargs)

    return wrapped


def require_admin() -> User:
    """Return the caller if a process admin; else raise 401 (anonymous) or 403."""
    user = require_user()
    if not user.is_admin:
        raise AuthError(403, "需要流程管理员权限")
    return user


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse callers who are not process admins with 403."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        require_admin()
        return view(*args, **kwargs)

    return wrapped


def init_app(app: Flask) -> None:
    """Install the limiter and the CSRF check for cookie-authenticated writes."""
    app.extensions["egovflow_limiter"] = LoginLimiter()

    @app.before_request
    def _csrf() -> None:
        if request.method in SAFE_METHODS or request.headers.get("Authorization", "").startswith("Bearer "):
            return
        if request.endpoint in ("auth.Login", "web.login", "static"):
            return
        if "user_id" not in session:
            return  # anonymous writes fail on authentication, not CSRF
        sent = request.headers.get("X-CSRFToken") or request.form.get("csrf_token")
        if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
            raise AuthError(400, "页面已过期(CSRF 校验失败)，请刷新后重试")

    @app.before_request
    def _anonymous_api() -> None:
        # An API call says who makes it before its arguments are read: an anonymous caller gets a 401, not
        # a 422 that lists an endpoint's fields.
        if request.path.startswith("/api/v1/") and request.endpoint not in PUBLIC_API_ENDPOINTS:
            require_user()

    @app.context_processor
    def _inject() -> dict[str, Any]:
        return {"current_user": current_user(), "csrf_token": csrf_token}
