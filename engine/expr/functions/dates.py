"""Date functions: TODAY, NOW, DATE, YEAR, MONTH, DAY, WEEKDAY, WEEKNUM,
DATEDIF, DATEADD, DAYS, NETWORKDAYS, WORKDAY.

Dates are ``datetime.date``; a date-time given where a date is expected counts
by its date part, and date text such as "2024-03-01" is read as a date.
Numbers come back as ``Decimal``. Excel's serial numbers do not exist here: a
number is never a date.

Qiqiao departs from Excel on blanks: when a date argument is blank the result
is blank, so a form with an empty date field shows an empty computed field
rather than a date in 1900 or a count from it. DATE gives blank when any of
its parts is blank, for the same reason.

TODAY and NOW read the clock of the ``EvaluationContext`` (never the system
clock directly), in the clock's time zone. NOW is the naive wall-clock time
there, the way the operators treat every date-time (see ``operators._naive``).
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, NoReturn

from engine.expr.context import EvaluationContext
from engine.expr.errors import fail_num
from engine.expr.functions.base import FamilyBuilder
from engine.expr.types import ANY, DATE, DATETIME, NUMBER, FormulaType
from engine.expr.values import (
    NUMERIC,
    check_error,
    flatten,
    is_blank,
    parse_date_text,
    to_date,
    to_datetime,
    to_integer,
    to_number,
    to_text,
)

family = FamilyBuilder("dates")

_EXCEL_FIRST = dt.date(1900, 1, 1)
_MICROSECONDS = Decimal(1_000_000)


# Helpers ------------------------------------------------------------------------


def _dates(*values: Any) -> list[dt.date] | None:
    """The arguments as dates, or None when one is blank (errors win over blanks)."""
    for value in values:
        check_error(value)
    if any(is_blank(value) for value in values):
        return None
    return [to_date(value) for value in values]


def _out_of_range() -> NoReturn:
    fail_num("日期超出范围（1 至 9999 年）", "The date is out of range (years 1 to 9999)")


def _from_parts(year: int, month: int, day: int = 1) -> dt.date:
    """The date for a year and a month that may overflow (month 13 is next January,
    month 0 last December), plus ``day - 1`` days; #NUM! outside years 1-9999."""
    carry, month_index = divmod(month - 1, 12)
    year += carry
    if not 1 <= year <= 9999:
        _out_of_range()
    try:
        return dt.date(year, month_index + 1, 1) + dt.timedelta(days=day - 1)
    except OverflowError:
        _out_of_range()


def _days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _text_code(value: Any, default: str) -> str:
    check_error(value)
    return default if is_blank(value) else to_text(value).strip().lower()


def _integer_code(value: Any, default: int) -> int:
    check_error(value)
    return default if is_blank(value) else to_integer(value)


# TODAY, NOW, DATE ---------------------------------------------------------------------


@family.function("TODAY", 0, 0, returns=DATE, kind="context")
def today(ctx: EvaluationContext) -> dt.date:
    """Today's date in the deployment's time zone."""
    return ctx.clock.today()


@family.function("NOW", 0, 0, returns=DATETIME, kind="context")
def now(ctx: EvaluationContext) -> dt.datetime:
    """The current date and time in the deployment's time zone."""
    moment = ctx.clock.now()
    if moment.tzinfo is not None:
        moment = moment.astimezone(ctx.clock.tz).replace(tzinfo=None)
    return moment


@family.function("DATE", 3, 3, returns=DATE, params=("number", "number", "number"))
def date(year: Any, month: Any, day: Any) -> dt.date | None:
    """The date for a year, month and day; months and days past the end roll over."""
    for value in (year, month, day):
        check_error(value)
    if is_blank(year) or is_blank(month) or is_blank(day):
        return None
    whole_year = to_integer(year)
    if 0 <= whole_year < 1900:
        whole_year += 1900  # Excel: DATE(24, 1, 1) is 1924-01-01
    if not 1900 <= whole_year <= 9999:
        fail_num("DATE 的年份必须在 0 到 9999 之间", "The year given to DATE must be between 0 and 9999")
    result = _from_parts(whole_year, to_integer(month), to_integer(day))
    if result < _EXCEL_FIRST:
        fail_num("DATE 的结果早于 1900-01-01", "DATE's result is before 1900-01-01")
    return result


# YEAR, MONTH, DAY, WEEKDAY, WEEKNUM ---------------------------------------------


