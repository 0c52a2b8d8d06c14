"""Error pages: a browser asking for a page gets one in the reader's language,
with the request id to quote, never a traceback; a signed-out reader is sent
to the sign-in page. htmx requests and API clients keep the JSON body (the
page's script shows its message)."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, redirect, request, url_for

from runtime.request_id import request_id
from runtime.web.context import here, is_htmx, render
from runtime.web.i18n import N_

TITLES = {
    400: N_("The request could not be handled"),
    401: N_("Please sign in"),
    403: N_("You do not have access to this"),
    404: N_("This page does not exist"),
    405: N_("This page does not take this request"),
    409: N_("Someone else changed this first"),
    413: N_("The file is too large"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong on our side"),
    503: N_("The server is busy"),
}


def wants_page() -> bool:
    if is_htmx() or request.is_json:
        return False
    accepted = request.accept_mimetypes
    return bool(accepted.accept_html) and accepted["text/html"] >= accepted["application/json"]


def error_page(status: int, body: dict[str, Any], headers: dict[str, str]) -> Response | None:
    if not wants_page():
        return None
    if status == 401 and request.method == "GET":
        return redirect(url_for("auth.login_page", next=here()))  # type: ignore[return-value]
    title = TITLES.get(status, TITLES[500] if status >= 500 else TITLES[400])
    response = render("error.html", status=status, code=status, title=title,
                      message=body.get("message") or "", request_id=request_id())
    for name, value in headers.items():
        response.headers[name] = value
    return response


def register_error_pages(app: Flask) -> None:
    app.extensions["qiqiao.error_page"] = error_page
