"""Departments (``/admin/departments``): the tree with heads and member
counts, create, rename, move, set the head (a searching member picker),
members in and out, delete when empty (the service refuses otherwise and
its message is shown). Admins only (the service checks too).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, redirect, request, url_for

from engine.core.errors import ConflictError, ValidationError
from engine.org.departments import DepartmentIndex
from engine.org.model import DepartmentInfo
from runtime.web.admin_common import (
    actor,
    field_problems,
    message_of,
    one_change,
    org,
    require_admin,
)
from runtime.web.context import page, render, services
from runtime.web.i18n import gettext

bp = Blueprint("departments", __name__, url_prefix="/departments")


def _parent(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 12 else None


def _tree_context() -> dict[str, Any]:
    service = org()
    index = service.department_index()
    counts: dict[int, int] = {}
    for department_ids in service.departments_by_user().values():
        for department_id in department_ids:
            counts[department_id] = counts.get(department_id, 0) + 1
    people = {u.id: u for u in service.list_users()}
    return {"index": index, "roots": index.children(None), "counts": counts, "people": people,
            "paths": _paths(index)}


def _paths(index: DepartmentIndex) -> list[tuple[DepartmentInfo, str]]:
    return sorted(((d, index.path(d.id)) for d in index.by_id.values()), key=lambda pair: pair[1])


@bp.get("")
@page
def tree() -> Response:
    require_admin()
    return render("admin/departments.html", values={}, problems={}, **_tree_context())


@bp.post("")
@page
def create() -> Response:
    require_admin()
    name, parent = request.form.get("name", ""), _parent(request.form.get("parent_id"))
    try:
        created = org().create_department(name, parent, actor_id=actor())
    except ValidationError as error:
        return render("admin/departments.html", status=400, values={"name": name[:200], "parent_id": parent},
                      problems=field_problems(error), error=message_of(error), **_tree_context())
    return redirect(url_for("admin.departments.department", department_id=created.id, saved=1), 303)  # type: ignore[return-value]


@bp.get("/<int:department_id>")
@page
def department(department_id: int) -> Response:
    require_admin()
    return _show(department_id)


def _show(department_id: int, *, status: int = 200, values: dict[str, Any] | None = None,
          problems: dict[str, list[str]] | None = None, error: str | None = None,
          notice: str | None = None) -> Response:
    service = org()
    current = service.get_department(department_id)
    index = service.department_index()
    below = index.subtree_ids([department_id])
    people = {u.id: u for u in service.list_users()}
    members = [(m, people[m.user_id]) for m in service.members(department_id) if m.user_id in people]
    shown = values if values is not None else {
        "name": current.name, "code": current.code or "", "parent_id": current.parent_id,
        "head_id": current.head_id}
    return render("admin/department.html", status=status, department=current, values=shown,
                  problems=problems or {}, error=error, notice=notice, path=index.path(department_id),
                  parents=[pair for pair in _paths(index) if pair[0].id not in below],
                  members=sorted(members, key=lambda pair: pair[1].name), people=people,
                  active_people=[u for u in people.values() if u.active])


@bp.post("/<int:department_id>")
@page
def update(department_id: int) -> Response:
    require_admin()
    posted = request.form
    name, code = posted.get("name", "")[:200], posted.get("code", "")[:200]
    parent_id, head_id = _parent(posted.get("parent_id")), _parent(posted.get("head_id"))
    values = {"name": name, "code": code, "parent_id": parent_id, "head_id": head_id}
    try:
        with one_change() as service:
            service.update_department(department_id, name=name, code=code or None, actor_id=actor())
            if service.get_department(department_id).parent_id != parent_id:
                service.move_department(department_id, parent_id, actor_id=actor())
            service.set_head(department_id, head_id, actor_id=actor())
    except ValidationError as error:
        return _show(department_id, status=400, values=values, problems=field_problems(error),
                     error=message_of(error))
    # Heads see their department's records: everyone's principal may have changed.
    services().identities.forget_user()
    return redirect(url_for("admin.departments.department", department_id=department_id, saved=1), 303)  # type: ignore[return-value]


@bp.post("/<int:department_id>/members")
@page
def add_member(department_id: int) -> Response:
    require_admin()
    user_id = _parent(request.form.get("user_id"))
    if user_id is None:
        message = gettext("Choose a person to add.")
        return _show(department_id, status=400, problems={"user_id": [message]}, error=message)
    try:
        org().add_member(user_id, department_id, position=request.form.get("position"), actor_id=actor())
    except ValidationError as error:
        return _show(department_id, status=400, problems=field_problems(error), error=message_of(error))
    services().identities.forget_user()
    return redirect(url_for("admin.departments.department", department_id=department_id, saved=1), 303)  # type: ignore[return-value]


@bp.post("/<int:department_id>/members/<int:user_id>/remove")
@page
def remove_member(department_id: int, user_id: int) -> Response:
    require_admin()
    org().remove_member(user_id, department_id, actor_id=actor())
    services().identities.forget_user()
    return redirect(url_for("admin.departments.department", department_id=department_id, saved=1), 303)  # type: ignore[return-value]


@bp.post("/<int:department_id>/delete")
@page
def delete(department_id: int) -> Response:
    require_admin()
    try:
        org().delete_department(department_id, actor_id=actor())
    except ConflictError as error:  # sub-departments or members left
        return _show(department_id, status=409, error=message_of(error))
    return redirect(url_for("admin.departments.tree", saved=1), 303)  # type: ignore[return-value]
