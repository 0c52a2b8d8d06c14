"""Where a reader starts: ``/`` (the sign-in page, or their home), the apps
they can use, and an app's home with its menu."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, request, url_for

from runtime.services import current_services
from runtime.web.context import page, page_actor, render, services, signed_in
from runtime.web.display import options_css
from runtime.web.navigation import app_context, visible_apps

bp = Blueprint("home", __name__)


@bp.get("/")
def root() -> Response:
    if signed_in() is None:
        return redirect(url_for("auth.login_page"))  # type: ignore[return-value]
    apps = visible_apps()
    if len(apps) == 1:  # one app (a CRM): straight in
        return redirect(apps[0].url)  # type: ignore[return-value]
    return redirect(url_for("home.apps"))  # type: ignore[return-value]


@bp.get("/a/<app_key>/options.css")
def options_stylesheet(app_key: str) -> Response:
    """The colours of the app's select options (classes ``opt-c-<hex>``)."""
    if app_key not in services().records.app_keys():
        abort(404)
    css, digest = options_css(services().records.app(app_key))
    response = Response(css, mimetype="text/css")
    response.headers["Cache-Control"] = ("public, max-age=31536000, immutable"
                                         if request.args.get("v") == digest else "no-cache")
    return response


def options_css_url(app_key: str) -> str:
    _css, digest = options_css(services().records.app(app_key))
    return f"/a/{app_key}/options.css?v={digest}"


@bp.get("/apps")
@page
def apps() -> Response:
    return render("home/apps.html", apps=visible_apps())


@bp.get("/a/<app_key>")
@page
def app_home(app_key: str) -> Response:
    context = app_context(app_key)
    # A link, not the dashboard itself: the home page opens at once for
    # everyone, and the dashboard's queries run only for who asks for them.
    mine = current_services().reports.default_dashboard(app_key, actor=page_actor(app_key))
    return render("home/app.html", my_dashboard=mine, **context)
