"""Configuration from the environment (``QIQIAO_*``), in one place.

The CLI reads ``database_url`` and ``files_folder``; the web app reads
``app_settings``, a mapping of Flask config keys that ``create_app``'s
``test_config`` then overrides.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_DATABASE = "sqlite:///instance/qiqiao.sqlite3"
MB = 1024 * 1024
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|second|m|min|minute|h|hour|d|day)s?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60,
                 "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def database_url(override: str | None = None) -> str:
    """``--database`` if given, else ``QIQIAO_DATABASE_URL``, else a SQLite file
    under ``instance/`` in the current folder."""
    return override or os.environ.get("QIQIAO_DATABASE_URL") or DEFAULT_DATABASE


def files_folder() -> Path:
    """Where uploaded files are kept (``QIQIAO_FILES``, default ``instance/files``)."""
    return Path(os.environ.get("QIQIAO_FILES", "instance/files"))


def parse_rate(text: str) -> tuple[int, float]:
    """``"5/minute"`` -> ``(5, 60.0)``; also ``10/hour``, ``3/30s``, ``100/day``."""
    match = _RATE.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a rate like 5/minute, 20/hour or 3/30s")
    count, multiple, unit = int(match.group(1)), match.group(2), match.group(3).lower()
    return count, float(int(multiple or 1) * _UNIT_SECONDS[unit])


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def app_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The web app's settings from ``QIQIAO_*`` variables (Flask config keys).

    ==============================  ===========================  =====================
    variable                        config key                   default
    ==============================  ===========================  =====================
    QIQIAO_DATABASE_URL             DATABASE_URL                 instance/qiqiao.sqlite3
    QIQIAO_SECRET_KEY               SECRET_KEY                   generated (dev only)
    QIQIAO_MAX_CONTENT_LENGTH       MAX_CONTENT_LENGTH           16 MB (bytes)
    QIQIAO_LOGIN_RATE               LOGIN_RATE                   5/minute
    QIQIAO_TOKEN_FAIL_RATE          TOKEN_FAIL_RATE              20/minute (refused tokens per address)
    QIQIAO_HOOK_RATE                HOOK_RATE                    60/minute (calls per inbound webhook)
    QIQIAO_FILES                    FILES                        instance/files
    QIQIAO_SECURE                   SECURE                       off (on: Secure cookies, HSTS)
    QIQIAO_SESSION_HOURS            PERMANENT_SESSION_LIFETIME   12 hours
    QIQIAO_PROXIES                  PROXIES                      0 trusted proxies
    QIQIAO_AUTH_CACHE               AUTH_CACHE_SECONDS           5 seconds
    QIQIAO_DEFINITIONS_CHECK        DEFINITIONS_CHECK_SECONDS    2 seconds
    QIQIAO_BULK_LIMIT               BULK_LIMIT                   1000 records
    QIQIAO_IMPORT_STALE             IMPORT_STALE_SECONDS         60 (an import job silent this long died)
    QIQIAO_TIME_ZONE                TIME_ZONE                    Asia/Shanghai (pages; a user may pick their own)
    ==============================  ===========================  =====================
    """
    env = os.environ if environ is None else environ
    secure = _flag(env.get("QIQIAO_SECURE"))
    return {
        "DATABASE_URL": env.get("QIQIAO_DATABASE_URL") or DEFAULT_DATABASE,
        "SECRET_KEY": env.get("QIQIAO_SECRET_KEY") or None,
        "MAX_CONTENT_LENGTH": int(env.get("QIQIAO_MAX_CONTENT_LENGTH") or 16 * MB),
        "LOGIN_RATE": env.get("QIQIAO_LOGIN_RATE") or "5/minute",
        "TOKEN_FAIL_RATE": env.get("QIQIAO_TOKEN_FAIL_RATE") or "20/minute",
        "HOOK_RATE": env.get("QIQIAO_HOOK_RATE") or "60/minute",
        "FILES": env.get("QIQIAO_FILES") or "instance/files",
        "SECURE": secure,
        "SESSION_COOKIE_NAME": "qiqiao_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "PERMANENT_SESSION_LIFETIME": int(float(env.get("QIQIAO_SESSION_HOURS") or 12) * 3600),
        "PROXIES": int(env.get("QIQIAO_PROXIES") or 0),
        "AUTH_CACHE_SECONDS": float(env.get("QIQIAO_AUTH_CACHE") or 5),
        "DEFINITIONS_CHECK_SECONDS": float(env.get("QIQIAO_DEFINITIONS_CHECK") or 2),
        "BULK_LIMIT": int(env.get("QIQIAO_BULK_LIMIT") or 1000),
        "IMPORT_STALE_SECONDS": float(env.get("QIQIAO_IMPORT_STALE") or 60),
        "COUNT_CAP": 10_000,
        "TIME_ZONE": env.get("QIQIAO_TIME_ZONE") or "Asia/Shanghai",
    }
