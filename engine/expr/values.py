"""Excel's coercion rules: what a value means as a number, text, boolean or date.

Formulas see field values as Python values: ``Decimal`` (and ``int``/``float``
from callers, converted on use), ``str``, ``bool``, ``datetime.date``,
``datetime.datetime``, ``datetime.time``, lists (subform columns, multi-valued
fields), mappings (related records) and ``None`` for blank. The empty string is
blank too: in a form, an empty text field and a missing value are the same.

Numbers are exact: every number is a ``Decimal`` computed in ``NUMERIC``, a
context with Excel's range (about 1e-308 to 1e308), never a binary float.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from engine.expr.errors import ErrorValue, FormulaRuntimeError, fail_num, fail_value
from engine.expr.limits import MAX_LIST_LENGTH, MAX_TEXT_LENGTH

NUMERIC = decimal.Context(
    prec=28,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=308,
    Emin=-308,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
# Excel holds numbers to 15 significant digits: it compares and shows them so.
# Arithmetic here stays exact (28 digits); equality, ordering and display use
# this precision, so 1 / 3 * 3 = 1, as in Excel.
SIGNIFICANT = decimal.Context(prec=15, rounding=decimal.ROUND_HALF_UP, Emax=308, Emin=-308, traps=[])
ZERO = Decimal(0)
ONE = Decimal(1)

_NUMBER_TEXT = re.compile(r"^[+-]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")


def is_blank(value: Any) -> bool:
    """Blank is ``None`` or the empty string (Excel's empty cell)."""
    return value is None or value == ""


def is_error(value: Any) -> bool:
    return isinstance(value, ErrorValue)


def check_error(value: Any) -> None:
    """Propagate an error value met in data (a formula field that failed)."""
    if isinstance(value, ErrorValue):
        raise FormulaRuntimeError(value)


def to_number(value: Any) -> Decimal:
    """A value as a number: blank is 0, TRUE is 1, numeric text is parsed.

    Text that is not a number, dates and lists are ``#VALUE!``.
    """
    kind = type(value)
    if kind is Decimal:
        if not value.is_finite():
            fail_num("不是有效数字", "Not a finite number")
        return value  # type: ignore[no-any-return]
    if kind is int:
        return Decimal(value)
    if kind is bool:
        return ONE if value else ZERO
    if kind is float:
        return float_to_decimal(value)
    if value is None:
        return ZERO
    if kind is str:
        return text_to_number(value)
    check_error(value)
    if isinstance(value, Decimal | int):
        return Decimal(value)
    fail_value(
        f"{describe(value)} 不能当作数字",
        f"{describe(value)} cannot be used as a number",
    )


def float_to_decimal(value: float) -> Decimal:
    """A float as the decimal it was meant to be (``0.1`` -> ``Decimal('0.1')``)."""
    if value != value or value in (float("inf"), float("-inf")):
        fail_num("不是有效数字", "Not a finite number")
    return Decimal(repr(value))


def text_to_number(text: str) -> Decimal:
    """Parse ``"1,234.5"``, ``"-3"``, ``"50%"``, ``"1e3"`` the way Excel's VALUE does."""
    cleaned = text.strip()
    if cleaned == "":
        return ZERO
    if not _NUMBER_TEXT.match(cleaned):
        fail_value(f"文本 “{shorten(text)}” 不是数字", f"Text \"{shorten(text)}\" is not a number")
    percent = cleaned.endswith("%")
    cleaned = cleaned.rstrip("%").replace(",", "")
    try:
        number = NUMERIC.create_decimal(cleaned)
    except decimal.DecimalException:
        fail_num(f"数字 “{shorten(text)}” 超出范围", f"Number \"{shorten(text)}\" is out of range")
    return NUMERIC.divide(number, Decimal(100)) if percent else number


def to_integer(value: Any) -> int:
    """A value as a whole number, truncated toward zero (Excel's argument rule)."""
    return int(to_number(value))


def to_text(value: Any) -> str:
    """A value as text: blank is "", numbers print without needless zeros,
    booleans as TRUE/FALSE, dates in ISO form, lists joined with ", "."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return ""
    if kind is bool:
        return "TRUE" if value else "FALSE"
    if kind is Decimal or kind is int or kind is float:
        return number_text(to_number(value))
    if kind is dt.date:
        return value.isoformat()  # type: ignore[no-any-return]
    if kind is dt.datetime:
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")  # type: ignore[no-any-return]
    if kind is dt.time:
        return value.isoformat(timespec="seconds")  # type: ignore[no-any-return]
    check_error(value)
    if isinstance(value, list | tuple):
        return check_text(", ".join(to_text(item) for item in value))
    if isinstance(value, Mapping):
        return record_title(value)
    return str(value)


def number_text(number: Decimal) -> str:
    """Excel's "General" format for an exact number, to 15 significant digits:
    ``1.50`` -> ``1.5``, ``1E+2`` -> ``100``, ``1 / 3 * 3`` -> ``1``."""
    if number == 0:
        return "0"
    text = format(number.normalize(SIGNIFICANT), "f")
    return "0" if text.lstrip("-") == "0" else text


def significant(number: Any) -> Any:
    """A number as Excel compares it: to 15 significant digits (whole numbers
    as they are: they are exact, and ids must stay distinct)."""
    kind = type(number)
    if kind is Decimal:
        return SIGNIFICANT.plus(number)
    if kind is float:
        return SIGNIFICANT.plus(float_to_decimal(number))
    return number


def record_title(record: Mapping[str, Any]) -> str:
    """The text of a related record: its title, else its name, else its id."""
    for key in ("_title", "title", "name", "id"):
        if not is_blank(record.get(key)):
            return to_text(record.get(key))
    return ""


def to_bool(value: Any) -> bool:
    """A value as a condition: blank is FALSE, numbers are TRUE unless 0,
    text must say TRUE or FALSE (anything else is ``#VALUE!``, as in Excel)."""
    if value is True or value is False:
        return bool(value)
    if value is None or value == "":
        return False
    kind = type(value)
    if kind is Decimal or kind is int or kind is float:
        return bool(value)
    if kind is str:
        word = value.strip().upper()
        if word == "TRUE":
            return True
        if word == "FALSE":
            return False
        fail_value(
            f"文本 “{shorten(value)}” 不能当作条件（应为 TRUE 或 FALSE）",
            f"Text \"{shorten(value)}\" cannot be used as a condition (expected TRUE or FALSE)",
        )
    check_error(value)
    if isinstance(value, dt.date | dt.time):
        return True
    fail_value(f"{describe(value)} 不能当作条件", f"{describe(value)} cannot be used as a condition")


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")


def parse_date_text(text: str) -> dt.date | dt.datetime | None:
    """Read a date or date-time written as text, or None when it is not one."""
    cleaned = text.strip()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(cleaned, fmt).date()
        except ValueError:
            pass
    for fmt in _DATETIME_FORMATS:
        try:
            return dt.datetime.strptime(cleaned, fmt)
        except ValueError:
            pass
    try:
        return dt.datetime.fromisoformat(cleaned)
    except ValueError:
        return None


def to_date(value: Any) -> dt.date:
    """A value as a date (a date-time loses its time). Blank is not a date:
    date functions check ``is_blank`` first and give blank back."""
    kind = type(value)
    if kind is dt.date:
        return value  # type: ignore[no-any-return]
    if kind is dt.datetime:
        return value.date()  # type: ignore[no-any-return]
    if kind is str:
        parsed = parse_date_text(value)
        if parsed is not None:
            return parsed.date() if isinstance(parsed, dt.datetime) else parsed
    check_error(value)
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    fail_value(f"{describe(value)} 不是日期", f"{describe(value)} is not a date")


def to_datetime(value: Any) -> dt.datetime:
    """A value as a date-time; a date is its midnight."""
    kind = type(value)
    if kind is dt.datetime:
        return value  # type: ignore[no-any-return]
    if kind is dt.date:
        return dt.datetime(value.year, value.month, value.day)
    if kind is str:
        parsed = parse_date_text(value)
        if isinstance(parsed, dt.datetime):
            return parsed
        if parsed is not None:
            return dt.datetime(parsed.year, parsed.month, parsed.day)
    check_error(value)
    fail_value(f"{describe(value)} 不是日期时间", f"{describe(value)} is not a date-time")


def flatten(values: Iterable[Any]) -> Iterator[Any]:
    """Arguments with lists spread out, the way Excel spreads ranges."""
    for value in values:
        if isinstance(value, list | tuple):
            yield from flatten(value)
        else:
            yield value


def numbers_in(values: Iterable[Any]) -> list[Decimal]:
    """The numbers among arguments for SUM/AVERAGE/MIN/MAX.

    As in Excel, values inside a list (a range) that are blank, text or
    boolean are skipped; a value given directly is converted (numeric text
    and TRUE count, other text is ``#VALUE!``); blank given directly is skipped.
    """
    result: list[Decimal] = []
    for value in values:
        if isinstance(value, list | tuple):
            for item in flatten(value):
                check_error(item)
                if type(item) in (Decimal, int, float):
                    result.append(to_number(item))
        elif not is_blank(value):
            result.append(to_number(value))
    return result


def check_text(text: str) -> str:
    """Refuse text longer than a cell may hold."""
    if len(text) > MAX_TEXT_LENGTH:
        fail_value(
            f"文本超过 {MAX_TEXT_LENGTH} 个字符",
            f"Text is longer than {MAX_TEXT_LENGTH} characters",
        )
    return text


def check_list(items: list[Any]) -> list[Any]:
    if len(items) > MAX_LIST_LENGTH:
        fail_value(f"列表超过 {MAX_LIST_LENGTH} 项", f"List has more than {MAX_LIST_LENGTH} items")
    return items


def check_number(number: Decimal) -> Decimal:
    """Refuse a number outside Excel's range."""
    if number.is_finite() and number.adjusted() > 307:
        fail_num("数字超出范围", "Number is out of range")
    return number


def shorten(text: str, size: int = 30) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def describe(value: Any) -> str:
    """A short description of a value for error messages."""
    if isinstance(value, str):
        return f'"{shorten(value)}"'
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "record"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return shorten(repr(value) if not isinstance(value, Decimal) else number_text(value))


def read_path(values: Mapping[str, Any] | None, path: tuple[str, ...]) -> Any:
    """The value at a field path: ``("customer", "industry")`` reads through a
    related record; through a list of rows (a subform, a multi relation) it
    gives the list of that column. A missing value is blank."""
    if values is None:
        return None
    value = values.get(path[0])
    for key in path[1:]:
        if value is None:
            return None
        if isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, list | tuple):
            value = _column(value, key)
        else:
            check_error(value)
            fail_value(
                f"{describe(value)} 不是关联记录，不能读取 .{key}",
                f"{describe(value)} is not a related record; cannot read .{key}",
            )
    return value


def _column(rows: list[Any] | tuple[Any, ...], key: str) -> list[Any]:
    column: list[Any] = []
    for row in rows:
        if isinstance(row, Mapping):
            cell = row.get(key)
            if isinstance(cell, list | tuple):
                column.extend(cell)
            else:
                column.append(cell)
        elif isinstance(row, list | tuple):
            column.extend(_column(row, key))
        else:
            column.append(None)
    return column
