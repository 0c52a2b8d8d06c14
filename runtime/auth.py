"""Signing in: bearer tokens for integrations, session cookies for browsers.

``authenticate_request`` runs before every API request: ``Authorization:
Bearer qq_...`` is checked by the organization (unknown, expired, revoked,
deactivated: 401; refused tokens are rate limited per address); otherwise the
signed session cookie carries the key of a session kept on the server (ended
by logout, a new password or deactivation: 401), and a state-changing
request must carry the session's CSRF token. The ``auth`` blueprint signs
browsers in and out: ``POST /auth/login`` (rate limited per address and per
login from an address; a form post must name its origin),
``POST /auth/logout``, ``GET /auth/csrf``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)

from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.org.errors import AuthenticationError
from engine.org.model import UserInfo
from engine.records import Actor
from runtime.errors import RateLimited, Unauthenticated
from runtime.identity import Identity
from runtime.jsonio import is_json_request, json_body
from runtime.request_id import request_id
from runtime.security import SAFE_METHODS, check_csrf, check_same_origin, client_ip, csrf_token
from runtime.services import current_services

bp = Blueprint("auth", __name__, url_prefix="/auth")

_NO_CREDENTIALS = Label("需要登录：请发送 Authorization: Bearer 令牌，或先登录",
                        "Authentication required: send Authorization: Bearer <token>, or sign in first")
_BAD_SCHEME = Label("Authorization 头应为 Bearer 令牌", "The Authorization header must be Bearer <token>")


def authenticate_request() -> Identity:
    """The identity of the current request (kept on ``g``), or 401/403/429."""
    found: Identity | None = g.get("identity")
    if found is not None:
        return found
    services = current_services()
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise Unauthenticated(_BAD_SCHEME)
        user_id, expires_at = _token_user(credentials.strip())
        via = "token"
    else:
        key = session.get("sid")
        if not isinstance(key, str):
            raise Unauthenticated(_NO_CREDENTIALS)
        try:
            user_id, expires_at = services.identities.user_for_session(key)
        except AuthenticationError:
            session.clear()
            raise
        if request.method not in SAFE_METHODS:
            check_csrf()
        via = "session"
    try:
        principal = services.identities.principal(user_id)
    except AuthenticationError:
        if via == "session":
            session.clear()
        raise
    identity = g.identity = Identity(user_id, principal, via, expires_at)
    return identity


def _token_user(plaintext: str) -> tuple[int, dt.datetime | None]:
    """A bearer token's user; refused tokens count against the address, so
    nobody can try tokens (or fill the database with lookups) at full speed."""
    services = current_services()
    ip = client_ip()
    key = f"token-ip:{ip or '-'}"
    wait = services.token_limiter.retry_after(key)
    if wait is not None:
        raise RateLimited(Label(f"无效令牌过多，请 {wait} 秒后再试",
                                f"Too many invalid tokens; try again in {wait} seconds"), wait)
    try:
        return services.identities.user_for_token(plaintext, ip)
    except AuthenticationError:
        services.token_limiter.hit(key)
        raise


def actor_for(app_key: str, source: str = "api") -> Actor:
    """The ``Actor`` the record service gets: who, through what, from where,
    and what they may do in ``app_key``."""
    identity = authenticate_request()
    access = current_services().identities.access(identity.user_id, app_key)
    return Actor(user_id=identity.user_id, source=source, ip=client_ip(),
                 request_id=request_id(), access=access)


# --- browsers ---------------------------------------------------------------------

def credentials() -> tuple[str, str]:
    data: Any = json_body() if is_json_request() else request.form
    login, password = data.get("login"), data.get("password")
    problems: dict[str, list[Label]] = {}
    if not isinstance(login, str) or not login.strip():
        problems["login"] = [Label("请输入登录名", "Enter your login")]
    if not isinstance(password, str) or not password:
        problems["password"] = [Label("请输入密码", "Enter your password")]
    if problems:
        raise ValidationError(Label("登录信息不完整", "Sign-in details are missing"), field_errors=problems)
    return login.strip(), password


@bp.post("/login")
def login() -> Response:
    """Check a login and password and start a session (a row on the server,
    its key in a signed cookie). A browser's form post goes to the sign-in
    page's handler, which answers with a page; JSON answers JSON."""
    # A browser form can be posted from any site (login CSRF): it must say where it comes from.
    check_same_origin(required=not is_json_request())
    if is_form_post():
        from runtime.web.account import login_form

        return login_form()
    user = sign_in(*credentials())
    return jsonify({
        "user": {"id": user.id, "login": user.login, "name": user.name, "is_admin": user.is_admin,
                 "locale": user.locale},
        "csrf_token": csrf_token(),
    })


def is_form_post() -> bool:
    """Whether the request is an HTML form's (what a page sends), not an API client's."""
    return request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}


def sign_in(login_name: str, password: str) -> UserInfo:
    """Check the credentials (rate limited per address, and per login from an
    address) and start a session for the browser; the user signed in."""
    services = current_services()
    ip = client_ip() or "-"
    # Per address, and per login *from that address*: a stranger cannot lock
    # someone out of their account from elsewhere.
    keys = (f"ip:{ip}", f"login:{login_name.lower()}@{ip}")
    wait = services.login_limiter.acquire(*keys)
    if wait is not None:
        raise RateLimited(Label(f"登录失败次数过多，请 {wait} 秒后再试",
                                f"Too many failed sign-ins; try again in {wait} seconds"), wait)
    try:
        user = services.org.authenticate(login_name, password, client_ip(), source="web")
    except AuthenticationError:
        raise  # the attempt acquire counted stays counted
    except BaseException:
        services.login_limiter.release(*keys)  # not a failed sign-in: a fault of ours
        raise
    services.login_limiter.release(keys[0])
    services.login_limiter.reset(keys[1])
    previous = session.get("sid")
    if isinstance(previous, str):
        _end(previous)
    session.clear()
    session.permanent = True
    lifetime = current_app.permanent_session_lifetime
    session["sid"] = services.org.start_session(user.id, lifetime, client_ip())
    csrf_token()
    return user


def _end(key: str) -> None:
    services = current_services()
    services.org.end_session(key)
    services.identities.forget_session(key)


@bp.post("/logout")
def logout() -> Response:
    """End the session, on the server too: the cookie, even if kept, no longer
    signs anyone in (a session request needs its CSRF token, as any other change)."""
    key = session.get("sid")
    if isinstance(key, str):
        check_csrf()
        _end(key)
    session.clear()
    if is_form_post():  # the sign-out button of a page
        return redirect(url_for("auth.login_page"), 303)  # type: ignore[return-value]
    return Response(status=204)


@bp.get("/csrf")
def csrf() -> Response:
    """The session's CSRF token, for the ``X-CSRF-Token`` header of changes."""
    return jsonify({"csrf_token": csrf_token(), "header": "X-CSRF-Token"})


def register_auth(app: Flask) -> None:
    app.register_blueprint(bp)
