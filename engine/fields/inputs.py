"""Reading what people type and what spreadsheets hold: the shared parsers
field types coerce with ("1,234.50", "¥1,200", "15%", "是", "2024/1/5",
an Excel serial day number, ``{"id": 3}``).

Each parser returns the parsed value or raises ``FieldValueError`` with a
message in both languages naming the input.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from engine.core.i18n import Message
from engine.fields.base import FieldValueError

# Currency marks people paste along with amounts.
CURRENCY_MARKS = ("¥", "￥", "$", "€", "£", "HK$", "US$", "RMB", "CNY", "USD", "EUR", "元")
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?([eE][+-]?\d+)?$")
_MAX_DIGITS = 38

NOT_A_NUMBER = Message("“{value}” 不是数字", "\"{value}\" is not a number")
NOT_A_DATE = Message("“{value}” 不是日期（例如 2024-01-31）", "\"{value}\" is not a date (e.g. 2024-01-31)")
NOT_A_DATETIME = Message(
    "“{value}” 不是日期时间（例如 2024-01-31 09:30）",
    "\"{value}\" is not a date and time (e.g. 2024-01-31 09:30)",
)
NOT_A_TIME = Message("“{value}” 不是时间（例如 09:30）", "\"{value}\" is not a time (e.g. 09:30)")
NOT_A_BOOLEAN = Message("“{value}” 不是“是”或“否”", "\"{value}\" is not yes or no")
NOT_AN_ID = Message("“{value}” 不是记录编号", "\"{value}\" is not a record id")


def shorten(value: Any, limit: int = 40) -> str:
    if isinstance(value, int) and value.bit_length() > 4096:
        # Python refuses to write out an int of more than 4,300 digits; a
        # message about one says how long it is instead.
        return f"({int(value.bit_length() * 0.30103) + 1} digits)"
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_blank_input(raw: Any) -> bool:
    """Blank input: None, empty or whitespace-only text, an empty list or mapping."""
    if raw is None:
        return True
    if isinstance(raw, str):
        return raw.strip() == ""
    return isinstance(raw, list | tuple | dict) and len(raw) == 0


def parse_decimal(raw: Any) -> Decimal:
    """A number from input: ints, Decimals, floats (by their shortest repr),
    text with thousands separators, a currency mark, a trailing ``%`` (divided
    by 100) or full-width digits. Booleans are refused: True is not 1 here."""
    if isinstance(raw, bool):
        raise FieldValueError(NOT_A_NUMBER.format(value=raw))
    if isinstance(raw, Decimal):
        number = raw
    elif isinstance(raw, int):
        number = Decimal(raw)
    elif isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise FieldValueError(NOT_A_NUMBER.format(value=raw))
        number = Decimal(repr(raw))
    elif isinstance(raw, str):
        return _parse_number_text(raw)
    else:
        raise FieldValueError(NOT_A_NUMBER.format(value=shorten(raw)))
    if not number.is_finite():
        raise FieldValueError(NOT_A_NUMBER.format(value=raw))
    return number


_PLAIN_NUMBER = re.compile(r"-?\d{1,28}(\.\d{1,28})?")


def _parse_number_text(raw: str) -> Decimal:
    if _PLAIN_NUMBER.fullmatch(raw):  # the common case: "1200.50", "-3"
        return Decimal(raw)
    text = raw.strip().translate(_FULL_WIDTH).replace(" ", "").replace("\u00a0", "")
    negative = False
    if text.startswith("(") and text.endswith(")"):  # accounting negatives: (1,200.00)
        negative, text = True, text[1:-1]
    signs = 0
    for _ in range(2):  # a sign and a currency mark, in either order: -¥5, ¥-5
        if text[:1] in ("-", "+"):
            negative, signs, text = negative != (text[0] == "-"), signs + 1, text[1:]
        for mark in _MARKS_LONGEST_FIRST:
            if text.upper().startswith(mark):
                text = text[len(mark):]
                break
    for mark in _MARKS_LONGEST_FIRST:
        if text.upper().endswith(mark):
            text = text[: -len(mark)]
            break
    percent = text.endswith("%")
    if percent:
        text = text[:-1]
    if signs > 1 or not text or not _NUMBER.match(text) or text in ("+", "-", "."):
        raise FieldValueError(NOT_A_NUMBER.format(value=shorten(raw)))
    try:
        number = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise FieldValueError(NOT_A_NUMBER.format(value=shorten(raw))) from None
    if not number.is_finite() or len(number.as_tuple().digits) > _MAX_DIGITS:
        raise FieldValueError(NOT_A_NUMBER.format(value=shorten(raw)))
    if percent:
        number = number.scaleb(-2)
    return -number if negative else number


_MARKS_LONGEST_FIRST = sorted(CURRENCY_MARKS, key=len, reverse=True)
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．，－＋％", "0123456789.,-+%")


def round_half_up(number: Decimal, places: int) -> Decimal:
    """``number`` rounded to ``places`` decimals, halves away from zero (the way
    people and Excel round money: 2.345 -> 2.35, -2.345 -> -2.35)."""
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


_TRUE_WORDS = frozenset({"是", "对", "真", "有", "√", "✓", "✔", "yes", "y", "true", "t", "1", "on", "checked"})
_FALSE_WORDS = frozenset({"否", "错", "假", "无", "×", "✗", "✘", "no", "n", "false", "f", "0", "off", "unchecked"})


def parse_bool(raw: Any) -> bool:
    """是/否, yes/no, true/false, 1/0, on/off, √/× (case-insensitive)."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | Decimal) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        word = raw.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    raise FieldValueError(NOT_A_BOOLEAN.format(value=shorten(raw)))


_DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_TIME_TEXT = re.compile(r"^(\d{1,2}):(\d{1,2})(?::(\d{1,2}(?:\.\d+)?))?$")
# Excel counts days from 1899-12-30 (its 1900 leap-year bug folded in).
EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(raw: Any) -> dt.date:
    """A date from ``date``/``datetime`` objects, ISO text, ``2024/1/5``,
    ``2024年1月5日`` or an Excel serial day number."""
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        return excel_serial_date(raw)
    if isinstance(raw, str):
        text = raw.strip().translate(_FULL_WIDTH)
        match = _DATE_TEXT.match(text)
        if match:
            try:
                return dt.date(*(int(part) for part in match.groups()))
            except ValueError:
                raise FieldValueError(NOT_A_DATE.format(value=shorten(raw))) from None
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        except ValueError:
            pass
        if re.fullmatch(r"\d{5}(\.\d+)?", text):
            return excel_serial_date(Decimal(text))
    raise FieldValueError(NOT_A_DATE.format(value=shorten(raw)))


def excel_serial_date(serial: Any) -> dt.date:
    number = Decimal(str(serial))
    if not Decimal(1) <= number < Decimal(2958466):  # 9999-12-31
        raise FieldValueError(NOT_A_DATE.format(value=serial))
    return EXCEL_EPOCH + dt.timedelta(days=int(number))


def parse_time(raw: Any) -> dt.time:
    """A time of day from a ``time``/``datetime``, ``09:30``, ``9:30:15``, ``9时30分``
    or an Excel day fraction; seconds are kept, microseconds dropped."""
    if isinstance(raw, dt.datetime):
        return raw.time().replace(microsecond=0, tzinfo=None)
    if isinstance(raw, dt.time):
        return raw.replace(microsecond=0, tzinfo=None)
    if isinstance(raw, float | Decimal) and 0 <= raw < 1:
        seconds = int(round_half_up(Decimal(str(raw)) * 86400, 0))
        return (dt.datetime.min + dt.timedelta(seconds=min(seconds, 86399))).time()
    if isinstance(raw, str):
        text = raw.strip().translate(_FULL_WIDTH)
        text = text.replace("：", ":").replace("时", ":").replace("分", ":").replace("秒", "").rstrip(":")
        match = _TIME_TEXT.match(text)
        if match:
            hour, minute, second = match.groups()
            try:
                return dt.time(int(hour), int(minute), int(Decimal(second or 0)))
            except ValueError:
                pass
        else:
            try:
                return dt.time.fromisoformat(text).replace(microsecond=0, tzinfo=None)
            except ValueError:
                pass
    raise FieldValueError(NOT_A_TIME.format(value=shorten(raw)))


def parse_naive_or_aware_datetime(raw: Any) -> dt.datetime:
    """A date-time as given: aware when the input names an offset, naive otherwise.
    A date alone is midnight; Excel serials (days.fraction) are read too."""
    if isinstance(raw, dt.datetime):
        return raw
    if isinstance(raw, dt.date):
        return dt.datetime(raw.year, raw.month, raw.day)
    if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        number = Decimal(str(raw))
        day = excel_serial_date(number)
        seconds = int(round_half_up((number - int(number)) * 86400, 0))
        return dt.datetime(day.year, day.month, day.day) + dt.timedelta(seconds=seconds)
    if isinstance(raw, str):
        text = raw.strip().translate(_FULL_WIDTH)
        text = re.sub(r"(\d)\s*[/.年]\s*(\d{1,2})\s*[/.月]\s*(\d{1,2})(?:\s*日)?", _iso_date, text)
        text = text.replace("Z", "+00:00").replace("z", "+00:00")
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            pass
    raise FieldValueError(NOT_A_DATETIME.format(value=shorten(raw)))


def _iso_date(match: re.Match[str]) -> str:
    year_end, month, day = match.group(1), int(match.group(2)), int(match.group(3))
    return f"{year_end}-{month:02d}-{day:02d}"


MAX_ID = 2**31 - 1
MAX_ID_DIGITS = 20  # leading zeros allowed; more than this is no id of ours


def _whole(number: Decimal | float) -> bool:
    if isinstance(number, float):
        return number.is_integer()
    return number.is_finite() and number == number.to_integral_value()


def parse_id(raw: Any) -> int:
    """A record id (or user/department id) from ``12``, ``"12"``, ``Decimal("12")``
    or ``{"id": 12}``; ids are positive whole numbers."""
    if isinstance(raw, Mapping) and "id" in raw:
        raw = raw["id"]
    if isinstance(raw, bool):
        raise FieldValueError(NOT_AN_ID.format(value=raw))
    text = raw.strip().lstrip("#").lstrip("0") if isinstance(raw, str) else ""
    if isinstance(raw, int):
        number = raw
    elif isinstance(raw, Decimal | float) and _finite(raw) and -MAX_ID <= raw <= MAX_ID and raw == int(raw):
        number = int(raw)
    elif text.isascii() and text.isdigit() and len(text) <= len(str(MAX_ID)):
        # Only a few digits reach int(): Python refuses to read over 4,300
        # (a ValueError of its own), and no id has more than ten anyway.
        number = int(text)
    else:
        raise FieldValueError(NOT_AN_ID.format(value=shorten(raw)))
    if number <= 0 or number > MAX_ID:  # ids are INTEGER columns on both databases
        raise FieldValueError(NOT_AN_ID.format(value=shorten(raw)))
    return number


def _finite(number: Decimal | float) -> bool:
    return number.is_finite() if isinstance(number, Decimal) else math.isfinite(number)
