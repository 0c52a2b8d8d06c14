"""``menus.yaml`` and ``roles.yaml``: what loads, and every problem the loader
reports in them, by file and JSON path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from package_helpers import APP, dump, forms, write

from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions import format_issues, load_package, validate_package
from engine.definitions.menus import MenuDef, MenuGroup, MenuItem
from engine.definitions.role_files import roles_schema
from engine.fields import FieldType
from engine.org import permissions
from runtime.cli import main
from templates_lib import TEMPLATES

MENUS: dict[str, Any] = {"schema_version": 1, "groups": [
    {"key": "sell", "label": {"zh": "销售", "en": "Sales"}, "icon": "briefcase",
     "items": ["customer", {"form": "quote"}]},
]}
ROLES: dict[str, Any] = {"schema_version": 1, "roles": [
    {"key": "rep", "label": {"zh": "销售", "en": "Rep"}, "description": "Sells.", "grants": {
        "customer": {"actions": ["create", "read", "update"], "read": "own",
                     "fields": {"industry": "readonly", "owner": "readonly"}},
        "product": {"actions": ["read"], "read": "all", "fields": {"price": "hidden"}},
        "quote": {"actions": ["read"], "read": {"filter": {"field": "owner", "op": "is_me"}}},
        "*": {"actions": ["read"], "read": "all"},
    }},
]}


def package(tmp_path: Path, menus: Any = None, roles: Any = None, name: str = "pkg") -> Path:
    root = write(tmp_path / name, APP, forms())
    for file, data in (("menus.yaml", menus), ("roles.yaml", roles)):
        if data is not None:
            (root / file).write_text(data if isinstance(data, str) else dump(data), encoding="utf-8")
    return root


def problems(tmp_path: Path, field_types: Registry[FieldType], **parts: Any) -> list[str]:
    return format_issues(validate_package(package(tmp_path, **parts), field_types)).splitlines()


def test_menus_and_roles_load_into_the_app(tmp_path: Path, field_types: Registry[FieldType]) -> None:
    app = load_package(package(tmp_path, MENUS, ROLES), field_types)
    assert app.menus == MenuDef((MenuGroup("sell", Label("销售", "Sales"),
                                           (MenuItem("form", "customer"), MenuItem("form", "quote")),
                                           "briefcase"),))
    assert MenuDef.from_dict(app.menus.to_dict()) == app.menus
    (rep,) = app.roles
    assert (rep.key, rep.label, rep.description) == ("rep", Label("销售", "Rep"), "Sells.")
    assert rep.grants == ROLES["roles"][0]["grants"]  # stored as written


def test_without_the_files_an_app_has_no_menu_and_no_roles(
    tmp_path: Path, field_types: Registry[FieldType],
) -> None:
    app = load_package(package(tmp_path), field_types)
    assert app.menus is None and app.roles == ()


def test_forms_no_group_lists_go_to_the_other_group(tmp_path: Path, field_types: Registry[FieldType]) -> None:
    app = load_package(package(tmp_path, MENUS), field_types)
    assert app.menus is not None
    groups = app.menus.complete(app.forms)
    assert [(g.key, [i.target for i in g.items]) for g in groups] == [
        ("sell", ["customer", "quote"]), ("other", ["product"])]
    assert groups[-1].label == Label("其他", "Other")
    # A package's own "other" group takes them, where it stands.
    own = {"schema_version": 1, "groups": [
        {"key": "other", "label": "More", "items": []}, *MENUS["groups"]]}
    app = load_package(package(tmp_path, own, name="own"), field_types)
    assert app.menus is not None
    assert [(g.key, [i.target for i in g.items]) for g in app.menus.complete(app.forms)] == [
        ("other", ["product"]), ("sell", ["customer", "quote"])]
    assert [g.key for g in MenuDef().complete(app.forms)] == ["other"]


def test_the_crm_ships_its_menu_and_roles(field_types: Registry[FieldType]) -> None:
    app = load_package(TEMPLATES.get("crm").path, field_types)
    assert app.menus is not None
    groups = app.menus.complete(app.forms)
    assert [g.label.zh for g in groups] == ["报表", "客户", "销售", "服务", "市场", "设置"]  # every form is listed
    assert [i.target for i in groups[0].items] == ["sales", "service", "collections"]
    assert sum(len(g.items) for g in groups[1:]) == len(app.forms) == 15
    assert [r.key for r in app.roles] == [
        "sales", "sales_manager", "sales_director", "service_agent", "service_manager", "finance", "marketing",
        "legal", "general_manager", "management"]
    for role in app.roles:  # grants the permission layer reads as they are
        permissions.parse_role(role.key, role.grants)


def test_the_roles_schema_knows_what_the_permission_layer_knows() -> None:
    grant = roles_schema()["$defs"]["grant"]["properties"]
    assert tuple(grant["actions"]["items"]["enum"]) == permissions.ACTIONS
    assert tuple(grant["fields"]["additionalProperties"]["enum"]) == permissions.FIELD_RIGHTS
    assert tuple(roles_schema()["$defs"]["scope"]["anyOf"][0]["enum"]) == permissions.SCOPES


def group(key: str, *items: Any, **extra: Any) -> dict[str, Any]:
    return {"key": key, "label": key.title(), "items": list(items), **extra}


@pytest.mark.parametrize(("menus", "expected"), [
    ({"schema_version": 1, "groups": [group("a", "custmer")]},
     "menus.yaml: groups[0].items[0]: form 'custmer' does not exist — did you mean 'customer'?"),
    ({"schema_version": 1, "groups": [group("a", {"form": "qoute"})]},
     "menus.yaml: groups[0].items[0].form: form 'qoute' does not exist — did you mean 'quote'?"),
    ({"schema_version": 1, "groups": [group("a", "customer"), group("b", "product", {"form": "customer"})]},
     "menus.yaml: groups[1].items[1].form: form 'customer' is already listed at groups[0].items[0]: "
     "an item belongs to one group"),
    ({"schema_version": 1, "groups": [group("a", "customer"), group("a", "product")]},
     "menus.yaml: groups[1].key: the menu group 'a' is already defined at groups[0]"),
    ({"schema_version": 1, "groups": [group("a", {"report": "sales"})]},
     "menus.yaml: groups[0].items[0]: a menu item is a form key or {kind: key} (kinds: form, dashboard)"),
    ({"schema_version": 1, "groups": [group("a", 7)]},
     "menus.yaml: groups[0].items[0]: a menu item is a form key or {kind: key} (kinds: form, dashboard)"),
    ({"schema_version": 1, "groups": [group("Sales", "customer")]},
     "menus.yaml: groups[0].key: 'Sales' is not a valid key: use lowercase letters, digits and _, "
     "starting with a letter"),
    ({"schema_version": 1, "groups": [group("a", "customer", icon="Big Icon")]},
     "menus.yaml: groups[0].icon: 'Big Icon' is not an icon name: lowercase letters, digits and -"),
    ({"schema_version": 1, "groups": [{"key": "a", "items": []}]},
     "menus.yaml: groups[0]: 'label' is required"),
    ({"schema_version": 2, "groups": []},
     "menus.yaml: schema_version: unsupported schema_version 2: this Qiqiao reads 1"),
    ({"groups": [], "menu": []}, "menus.yaml: menu: unknown key 'menu'"),
    ({"groups": []}, "menus.yaml: 'schema_version' is required"),
])
def test_menu_problems(tmp_path: Path, field_types: Registry[FieldType], menus: Any, expected: str) -> None:
    assert expected in problems(tmp_path, field_types, menus=menus)


def role(grants: dict[str, Any], key: str = "rep") -> dict[str, Any]:
    return {"key": key, "label": "Rep", "grants": grants}


@pytest.mark.parametrize(("roles", "expected"), [
    ([role({"customer": {"actions": ["read", "updte"]}})],
     "roles.yaml: roles[0].grants.customer.actions[1]: unknown action 'updte' — did you mean 'update'?"),
    ([role({"customer": {"actions": ["read"], "read": "everyone"}})],
     "roles.yaml: roles[0].grants.customer.read: unknown data scope 'everyone'"),
    ([role({"customer": {"actions": ["read"], "read": "departments"}})],
     "roles.yaml: roles[0].grants.customer.read: unknown data scope 'departments' — did you mean 'department'?"),
    ([role({"customer": {"actions": ["read"], "fields": {"name": "invisible"}}})],
     "roles.yaml: roles[0].grants.customer.fields.name: unknown field right 'invisible'"),
    ([role({"custmer": {"actions": ["read"]}})],
     "roles.yaml: roles[0].grants.custmer: form 'custmer' does not exist — did you mean 'customer'?"),
    ([role({"product": {"actions": ["read"], "fields": {"prise": "hidden"}}})],
     "roles.yaml: roles[0].grants.product.fields.prise: form 'product' has no field 'prise' "
     "— did you mean 'price'?"),
    ([role({"quote": {"actions": ["read"], "read": {"filter": {"or": [
        {"field": "owner", "op": "is_me"}, {"not": {"field": "custmer.name", "op": "eq", "value": "x"}}]}}}})],
     "roles.yaml: roles[0].grants.quote.read.filter.or[1].not.field: form 'quote' has no field 'custmer' "
     "— did you mean 'customer'?"),
    ([role({}), role({}, key="boss"), role({})],
     "roles.yaml: roles[2].key: the role 'rep' is already defined at roles[0]"),
    ([role({"customer": {"actions": ["read"], "scope": "all"}})],
     "roles.yaml: roles[0].grants.customer.scope: unknown key 'scope'"),
    ([{"key": "rep", "grants": {}}], "roles.yaml: roles[0]: 'label' is required"),
])
def test_role_problems(tmp_path: Path, field_types: Registry[FieldType], roles: Any, expected: str) -> None:
    found = problems(tmp_path, field_types, roles={"schema_version": 1, "roles": roles})
    assert any(line.startswith(expected) for line in found), found


def test_a_grant_keyed_by_something_not_a_form_key(tmp_path: Path, field_types: Registry[FieldType]) -> None:
    found = problems(tmp_path, field_types, roles={"schema_version": 1, "roles": [
        role({"Customer": {"actions": ["read"]}})]})
    assert "roles.yaml: roles[0].grants: 'Customer' is not a form key or *" in found


def test_unreadable_files_and_two_files_of_one_kind(tmp_path: Path, field_types: Registry[FieldType]) -> None:
    root = package(tmp_path, menus="groups: [a", roles=ROLES)
    (root / "roles.json").write_text("{}", encoding="utf-8")
    found = format_issues(validate_package(root, field_types)).splitlines()
    assert any(line.startswith("menus.yaml: line 1: not valid YAML") for line in found), found
    assert "roles.json: a package has one roles file: roles.yaml is already there" in found


def test_an_overlay_checked_alone_may_name_its_base_forms(
    tmp_path: Path, field_types: Registry[FieldType],
) -> None:
    overlay = write(tmp_path / "overlay", {**APP, "key": "shop_plus", "extends": "shop"}, {})
    (overlay / "menus.yaml").write_text(dump({"schema_version": 1, "groups": [group("a", "customer")]}))
    (overlay / "roles.yaml").write_text(dump({"schema_version": 1, "roles": [
        role({"customer": {"actions": ["read"], "fields": {"anything": "hidden"}}})]}))
    assert validate_package(overlay, field_types) == []


def test_app_validate_reports_menu_and_role_problems(tmp_path: Path) -> None:
    root = package(tmp_path, {"schema_version": 1, "groups": [group("a", "custmer")]},
                   {"schema_version": 1, "roles": [role({"quote": {"actions": ["raed"]}})]})
    result = CliRunner().invoke(main, ["app", "validate", str(root), "--locale", "en"])
    assert result.exit_code == 1
    assert "menus.yaml: groups[0].items[0]: form 'custmer' does not exist" in result.output
    assert "roles.yaml: roles[0].grants.quote.actions[0]: unknown action 'raed'" in result.output
    assert "2 problem(s)" in result.output
    zh = CliRunner().invoke(main, ["app", "validate", str(root), "--locale", "zh"])
    assert "menus.yaml: groups[0].items[0]: form 'custmer' 不存在" in zh.output
