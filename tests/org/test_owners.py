"""App owners manage their app (its roles, its owners) and nothing beyond it;
the installer owns what they install; every change is audited — on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from engine.core.errors import NotFoundError, PermissionDenied
from engine.fields import FIELD_TYPES
from engine.org.service import OrgService
from engine.packages import install_package
from engine.store.database import Database
from engine.store.models import App
from templates_lib.crm import PACKAGE_PATH as CRM
from tests.org.conftest import audit_rows

GRANT = {"customer": {"actions": ["read"], "read": "own"}}


def install_bare_apps(database: Database, *keys: str) -> None:
    with database.transaction() as conn:
        conn.execute(sa.insert(App.__table__), [
            {"key": key, "label": {"zh": key, "en": key}, "version": "1.0", "package": key,
             "package_version": "1.0", "installed_at": dt.datetime(2026, 5, 20, tzinfo=dt.UTC)}
            for key in keys])


@pytest.fixture
def people(org: OrgService, database: Database) -> dict[str, int]:
    install_bare_apps(database, "crm", "hr")
    return {login: org.create_user(login, login).id for login in ("boss", "ann", "bob")} | {
        "admin": org.create_user("admin", "Admin", is_admin=True).id}


def test_owners_are_added_listed_removed_and_audited(org: OrgService, database: Database,
                                                     people: dict[str, int]) -> None:
    admin, ann, bob = people["admin"], people["ann"], people["bob"]
    assert org.add_app_owner("crm", ann, actor_id=admin) is True
    assert org.add_app_owner("crm", ann, actor_id=admin) is False
    assert org.add_app_owner("crm", bob, actor_id=ann) is True  # an owner names another
    assert org.app_owners("crm") == {ann, bob} and org.app_owners("hr") == set()
    assert org.owned_apps(ann) == {"crm"}
    assert org.principal(ann, app="crm").owned_apps == frozenset({"crm"})
    assert org.remove_app_owner("crm", bob, actor_id=ann) is True
    assert org.remove_app_owner("crm", bob, actor_id=ann) is False
    changes = [row["changes"] for row in audit_rows(database, form="_app_owners")]
    assert changes == [{"app": "crm", "user_id": ann, "owner": True},
                       {"app": "crm", "user_id": bob, "owner": True},
                       {"app": "crm", "user_id": bob, "owner": False}]
    assert [row["user_id"] for row in audit_rows(database, form="_app_owners")] == [admin, ann, ann]
    with pytest.raises(NotFoundError, match="not installed"):
        org.add_app_owner("nope", ann)
    with pytest.raises(NotFoundError):
        org.add_app_owner("crm", 9999)


def test_an_owner_manages_the_roles_of_their_app_and_nothing_else(org: OrgService,
                                                                  people: dict[str, int]) -> None:
    admin, ann, bob = people["admin"], people["ann"], people["bob"]
    with pytest.raises(PermissionDenied):  # not yet an owner
        org.create_role("rep", "Rep", GRANT, app="crm", actor_id=ann)
    org.add_app_owner("crm", ann, actor_id=admin)
    with pytest.raises(PermissionDenied):  # a plain user still cannot make themselves an owner
        org.add_app_owner("hr", bob, actor_id=bob)

    rep = org.create_role("rep", "Rep", GRANT, app="crm", actor_id=ann)
    org.update_role_grants(rep.ref, {"customer": {"actions": ["read", "update"], "read": "all"}}, actor_id=ann)
    assert org.assign_role(rep.ref, bob, actor_id=ann) and org.assign_role(rep.ref, ann, actor_id=ann)
    assert org.unassign_role(rep.ref, bob, actor_id=ann)
    org.delete_role(rep.ref, actor_id=ann)

    with pytest.raises(PermissionDenied, match="admin"):  # roles of every app stay with admins
        org.create_role("everyone", "Everyone", GRANT, actor_id=ann)
    with pytest.raises(PermissionDenied, match="hr"):
        org.create_role("clerk", "Clerk", GRANT, app="hr", actor_id=ann)
    hr_role = org.create_role("clerk", "Clerk", GRANT, app="hr", actor_id=admin)
    with pytest.raises(PermissionDenied):
        org.assign_role(hr_role.ref, ann, actor_id=ann)
    with pytest.raises(PermissionDenied):
        org.add_app_owner("hr", ann, actor_id=ann)
    with pytest.raises(PermissionDenied):
        org.set_admin(ann, True, actor_id=ann)

    org.deactivate_user(ann, actor_id=admin)
    with pytest.raises(PermissionDenied):  # a deactivated owner manages nothing
        org.create_role("rep2", "Rep", GRANT, app="crm", actor_id=ann)


def test_the_installer_owns_the_app(database: Database, org: OrgService) -> None:
    maker = org.create_user("maker", "Maker").id
    install_package(database, CRM, FIELD_TYPES, package="crm", user_id=maker)
    assert org.app_owners("crm") == {maker}
    principal = org.principal(maker, app="crm")
    assert principal.manages("crm") and not principal.manages("hr") and not principal.is_admin
