"""Errors as HTTP responses, in one place (STYLE: "mapped to HTTP in one place").

Every error a request can meet — an engine error, a refusal of the runtime
(bad JSON, wrong content type, too many logins), an HTTP error of Werkzeug
(unknown URL, wrong method, body too large) or a bug — becomes the same JSON
body ``{"error": {"code", "message", "details"}}``, with the message in the
request's language (``Accept-Language``: zh or en, zh by default). A bug is
logged with the request id and answered with that id only: no traceback,
no exception text, ever leaves the server.
"""

from __future__ import annotations

import decimal
import functools
import logging
from collections.abc import Callable
from typing import Any, cast

import sqlalchemy as sa
from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from engine.core.errors import (
    BusyError,
    ConflictError,
    DefinitionError,
    NotFoundError,
    PermissionDenied,
    QiqiaoError,
    RegistryError,
    ValidationError,
)
from engine.core.i18n import Label
from engine.org.errors import AuthenticationError
from engine.store.contention import as_busy
from engine.store.database import Database
from runtime.request_id import request_id

log = logging.getLogger("qiqiao.runtime")

LOCALES = ("zh", "en")


class HttpError(QiqiaoError):
    """A refusal by the runtime itself, with its HTTP status."""

    status = 400
    headers: dict[str, str] | None = None


class InvalidJSON(HttpError):
    """The body is not JSON at all."""

    code = "invalid_json"
    status = 400


class Unprocessable(HttpError):
    """Well-formed JSON that cannot be what the endpoint takes (a list where
    an object is needed, a string where a number is)."""

    code = "unprocessable"
    status = 422


class UnsupportedMediaType(HttpError):
    code = "unsupported_media_type"
    status = 415


