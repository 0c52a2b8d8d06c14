"""Query parameters of the JSON endpoints that are not record lists (the
audit log, notifications, todos): whole numbers, moments, and the refusal of
a parameter the endpoint does not know — each a 400 naming the parameter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from flask import request

from engine.core.errors import ValidationError
from engine.core.i18n import Label
from runtime.api.records import MAX_ID


def refuse(name: str, zh: str, en: str) -> ValidationError:
    message = Label(f"参数 {name}：{zh}", f"Parameter {name}: {en}")
    return ValidationError(message, field_errors={name: [message]})


def whole(name: str, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """The query parameter ``name`` as a whole number from ``low`` to ``high``, None when absent."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or not low <= int(raw) <= high:
        raise refuse(name, f"应为 {low} 到 {high} 的整数", f"must be a whole number from {low} to {high}")
    return int(raw)


def moment(name: str) -> dt.datetime | None:
    """The query parameter ``name`` as an ISO 8601 moment with a time zone, None when absent."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        found = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        found = None
    if found is None or found.tzinfo is None:
        raise refuse(name, "应为带时区的 ISO 8601 时间，如 2026-12-01T00:00:00Z",
                     "must be an ISO 8601 moment with a time zone, like 2026-12-01T00:00:00Z")
    return found


def known(allowed: Sequence[str]) -> None:
    """Refuse a query parameter not in ``allowed`` (a typo would otherwise be ignored)."""
    unknown = sorted(k for k in request.args if k not in allowed)
    if unknown:
        raise refuse(unknown[0], f"未知参数（可用：{', '.join(allowed)}）",
                     f"unknown parameter (known: {', '.join(allowed)})")
