"""How a report's numbers and groups read, in the viewer's language.

A column says what its values are (``ResultColumn.type``, the field type:
money, percent, number ...) and how to write them (``format``: the field's
``currency`` and ``precision``, overridden by the measure's own format:
``{"percent": true, "precision": 1}``). Money reads as the record pages
write it (``engine.core.numbers``); a percent is kept as a fraction (0.15
reads 15%); ``compact`` writes large numbers short for axis labels (1.2万 /
1.2M). A dimension's value reads as the result's label for it (an option, a
person, a bucket of a grain); blank is "—".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.core.numbers import CURRENCY_SYMBOLS, grouped, money_text
from engine.reports.model import OTHERS, ReportResult, ResultColumn

BLANK = "—"
OTHERS_TEXT = {"zh": "其他", "en": "Others"}
DEFAULT_PRECISION = {"money": 2, "percent": 1, "number": 0}


def is_zh(locale: str) -> bool:
    return locale.lower().startswith("zh")


def is_percent(column: ResultColumn) -> bool:
    return bool(column.format.get("percent")) or (column.type == "percent" and column.format.get("percent") is not False)


def precision(column: ResultColumn, value: Decimal | None = None) -> int:
    given = column.format.get("precision")
    if isinstance(given, int) and not isinstance(given, bool):
        return max(0, min(given, 10))
    if is_percent(column):
        return DEFAULT_PRECISION["percent"]
    if column.type == "money":
        return DEFAULT_PRECISION["money"]
    if value is not None and value != value.to_integral_value() and column.role != "dimension":
        return 2  # an average of whole numbers still shows its fraction
    return 0


def decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def compact_number(number: Decimal, locale: str) -> str:
    """``123456`` -> ``12.3万`` / ``123.5K``: short, for axis labels."""
    size = abs(number)
    steps = ((Decimal(10) ** 8, "亿"), (Decimal(10) ** 4, "万")) if is_zh(locale) else (
        (Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "K"))
    for scale, suffix in steps:
        if size >= scale:
            short = (number / scale).quantize(Decimal("0.1"))
            text = f"{short:f}".rstrip("0").rstrip(".")
            return f"{text}{suffix}"
    return grouped(number, 0 if number == number.to_integral_value() else 1)


def format_number(value: Any, column: ResultColumn, locale: str, *, compact: bool = False) -> str:
    """A measure's value as text: money with its currency, a percent, grouped digits."""
    number = decimal(value)
    if number is None:
        return BLANK
    if is_percent(column):
        places = precision(column)
        return f"{grouped(number * 100, places)}%"
    if compact:
        short = compact_number(number, locale)
        if column.type == "money":
            symbol = CURRENCY_SYMBOLS.get(str(column.format.get("currency", "CNY")), "")
            return f"-{symbol}{short[1:]}" if short.startswith("-") else f"{symbol}{short}"
        return short
    places = precision(column, number)
    if column.type == "money":
        return money_text(number, str(column.format.get("currency", "CNY")), places)
    return grouped(number, places)


def format_value(value: Any, column: ResultColumn, locale: str,
                 labels: Mapping[Any, Any] | None = None, *, compact: bool = False) -> str:
    """Any cell of a result as text: a dimension by its label, a measure as a number."""
    if value is None:
        return BLANK
    if value == OTHERS:
        return OTHERS_TEXT["zh" if is_zh(locale) else "en"]
    if column.role == "dimension":
        found = (labels or {}).get(value)
        if found is not None:
            return str(found.text(locale)) if hasattr(found, "text") else str(found)
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, bool):
            return ("是" if value else "否") if is_zh(locale) else ("Yes" if value else "No")
        return str(value)
    return format_number(value, column, locale, compact=compact)


def cell_text(result: ReportResult, column: ResultColumn, value: Any, locale: str, *, compact: bool = False) -> str:
    """``format_value`` with the result's labels for ``column``."""
    return format_value(value, column, locale, result.labels.get(column.key), compact=compact)


def jsonable(value: Any) -> Any:
    """A raw value for JSON (a drill-down point, a chart's value)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def number(value: Any) -> float | None:
    """A measure's value as a float for a chart (None stays a gap)."""
    found = decimal(value)
    return None if found is None else float(found)
