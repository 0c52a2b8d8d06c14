"""Every request's id: echoed as ``X-Request-ID``, written to the audit log
and to the log of a failure. A client may bring its own (8-64 letters,
digits and dashes) to follow a call through its own logs; otherwise one is
made. ``runtime.security.ResponseHeaders`` assigns it, in the WSGI environ,
before Flask sees the request."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import request

REQUEST_ID = "qiqiao.request_id"  # the WSGI environ key


def assign_request_id(environ: dict[str, Any]) -> str:
    """The id of the request ``environ`` describes, kept in it."""
    request_id = environ[REQUEST_ID] = _given(environ) or os.urandom(16).hex()
    return request_id


def _given(environ: Mapping[str, Any]) -> str | None:
    given = environ.get("HTTP_X_REQUEST_ID", "")
    return str(given) if 8 <= len(given) <= 64 and given.replace("-", "").isalnum() else None


def request_id() -> str | None:
    """The current request's id."""
    return request.environ.get(REQUEST_ID)
