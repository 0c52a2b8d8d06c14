"""An app's navigation: ``menus.yaml``, its schema, its checks and its model.

A menu is a list of groups; each group lists items in order. An item is a
small tagged mapping (``{form: customer}``, ``{dashboard: sales}``) or, for
the commonest kind, the bare form key (``customer``). Item kinds are a
registry (``MENU_ITEM_KINDS``): a kind says what its target must be (the
schema of the tag's value), which targets exist in a package (its
``MenuScope``: forms, dashboards, reports), and whether a viewer may see the
item. Pages add their kind here, and nothing else changes.

Forms no group lists are not an error: they go to the group keyed ``other``
(the package's own, when it has one; else an automatic one, 其他 / Other, at
the end), so a form an overlay adds is reachable before its menu names it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from engine.core.i18n import Label, label
from engine.core.registry import Registry
from engine.definitions.issues import DefinitionIssue, did_you_mean, join, json_path
from engine.definitions.model import AppDef, FormDef
from engine.definitions.report_files import DashboardDef, ReportDef
from engine.definitions.serialize import label_to_dict

SCHEMA_FILE = Path(__file__).with_name("schemas") / "menus.base.json"
OTHER_GROUP = "other"
OTHER_LABEL = Label("其他", "Other")

# Asked by navigation, per item: may the viewer list this form's records?
CanList = Callable[[str], bool]


@dataclass(frozen=True)
class MenuItem:
    """One entry of a group: its kind (``form``) and what it points at."""

    kind: str
    target: str

    def to_dict(self) -> str | dict[str, str]:
        return self.target if self.kind == DEFAULT_KIND else {self.kind: self.target}


@dataclass(frozen=True)
class MenuGroup:
    key: str
    label: Label
    items: tuple[MenuItem, ...] = ()
    icon: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "label": label_to_dict(self.label)}
        if self.icon is not None:
            data["icon"] = self.icon
        data["items"] = [item.to_dict() for item in self.items]
        return data


@dataclass(frozen=True)
class MenuDef:
    """The groups of ``menus.yaml`` as written (``complete`` adds unlisted forms)."""

    groups: tuple[MenuGroup, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"schema_version": 1, "groups": [g.to_dict() for g in self.groups]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MenuDef:
        """From a file that passed the schema, or a stored ``menus`` definition."""
        return cls(tuple(
            MenuGroup(key=g["key"], label=label(g.get("label", g["key"])), icon=g.get("icon"),
                      items=tuple(parse_item(i) for i in g.get("items", ())))
            for g in data.get("groups", ())
        ))

    def complete(self, forms: Iterable[FormDef]) -> tuple[MenuGroup, ...]:
        """The groups with every form no group lists appended to the ``other`` group."""
        listed = {i.target for g in self.groups for i in g.items if i.kind == DEFAULT_KIND}
        rest = tuple(MenuItem(DEFAULT_KIND, f.key) for f in forms if f.key not in listed)
        if not rest:
            return self.groups
        if any(g.key == OTHER_GROUP for g in self.groups):
            return tuple(MenuGroup(g.key, g.label, g.items + rest, g.icon) if g.key == OTHER_GROUP else g
                         for g in self.groups)
        return (*self.groups, MenuGroup(OTHER_GROUP, OTHER_LABEL, rest))


@dataclass(frozen=True)
class MenuScope:
    """What a menu's items may point at: a package's (or an app's) forms,
    dashboards and reports, by key."""

    forms: Mapping[str, FormDef]
    dashboards: Mapping[str, DashboardDef] = field(default_factory=dict)
    reports: Mapping[str, ReportDef] = field(default_factory=dict)
    # Keys of dashboards whose files have problems of their own (reported
    # there): a menu naming one is not also told it does not exist.
    broken_dashboards: frozenset[str] = frozenset()

    @classmethod
    def of(cls, app: AppDef) -> MenuScope:
        return cls({f.key: f for f in app.forms}, {d.key: d for d in app.dashboards},
                   {r.key: r for r in app.reports})


class MenuItemKind(Protocol):
    """A kind of menu item: ``key`` is its tag in ``menus.yaml``."""

    key: str

    def targets(self, scope: MenuScope) -> Iterable[str]:
        """What an item of this kind may point at in a package."""

    def visible(self, item: MenuItem, scope: MenuScope, can_list: CanList) -> bool:
        """Whether a viewer sees the item."""

    def title(self, item: MenuItem, scope: MenuScope) -> Label:
        """What the menu shows."""


class FormItem:
    """A form's list page: shown to whoever may read some of its records."""

    key = "form"

    def targets(self, scope: MenuScope) -> Iterable[str]:
        return scope.forms.keys()

    def visible(self, item: MenuItem, scope: MenuScope, can_list: CanList) -> bool:
        return can_list(item.target)

    def title(self, item: MenuItem, scope: MenuScope) -> Label:
        form = scope.forms.get(item.target)
        return form.label if form is not None else Label(item.target, item.target)


class DashboardItem:
    """A dashboard page (``/a/<app>/dashboards/<key>``): shown to whoever
    may read the records of at least one of its reports' forms (the report
    engine shows them only the reports they may read)."""

    key = "dashboard"

    def targets(self, scope: MenuScope) -> Iterable[str]:
        return [*scope.dashboards, *scope.broken_dashboards]

    def visible(self, item: MenuItem, scope: MenuScope, can_list: CanList) -> bool:
        dashboard = scope.dashboards.get(item.target)
        if dashboard is None:
            return False
        reports = (scope.reports.get(i.report) for i in dashboard.items)
        return any(can_list(r.form) for r in reports if r is not None)

    def title(self, item: MenuItem, scope: MenuScope) -> Label:
        dashboard = scope.dashboards.get(item.target)
        return dashboard.label if dashboard is not None else Label(item.target, item.target)


DEFAULT_KIND = FormItem.key


def build_menu_item_kinds() -> Registry[MenuItemKind]:
    """Every menu item kind, registered in one place."""
    registry: Registry[MenuItemKind] = Registry("menu item kind")
    registry.register(FormItem())
    registry.register(DashboardItem())
    return registry


MENU_ITEM_KINDS: Registry[MenuItemKind] = build_menu_item_kinds()


def parse_item(raw: str | Mapping[str, str]) -> MenuItem:
    if isinstance(raw, str):
        return MenuItem(DEFAULT_KIND, raw)
    ((kind, target),) = raw.items()
    return MenuItem(kind, target)


@cache
def _base() -> Mapping[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data


def menus_schema(kinds: Registry[MenuItemKind] = MENU_ITEM_KINDS) -> dict[str, Any]:
    """The schema of ``menus.yaml``: the static base, with one item shape per kind."""
    schema = copy.deepcopy(dict(_base()))
    shapes: list[Any] = [{"$ref": "#/$defs/key"}]
    for kind in kinds:
        shapes.append({"type": "object", "required": [kind.key], "additionalProperties": False,
                       "properties": {kind.key: {"$ref": "#/$defs/key"}}})
    schema["$defs"]["item"] = {
        "anyOf": shapes,
        "x-messages": {"anyOf": {
            "zh": "菜单项应为表单键，或 {{类型: 键}}（类型：" + ", ".join(kinds.keys()) + "）",
            "en": "a menu item is a form key or {{kind: key}} (kinds: " + ", ".join(kinds.keys()) + ")",
        }},
    }
    return schema


def check_menus(file: str, raw: Mapping[str, Any], scope: MenuScope, open_world: bool = False,
                kinds: Registry[MenuItemKind] = MENU_ITEM_KINDS) -> list[DefinitionIssue]:
    """What the schema cannot see in a menu that passed it: duplicate group
    keys, items pointing at nothing (unless ``open_world``: an overlay
    checked without its base), and an item listed twice."""
    issues: list[DefinitionIssue] = []
    groups: dict[str, int] = {}
    placed: dict[MenuItem, str] = {}
    for g, group in enumerate(raw.get("groups", ())):
        where = ("groups", g)
        if group["key"] in groups:
            issues.append(DefinitionIssue(file, json_path((*where, "key")), Label(
                f"菜单分组 '{group['key']}' 重复（已在 groups[{groups[group['key']]}]）",
                f"the menu group '{group['key']}' is already defined at groups[{groups[group['key']]}]")))
        groups.setdefault(group["key"], g)
        for i, raw_item in enumerate(group.get("items", ())):
            item = parse_item(raw_item)
            path = json_path((*where, "items", i) if isinstance(raw_item, str)
                             else (*where, "items", i, item.kind))
            kind = kinds.get(item.kind)
            targets = list(kind.targets(scope))
            if item.target not in targets and not open_world:
                issues.append(DefinitionIssue(file, path, join(Label(
                    f"{item.kind} '{item.target}' 不存在", f"{item.kind} '{item.target}' does not exist"),
                    did_you_mean(item.target, targets))))
            elif item in placed:
                issues.append(DefinitionIssue(file, path, Label(
                    f"{item.kind} '{item.target}' 已在 {placed[item]} 中列出：一项只能在一个分组里",
                    f"{item.kind} '{item.target}' is already listed at {placed[item]}: "
                    "an item belongs to one group")))
            else:
                placed[item] = json_path((*where, "items", i))
    return issues
