"""JSON in and out of the API.

Out: compact UTF-8 JSON in the order the engine gives (no key sorting),
decimals as strings and moments in ISO 8601 — the field types' JSON form.
In: ``json_body`` reads a request body that must be a JSON object, with
numbers that have a fraction read as ``Decimal`` (``0.1`` stays 0.1, not a
binary float) and ``NaN``/``Infinity`` refused.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
from flask import Response, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.datastructures import Headers

from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.fields.base import plain_json
from runtime.errors import InvalidJSON, Unprocessable, UnsupportedMediaType

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment


def _moment(value: dt.datetime) -> str:
    if value.tzinfo is dt.UTC:
        return value.replace(tzinfo=None).isoformat() + "Z"
    return str(plain_json(value))


_BY_TYPE: dict[type, Callable[[Any], Any]] = {
    Decimal: lambda value: format(value, "f"),
    dt.datetime: _moment,
    dt.date: dt.date.isoformat,
    dt.time: dt.time.isoformat,
}


def json_default(value: Any) -> Any:
    """The JSON form of a value JSON has no type for (the encoder's ``default``):
    the same as ``plain_json``, by a dictionary lookup for the common types."""
    convert = _BY_TYPE.get(type(value))
    if convert is not None:
        return convert(value)
    converted = plain_json(value)
    if converted is value:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    return converted


# orjson writes what the standard library would (moments with "Z", dates and
# times in ISO 8601, decimals through ``json_default``), several times faster;
# what it cannot (an integer beyond 64 bits) falls back to the standard library.
_ORJSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def dump_bytes(data: Any) -> bytes:
    """``data`` as compact UTF-8 JSON."""
    try:
        return orjson.dumps(data, default=json_default, option=_ORJSON_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        text = json.dumps(data, default=json_default, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:
        # A lone surrogate has no UTF-8: escaped, it is still valid JSON (and an
        # error message echoing a client's bad input must not itself fail).
        return json.dumps(data, default=json_default, separators=(",", ":")).encode()


class QiqiaoJSONProvider(DefaultJSONProvider):
    """Flask's provider with the API's conventions."""

    sort_keys = False
    ensure_ascii = False
    default = staticmethod(json_default)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs:
            return super().dumps(obj, **kwargs)
        return dump_bytes(obj).decode("utf-8")

    def response(self, *args: Any, **kwargs: Any) -> Response:
        return json_response(self._prepare_response_obj(args, kwargs))


class JSONResponse(Response):
    """A JSON body, complete (its length known), with headers the API set itself.

    The body goes to the server as the list it is (``direct_passthrough``),
    not through an encoding generator: nothing is left to encode or close."""

    def __init__(self, body: bytes, status: int, headers: Mapping[str, str] | None) -> None:
        super().__init__(body, status=status, headers=headers, content_type="application/json",
                         direct_passthrough=True)

    def get_wsgi_headers(self, environ: WSGIEnvironment) -> Headers:
        # Werkzeug copies the headers to turn IRIs in Location into URIs and
        # to fix lengths for bodiless statuses; a response with an ASCII
        # Location and a body needs neither, and is sent once.
        location = self.headers.get("Location")
        if (location is None or location.isascii()) and "Content-Location" not in self.headers \
                and self.status_code >= 200 and self.status_code not in (204, 304):
            return self.headers
        return super().get_wsgi_headers(environ)


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """``data`` as an ``application/json`` response (what every endpoint answers)."""
    return JSONResponse(dump_bytes(data) + b"\n", status, headers)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


# One decoder for every request (``json.loads`` with options builds a new one each call).
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant)
# Python refuses to read an integer of more than 4,300 digits, which would make
# a whole body "not JSON"; a body that fails is read again with such integers
# as Decimals, so the field that holds one says what is wrong with it.
_BIG_INTS = json.JSONDecoder(parse_float=Decimal, parse_constant=_refuse_constant,
                             parse_int=lambda text: int(text) if len(text) < 4000 else Decimal(text))


def parse_json(raw: bytes | str, where: str = "") -> Any:
    """JSON text as data (decimals exact); InvalidJSON when it is not JSON.
    Bytes may be UTF-8 (with or without a BOM), UTF-16 or UTF-32, as ``json.loads`` takes them.
    A string holding a lone surrogate (``"x\\ud800"``: no character, and no
    UTF-8 for the database) is a ``ValidationError`` at its path (under
    ``where``: the parameter the JSON came in, if any)."""
    try:
        text = raw if isinstance(raw, str) else raw.decode(json.detect_encoding(raw), "surrogatepass")
        try:
            data = _DECODER.decode(text)
        except ValueError:
            data = _BIG_INTS.decode(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidJSON(
            Label("请求内容不是有效的 JSON", "The request body is not valid JSON"),
            details={"reason": str(exc)[:200]},
        ) from None
    if _MAYBE_SURROGATE.search(text):  # rare: the walk costs nothing on ordinary input
        path = _surrogate_path(data, where)
        if path is not None:
            raise ValidationError(LONE_SURROGATE, field_errors={path or "$": [LONE_SURROGATE]})
    return data


LONE_SURROGATE = Label("文本含有无效的 Unicode 字符（单独的代理项，如 \\ud800）",
                       "The text holds an invalid Unicode character (a lone surrogate such as \\ud800)")
# A surrogate escape or character in the text; a pair of them is one valid character.
_MAYBE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]|[\ud800-\udfff]")
_LONE = re.compile(r"[\ud800-\udfff]")


def _surrogate_path(data: Any, path: str) -> str | None:
    """The path (``items[0].name``) of the first string or key with a lone surrogate, if any."""
    if isinstance(data, str):
        return path if _LONE.search(data) else None
    if isinstance(data, dict):
        for key, value in data.items():
            inner = f"{path}.{key}" if path else str(key)
            if _LONE.search(key):
                return inner.encode("utf-8", "backslashreplace").decode()
            found = _surrogate_path(value, inner)
            if found is not None:
                return found
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found = _surrogate_path(value, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def is_json_request() -> bool:
    mimetype = request.mimetype or ""
    return mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json"))


def json_body() -> dict[str, Any]:
    """The request body as a JSON object: 415 for another content type, 400
    for text that is not JSON, 422 for JSON that is not an object, 413 (from
    Werkzeug) for a body over ``MAX_CONTENT_LENGTH``."""
    if not is_json_request():
        raise UnsupportedMediaType(
            Label("请求内容应为 application/json", "The request body must be application/json"),
            details={"content_type": request.mimetype or None},
        )
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise InvalidJSON(Label("请求内容为空", "The request body is empty"))
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise Unprocessable(
            Label("请求内容应为 JSON 对象", "The request body must be a JSON object"),
            details={"type": type(data).__name__},
        )
    return data
