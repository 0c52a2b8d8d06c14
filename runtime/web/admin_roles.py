"""Roles per app (``/admin/roles/<app>``): the list, create, the editor
(labels and the grid of forms × actions, scopes and field rights, see
``admin_grants``), who holds a role (users and departments) and deleting
it. For admins, and for an app's owners its own roles; a role of every app
only admins change (the service checks, its message is shown).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, redirect, request, url_for

from engine.core.errors import PermissionDenied, ValidationError
from engine.org.model import RoleInfo
from runtime.web.admin_common import (
    actor,
    field_problems,
    may_administer,
    message_of,
    one_change,
    org,
    require_manager,
)
from runtime.web.admin_grants import (
    ACTION_TEXT,
    ACTIONS,
    CUSTOM,
    FIELD_RIGHTS,
    RIGHT_TEXT,
    SCOPE_TEXT,
    SCOPES,
    grid,
    posted_grants,
)
from runtime.web.context import identity, page, render, services
from runtime.web.i18n import gettext

bp = Blueprint("roles", __name__, url_prefix="/roles")


def _app(app_key: str) -> Any:
    if app_key not in services().records.app_keys():
        abort(404)
    require_manager(app_key)
    return services().records.app(app_key)


def _role(app_key: str, role_id: int) -> RoleInfo:
    role = org().get_role(role_id)
    if role.app not in (None, app_key):
        abort(404)
    return role


@bp.get("")
@page
def apps() -> Response:
    if not may_administer():
        abort(403)
    principal = identity().principal
    keys = [key for key in services().records.app_keys() if principal.manages(key)]
    if len(keys) == 1:
        return redirect(url_for("admin.roles.roles", app_key=keys[0]))  # type: ignore[return-value]
    return render("admin/role_apps.html", apps=[services().records.app(key) for key in keys])


@bp.get("/<app_key>")
@page
def roles(app_key: str) -> Response:
    return _list(app_key)


def _list(app_key: str, *, status: int = 200, values: dict[str, str] | None = None,
          problems: dict[str, list[str]] | None = None, error: str | None = None) -> Response:
    app = _app(app_key)
    found = org().list_roles(app_key)
    holders = {role.id: org().role_holders(role.id) for role in found}
    return render("admin/roles.html", status=status, app=app, app_key=app_key, roles=found, holders=holders,
                  values=values or {}, problems=problems or {}, error=error)


@bp.post("/<app_key>")
@page
def create(app_key: str) -> Response:
    _app(app_key)
    posted = request.form
    values = {key: str(posted.get(key, ""))[:200] for key in ("key", "label_zh", "label_en", "description")}
    try:
        role = org().create_role(values["key"], _label(values), app=app_key,
                                 description=values["description"], actor_id=actor())
    except ValidationError as error:
        problems = field_problems(error)
        if "label" in problems:
            problems["label_zh"] = problems.pop("label")
        return _list(app_key, status=400, values=values, problems=problems, error=message_of(error))
    return redirect(url_for("admin.roles.role", app_key=app_key, role_id=role.id, saved=1), 303)  # type: ignore[return-value]


def _label(values: dict[str, str]) -> dict[str, str] | str:
    zh, en = values["label_zh"].strip(), values["label_en"].strip()
    if not zh and not en:
        # The key names the role until someone gives it a name.
        return values["key"].strip() or "-"
    return {k: v for k, v in (("zh", zh), ("en", en)) if v}


@bp.get("/<app_key>/<int:role_id>")
@page
def role(app_key: str, role_id: int) -> Response:
    return _show(app_key, role_id)


def _show(app_key: str, role_id: int, *, status: int = 200, rows: Any = None, error: str | None = None,
          problems: dict[str, list[str]] | None = None, values: dict[str, str] | None = None) -> Response:
    app = _app(app_key)
    found = _role(app_key, role_id)
    service = org()
    user_ids, department_ids = service.role_holders(role_id)
    people = {u.id: u for u in service.list_users()}
    index = service.department_index()
    shown = values if values is not None else {
        "label_zh": found.label.zh, "label_en": found.label.en, "description": found.description or ""}
    return render(
        "admin/role.html", status=status, app=app, app_key=app_key, role=found, values=shown,
        rows=rows if rows is not None else grid(app.forms, found.grants), problems=problems or {},
        error=error, actions=ACTIONS, action_text=ACTION_TEXT, scopes=SCOPES, scope_text=SCOPE_TEXT,
        rights=FIELD_RIGHTS, right_text=RIGHT_TEXT, custom=CUSTOM,
        may_edit=identity().principal.manages(found.app),
        holders=sorted((people[u] for u in user_ids if u in people), key=lambda u: u.name),
        held_departments=sorted(((d, index.path(d)) for d in department_ids if d in index.by_id),
                                key=lambda pair: pair[1]),
        people=[u for u in people.values() if u.active and u.id not in user_ids],
        departments=sorted(((d.id, index.path(d.id)) for d in index.by_id.values() if d.id not in department_ids),
                           key=lambda pair: pair[1]))


@bp.post("/<app_key>/<int:role_id>")
@page
def save(app_key: str, role_id: int) -> Response:
    app = _app(app_key)
    before = _role(app_key, role_id)
    posted = request.form
    values = {key: str(posted.get(key, ""))[:200] for key in ("label_zh", "label_en", "description")}
    grants = posted_grants(app.forms, posted, before.grants)
    try:
        with one_change() as service:
            service.update_role(role_id, label=_label({**values, "key": before.key}),
                                description=values["description"], actor_id=actor())
            service.update_role_grants(role_id, grants, actor_id=actor())
    except (ValidationError, PermissionDenied) as error:
        problems = field_problems(error) if isinstance(error, ValidationError) else {}
        return _show(app_key, role_id, status=400 if problems else 403, rows=grid(app.forms, grants),
                     error=message_of(error), problems=problems, values=values)
    services().identities.forget_user()  # what the role allows counts from the next request
    return redirect(url_for("admin.roles.role", app_key=app_key, role_id=role_id, saved=1), 303)  # type: ignore[return-value]


@bp.post("/<app_key>/<int:role_id>/holders")
@page
def holders(app_key: str, role_id: int) -> Response:
    """Give (``give=1``) or take the role from a user (``user_id``) or a department (``department_id``)."""
    _app(app_key)
    _role(app_key, role_id)
    posted = request.form
    give = posted.get("give") == "1"
    user_id, department_id = _number(posted.get("user_id")), _number(posted.get("department_id"))
    if user_id is None and department_id is None:
        return _show(app_key, role_id, status=400, error=gettext("Choose a person or a department."))
    try:
        if user_id is not None:
            (org().assign_role if give else org().unassign_role)(role_id, user_id, actor_id=actor())
        if department_id is not None:
            change = org().assign_role_to_department if give else org().unassign_role_from_department
            change(role_id, department_id, actor_id=actor())
    except PermissionDenied as error:
        return _show(app_key, role_id, status=403, error=message_of(error))
    services().identities.forget_user()
    return redirect(url_for("admin.roles.role", app_key=app_key, role_id=role_id, saved=1) + "#holders", 303)  # type: ignore[return-value]


def _number(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 12 else None


@bp.post("/<app_key>/<int:role_id>/delete")
@page
def delete(app_key: str, role_id: int) -> Response:
    _app(app_key)
    _role(app_key, role_id)
    try:
        org().delete_role(role_id, actor_id=actor())
    except PermissionDenied as error:
        return _show(app_key, role_id, status=403, error=message_of(error))
    services().identities.forget_user()
    return redirect(url_for("admin.roles.roles", app_key=app_key, saved=1), 303)  # type: ignore[return-value]
