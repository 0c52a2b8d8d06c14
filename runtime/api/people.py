"""The organization over HTTP: who I am, users, departments and my API tokens.

- ``GET /me``: the signed-in user, their departments and roles;
- ``GET /users`` (``?active=true|false``), ``GET /users/{id}``: a colleague's
  id, login, name, active flag and departments; admins (and each user about
  themselves) see everything; ``POST /users`` creates an account (admins only
  — the organization checks);
- ``GET /departments``: the tree, depth first;
- ``GET /tokens``: my tokens (never the token itself); ``POST /tokens``
  ``{"name", "expires_in_days"?, "expires_at"?}`` issues one and shows its
  plaintext once (201; a token made with a token expires no later than it);
  ``DELETE /tokens/{id}`` revokes it (204).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, request

from engine.core.errors import NotFoundError, ValidationError
from engine.core.i18n import Label
from engine.org.model import DepartmentInfo, TokenInfo, UserInfo
from runtime.api.records import MAX_ID
from runtime.auth import authenticate_request
from runtime.errors import Unprocessable
from runtime.identity import Identity
from runtime.jsonio import json_body, json_response
from runtime.services import current_services

bp = Blueprint("people", __name__)


def user_json(user: UserInfo) -> dict[str, Any]:
    return {"id": user.id, "login": user.login, "name": user.name, "email": user.email,
            "mobile": user.mobile, "active": user.active, "locale": user.locale,
            "is_admin": user.is_admin}


def colleague_json(user: UserInfo, department_ids: list[int]) -> dict[str, Any]:
    """A user as a colleague sees them: who they are and where they work.
    Contact details, the admin flag and the locale are theirs and the admins'."""
    return {"id": user.id, "login": user.login, "name": user.name, "active": user.active,
            "department_ids": department_ids}


def _user_for(identity: Identity, user: UserInfo, department_ids: list[int]) -> dict[str, Any]:
    if identity.principal.is_admin or identity.user_id == user.id:
        return {**user_json(user), "department_ids": department_ids}
    return colleague_json(user, department_ids)


def department_json(department: DepartmentInfo) -> dict[str, Any]:
    return {"id": department.id, "name": department.name, "parent_id": department.parent_id,
            "head_id": department.head_id, "code": department.code, "sort": department.sort}


def token_json(token: TokenInfo, now: dt.datetime) -> dict[str, Any]:
    return {"id": token.id, "name": token.name, "prefix": token.prefix, "created_at": token.created_at,
            "expires_at": token.expires_at, "revoked_at": token.revoked_at,
            "last_used_at": token.last_used_at, "active": token.usable_at(now)}


def _text(body: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        message = Label(f"{key} 应为文本", f"{key} must be text")
        raise ValidationError(message, field_errors={key: [message]})
    return value


def _unknown(body: dict[str, Any], known: set[str]) -> None:
    extra = sorted(set(body) - known)
    if extra:
        message = Label(f"未知字段 {extra[0]}（可用：{', '.join(sorted(known))}）",
                        f"Unknown field {extra[0]} (known: {', '.join(sorted(known))})")
        raise ValidationError(message, field_errors={extra[0]: [message]})


@bp.get("/me")
def me() -> Response:
    identity = authenticate_request()
    org = current_services().org
    user = org.get_user(identity.user_id)
    principal = identity.principal
    return json_response({**user_json(user), "roles": sorted(principal.roles),
                          "department_ids": sorted(principal.department_ids),
                          "main_department_id": principal.main_department_id,
                          "via": identity.via})


@bp.get("/users")
def list_users() -> Response:
    identity = authenticate_request()
    raw = request.args.get("active")
    active = None if raw is None else raw.lower() in ("1", "true", "yes")
    org = current_services().org
    departments = org.departments_by_user()
    users = org.list_users(active=active)
    return json_response({"users": [_user_for(identity, u, departments.get(u.id, [])) for u in users]})


@bp.get("/users/<int:user_id>")
def get_user(user_id: int) -> Response:
    identity = authenticate_request()
    if user_id > MAX_ID:
        raise NotFoundError(Label(f"用户 {user_id} 不存在", f"There is no user {user_id}"))
    org = current_services().org
    user = org.get_user(user_id)
    return json_response(_user_for(identity, user, [m.department_id for m in org.memberships(user_id)]))


@bp.post("/users")
def create_user() -> Response:
    identity = authenticate_request()
    body = json_body()
    _unknown(body, {"login", "name", "email", "mobile", "password", "locale", "is_admin"})
    is_admin = body.get("is_admin", False)
    if not isinstance(is_admin, bool):
        raise Unprocessable(Label("is_admin 应为 true 或 false", "is_admin must be true or false"))
    user = current_services().org.create_user(
        _text(body, "login", required=True) or "", _text(body, "name", required=True) or "",
        email=_text(body, "email"), mobile=_text(body, "mobile"), password=_text(body, "password"),
        locale=_text(body, "locale") or "zh", is_admin=is_admin, actor_id=identity.user_id,
    )
    return json_response(user_json(user), 201)


@bp.get("/departments")
def list_departments() -> Response:
    authenticate_request()
    departments = current_services().org.list_departments()
    return json_response({"departments": [department_json(d) for d in departments]})


@bp.get("/tokens")
def list_tokens() -> Response:
    identity = authenticate_request()
    services = current_services()
    now = services.clock.now()
    return json_response({"tokens": [token_json(t, now) for t in services.org.list_tokens(identity.user_id)]})


@bp.post("/tokens")
def issue_token() -> Response:
    identity = authenticate_request()
    body = json_body()
    _unknown(body, {"name", "expires_in_days", "expires_at"})
    days = body.get("expires_in_days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= 36_500):
        message = Label("有效天数应为 1 到 36500 的整数", "expires_in_days must be a whole number from 1 to 36500")
        raise ValidationError(message, field_errors={"expires_in_days": [message]})
    expires_at = None
    raw_moment = _text(body, "expires_at")
    if raw_moment is not None:
        try:
            expires_at = dt.datetime.fromisoformat(raw_moment.replace("Z", "+00:00"))
        except ValueError:
            message = Label("expires_at 应为 ISO 8601 时间", "expires_at must be an ISO 8601 moment")
            raise ValidationError(message, field_errors={"expires_at": [message]}) from None
    services = current_services()
    # A token made with a token may not outlive it (a session may: its user gave a password).
    plaintext, token = services.org.issue_token(
        identity.user_id, _text(body, "name", required=True) or "", expires_in_days=days,
        expires_at=expires_at, actor_id=identity.user_id,
        not_after=identity.expires_at if identity.via == "token" else None)
    return json_response({**token_json(token, services.clock.now()), "token": plaintext}, 201)


@bp.delete("/tokens/<int:token_id>")
def revoke_token(token_id: int) -> Response:
    identity = authenticate_request()
    services = current_services()
    if token_id > MAX_ID:
        raise NotFoundError(Label(f"令牌 {token_id} 不存在", f"There is no token {token_id}"))
    token = services.org.get_token(token_id)
    if token.user_id != identity.user_id and not identity.principal.is_admin:
        # Someone else's token is none of their business: not found, not forbidden.
        raise NotFoundError(Label(f"令牌 {token_id} 不存在", f"There is no token {token_id}"))
    services.org.revoke_token(token_id, actor_id=identity.user_id)
    services.identities.forget_user(token.user_id)
    return Response(status=204)
