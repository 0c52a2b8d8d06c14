"""What every page view shares: who is reading, in what language and zone,
and how a page is rendered.

A page view is thin (DESIGN §13): ``@page`` signs the reader in (or sends
them to the sign-in page, coming back afterwards), sets their language and
time zone, and the view calls an engine service with ``page_actor(app)``,
the same ``Actor`` the REST API builds, then renders a template.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import Response, current_app, g, redirect, render_template, request, url_for

from engine.org.errors import AuthenticationError
from engine.records import Actor
from runtime.auth import actor_for, authenticate_request
from runtime.errors import Unauthenticated
from runtime.identity import Identity
from runtime.services import current_services
from runtime.web.assets import Assets
from runtime.web.i18n import LANGUAGES

View = TypeVar("View", bound=Callable[..., Any])


def current_assets() -> Assets:
    return cast(Assets, current_app.extensions["qiqiao.assets"])


def signed_in() -> Identity | None:
    """The reader, or None when the request carries no good session (or token)."""
    try:
        identity = authenticate_request()
    except (Unauthenticated, AuthenticationError):
        return None
    adopt_preferences(identity)
    return identity


def adopt_preferences(identity: Identity) -> None:
    """Show the page in the reader's own language and time zone."""
    principal = identity.principal
    if principal.locale in LANGUAGES:
        g.ui_language = g.locale = principal.locale
    zone = principal.time_zone or str(current_app.config.get("TIME_ZONE") or "Asia/Shanghai")
    try:
        g.ui_zone = zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        g.ui_zone = zoneinfo.ZoneInfo("Asia/Shanghai")


def page(view: View) -> View:
    """A page for signed-in readers; anyone else goes to the sign-in page and comes back."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if signed_in() is None:
            return redirect(url_for("auth.login_page", next=here()))
        return view(*args, **kwargs)

    return cast(View, wrapper)


def here() -> str:
    """The current page as a local path with its query."""
    query = request.query_string.decode("latin-1")
    return request.path + (f"?{query}" if query else "")


def safe_next(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


def page_actor(app_key: str) -> Actor:
    """The ``Actor`` the engine gets for the reader in ``app_key``, as the API makes it."""
    return actor_for(app_key, source="web")


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def render(template: str, status: int = 200, **context: Any) -> Response:
    return respond(render_template(template, **context), status)


# Pages show data the reader may see: never from a shared cache, nor a back
# button after sign-out.
_PAGE_HEADERS = (("Cache-Control", "no-store"), ("Vary", "Cookie"))


def respond(html: str, status: int = 200) -> Response:
    """A page (or a part of one) drawn by the view."""
    return current_app.response_class(html, status, _PAGE_HEADERS)


def identity() -> Identity:
    found = g.get("identity")
    assert isinstance(found, Identity), "only a @page view has a reader"
    return found


def services() -> Any:
    return current_services()
