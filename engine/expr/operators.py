"""The formula operators with Excel's semantics.

Arithmetic on exact decimals (blank is 0), dates plus or minus days, ``&``
joining text, comparisons that order mixed types the way Excel does (numbers
< text < booleans, text compared without regard to case, numbers to 15
significant digits while arithmetic stays exact), and element-wise
arithmetic over lists (``items.qty * items.price``), like Excel's arrays.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from engine.expr.errors import fail_div0, fail_num, fail_value
from engine.expr.values import (
    NUMERIC,
    ZERO,
    check_error,
    check_list,
    check_text,
    describe,
    is_blank,
    parse_date_text,
    significant,
    to_datetime,
    to_number,
    to_text,
)

_DAY_SECONDS = Decimal(86400)
_DATES = (dt.date, dt.datetime)
_NUMBER_TYPES = (Decimal, int, float)


def _is_number(value: Any) -> bool:
    return type(value) in _NUMBER_TYPES


def _is_date(value: Any) -> bool:
    return type(value) in _DATES


def _days(number: Decimal) -> dt.timedelta:
    try:
        return dt.timedelta(seconds=float(NUMERIC.multiply(number, _DAY_SECONDS)))
    except OverflowError:
        fail_num("日期超出范围", "Date is out of range")


def _shift(moment: Any, number: Decimal) -> dt.date | dt.datetime:
    """A date plus ``number`` days: whole days for a date, exact time for a date-time."""
    try:
        if type(moment) is dt.date:
            return moment + dt.timedelta(days=int(number))
        return moment + _days(number)  # type: ignore[no-any-return]
    except OverflowError:
        fail_num("日期超出范围", "Date is out of range")


def _day_difference(a: Any, b: Any) -> Decimal:
    if type(a) is dt.date and type(b) is dt.date:
        return Decimal((a - b).days)
    first, second = _naive(to_datetime(a)), _naive(to_datetime(b))
    delta = first - second
    seconds = Decimal(delta.days) * _DAY_SECONDS + Decimal(delta.seconds) + (
        Decimal(delta.microseconds) / Decimal(1_000_000)
    )
    return NUMERIC.divide(seconds, _DAY_SECONDS).quantize(Decimal("1e-10"), context=NUMERIC)


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=None) if moment.tzinfo else moment


def _broadcast(op: Callable[[Any, Any], Any], a: Any, b: Any) -> list[Any]:
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            fail_value(
                f"两个列表长度不同（{len(a)} 与 {len(b)}）",
                f"The two lists have different lengths ({len(a)} and {len(b)})",
            )
        return check_list([op(x, y) for x, y in zip(a, b, strict=True)])
    if isinstance(a, list | tuple):
        return check_list([op(x, b) for x in a])
    return check_list([op(a, y) for y in b])


def _listy(a: Any, b: Any) -> bool:
    return isinstance(a, list | tuple) or isinstance(b, list | tuple)


def add(a: Any, b: Any) -> Any:
    if _listy(a, b):
        return _broadcast(add, a, b)
    if _is_date(a) and not _is_date(b):
        return a if is_blank(b) else _shift(a, to_number(b))
    if _is_date(b) and not _is_date(a):
        return b if is_blank(a) else _shift(b, to_number(a))
    if _is_date(a):
        fail_value("两个日期不能相加", "Two dates cannot be added")
    return NUMERIC.add(to_number(a), to_number(b))


def subtract(a: Any, b: Any) -> Any:
    if _listy(a, b):
        return _broadcast(subtract, a, b)
    if _is_date(a):
        if _is_date(b):
            return _day_difference(a, b)
        if isinstance(b, str) and (parsed := parse_date_text(b)) is not None:
            return _day_difference(a, parsed)
        return a if is_blank(b) else _shift(a, -to_number(b))
    if _is_date(b):
        fail_value("不能用数字减去日期", "A date cannot be subtracted from a number")
    return NUMERIC.subtract(to_number(a), to_number(b))


def multiply(a: Any, b: Any) -> Any:
    if _listy(a, b):
        return _broadcast(multiply, a, b)
    return NUMERIC.multiply(to_number(a), to_number(b))


def divide(a: Any, b: Any) -> Any:
    if _listy(a, b):
        return _broadcast(divide, a, b)
    divisor = to_number(b)
    if divisor == 0:
        fail_div0()
    return NUMERIC.divide(to_number(a), divisor)


def modulo(a: Any, b: Any) -> Any:
    """Excel's MOD: the result takes the sign of the divisor."""
    if _listy(a, b):
        return _broadcast(modulo, a, b)
    number, divisor = to_number(a), to_number(b)
    if divisor == 0:
        fail_div0()
    quotient = NUMERIC.divide(number, divisor).to_integral_value(rounding=decimal.ROUND_FLOOR)
    return NUMERIC.subtract(number, NUMERIC.multiply(divisor, quotient))


