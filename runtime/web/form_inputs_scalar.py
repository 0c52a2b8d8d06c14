"""The inputs of one typed value: numbers, money and percentages, yes/no,
dates and times (in the reader's time zone)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.definitions.model import FieldDef
from engine.fields.base import FieldType
from runtime.web.form_inputs_base import (
    ABSENT,
    FormInput,
    InputContext,
    Posted,
    number_text,
    text_of,
)


class NumberInput(FormInput):
    key = "number"

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        return number_text(value)


class MoneyInput(NumberInput):
    key = "money"


class PercentInput(FormInput):
    """Typed as a percentage (15 for 15%), kept as a fraction (0.15)."""

    key = "percent"

    def decode(self, posted: Posted, name: str, f: FieldDef) -> Any:
        raw = super().decode(posted, name, f)
        if raw is ABSENT or not raw.strip() or raw.strip().endswith("%"):
            return raw
        return raw.strip() + "%"

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        if isinstance(value, str):
            return value.strip().rstrip("%").strip()
        if value is None:
            return ""
        try:
            return format(Decimal(value).scaleb(2).normalize(), "f")
        except InvalidOperation:
            return str(value)


class BooleanInput(FormInput):
    """A checkbox after a hidden "false" of the same name: the last one posted wins."""

    key = "boolean"

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes", "on")
        return bool(value)


class DateTimeInput(FormInput):
    """``datetime-local`` in the reader's time zone, posted as ISO 8601 with
    the zone's offset (so the engine reads the moment the reader meant)."""

    key = "datetime"

    def decode(self, posted: Posted, name: str, f: FieldDef) -> Any:
        raw = super().decode(posted, name, f)
        zone = posted.get("_zone")
        if raw is ABSENT or not raw.strip() or not zone:
            return raw
        try:
            moment = dt.datetime.fromisoformat(raw.strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zoneinfo.ZoneInfo(zone))
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            return raw  # the engine says what is wrong with it
        return moment.isoformat()

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        if isinstance(value, str):
            try:
                value = dt.datetime.fromisoformat(value.strip())
            except ValueError:
                return value
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(ctx.zone)
            # Seconds only when the moment has them (then the input steps by
            # seconds): an untouched edit form must post back what is stored.
            return value.replace(tzinfo=None, microsecond=0).isoformat(
                timespec="seconds" if value.second else "minutes")
        return text_of(value)


class DateInput(FormInput):
    key = "date"

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        return value.isoformat() if isinstance(value, dt.date) else text_of(value)


class TimeInput(FormInput):
    key = "time"

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        if isinstance(value, dt.time):
            return value.replace(microsecond=0).isoformat(timespec="seconds" if value.second else "minutes")
        return text_of(value)
