"""Installing and upgrading a package's roles and menu, on both databases."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.core.errors import NotFoundError, ValidationError
from engine.core.i18n import Label
from engine.definitions import PackageError
from engine.fields import FIELD_TYPES
from engine.org.service import OrgService
from engine.packages import install_package, installed_app, installed_apps
from engine.packages.parts import upgrade_parts
from engine.store.database import Database
from engine.store.models import Definition
from tests.definitions.package_helpers import APP, dump, forms, write

DEFINITIONS = Definition.__table__
MENUS: dict[str, Any] = {"schema_version": 1, "groups": [
    {"key": "sell", "label": {"zh": "销售", "en": "Sales"}, "items": ["quote", "customer"]}]}
ROLES: dict[str, Any] = {"schema_version": 1, "roles": [
    {"key": "rep", "label": {"zh": "销售", "en": "Rep"}, "grants": {
        "customer": {"actions": ["create", "read", "update"], "read": "own"},
        "product": {"actions": ["read"], "read": "all", "fields": {"price": "hidden"}}}},
    {"key": "viewer", "label": "Viewer", "description": "Reads everything.",
     "grants": {"*": {"actions": ["read"], "read": "all"}}},
]}


def shop(root: Path, menus: Any = MENUS, roles: Any = ROLES) -> Path:
    write(root, APP, forms())
    for name, data in (("menus.yaml", menus), ("roles.yaml", roles)):
        if data is None:
            (root / name).unlink(missing_ok=True)
        else:
            (root / name).write_text(dump(data), encoding="utf-8")
    return root


def definitions(database: Database, kind: str) -> list[tuple[int, Any]]:
    with database.reading() as conn:
        return [(r.version, r.body) for r in conn.execute(
            sa.select(DEFINITIONS.c.version, DEFINITIONS.c.body)
            .where(DEFINITIONS.c.kind == kind).order_by(DEFINITIONS.c.version))]


def test_install_creates_the_roles_and_publishes_the_menu(database: Database, tmp_path: Path) -> None:
    install_package(database, shop(tmp_path / "shop"), FIELD_TYPES)
    org = OrgService(database)
    roles = {r.key: r for r in org.list_roles("shop")}
    assert set(roles) == {"rep", "viewer"} and {r.app for r in roles.values()} == {"shop"}
    assert roles["rep"].label == Label("销售", "Rep")
    assert roles["rep"].grants == ROLES["roles"][0]["grants"]
    assert roles["viewer"].description == "Reads everything."
    app = installed_app(database, "shop")
    assert app.menus is not None
    assert [i.target for i in app.menus.groups[0].items] == ["quote", "customer"]
    assert definitions(database, "menus") == [(1, MENUS)]
    assert definitions(database, "roles")[0][1]["roles"][1]["key"] == "viewer"


def test_a_package_without_menu_or_roles_installs_none(database: Database, tmp_path: Path) -> None:
    install_package(database, shop(tmp_path / "shop", menus=None, roles=None), FIELD_TYPES)
    assert OrgService(database).list_roles("shop") == []
    app = installed_app(database, "shop")
    assert app.menus is not None and app.menus.groups == ()  # every form goes to "other"
    assert [g.key for g in app.menus.complete(app.forms)] == ["other"]


def test_a_role_that_cannot_be_created_undoes_the_whole_install(database: Database, tmp_path: Path) -> None:
    org = OrgService(database)
    org.create_role("viewer", "Viewer of every app")  # an app's role may not reuse its key
    with pytest.raises(ValidationError) as caught:
        install_package(database, shop(tmp_path / "shop"), FIELD_TYPES)
    assert "roles.yaml, role viewer" in caught.value.message.en
    assert installed_apps(database) == []
    assert definitions(database, "form") == [] and definitions(database, "menus") == []
    assert [r.key for r in org.list_roles()] == ["viewer"]
    with database.reading() as conn:
        assert not sa.inspect(conn).has_table("shop_customer")


def test_upgrade_adds_and_updates_roles_and_keeps_who_holds_them(database: Database, tmp_path: Path) -> None:
    root = shop(tmp_path / "shop")
    install_package(database, root, FIELD_TYPES)
    org = OrgService(database)
    ann = org.create_user("ann", "Ann")
    team = org.create_department("Team")
    org.assign_role("shop:rep", ann.id)
    org.assign_role_to_department("shop:viewer", team.id)

    roles = copy.deepcopy(ROLES)
    roles["roles"][0]["grants"]["quote"] = {"actions": ["read", "create"], "read": "own"}
    roles["roles"][0]["label"] = {"zh": "销售代表", "en": "Sales rep"}
    roles["roles"].append({"key": "boss", "label": "Boss", "grants": {"*": {"actions": ["read", "update"]}}})
    menus = {"schema_version": 1, "groups": [*MENUS["groups"], {"key": "stock", "label": "Stock",
                                                               "items": ["product"]}]}
    report = upgrade_parts(database, shop(root, menus, roles), FIELD_TYPES)

    assert (report.roles_added, report.roles_updated, report.roles_kept) == (["boss"], ["rep"], [])
    assert report.menus_published
    rep = org.get_role("shop:rep")
    assert rep.label == Label("销售代表", "Sales rep") and "quote" in rep.grants
    assert org.role_holders("shop:rep") == ({ann.id}, set())  # memberships stay
    assert org.role_holders("shop:viewer") == (set(), {team.id})
    assert org.get_role("shop:boss").grants == {"*": {"actions": ["read", "update"]}}
    assert [v for v, _ in definitions(database, "menus")] == [1, 2]
    assert [g.key for g in installed_app(database, "shop").menus.groups] == ["sell", "stock"]  # type: ignore[union-attr]

    again = upgrade_parts(database, root, FIELD_TYPES)  # nothing changed: nothing written
    assert not again.menus_published and again.roles_added == again.roles_updated == []
    assert [v for v, _ in definitions(database, "menus")] == [1, 2]


def test_upgrade_keeps_a_role_the_customer_changed(database: Database, tmp_path: Path) -> None:
    root = shop(tmp_path / "shop")
    install_package(database, root, FIELD_TYPES)
    org = OrgService(database)
    theirs = {"customer": {"actions": ["read"], "read": "all"}}
    org.update_role_grants("shop:rep", theirs)
    roles = copy.deepcopy(ROLES)
    roles["roles"][0]["grants"]["customer"]["actions"].append("delete")
    del roles["roles"][1]  # no longer shipped: stays
    report = upgrade_parts(database, shop(root, roles=roles), FIELD_TYPES)
    assert report.roles_kept == ["rep"] and report.roles_updated == []
    assert report.roles_not_shipped == ["viewer"]
    assert org.get_role("shop:rep").grants == theirs
    assert org.get_role("shop:viewer").key == "viewer"


def test_upgrade_refuses_a_bad_package_or_an_app_not_installed(database: Database, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        upgrade_parts(database, shop(tmp_path / "shop"), FIELD_TYPES)
    root = shop(tmp_path / "bad", roles={"schema_version": 1, "roles": [
        {"key": "rep", "label": "Rep", "grants": {"customer": {"actions": ["fly"]}}}]})
    with pytest.raises(PackageError) as caught:
        upgrade_parts(database, root, FIELD_TYPES)
    assert "roles.yaml: roles[0].grants.customer.actions[0]: unknown action 'fly'" in str(caught.value)
    shutil.rmtree(root)