@family.function("YEAR", 1, 1, returns=NUMBER, params=("date",))
def year(value: Any) -> Decimal | None:
    """The year of a date, e.g. 2024."""
    found = _dates(value)
    return None if found is None else Decimal(found[0].year)


@family.function("MONTH", 1, 1, returns=NUMBER, params=("date",))
def month(value: Any) -> Decimal | None:
    """The month of a date, 1 (January) to 12 (December)."""
    found = _dates(value)
    return None if found is None else Decimal(found[0].month)


@family.function("DAY", 1, 1, returns=NUMBER, params=("date",))
def day(value: Any) -> Decimal | None:
    """The day of the month of a date, 1 to 31."""
    found = _dates(value)
    return None if found is None else Decimal(found[0].day)


# WEEKDAY return types: the weekday numbered first (Python's Monday=0 .. Sunday=6)
# and the number it gets.
_WEEKDAY_TYPES: dict[int, tuple[int, int]] = {
    1: (6, 1), 2: (0, 1), 3: (0, 0),
    11: (0, 1), 12: (1, 1), 13: (2, 1), 14: (3, 1), 15: (4, 1), 16: (5, 1), 17: (6, 1),
}


@family.function("WEEKDAY", 1, 2, returns=NUMBER, params=("date", "number"))
def weekday(value: Any, kind: Any = None) -> Decimal | None:
    """The day of the week as a number; by default Sunday is 1 and Saturday is 7."""
    code = _integer_code(kind, 1)
    if code not in _WEEKDAY_TYPES:
        fail_num(
            f"WEEKDAY 的类型 {code} 无效（应为 1、2、3 或 11 到 17）",
            f"WEEKDAY type {code} is not valid (expected 1, 2, 3 or 11 to 17)",
        )
    found = _dates(value)
    if found is None:
        return None
    first, base = _WEEKDAY_TYPES[code]
    return Decimal((found[0].weekday() - first) % 7 + base)


# WEEKNUM return types: the weekday a week starts on (Python's Monday=0 .. Sunday=6);
# 21 is the ISO 8601 week number.
_WEEK_STARTS: dict[int, int] = {
    1: 6, 2: 0, 11: 0, 12: 1, 13: 2, 14: 3, 15: 4, 16: 5, 17: 6,
}
_ISO_WEEKS = 21


