"""Signing in and out in a browser, and the reader's own settings: password,
language and time zone.

The sign-in form posts to ``POST /auth/login`` (``runtime.auth``: the same
checks and rate limits as the JSON sign-in), which hands a form post to
``login_form`` here: a good sign-in goes on to where the reader was going, a
bad one shows the form again with the reason, the login kept.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, redirect, request, url_for

from engine.core.errors import QiqiaoError, ValidationError
from engine.org.users import KEEP
from runtime.auth import bp as auth_bp
from runtime.auth import credentials, sign_in
from runtime.errors import request_locale, status_of
from runtime.security import check_csrf
from runtime.web.context import identity, page, render, safe_next, services, signed_in
from runtime.web.i18n import LANGUAGE_COOKIE, LANGUAGES, gettext

bp = Blueprint("account", __name__)
ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo",
         "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "UTC")


@auth_bp.get("/login")
def login_page() -> Response:
    if signed_in() is not None:
        return redirect(safe_next(request.args.get("next")), 303)  # type: ignore[return-value]
    return render("auth/login.html", next=safe_next(request.args.get("next"), ""), login="")


def login_form() -> Response:
    """A sign-in form post: on to ``next``, or the form again with what went wrong."""
    target = safe_next(request.form.get("next"))
    try:
        user = sign_in(*credentials())
    except QiqiaoError as error:
        errors = error.field_errors if isinstance(error, ValidationError) else {}
        locale = request_locale()
        response = render("auth/login.html", status=status_of(error), next=target,
                          login=str(request.form.get("login") or "")[:100],
                          error=error.text(locale),
                          field_errors={k: [m.text(locale) for m in v] for k, v in errors.items()})
        for name, value in getattr(error, "headers", {}).items():
            response.headers[name] = value
        return response
    if user.last_login_at is None and user.locale != g.get("ui_language", user.locale):
        # The first sign-in: the account starts in the language the browser asked for.
        services().org.update_user(user.id, locale=g.ui_language, actor_id=user.id)
    return redirect(target, 303)  # type: ignore[return-value]


@auth_bp.post("/language")
def choose_language() -> Response:
    """The sign-in page's language switch (before anyone is signed in): a cookie."""
    language = request.form.get("language")
    response = redirect(safe_next(request.form.get("next"), url_for("auth.login_page")), 303)
    if language in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 24 * 3600, samesite="Lax",
                            httponly=True)
    return response  # type: ignore[return-value]


@bp.get("/account")
@page
def settings() -> Response:
    user = services().org.get_user(identity().user_id)
    return render("account/settings.html", user=user, zones=ZONES, languages=LANGUAGES)


@bp.post("/account/preferences")
@page
def preferences() -> Response:
    """Language and time zone, kept on the account (every device follows)."""
    check_csrf()
    language = request.form.get("language")
    zone = request.form.get("time_zone")
    me = identity().user_id
    try:
        services().org.update_user(
            me, locale=language if language is not None else KEEP,
            time_zone=(zone or None) if zone is not None else KEEP, actor_id=me)
    except ValidationError as error:
        user = services().org.get_user(me)
        return render("account/settings.html", status=400, user=user, zones=ZONES, languages=LANGUAGES,
                      error=error.text(request_locale()))
    services().identities.forget_user(me)
    return redirect(safe_next(request.form.get("next"), url_for("account.settings")), 303)  # type: ignore[return-value]


@bp.post("/account/password")
@page
def change_password() -> Response:
    check_csrf()
    me = identity().user_id
    user = services().org.get_user(me)
    current, new = request.form.get("current_password", ""), request.form.get("new_password", "")
    problems: dict[str, list[str]] = {}
    if new != request.form.get("confirm_password", ""):
        problems["confirm_password"] = [gettext("The two new passwords differ.")]
    else:
        try:
            services().org.change_password(me, current, new)
        except ValidationError as error:
            locale = request_locale()
            problems = {k: [m.text(locale) for m in v] for k, v in error.field_errors.items()}
            if "password" in problems:
                problems["new_password"] = problems.pop("password")
    if problems:
        return render("account/settings.html", status=400, user=user, zones=ZONES, languages=LANGUAGES,
                      password_errors=problems)
    # A new password ends every session, this one too: sign in again with it.
    services().identities.forget_user(me)
    return redirect(url_for("auth.login_page", changed=1), 303)  # type: ignore[return-value]
