"""What a viewer may navigate to: their apps, and per app the menu groups
with only the items they may open.

Pages call ``navigation`` on every request, so it reads nothing from the
database: the apps come from the record services' cache of published
definitions (``engine.composition.RecordServices``, rebuilt when a
definition changes), and the viewer's rights from their ``AppAccess``
(itself cached by the runtime). For the CRM it takes 30-150 µs
(``tests/packages/test_navigation.py`` keeps it under a millisecond).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.menus import MENU_ITEM_KINDS, CanList, MenuDef, MenuItemKind, MenuScope
from engine.definitions.model import AppDef
from engine.records.access import AppAccess


@dataclass(frozen=True)
class NavItem:
    """An entry the viewer may open: its kind (``form``) and key (the form's)."""

    kind: str
    key: str
    label: Label


@dataclass(frozen=True)
class NavGroup:
    key: str
    label: Label
    icon: str | None
    items: tuple[NavItem, ...]


@dataclass(frozen=True)
class AppNav:
    """One app the viewer may use, with the groups that have something for them."""

    key: str
    label: Label
    icon: str | None
    groups: tuple[NavGroup, ...]


def navigation(
    apps: Iterable[AppDef], access_for: Callable[[str], AppAccess | None],
    kinds: Registry[MenuItemKind] = MENU_ITEM_KINDS,
) -> list[AppNav]:
    """The apps a viewer sees, in the order given, each with its menu groups
    (as ``menus.yaml`` orders them) holding only the items the viewer may
    open — for a form, that they may ``read`` some of its records. A group
    with nothing visible is left out, and so is an app with no group left.

    ``access_for(app_key)`` is the viewer's access in that app (the
    ``AppAccess`` the record service checks; in the web app
    ``Identities.access(user_id, app_key)``); ``None`` means unrestricted
    (the system). An admin, or an owner of the app, sees everything::

        records = services.records
        nav = navigation((records.app(k) for k in records.app_keys()),
                         lambda app: services.identities.access(user_id, app))
    """
    found = []
    for app in apps:
        can_list = _can_list(access_for(app.key))
        scope = MenuScope.of(app)
        groups = []
        for group in (app.menus or MenuDef()).complete(app.forms):
            items = tuple(
                NavItem(item.kind, item.target, kind.title(item, scope))
                for item in group.items
                if (kind := kinds.find(item.kind)) is not None and kind.visible(item, scope, can_list)
            )
            if items:
                groups.append(NavGroup(group.key, group.label, group.icon, items))
        if groups:
            found.append(AppNav(app.key, app.label, app.icon, tuple(groups)))
    return found


def _can_list(access: AppAccess | None) -> CanList:
    if access is None:
        return lambda form: True
    return lambda form: access.rights(form).allows("read")
