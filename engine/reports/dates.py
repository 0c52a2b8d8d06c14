"""Date buckets: the grains (``GRAINS``: day, week, month, quarter, year)
and, in ONE table (``_PARTS``), how each dialect reads a date's parts.

A bucket is an integer, consecutive buckets differing by 1, so "the same
period a year before" is ``bucket - grain.year_back`` and the SQL stays
arithmetic: day = days since 1970-01-01; week = weeks of Monday-to-Sunday
(1970-01-05 starts week 1); month = year * 12 + month - 1; quarter and year
count from the fiscal year's first month (``AppDef.fiscal_year_start``): a
fiscal year is named by the calendar year it starts in.

A datetime is bucketed by its date in the app's time zone: PostgreSQL
converts with the zone's name (``timezone(zone, column)``, daylight saving
included); SQLite, which stores UTC text, adds the zone's offset at today
(zones without daylight saving, as China's, are exact).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar

import sqlalchemy as sa

from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.reports.base import Grain

EPOCH = dt.date(1970, 1, 1)
# Keeps week numbers of old dates positive, so integer division rounds down.
_WEEK_SHIFT = 700_000


def _int(expression: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    return sa.cast(expression, sa.Integer)


def _n(number: int) -> sa.ColumnElement[int]:
    # Constants of the bucketing arithmetic go into the SQL text, not as parameters: the
    # GROUP BY, select and ORDER BY copies of a bucket are then one expression to the
    # database, which folds them. Only code puts numbers here, never a user's value.
    return sa.literal_column(str(int(number)), sa.Integer)


def _sqlite_day(column: sa.ColumnElement[Any], datetime: bool, offset: int, zone: str) -> sa.ColumnElement[Any]:
    # The local date as text that starts 'YYYY-MM-DD' (a date field is stored as just that).
    if datetime:
        return sa.func.date(column, f"{offset:+d} minutes")
    return column


def _postgresql_day(column: sa.ColumnElement[Any], datetime: bool, offset: int, zone: str) -> sa.ColumnElement[Any]:
    if datetime:
        column_type = getattr(column.type, "impl_instance", column.type)  # see through Moment
        if not (isinstance(column_type, sa.DateTime) and column_type.timezone):
            # A datetime field keeps the naive UTC wall clock: make it a moment first,
            # or timezone() would read it as already local.
            column = sa.func.timezone("UTC", column)
        return sa.cast(sa.func.timezone(zone, column), sa.Date)
    return column  # a date field is a date column already


def _sqlite_months(day: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    # SQLite's arithmetic reads integer-looking text as an integer: no CASTs needed.
    year, month = sa.func.substr(day, _n(1), _n(4)), sa.func.substr(day, _n(6), _n(2))
    return sa.type_coerce(year * _n(12) + month, sa.Integer)


def _postgresql_months(day: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    # date_part gives a float8 (exact for these integers); EXTRACT a numeric (PostgreSQL 14+),
    # measurably slower over a million rows. One CAST for the sum, not one per part.
    return _int(sa.func.date_part(sa.literal_column("'year'"), day) * _n(12)
                + sa.func.date_part(sa.literal_column("'month'"), day))


# dialect -> (local day, year * 12 + month of a day, days since 1970-01-01 of a day)
_PARTS: dict[str, tuple[Callable[..., sa.ColumnElement[Any]], ...]] = {
    "sqlite": (
        _sqlite_day,
        _sqlite_months,
        lambda day: _int(sa.func.julianday(day) - 2440587.5),
    ),
    "postgresql": (
        _postgresql_day,
        _postgresql_months,
        lambda day: day - sa.cast(sa.literal("1970-01-01"), sa.Date),
    ),
}


def parts(dialect: str) -> tuple[Callable[..., sa.ColumnElement[Any]], ...]:
    try:
        return _PARTS[dialect]
    except KeyError:
        raise ValueError(f"reports do not know the SQL dialect {dialect!r}") from None


def _months(dialect: str, column: sa.ColumnElement[Any], datetime: bool, offset: int, zone: str,
            fiscal_start: int) -> sa.ColumnElement[int]:
    """Months since year 0, counted from the fiscal year's first month."""
    day_of, months, _ = parts(dialect)
    # year * 12 + month - 1, less the fiscal year's first month - 1
    return months(day_of(column, datetime, offset, zone)) - _n(fiscal_start)


def _days(dialect: str, column: sa.ColumnElement[Any], datetime: bool, offset: int, zone: str) -> sa.ColumnElement[int]:
    day_of, _, days = parts(dialect)
    return days(day_of(column, datetime, offset, zone))


