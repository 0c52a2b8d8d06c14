"""Dates, date-times and times of day.

Date-times are moments. The value is an aware ``datetime`` in UTC; the column
holds it as a naive UTC ``DateTime`` (both databases compare and sort it the
same way, and no server time zone setting can shift it). Input without an
offset is read in the deployment's time zone (``DateTimeType.tz``, by default
``engine.core.clock.DEFAULT_TIMEZONE``); display, exports and the formula
language use that local time, the REST API ISO 8601 with ``Z``. Seconds are
kept, fractions of a second dropped.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from engine.core.clock import DEFAULT_TIMEZONE
from engine.core.i18n import Label, Message
from engine.definitions.model import FieldDef
from engine.fields.base import DefinitionProblem, FieldType, FieldValueError, integer_operand
from engine.fields.inputs import (
    is_blank_input,
    parse_date,
    parse_naive_or_aware_datetime,
    parse_time,
)
from engine.fields.operators import Operator
from engine.fields.settings import check_bounds, settings_object

UTC = dt.UTC
DATE_OPERATORS: tuple[str, ...] = (
    "eq", "ne", "before", "after", "on", "between", "within_days", "gt", "gte", "lt", "lte",
    "is_blank", "not_blank",
)
TIME_OPERATORS: tuple[str, ...] = ("eq", "ne", "before", "after", "between", "is_blank", "not_blank")
BEFORE_MIN = Message("不能早于 {min}", "Must not be before {min}")
AFTER_MAX = Message("不能晚于 {max}", "Must not be after {max}")
ISO_SETTING: dict[str, Any] = {"type": "string"}
BOUNDS_SCHEMA = settings_object({"min": ISO_SETTING, "max": ISO_SETTING})
# Demo dates spread around a fixed day, so demo data does not depend on the clock.
DEMO_DAY = dt.date(2024, 6, 1)


class _BoundedMixin(FieldType):
    def bound(self, field: FieldDef, name: str) -> Any:
        raw = field.setting(name)
        if raw is None:
            return None
        try:
            return self.coerce(field, raw)
        except FieldValueError:
            return None

    def check_settings(self, field: FieldDef) -> list[DefinitionProblem]:
        return check_bounds(field, lambda raw: self.coerce(field, raw))

    def validates(self, field: FieldDef) -> bool:
        return field.setting("min") is not None or field.setting("max") is not None

    def validate(self, field: FieldDef, value: Any) -> list[Label]:
        messages = []
        low, high = self.bound(field, "min"), self.bound(field, "max")
        if low is not None and value < low:
            messages.append(BEFORE_MIN.format(min=self.display(field, low)))
        if high is not None and value > high:
            messages.append(AFTER_MAX.format(max=self.display(field, high)))
        return messages


class DateType(_BoundedMixin):
    """A calendar day. Accepts ISO text, ``2024/1/5``, ``2024年1月5日``,
    date-times (their day) and Excel serial day numbers."""

    key = "date"
    label = Label("日期", "Date")
    formula_type = "date"
    operators = DATE_OPERATORS
    settings_schema = BOUNDS_SCHEMA

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        return [sa.Column(field.key, sa.Date(), nullable=True)]

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        return None if is_blank_input(raw) else parse_date(raw)

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        return "" if value is None else value.isoformat()

    def conversion_loss(
        self, field: FieldDef, converted: Any, value: Any, source: FieldType, source_field: FieldDef
    ) -> Label | None:
        # A date-time becomes its (local) day: a time of day other than
        # midnight is lost.
        moment = None if value is None else source.export_value(source_field, value, "en")
        if not isinstance(moment, dt.datetime) or moment.time() == dt.time():
            return None
        return Message("时间 {time} 被舍去", "the time {time} is dropped").format(
            time=moment.time().isoformat(timespec="minutes" if moment.second == 0 else "seconds")
        )

    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        return value

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        return {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        low = self.bound(field, "min") or DEMO_DAY - dt.timedelta(days=365)
        high = self.bound(field, "max") or max(low, DEMO_DAY) + dt.timedelta(days=180)
        return low + dt.timedelta(days=rng.randint(0, max((high - low).days, 0)))


class DateTimeType(_BoundedMixin):
    """A moment (date and time). See the module docstring for time zones."""

    key = "datetime"
    label = Label("日期时间", "Date and time")
    formula_type = "datetime"
    operators = DATE_OPERATORS
    settings_schema = BOUNDS_SCHEMA

    def __init__(self, timezone: str = DEFAULT_TIMEZONE) -> None:
        self.tz: dt.tzinfo = ZoneInfo(timezone)

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        return [sa.Column(field.key, sa.DateTime(timezone=False), nullable=True)]

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        if is_blank_input(raw):
            return None
        moment = parse_naive_or_aware_datetime(raw)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.tz)
        return moment.astimezone(UTC).replace(microsecond=0)

    def to_db(self, field: FieldDef, value: Any) -> dict[str, Any]:
        return {field.key: None if value is None else value.astimezone(UTC).replace(tzinfo=None)}

    def from_db(self, field: FieldDef, row: Any) -> Any:
        stored = row.get(field.key)
        if stored is None:
            return None
        if isinstance(stored, str):
            stored = dt.datetime.fromisoformat(stored)
        return stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored.astimezone(UTC)

    def local(self, value: dt.datetime) -> dt.datetime:
        """The value as a naive date-time in the deployment's time zone."""
        return value.astimezone(self.tz).replace(tzinfo=None)

    def formula_value(self, field: FieldDef, value: Any) -> Any:
        # The formula language works in naive local time (NOW() is local).
        return None if value is None else self.local(value)

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        if value is None:
            return ""
        local = self.local(value)
        return local.isoformat(sep=" ", timespec="minutes" if local.second == 0 else "seconds")

    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        return None if value is None else self.local(value)

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        day = DEMO_DAY + dt.timedelta(days=rng.randint(-365, 180))
        moment = dt.datetime(day.year, day.month, day.day, rng.randint(8, 19), rng.choice((0, 15, 30, 45)))
        low, high = self.bound(field, "min"), self.bound(field, "max")
        aware = moment.replace(tzinfo=self.tz)
        if (low is not None and aware < low) or (high is not None and aware > high):
            return low or high
        return moment

    # --- filters: a date operand means the whole local day ---------------------
    def _day_start(self, day: dt.date) -> dt.datetime:
        local = dt.datetime(day.year, day.month, day.day, tzinfo=self.tz)
        return local.astimezone(UTC).replace(tzinfo=None)

    def _is_date_only(self, raw: Any) -> bool:
        if isinstance(raw, dt.datetime):
            return False
        if isinstance(raw, dt.date):
            return True
        try:
            parse_date(raw)
        except FieldValueError:
            return False
        text = str(raw).strip()
        return not any(mark in text for mark in (":", "T", " "))

    def operand(self, field: FieldDef, operator: Operator, raw: Any) -> Any:
        def naive(value: Any) -> Any:
            return value.astimezone(UTC).replace(tzinfo=None) if isinstance(value, dt.datetime) else value

        value = super().operand(field, operator, raw)
        if isinstance(value, tuple):
            return tuple(naive(item) for item in value)
        if isinstance(value, list):
            return [naive(item) for item in value]
        return naive(value)

    def filter_clause(
        self,
        field: FieldDef,
        table: sa.Table,
        operator_key: str,
        raw: Any,
        *,
        today: dt.date | None = None,
    ) -> sa.ColumnElement[bool]:
        column = self.filter_column(field, table)
        self.operator(field, operator_key)
        one_day = dt.timedelta(days=1)
        if operator_key == "on" or (operator_key in ("before", "after") and self._is_date_only(raw)):
            day = parse_date(raw)
            start, end = self._day_start(day), self._day_start(day + one_day)
            if operator_key == "before":
                return column < start
            if operator_key == "after":
                return column >= end
            return sa.and_(column >= start, column < end)
        if operator_key == "within_days":
            if today is None:
                raise ValueError("within_days needs today's date (from the clock)")
            other = today + dt.timedelta(days=integer_operand(raw))
            start = self._day_start(min(today, other))
            end = self._day_start(max(today, other) + one_day)
            return sa.and_(column >= start, column < end)
        return super().filter_clause(field, table, operator_key, raw, today=today)


class TimeType(_BoundedMixin):
    """A time of day (no date, no time zone): ``09:30``, ``9时30分``, an Excel day fraction."""

    key = "time"
    label = Label("时间", "Time")
    formula_type = "time"
    operators = TIME_OPERATORS
    settings_schema = BOUNDS_SCHEMA

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        return [sa.Column(field.key, sa.Time(), nullable=True)]

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        return None if is_blank_input(raw) else parse_time(raw)

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        if value is None:
            return ""
        moment: dt.time = value
        return moment.isoformat(timespec="minutes" if moment.second == 0 else "seconds")

    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        return value

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        return {"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2})?$"}

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        return dt.time(rng.randint(8, 18), rng.choice((0, 15, 30, 45)))