class RateLimited(HttpError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: Label, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.headers = {"Retry-After": str(retry_after)}


class CsrfFailed(HttpError):
    code = "csrf_failed"
    status = 403


class Unauthenticated(HttpError):
    """No credentials, or credentials that are not (or no longer) good."""

    code = "unauthenticated"
    status = 401


# The status of each engine error family; a subclass takes its nearest
# ancestor's (runtime errors carry their own ``status``).
STATUS_OF: dict[type[QiqiaoError], int] = {
    AuthenticationError: 401,
    PermissionDenied: 403,
    NotFoundError: 404,
    ConflictError: 409,
    ValidationError: 400,
    DefinitionError: 400,
    RegistryError: 400,
    BusyError: 503,
}


def status_of(error: QiqiaoError) -> int:
    """The HTTP status of an engine or runtime error (400 for any other)."""
    if isinstance(error, HttpError):
        return error.status
    for family in type(error).__mro__:
        if family in STATUS_OF:
            return STATUS_OF[family]
    return 400


def request_locale() -> str:
    """zh or en, from ``Accept-Language`` (by preference), zh when neither is asked for."""
    found = getattr(g, "locale", None)
    if found is None:
        found = "zh"
        for value, _quality in request.accept_languages:  # sorted best first
            primary = value.split("-")[0].split("_")[0].lower()
            if primary in LOCALES:
                found = primary
                break
        g.locale = found
    return str(found)


def error_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    from flask import current_app

    # A browser asking for a page gets a page (runtime.web); API clients get JSON.
    page = current_app.extensions.get("qiqiao.error_page")
    if page is not None and not request.path.startswith("/api/"):
        shown = page(status, body, headers or {})
        if shown is not None:
            return cast(Response, shown)
    response = cast(Response, current_app.json.response({"error": body}))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="qiqiao"')
    return response


def qiqiao_error(error: QiqiaoError) -> Response:
    status = status_of(error)
    headers = error.headers if isinstance(error, HttpError) else None
    if isinstance(error, BusyError):
        headers = {"Retry-After": str(error.retry_after)}
    return error_response(status, error.as_dict(request_locale()), headers)


def database_error(error: sa.exc.DBAPIError) -> Response:
    """A database error: "busy" (SQLite's lock not got in time, a PostgreSQL
    deadlock retried in vain) is a 503 with ``Retry-After``; anything else a bug."""
    busy = as_busy(error)
    if busy is None:
        return server_error(error)
    log.warning("database busy in %s %s (request %s): %s", request.method, request.path, request_id(),
                str(error.orig).splitlines()[0][:300] if error.orig else type(error).__name__)
    return qiqiao_error(busy)


_HTTP = {
    400: ("bad_request", Label("请求无效", "The request is not valid")),
    401: ("unauthenticated", Label("需要登录或令牌", "Sign in or send a token")),
    403: ("permission_denied", Label("没有权限", "Not allowed")),
    404: ("not_found", Label("没有这个地址", "There is nothing at this address")),
    405: ("method_not_allowed", Label("该地址不支持此请求方法", "This address does not take this method")),
    406: ("not_acceptable", Label("无法提供所请求的格式", "The requested format cannot be given")),
    413: ("payload_too_large", Label("请求内容过大", "The request is too large")),
    415: ("unsupported_media_type", Label("不支持的内容类型", "This content type is not accepted")),
    428: ("precondition_required", Label("缺少前置条件", "A precondition is required")),
    429: ("rate_limited", Label("请求过于频繁，请稍后再试", "Too many requests; try again later")),
}


def http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if status >= 500:
        return server_error(error)
    code, message = _HTTP.get(status, ("http_error", Label(str(error.name), str(error.name))))
    details: dict[str, Any] | None = None
    if status == 405:
        allowed = getattr(error, "valid_methods", None)
        details = {"allowed": sorted(allowed)} if allowed else None
    if status == 413:
        from flask import current_app

        details = {"max_bytes": current_app.config.get("MAX_CONTENT_LENGTH")}
    headers = dict(error.get_headers())
    headers.pop("Content-Type", None)
    return error_response(status, {"code": code, "message": message.text(request_locale()),
                                   "details": details}, headers)


def server_error(error: BaseException) -> Response:
    rid = request_id()
    log.error("unhandled error in %s %s (request %s)", request.method, request.path, rid,
              exc_info=error)
    message = Label(f"服务器内部错误，请联系管理员并提供请求编号 {rid}",
                    f"Internal server error; give the administrator the request id {rid}")
    return error_response(500, {"code": "internal_error", "message": message.text(request_locale()),
                                "details": {"request_id": rid}})


def value_out_of_range(error: Exception) -> Response:
    """A number too large for the database (an id beyond its integer range)
    or for decimal arithmetic (a formula over huge inputs) that got past the
    field checks: the client's input, so a 400, not a 500 — but logged with
    its traceback, since a field check should have said so first."""
    log.warning("value out of range in %s %s (request %s): %s", request.method, request.path,
                request_id(), (str(error) or type(error).__name__).splitlines()[0][:300],
                exc_info=error)
    message = Label("数值超出允许范围", "A value is out of the range the database can hold")
    return error_response(400, {"code": "value_out_of_range", "message": message.text(request_locale()),
                                "details": None})


def retry_transient(app: Flask, database: Database) -> None:
    """Each view is one unit of work: when PostgreSQL breaks a deadlock (or
    a serialization failure) by failing it before anything of it committed,
    it is run again, a bounded number of times, then answered 503 busy
    (``Database.retrying``). Call after every view is registered."""
    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = _retrying(view, database)


def _retrying(view: Callable[..., Any], database: Database) -> Callable[..., Any]:
    @functools.wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        attempts = 0

        def attempt() -> Any:
            nonlocal attempts
            attempts += 1
            if attempts > 1:  # an upload read by the failed attempt is read again from its start
                for upload in request.files.values():
                    if upload.stream.seekable():
                        upload.stream.seek(0)
            return view(*args, **kwargs)

        return database.retrying(attempt)

    return run


def register_error_handlers(app: Flask) -> None:
    """One handler per family: engine and runtime errors, HTTP errors, values
    the database refuses, anything else."""
    app.register_error_handler(QiqiaoError, qiqiao_error)
    app.register_error_handler(sa.exc.DBAPIError, database_error)
    app.register_error_handler(sa.exc.DataError, value_out_of_range)
    app.register_error_handler(OverflowError, value_out_of_range)
    app.register_error_handler(decimal.InvalidOperation, value_out_of_range)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, server_error)
