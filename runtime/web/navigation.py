"""What the reader can reach: the apps they may use, and each app's menu,
grouped as the package's ``menus.yaml`` says, with only what their roles let
them open (``engine.packages.navigation``: no database read, from cached
definitions and the reader's cached access).

``app_context`` is what the layout draws on every page of an app (the side
bar on a desktop, a drawer on a phone); views never decide visibility.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, url_for

from engine.core.i18n import Label
from engine.packages.navigation import AppNav, NavItem, navigation
from runtime.web.context import identity, services


@dataclass(frozen=True)
class MenuItem:
    key: str
    label: Label
    url: str


@dataclass(frozen=True)
class MenuGroup:
    key: str
    label: Label
    items: tuple[MenuItem, ...]


@dataclass(frozen=True)
class AppEntry:
    key: str
    label: Label
    description: Label | None
    url: str


def form_url(app_key: str, form_key: str) -> str:
    """A form's list page."""
    return f"/a/{app_key}/{form_key}"


# Menu item kind -> the page it opens (reports and dashboards add theirs).
ITEM_URLS: dict[str, Callable[[str, NavItem], str]] = {
    "form": lambda app_key, item: form_url(app_key, item.key),
    "dashboard": lambda app_key, item: f"/a/{app_key}/dashboards/{item.key}",
}


def _navigation(app_keys: list[str]) -> list[AppNav]:
    records = services().records
    me = identity().user_id
    return navigation([records.app(k) for k in app_keys],
                      lambda key: services().identities.access(me, key))


def visible_apps() -> list[AppEntry]:
    """The installed apps in which the reader may open something."""
    records = services().records
    return [AppEntry(nav.key, nav.label, records.app(nav.key).description,
                     url_for("home.app_home", app_key=nav.key))
            for nav in _navigation(records.app_keys())]


def app_menu(app_key: str) -> list[MenuGroup]:
    """The menu of ``app_key`` for the reader: groups with what they may open."""
    found = _navigation([app_key])
    if not found:
        return []
    return [MenuGroup(group.key, group.label,
                      tuple(MenuItem(item.key, item.label, ITEM_URLS[item.kind](app_key, item))
                            for item in group.items if item.kind in ITEM_URLS))
            for group in found[0].groups]


def app_context(app_key: str, active_form: str | None = None) -> dict[str, Any]:
    """What the layout needs on every page of an app (its label, its menu, the
    form to highlight); 404 for an app not installed, 403 when nothing of it is
    open to the reader."""
    if app_key not in services().records.app_keys():
        abort(404)
    menu = app_menu(app_key)
    if not menu:
        abort(403)
    return {"app": services().records.app(app_key), "app_key": app_key, "menu": menu,
            "active_form": active_form}