@family.function("WEEKNUM", 1, 2, returns=NUMBER, params=("date", "number"))
def weeknum(value: Any, kind: Any = None) -> Decimal | None:
    """The week of the year; week 1 holds 1 January and weeks start on Sunday by default."""
    code = _integer_code(kind, 1)
    if code not in _WEEK_STARTS and code != _ISO_WEEKS:
        fail_num(
            f"WEEKNUM 的类型 {code} 无效（应为 1、2、11 到 17 或 21）",
            f"WEEKNUM type {code} is not valid (expected 1, 2, 11 to 17 or 21)",
        )
    found = _dates(value)
    if found is None:
        return None
    moment = found[0]
    if code == _ISO_WEEKS:
        return Decimal(moment.isocalendar().week)
    january_first = dt.date(moment.year, 1, 1)
    lead = (january_first.weekday() - _WEEK_STARTS[code]) % 7  # days of week 1 before 1 January
    day_of_year = (moment - january_first).days
    return Decimal((day_of_year + lead) // 7 + 1)


# DATEDIF, DAYS --------------------------------------------------------------------

_DATEDIF_UNITS = ("y", "m", "d", "md", "ym", "yd")


def _whole_months(start: dt.date, end: dt.date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - 1 if end.day < start.day else months


def _days_ignoring_years(start: dt.date, end: dt.date) -> int:
    """Excel's "yd", day counts that match Excel's answers (not the textbook
    "move the start to the end's year", which LibreOffice uses):

    - the end's month and day fall on or after the start's: the days from the
      start to that month and day in the start's own year (2007-02-01 to
      2008-04-01 is 59: 2007 has no 29 February);
    - they fall before: the days left in a 365-day year after the start's
      day of its year, plus the end's day of its own year (2022-12-25 to
      2024-03-17 is 83: 29 February 2024 counts; 1988-06-22 to 2012-05-11 is
      323, 2007-12-25 to 2010-03-17 is 82).
    """
    if (end.month, end.day) >= (start.month, start.day):
        return (_from_parts(start.year, end.month, end.day) - start).days
    return 365 - start.timetuple().tm_yday + end.timetuple().tm_yday


def _days_ignoring_months(start: dt.date, end: dt.date) -> int:
    """Excel's "md": the day difference within the end's month; when the end's
    day is earlier it counts from the start's day in the month before, which
    Excel lets go negative: 2007-01-31 to 2007-03-01 is -2."""
    if end.day >= start.day:
        return end.day - start.day
    before = _from_parts(end.year, end.month - 1)
    return end.day + _days_in_month(before.year, before.month) - start.day


@family.function("DATEDIF", 3, 3, returns=NUMBER, params=("date", "date", "text"))
def datedif(start: Any, end: Any, unit: Any) -> Decimal | None:
    """Whole years, months or days between two dates: unit "y", "m", "d", "ym", "yd" or "md".

    "ym" is the months left over after whole years, "yd" the days left over
    after whole years, "md" the days left over after whole months (Excel's
    rules, quirks included: see the helpers above).
    """
    code = _text_code(unit, "")
    if code not in _DATEDIF_UNITS:
        fail_num(
            f"DATEDIF 的单位 “{to_text(unit)}” 无效（应为 y、m、d、md、ym 或 yd）",
            f'DATEDIF unit "{to_text(unit)}" is not valid (expected y, m, d, md, ym or yd)',
        )
    found = _dates(start, end)
    if found is None:
        return None
    first, last = found
    if first > last:
        fail_num("DATEDIF 的开始日期晚于结束日期", "DATEDIF's start date is after its end date")
    if code == "d":
        result = (last - first).days
    elif code == "m":
        result = _whole_months(first, last)
    elif code == "y":
        result = _whole_months(first, last) // 12
    elif code == "ym":
        result = _whole_months(first, last) % 12
    elif code == "yd":
        result = _days_ignoring_years(first, last)
    else:
        result = _days_ignoring_months(first, last)
    return Decimal(result)


@family.function("DAYS", 2, 2, returns=NUMBER, params=("date", "date"))
def days(end: Any, start: Any) -> Decimal | None:
    """The number of days from the start date to the end date (end first, as in Excel)."""
    found = _dates(end, start)
    if found is None:
        return None
    return Decimal((found[0] - found[1]).days)


# DATEADD --------------------------------------------------------------------------

_CALENDAR_UNITS = {"y": 12, "m": 1}  # in months
_DAY_UNITS = {"d": 1, "w": 7}  # in days
_TIME_UNITS = {"h": 3600, "mi": 60, "n": 60, "s": 1}  # in seconds


def _dateadd_type(args: Sequence[FormulaType]) -> FormulaType:
    first = args[0] if args else ANY
    if first.kind == "datetime":
        return DATETIME
    if len(args) < 3:  # days: a date stays a date
        return DATE if first.kind in ("date", "text") else ANY
    return ANY  # the unit decides: a time unit makes a date-time


def _add_months(moment: dt.date, months: int) -> dt.date:
    """Like Excel's EDATE: the same day ``months`` later, kept inside the month."""
    target = _from_parts(moment.year, moment.month + months)
    day_ = min(moment.day, _days_in_month(target.year, target.month))
    return moment.replace(year=target.year, month=target.month, day=day_)


def _shift(moment: dt.date, microseconds: int) -> dt.date:
    try:
        return moment + dt.timedelta(microseconds=microseconds)
    except OverflowError:
        _out_of_range()


def _microseconds(amount: Decimal, seconds: int) -> int:
    total = NUMERIC.multiply(amount, Decimal(seconds) * _MICROSECONDS)
    return int(total.to_integral_value(rounding=ROUND_HALF_EVEN, context=NUMERIC))


@family.function("DATEADD", 2, 3, returns=_dateadd_type, params=("date", "number", "text"))
def dateadd(value: Any, amount: Any, unit: Any = None) -> dt.date | None:
    """The date moved by an amount of years, months, weeks, days, hours, minutes or seconds."""
    code = _text_code(unit, "d")
    if code not in _CALENDAR_UNITS and code not in _DAY_UNITS and code not in _TIME_UNITS:
        fail_num(
            f"DATEADD 的单位 “{to_text(unit)}” 无效（应为 y、m、w、d、h、mi、n 或 s）",
            f'DATEADD unit "{to_text(unit)}" is not valid (expected y, m, w, d, h, mi, n or s)',
        )
    check_error(value)
    check_error(amount)
    if is_blank(value):
        return None
    moment: dt.date = value if isinstance(value, dt.datetime) else to_date(value)
    if isinstance(value, str) and isinstance(parsed := parse_date_text(value), dt.datetime):
        moment = parsed  # "2024-03-01 08:30" keeps its time
    number = to_number(amount)
    if code in _CALENDAR_UNITS:
        return _add_months(moment, int(number) * _CALENDAR_UNITS[code])
    if code in _DAY_UNITS:
        if not isinstance(moment, dt.datetime):  # a date moves by whole days, like date + n
            return _shift(moment, int(NUMERIC.multiply(number, Decimal(_DAY_UNITS[code])))
                          * 86_400_000_000)
        return _shift(moment, _microseconds(number, _DAY_UNITS[code] * 86_400))
    start = moment if isinstance(moment, dt.datetime) else to_datetime(moment)
    return _shift(start, _microseconds(number, _TIME_UNITS[code]))


# NETWORKDAYS, WORKDAY -------------------------------------------------------------


def _holidays(value: Any) -> list[dt.date]:
    """Holidays given as a list of dates or one date, sorted and without repeats;
    blanks are skipped, weekends dropped (they are not working days anyway)."""
    items = list(flatten(value)) if isinstance(value, list | tuple) else [value]
    found: set[dt.date] = set()
    for item in items:
        check_error(item)
        if not is_blank(item):
            holiday = to_date(item)
            if holiday.weekday() < 5:
                found.add(holiday)
    return sorted(found)


def _weekdays_between(first: dt.date, last: dt.date) -> int:
    """Monday-to-Friday days from ``first`` to ``last``, both included (first <= last)."""
    span = (last - first).days + 1
    weeks, rest = divmod(span, 7)
    start = first.weekday()
    return weeks * 5 + sum(1 for offset in range(rest) if (start + offset) % 7 < 5)


@family.function("NETWORKDAYS", 2, 3, returns=NUMBER, params=("date", "date", "list"))
def networkdays(start: Any, end: Any, holidays: Any = None) -> Decimal | None:
    """Working days (Monday to Friday, less holidays) from start to end, both included."""
    found = _dates(start, end)
    excluded = _holidays(holidays)
    if found is None:
        return None
    first, last = found
    sign = 1
    if first > last:
        first, last, sign = last, first, -1
    count = _weekdays_between(first, last)
    count -= bisect.bisect_right(excluded, last) - bisect.bisect_left(excluded, first)
    return Decimal(sign * count)


def _add_weekdays(moment: dt.date, count: int) -> dt.date:
    """The ``count``-th Monday-to-Friday day after (or, when negative, before) ``moment``."""
    weeks, rest = divmod(abs(count), 5)
    if count > 0:
        if moment.weekday() > 4:  # from a weekend, count as from the Friday before
            moment -= dt.timedelta(days=moment.weekday() - 4)
        step = 7 * weeks + rest + (2 if moment.weekday() + rest > 4 else 0)
        return _shift(moment, step * 86_400_000_000)
    if moment.weekday() > 4:  # from a weekend, count as from the Monday after
        moment += dt.timedelta(days=7 - moment.weekday())
    step = 7 * weeks + rest + (2 if moment.weekday() - rest < 0 else 0)
    return _shift(moment, -step * 86_400_000_000)


@family.function("WORKDAY", 2, 3, returns=DATE, params=("date", "number", "list"))
def workday(start: Any, count: Any, holidays: Any = None) -> dt.date | None:
    """The date a number of working days (Monday to Friday, less holidays) after the start."""
    check_error(count)
    found = _dates(start)
    excluded = _holidays(holidays)
    if found is None:
        return None
    moment = found[0]
    remaining = to_integer(count)
    if remaining == 0:
        return moment  # Excel: even when the start is a weekend or a holiday
    # Jump over weekends arithmetically, then make up for the holidays passed on the
    # way; each round only looks at holidays beyond the previous one.
    while remaining:
        target = _add_weekdays(moment, remaining)
        if remaining > 0:
            passed = bisect.bisect_right(excluded, target) - bisect.bisect_right(excluded, moment)
            moment, remaining = target, passed
        else:
            passed = bisect.bisect_left(excluded, moment) - bisect.bisect_left(excluded, target)
            moment, remaining = target, -passed
    return moment


FUNCTIONS = family.functions
