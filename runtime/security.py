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
import uuid
from urllib.parse import urlsplit

from flask import Flask, Request, Response, current_app, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from engine.core.i18n import Label
from runtime.errors import CsrfFailed

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


def csrf_token() -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_same_origin() -> None:
    """Refuse a state-changing request whose ``Origin`` (or, without one,
    ``Referer``) names another site. Absent both, the CSRF token decides."""
    origin = request.headers.get("Origin")
    source = origin if origin is not None else request.headers.get("Referer")
    if not source:
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


def start_request() -> None:
    """Give every request an id: echoed as ``X-Request-ID``, written to the audit
    log and to the log of a failure. A client may bring its own (8-64 letters,
    digits and dashes), to follow a call through its own logs."""
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if 8 <= len(given) <= 64 and given.replace("-", "").isalnum() else uuid.uuid4().hex


def finish_response(response: Response) -> Response:
    """The request id and the security headers, on every response (a header
    the view set itself stays)."""
    wanted = list(_HEADERS)
    request_id = g.get("request_id")
    if request_id:
        wanted.append(("X-Request-ID", request_id))
    if current_app.config.get("SECURE"):
        wanted.append(_HSTS)
    if request.path.startswith(("/api/", "/auth/")):
        wanted.append(_NO_STORE)
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}
    # One extend, not a setdefault each: Werkzeug's header lookups are linear.
    headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
    return response


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, opened only when the request carries the
    cookie: an API client with a bearer token pays nothing for them."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def register_security(app: Flask) -> None:
    app.session_interface = CookieSessions()
    app.before_request(start_request)
    app.after_request(finish_response)