class Day(Grain):
    key = "day"
    label = Label("日", "Day")
    description = Label("按天", "By day")
    year_back: ClassVar[int] = 364  # 52 weeks: the same weekday a year before

    def bucket(self, dialect: str, column: sa.ColumnElement[Any], *, datetime: bool, fiscal_start: int,
               utc_offset_minutes: int, zone: str = "UTC") -> sa.ColumnElement[int]:
        return _days(dialect, column, datetime, utc_offset_minutes, zone)

    def start(self, bucket: int, *, fiscal_start: int) -> dt.date:
        return EPOCH + dt.timedelta(days=bucket)

    def text(self, bucket: int, *, fiscal_start: int) -> Label:
        day = self.start(bucket, fiscal_start=fiscal_start)
        return Label(f"{day.year}年{day.month}月{day.day}日", day.isoformat())


class Week(Grain):
    key = "week"
    label = Label("周", "Week")
    description = Label("按周（周一至周日）", "By week (Monday to Sunday)")
    year_back: ClassVar[int] = 52

    def bucket(self, dialect: str, column: sa.ColumnElement[Any], *, datetime: bool, fiscal_start: int,
               utc_offset_minutes: int, zone: str = "UTC") -> sa.ColumnElement[int]:
        days = _days(dialect, column, datetime, utc_offset_minutes, zone)
        return (days + (3 + _WEEK_SHIFT * 7)) // 7 - _WEEK_SHIFT

    def start(self, bucket: int, *, fiscal_start: int) -> dt.date:
        return EPOCH + dt.timedelta(days=bucket * 7 - 3)

    def text(self, bucket: int, *, fiscal_start: int) -> Label:
        year, week, _ = self.start(bucket, fiscal_start=fiscal_start).isocalendar()
        return Label(f"{year}年第{week}周", f"{year}-W{week:02d}")


class Month(Grain):
    key = "month"
    label = Label("月", "Month")
    description = Label("按月", "By month")
    year_back: ClassVar[int] = 12
    _EN: ClassVar[tuple[str, ...]] = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                      "Nov", "Dec")

    def bucket(self, dialect: str, column: sa.ColumnElement[Any], *, datetime: bool, fiscal_start: int,
               utc_offset_minutes: int, zone: str = "UTC") -> sa.ColumnElement[int]:
        return _months(dialect, column, datetime, utc_offset_minutes, zone, 1)

    def start(self, bucket: int, *, fiscal_start: int) -> dt.date:
        year, month = divmod(bucket, 12)
        return dt.date(year, month + 1, 1)

    def text(self, bucket: int, *, fiscal_start: int) -> Label:
        day = self.start(bucket, fiscal_start=fiscal_start)
        return Label(f"{day.year}年{day.month}月", f"{self._EN[day.month - 1]} {day.year}")


class Quarter(Grain):
    key = "quarter"
    label = Label("季度", "Quarter")
    description = Label("按季度（从财年首月算起）", "By quarter (counted from the fiscal year's first month)")
    year_back: ClassVar[int] = 4

    def bucket(self, dialect: str, column: sa.ColumnElement[Any], *, datetime: bool, fiscal_start: int,
               utc_offset_minutes: int, zone: str = "UTC") -> sa.ColumnElement[int]:
        return _months(dialect, column, datetime, utc_offset_minutes, zone, fiscal_start) // 3

    def start(self, bucket: int, *, fiscal_start: int) -> dt.date:
        return Month().start(bucket * 3 + fiscal_start - 1, fiscal_start=1)

    def text(self, bucket: int, *, fiscal_start: int) -> Label:
        year, quarter = divmod(bucket, 4)
        if fiscal_start == 1:
            return Label(f"{year}年第{quarter + 1}季度", f"{year} Q{quarter + 1}")
        return Label(f"{year}财年第{quarter + 1}季度", f"FY{year} Q{quarter + 1}")


class Year(Grain):
    key = "year"
    label = Label("年", "Year")
    description = Label("按年（财年不从一月开始时按财年）", "By year (the fiscal year when it does not start in January)")
    year_back: ClassVar[int] = 1

    def bucket(self, dialect: str, column: sa.ColumnElement[Any], *, datetime: bool, fiscal_start: int,
               utc_offset_minutes: int, zone: str = "UTC") -> sa.ColumnElement[int]:
        return _months(dialect, column, datetime, utc_offset_minutes, zone, fiscal_start) // 12

    def start(self, bucket: int, *, fiscal_start: int) -> dt.date:
        return dt.date(bucket, fiscal_start, 1)

    def text(self, bucket: int, *, fiscal_start: int) -> Label:
        return Label(f"{bucket}年", str(bucket)) if fiscal_start == 1 else Label(f"{bucket}财年", f"FY{bucket}")


def build_grains() -> Registry[Grain]:
    registry: Registry[Grain] = Registry("grain")
    registry.register_all([Day(), Week(), Month(), Quarter(), Year()])
    return registry


GRAINS = build_grains()
