"""What the reader can reach: the apps they may use, and each app's menu of
forms, grouped as the package's ``menus.yaml`` says, with only what their
roles let them list (DESIGN §3, §10).

``Menu`` is what the layout draws (the side bar on a desktop, a drawer on a
phone); the views never decide visibility themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import abort, url_for

from engine.core.i18n import Label
from runtime.web.context import identity, services

OTHER = Label("其他", "Other")


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


def visible_apps() -> list[AppEntry]:
    """The installed apps in which the reader may list at least one form."""
    found = []
    for key in services().records.app_keys():
        if app_menu(key):
            app = services().records.app(key)
            found.append(AppEntry(key, app.label, app.description, url_for("home.app_home", app_key=key)))
    return found


def app_menu(app_key: str) -> list[MenuGroup]:
    """The menu of ``app_key`` for the reader: groups with the forms they may list."""
    access = services().identities.access(identity().user_id, app_key)
    app = services().records.app(app_key)
    items = tuple(
        MenuItem(form.key, form.label, form_url(app_key, form.key))
        for form in app.forms if access.rights(form.key).allows("read")
    )
    return [MenuGroup("forms", OTHER, items)] if items else []


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
