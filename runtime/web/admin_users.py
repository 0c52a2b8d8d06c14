"""Users (``/admin/users``): the searchable list, create, edit (details,
departments, roles, the admin flag), deactivate and activate, and a new
password generated and shown once. Admins only (the service checks too).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, redirect, request, url_for

from engine.core.errors import ConflictError, ValidationError
from engine.org.model import DepartmentInfo, RoleInfo, UserInfo
from engine.org.service import OrgService
from runtime.web.account import ZONES
from runtime.web.admin_common import (
    actor,
    field_problems,
    ids,
    message_of,
    one_change,
    org,
    require_admin,
)
from runtime.web.context import page, render, services
from runtime.web.i18n import LANGUAGES, gettext

bp = Blueprint("users", __name__, url_prefix="/users")
# Easy to read aloud and type from a screen: no 0/O, 1/l/I.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PASSWORD_LENGTH = 14


def generated_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


@dataclass
class UserForm:
    """What the user form shows: the values (as typed), the choices, the problems."""

    values: dict[str, Any]
    department_ids: list[int]
    role_ids: list[int]
    problems: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None


def _choices() -> dict[str, Any]:
    service = org()
    index = service.department_index()
    departments = [(d, index.path(d.id)) for d in service.list_departments()]
    records = services().records
    return {"departments": sorted(departments, key=lambda pair: pair[1]),
            "roles": service.list_roles(), "languages": LANGUAGES, "zones": ZONES,
            "app_labels": {key: records.app(key).label for key in records.app_keys()}}


def _direct_roles(service: OrgService) -> dict[int, list[RoleInfo]]:
    """user id -> the roles given to them directly."""
    held: dict[int, list[RoleInfo]] = {}
    for role in service.list_roles():
        for user_id in service.role_holders(role.id)[0]:
            held.setdefault(user_id, []).append(role)
    return held


def _matches(user: UserInfo, query: str) -> bool:
    wanted = query.casefold()
    return any(wanted in (text or "").casefold() for text in (user.login, user.name, user.email, user.mobile))


@bp.get("")
@page
def users() -> Response:
    require_admin()
    query = request.args.get("q", "").strip()[:100]
    status = request.args.get("status", "active")
    active = {"active": True, "inactive": False}.get(status)
    service = org()
    found = [u for u in service.list_users(active=active) if not query or _matches(u, query)]
    departments: dict[int, DepartmentInfo] = {d.id: d for d in service.list_departments()}
    return render("admin/users.html", users=found, query=query, shown=status,
                  departments=departments, memberships=service.departments_by_user(),
                  roles=_direct_roles(service))


@bp.get("/new")
@page
def new_user() -> Response:
    require_admin()
    form = UserForm({"locale": "zh", "password_mode": "generate"}, [], [])
    return render("admin/user_form.html", form=form, user=None, **_choices())


@bp.post("/new")
@page
def create_user() -> Response:
    require_admin()
    posted = request.form
    form = _posted_form()
    generate = posted.get("password_mode", "generate") == "generate"
    password = generated_password() if generate else posted.get("password", "")
    try:
        with one_change() as service:
            user = service.create_user(
                posted.get("login", ""), posted.get("name", ""), email=posted.get("email"),
                mobile=posted.get("mobile"), password=password, locale=posted.get("locale", "zh"),
                is_admin=posted.get("is_admin") == "on", actor_id=actor())
            if form.values.get("time_zone"):
                service.update_user(user.id, time_zone=form.values["time_zone"], actor_id=actor())
            _hold(service, user.id, form.department_ids, form.role_ids)
    except ValidationError as error:
        form.problems = field_problems(error)
        form.error = message_of(error)
        return render("admin/user_form.html", status=400, form=form, user=None, **_choices())
    return _show_user(user.id, password=password if generate else None, notice=gettext("The user was created."))


def _posted_form() -> UserForm:
    posted = request.form
    values: dict[str, Any] = {key: str(posted.get(key, ""))[:1000] for key in
              ("login", "name", "email", "mobile", "locale", "time_zone", "password_mode")}
    values["is_admin"] = posted.get("is_admin") == "on"
    return UserForm(values, ids(posted, "departments"), ids(posted, "roles"))


def _hold(service: OrgService, user_id: int, department_ids: list[int], role_ids: list[int]) -> None:
    """Make the user's departments and direct roles exactly these."""
    mine = {m.department_id for m in service.memberships(user_id)}
    for department_id in department_ids:
        if department_id not in mine:
            service.add_member(user_id, department_id, actor_id=actor())
    for department_id in mine - set(department_ids):
        service.remove_member(user_id, department_id, actor_id=actor())
    for role in service.list_roles():
        if role.id in role_ids:
            service.assign_role(role.id, user_id, actor_id=actor())
        else:
            service.unassign_role(role.id, user_id, actor_id=actor())


@bp.get("/<int:user_id>")
@page
def user_page(user_id: int) -> Response:
    require_admin()
    return _show_user(user_id)


def _show_user(user_id: int, *, status: int = 200, form: UserForm | None = None,
               password: str | None = None, notice: str | None = None, error: str | None = None) -> Response:
    service = org()
    user = service.get_user(user_id)
    if form is None:
        form = UserForm(
            {"login": user.login, "name": user.name, "email": user.email or "", "mobile": user.mobile or "",
             "locale": user.locale, "time_zone": user.time_zone or "", "is_admin": user.is_admin},
            [m.department_id for m in service.memberships(user_id)],
            [r.id for r in _direct_roles(service).get(user_id, [])])
    if error:
        form.error = error
    return render("admin/user_form.html", status=status, form=form, user=user, password=password,
                  notice=notice, **_choices())


@bp.post("/<int:user_id>")
@page
def update_user(user_id: int) -> Response:
    require_admin()
    posted = request.form
    form = _posted_form()
    try:
        with one_change() as service:
            service.update_user(user_id, name=posted.get("name", ""), email=posted.get("email"),
                                mobile=posted.get("mobile"), locale=posted.get("locale", "zh"),
                                time_zone=posted.get("time_zone") or None, actor_id=actor())
            service.set_admin(user_id, posted.get("is_admin") == "on", actor_id=actor())
            _hold(service, user_id, form.department_ids, form.role_ids)
    except ValidationError as error:
        form.problems = field_problems(error)
        return _show_user(user_id, status=400, form=form, error=message_of(error))
    except ConflictError as error:  # the last admin stays one
        return _show_user(user_id, status=409, form=form, error=message_of(error))
    services().identities.forget_user(user_id)  # new roles count from the next request
    return redirect(url_for("admin.users.user_page", user_id=user_id, saved=1), 303)  # type: ignore[return-value]


@bp.post("/<int:user_id>/active")
@page
def set_active(user_id: int) -> Response:
    require_admin()
    active = request.form.get("active") == "1"
    try:
        if active:
            org().activate_user(user_id, actor_id=actor())
        else:
            org().deactivate_user(user_id, actor_id=actor())
    except ConflictError as error:  # the last admin cannot be deactivated
        return _show_user(user_id, status=409, error=message_of(error))
    # Their sessions ended in the database; this process forgets them at once too.
    services().identities.forget_user(user_id)
    notice = gettext("The user can sign in again.") if active else gettext(
        "The user was deactivated: their sessions and tokens no longer work.")
    return _show_user(user_id, notice=notice)


@bp.post("/<int:user_id>/password")
@page
def reset_password(user_id: int) -> Response:
    require_admin()
    password = generated_password()
    org().set_password(user_id, password, actor_id=actor())
    services().identities.forget_user(user_id)
    return _show_user(user_id, password=password, notice=gettext("A new password was set."))