def power(a: Any, b: Any) -> Any:
    """Excel's POWER: 0 to a negative power is #DIV/0!, a negative base to a
    fractional power and results beyond 1e308 are #NUM!."""
    if _listy(a, b):
        return _broadcast(power, a, b)
    base, exponent = to_number(a), to_number(b)
    if base == 0 and exponent < 0:
        fail_div0()
    if base == 0 and exponent == 0:
        fail_num("0 的 0 次方没有定义", "0 to the power of 0 is undefined")
    if base < 0 and exponent != exponent.to_integral_value():
        fail_num("负数不能开非整数次方", "A negative number has no fractional power")
    try:
        return NUMERIC.power(base, exponent)
    except (decimal.Overflow, decimal.InvalidOperation):
        fail_num("乘方结果超出范围", "The power is out of range")
    except decimal.Underflow:
        return ZERO


def negate(a: Any) -> Any:
    if isinstance(a, list | tuple):
        return [negate(x) for x in a]
    return NUMERIC.minus(to_number(a))


def plus(a: Any) -> Any:
    if isinstance(a, list | tuple):
        return [plus(x) for x in a]
    return NUMERIC.plus(to_number(a))


def concat(a: Any, b: Any) -> str:
    """Excel's ``&``: both sides as text, joined."""
    return check_text(to_text(a) + to_text(b))


# Comparison -------------------------------------------------------------------

# Excel orders values of different types: numbers (and our dates) < text < booleans.
_RANK_NUMBER, _RANK_TEXT, _RANK_BOOL = 0, 1, 2


def _rank(value: Any) -> int:
    if value is True or value is False:
        return _RANK_BOOL
    if isinstance(value, str):
        return _RANK_TEXT
    return _RANK_NUMBER


def _cmp(x: Any, y: Any) -> int:
    return int((x > y) - (x < y))


def compare(a: Any, b: Any) -> int:
    """-1, 0 or 1 as ``a`` is less than, equal to or greater than ``b`` (Excel's rules)."""
    check_error(a)
    check_error(b)
    if is_blank(a) and is_blank(b):
        return 0
    if is_blank(a):
        a = _blank_like(b)
    elif is_blank(b):
        b = _blank_like(a)
    if _is_number(a) and _is_number(b):
        return _cmp(significant(a), significant(b))
    if isinstance(a, str) and isinstance(b, str):
        return _cmp(a.casefold(), b.casefold())
    if isinstance(a, bool) and isinstance(b, bool):
        return _cmp(a, b)
    if _is_date(a) or _is_date(b):
        return _compare_dates(a, b)
    if isinstance(a, dt.time) and isinstance(b, dt.time):
        return _cmp(a, b)
    if isinstance(a, list | tuple | Mapping) or isinstance(b, list | tuple | Mapping):
        fail_value(
            f"不能比较 {describe(a)} 和 {describe(b)}", f"Cannot compare {describe(a)} with {describe(b)}"
        )
    return _cmp(_rank(a), _rank(b))




def _blank_like(other: Any) -> Any:
    """What blank means beside ``other``: 0, "", FALSE, or the earliest date."""
    if isinstance(other, str):
        return ""
    if other is True or other is False:
        return False
    if _is_date(other):
        return dt.date.min
    return ZERO


def _compare_dates(a: Any, b: Any) -> int:
    if isinstance(a, str):
        a = parse_date_text(a) or a
    if isinstance(b, str):
        b = parse_date_text(b) or b
    if _is_date(a) and _is_date(b):
        if type(a) is dt.date and type(b) is dt.date:
            return _cmp(a, b)
        return _cmp(_naive(to_datetime(a)), _naive(to_datetime(b)))
    if isinstance(a, str) or isinstance(b, str) or isinstance(a, bool) or isinstance(b, bool):
        return _cmp(_rank(a), _rank(b))
    fail_value(
        f"不能比较 {describe(a)} 和 {describe(b)}", f"Cannot compare {describe(a)} with {describe(b)}"
    )


def equals(a: Any, b: Any) -> bool:
    """Excel's ``=``: case-insensitive for text, blank equals 0 and ""."""
    if _is_number(a) and _is_number(b):
        return bool(significant(a) == significant(b))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(equals(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.get("id") == b.get("id")
    if isinstance(a, list | tuple | Mapping) or isinstance(b, list | tuple | Mapping):
        check_error(a)
        check_error(b)
        return False
    if _rank(a) != _rank(b) and not (is_blank(a) or is_blank(b)):
        check_error(a)
        check_error(b)
        if (_is_date(a) and isinstance(b, str)) or (_is_date(b) and isinstance(a, str)):
            return compare(a, b) == 0
        return False
    if (_is_date(a) and _is_number(b)) or (_is_number(a) and _is_date(b)):
        return False
    return compare(a, b) == 0


def contains(container: Any, item: Any) -> bool:
    """The ``in`` operator: membership in a list, or text inside text (ignoring case)."""
    if is_blank(container):
        return False
    if isinstance(container, list | tuple):
        return any(equals(item, element) for element in container)
    if isinstance(container, str):
        return to_text(item).casefold() in container.casefold()
    check_error(container)
    fail_value(
        f"{describe(container)} 不是列表或文本，不能用 in",
        f"{describe(container)} is not a list or text; 'in' needs one",
    )


def membership_key(value: Any) -> Any:
    """A hashable key under which equal values (by ``equals``) collide.

    Used to turn a constant list into a set, so ``region in ["east", "north"]``
    is one hash lookup.
    """
    if value is True or value is False:
        return ("bool", value)
    if isinstance(value, str):
        return value.casefold()
    return significant(value)
