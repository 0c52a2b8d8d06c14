"""Roles: keys, grants stored as given, holders, and the audit of every
permission change — on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from engine.core.errors import NotFoundError, PermissionDenied, ValidationError
from engine.core.i18n import Label
from engine.org.permissions import parse_role
from engine.org.service import OrgService
from engine.store.database import Database
from engine.store.models import Role
from tests.org.conftest import audit_rows

GRANTS: dict[str, Any] = {
    "customer": {"actions": ["create", "read", "update"], "read": "department_tree",
                 "write": "own", "fields": {"revenue": "hidden"}},
    "*": {"actions": ["read"], "read": {"filter": {"field": "level", "op": "eq", "value": "a"}}},
}


def test_create_and_read_roles(org: OrgService) -> None:
    sales = org.create_role("sales", {"zh": "销售", "en": "Sales"}, GRANTS, app="crm",
                            description="Front line")
    staff = org.create_role("staff", "员工")
    assert (sales.key, sales.app, sales.ref, sales.label) == (
        "sales", "crm", "crm:sales", Label("销售", "Sales"))
    assert sales.grants == GRANTS and staff.grants == {} and staff.ref == "staff"
    assert org.get_role("crm:sales") == org.get_role("sales") == org.get_role(sales.id) == sales
    assert [r.ref for r in org.list_roles()] == ["staff", "crm:sales"]
    assert [r.ref for r in org.list_roles(app="hr")] == ["staff"]
    # The lead's permission model reads the stored grants as they are.
    assert parse_role(sales.key, sales.grants).for_form("customer") is not None
    with pytest.raises(NotFoundError):
        org.get_role("nobody")


def test_role_keys_are_checked_and_never_ambiguous_within_an_app(org: OrgService) -> None:
    org.create_role("staff", "员工")
    org.create_role("sales", "销售", app="crm")
    org.create_role("sales", "销售", app="erp")  # another app: fine
    for key, app in (("staff", None), ("staff", "crm"), ("sales", None), ("sales", "crm")):
        with pytest.raises(ValidationError) as raised:
            org.create_role(key, "x", app=app)
        assert "key" in raised.value.field_errors
    with pytest.raises(ValidationError) as raised:
        org.create_role("Bad Key", "x", app="Bad App")
    assert set(raised.value.field_errors) == {"key", "app"}
    with pytest.raises(ValidationError) as raised:
        org.get_role("sales")  # two apps have one
    assert "crm:sales" not in str(raised.value) and "app:sales" in str(raised.value)


def test_the_database_refuses_two_roles_of_every_app_with_one_key(
    org: OrgService, database: Database,
) -> None:
    org.create_role("staff", "员工")
    with pytest.raises(sa.exc.IntegrityError), database.transaction() as conn:
        conn.execute(sa.insert(Role), [{"key": "staff", "app": None, "label": {}, "grants": {}}])


def test_grants_must_be_json_objects(org: OrgService) -> None:
    for bad in (["customer"], {"customer": {1, 2}}):
        with pytest.raises(ValidationError) as raised:
            org.create_role("x", "x", bad)  # type: ignore[arg-type]
        assert "grants" in raised.value.field_errors


def test_permission_changes_are_audited_with_who_and_what(
    org: OrgService, database: Database,
) -> None:
    admin = org.create_user("root", "Root", is_admin=True)
    user = org.create_user("zhang", "张三")
    dept = org.create_department("销售部")
    role = org.create_role("sales", "销售", app="crm", actor_id=admin.id)
    org.update_role_grants(role.id, GRANTS, actor_id=admin.id)
    assert org.assign_role("crm:sales", user.id, actor_id=admin.id)
    assert not org.assign_role("crm:sales", user.id, actor_id=admin.id)  # held already
    assert org.assign_role_to_department(role.id, dept.id, actor_id=admin.id)
    assert org.role_holders(role.id) == ({user.id}, {dept.id})
    assert org.unassign_role(role.id, user.id, actor_id=admin.id)
    assert org.unassign_role_from_department(role.id, dept.id, actor_id=admin.id)
    org.delete_role(role.id, actor_id=admin.id)
    entries = audit_rows(database, action="permission_change", form="_roles")
    assert {e["user_id"] for e in entries} == {admin.id}
    assert [e["changes"] for e in entries] == [
        {"role": "crm:sales", "created": True, "grants": {}},
        {"role": "crm:sales", "grants": [{}, GRANTS]},
        {"role": "crm:sales", "user_id": user.id, "assigned": True},
        {"role": "crm:sales", "department_id": dept.id, "assigned": True},
        {"role": "crm:sales", "user_id": user.id, "assigned": False},
        {"role": "crm:sales", "department_id": dept.id, "assigned": False},
        {"role": "crm:sales", "deleted": True, "grants": GRANTS},
    ]


def test_a_plain_user_cannot_grant_themselves_anything(org: OrgService) -> None:
    user = org.create_user("zhang", "张三")
    role = org.create_role("boss", "老板", {"*": {"actions": ["read", "delete"], "read": "all"}})
    dept = org.create_department("销售部")
    attempts = [
        lambda: org.assign_role(role.id, user.id, actor_id=user.id),
        lambda: org.update_role_grants(role.id, {}, actor_id=user.id),
        lambda: org.create_role("mine", "Mine", actor_id=user.id),
        lambda: org.assign_role_to_department(role.id, dept.id, actor_id=user.id),
        lambda: org.set_admin(user.id, True, actor_id=user.id),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    assert org.principal(user.id).roles == frozenset() and not org.get_user(user.id).is_admin


def test_a_deactivated_admin_is_no_admin(org: OrgService) -> None:
    first = org.create_user("root", "Root", is_admin=True)
    second = org.create_user("root2", "Root 2", is_admin=True)
    org.deactivate_user(second.id, actor_id=first.id)
    with pytest.raises(PermissionDenied):
        org.create_role("x", "x", actor_id=second.id)


def test_rename_a_role(org: OrgService) -> None:
    role = org.create_role("sales", "销售")
    renamed = org.update_role("sales", label={"zh": "销售员", "en": "Sales rep"}, description="d")
    assert (renamed.key, renamed.label, renamed.description) == (
        "sales", Label("销售员", "Sales rep"), "d")
    assert renamed.id == role.id
