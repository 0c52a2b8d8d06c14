"""What every request and response goes through: a request id, security
headers, CSRF tokens for requests a session cookie authenticates, sessions
opened only when there is a cookie, and the client's address.

CSRF: a token is made per session (at login, or by ``GET /auth/csrf``) and
kept in the signed session; a state-changing request that relies on the
session cookie must send it back in the ``X-CSRF-Token`` header or a
``csrf_token`` form field, and must not come from another origin. Bearer
token requests carry no ambient credential, so they need neither.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

from engine.core.i18n import Label
from runtime.errors import CsrfFailed
from runtime.request_id import assign_request_id

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)


def csrf_token() -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_same_origin(*, required: bool = False) -> None:
    """Refuse a state-changing request whose ``Origin`` (or, without one,
    ``Referer``) names another site. Absent both, the CSRF token decides —
    unless ``required``: the sign-in form has no token yet to check."""
    origin = request.headers.get("Origin")
    source = origin if origin is not None else request.headers.get("Referer")
    if not source:
        if required:
            raise CsrfFailed(Label("请求没有说明来源（Origin 或 Referer），已拒绝",
                                   "The request names no origin (Origin or Referer) and was refused"))
        return
    # The host is compared, not the scheme: behind a TLS proxy the app may see http.
    if source == "null" or urlsplit(source).netloc.lower() != request.host.lower():
        raise CsrfFailed(Label("请求来自其他网站，已拒绝", "The request comes from another site and was refused"),
                         details={"origin": source[:200]})


def check_csrf() -> None:
    """Require the session's CSRF token on a state-changing cookie request."""
    if request.method in SAFE_METHODS:
        return
    check_same_origin()
    expected = session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        given = request.form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfFailed(
            Label("缺少或错误的 CSRF 令牌；请先获取 /auth/csrf 并在 X-CSRF-Token 头中发送",
                  "Missing or wrong CSRF token; get one from /auth/csrf and send it in the X-CSRF-Token header"),
        )


def client_ip() -> str | None:
    """The client's address (behind ``PROXIES`` trusted proxies, ProxyFix has set it)."""
    return request.remote_addr


_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
_HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
# Records and tokens are nobody's to keep: no shared or browser cache.
_NO_STORE = ("Cache-Control", "no-store")
_PRIVATE_PATHS = ("/api/", "/auth/")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ResponseHeaders:
    """WSGI middleware, outside Flask: every request gets its id
    (``runtime.request_id``), echoed as ``X-Request-ID``, and every
    response, errors included, the security headers, with ``Cache-Control:
    no-store`` under ``/api/`` and ``/auth/`` and HSTS in secure mode. A
    header the app set itself stays.

    At the WSGI level the headers are plain tuples appended to the list the
    app hands to ``start_response``: no per-header work on each response."""

    def __init__(self, app: WSGIApp, *, secure: bool) -> None:
        self.app = app
        self.headers = (*_HEADERS, _HSTS) if secure else _HEADERS

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request_id = assign_request_id(environ)
        wanted = [*self.headers, ("X-Request-ID", request_id)]
        if environ.get("PATH_INFO", "").startswith(_PRIVATE_PATHS):
            wanted.append(_NO_STORE)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _ in headers}
            headers.extend(header for header in wanted if header[0].lower() not in present)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, opened only when the request carries the
    cookie and saved only when one was sent or the session was used: an API
    client with a bearer token pays nothing for them."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if "HTTP_COOKIE" not in request.environ or self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified and not session.accessed:
            return  # nothing was read, written or brought: no cookie, no Vary
        super().save_session(app, session, response)


def register_security(app: Flask) -> None:
    """Cookie sessions only for requests with the cookie; the request id and
    the security headers around everything else (outermost, so a proxy fix
    or any other middleware inside is covered too)."""
    app.session_interface = CookieSessions()
    app.wsgi_app = ResponseHeaders(app.wsgi_app, secure=bool(app.config.get("SECURE")))  # type: ignore[method-assign]
