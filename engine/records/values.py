"""Small conversions the record service needs at its edges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def jsonable(value: Any) -> Any:
    """A value as JSON can hold it (audit diffs, events, API bodies):
    decimals as text (exact), dates in ISO form, mappings and lists recursively."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return str(value)


def same(a: Any, b: Any) -> bool:
    """Equal as stored values: blank is blank, 1.50 equals 1.5."""
    if a in (None, "", [], {}) and b in (None, "", [], {}):
        return True
    return bool(a == b)
