"""Triggers fired by the worker's clock: ``schedule`` (a crontab) and
``date_relative`` (a date or datetime field of each record, shifted by an offset).

A timer trigger turns time into *ticks*: the moments it is due, computed the
same way by every worker so that a tick can be claimed once
(``engine.rules.ticks.run_due``). For each claimed tick it yields its firings:

- ``schedule`` (a 5-field crontab, weekdays numbered as crontab does, 0 or
  7 = Sunday): one firing without a record, or, with a ``filter``, one per
  matching record of the rule's form;
- ``date_relative``: a tick every minute; the tick ``t`` fires the records
  whose ``field + offset`` (at ``at`` for a date) falls in ``(t - 1 min, t]``.
  The window is shifted by the offset in Python, so the records come from one
  range query on the field's column (``field > :from AND field <= :to``);
  consecutive ticks claimed together (a catch-up) are one window, one query.

A filter is the filter language of views; a condition may give
``value_formula`` instead of ``value``, evaluated at the tick
(``{"field": "last_visit", "op": "before", "value_formula": "TODAY() - 30"}``).
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.engine import Connection

from engine.actions.base import RuleChecker
from engine.core.clock import FixedClock
from engine.core.i18n import Label
from engine.definitions.issues import Path
from engine.definitions.model import FieldDef, FormDef
from engine.expr import EvaluationContext, compile_formula, is_error
from engine.records import RecordService
from engine.records.filters import compile_filter
from engine.rules.triggers import Trigger

# The date trigger's grain: a tick a minute, each covering the minute before it.
DATE_TICK = dt.timedelta(minutes=1)
# Records fetched and hydrated at a time (one query per page for subforms/links).
PAGE = 500
TEMPORAL_TYPES = frozenset({"date", "datetime"})


def temporal_kind(f: FieldDef) -> str | None:
    """``date`` or ``datetime`` for a field that holds one: a date field, or a
    stored formula or rollup whose result is one (a ticket's SLA deadline)."""
    if f.type in TEMPORAL_TYPES:
        return f.type
    result = f.setting("result_type")
    return str(result) if result in TEMPORAL_TYPES else None
OFFSET_UNITS = ("days", "hours", "minutes")

_FILTER: dict[str, Any] = {
    "type": "object",
    "description": "A filter over the rule's form (the filter language); a condition may give "
                   "value_formula (evaluated at the tick) instead of value.",
}
_TIMEZONE: dict[str, Any] = {"type": "string", "minLength": 1,
                             "description": "An IANA time zone (the deployment's by default)."}


@dataclass(frozen=True)
class TickContext:
    """What a timer trigger needs to list a tick's records."""

    service: RecordService
    conn: Connection
    form: str
    tz: dt.tzinfo


class TimerTrigger(Trigger, ABC):
    """A trigger the worker's clock fires (see the module docstring)."""

    timer: ClassVar[bool] = True

    def zone(self, settings: Mapping[str, Any], default: dt.tzinfo) -> dt.tzinfo:
        name = settings.get("timezone")
        return ZoneInfo(name) if name else default

    @abstractmethod
    def ticks(self, settings: Mapping[str, Any], after: dt.datetime, until: dt.datetime,
              tz: dt.tzinfo) -> Iterator[dt.datetime]:
        """The due moments in ``(after, until]``, oldest first."""

    def batches(self, ticks: list[dt.datetime]) -> list[list[dt.datetime]]:
        """The claimed ticks grouped into what one ``records`` call serves: each alone by default."""
        return [[tick] for tick in ticks]

    @abstractmethod
    def records(self, ctx: TickContext, settings: Mapping[str, Any],
                ticks: list[dt.datetime]) -> Iterator[Mapping[str, Any] | None]:
        """The records ``ticks`` (a batch) fire the rule for (None: one firing without a record)."""

    def check_timezone(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        name = settings.get("timezone")
        if name is None:
            return
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            checker.report((*path, "timezone"), Label(f"未知的时区 {name}（例如 Asia/Shanghai）",
                                                      f"Unknown time zone {name} (e.g. Asia/Shanghai)"))

    def check_filter(self, checker: RuleChecker, spec: Any, path: Path) -> None:
        """The fields and formulas a filter names (the compiler checks the rest at the tick)."""
        if not isinstance(spec, Mapping):
            return
        for group in ("and", "or"):
            for i, item in enumerate(spec.get(group) or ()):
                self.check_filter(checker, item, (*path, group, i))
        if "not" in spec:
            self.check_filter(checker, spec["not"], (*path, "not"))
        if isinstance(spec.get("field"), str):
            checker.field((*path, "field"), spec["field"].split(".")[0])
        if isinstance(spec.get("value_formula"), str):
            checker.formula((*path, "value_formula"), spec["value_formula"])


def resolve_filter(spec: Any, moment: dt.datetime) -> Any:
    """``spec`` with every ``value_formula`` replaced by its value at ``moment``."""
    if isinstance(spec, list):
        return [resolve_filter(item, moment) for item in spec]
    if not isinstance(spec, Mapping):
        return spec
    resolved = {key: resolve_filter(value, moment) for key, value in spec.items() if key != "value_formula"}
    if "value_formula" in spec:
        clock = FixedClock(moment, getattr(moment.tzinfo, "key", "Asia/Shanghai"))
        value = compile_formula(spec["value_formula"]).evaluate({}, EvaluationContext(clock=clock))
        if is_error(value):
            raise ValueError(f"value_formula {spec['value_formula']!r}: {value}")
        resolved["value"] = value.isoformat() if isinstance(value, dt.date) else value
    return resolved


def matching_records(ctx: TickContext, spec: Mapping[str, Any] | None,
                     moment: dt.datetime) -> Iterator[Mapping[str, Any]]:
    """The records of the rule's form ``spec`` matches: ONE query on the main
    table (the filter compiled to SQL), hydrated a page at a time."""
    compiled, tables = ctx.service.form(ctx.form)
    where = compile_filter(spec, compiled.form, ctx.service.app, ctx.service.field_types,
                           today=moment.astimezone(ctx.tz).date(), tables=tables)
    rows = [dict(row) for row in ctx.conn.execute(
        sa.select(tables.main).where(where).order_by(tables.main.c.id)).mappings()]
    for start in range(0, len(rows), PAGE):
        yield from ctx.service.reader.hydrate(ctx.conn, compiled, tables, rows[start:start + PAGE])


WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def crontab_weekdays(field: str) -> str:
    """A crontab weekday field as APScheduler 3 reads it: its numbers start
    at Monday (crontab's 0 and 7 are Sunday), so numbers become names; a
    range or step over numbers is spelled out (``0-6/2`` -> ``sun,tue,thu,sat``)."""
    parts = []
    for part in field.split(","):
        base, _, step = part.partition("/")
        if not any(ch.isdigit() for ch in base) and not (base == "*" and step):
            parts.append(part)
            continue
        low, _, high = ("0-6" if base == "*" else base).partition("-")
        first, last = int(low), int(high or (6 if step else low))
        if not (0 <= first <= 7 and 0 <= last <= 7) or first > last:
            raise ValueError(f"weekday {part!r} is out of range (0-7)")
        parts.extend(WEEKDAYS[day % 7] for day in range(first, last + 1, int(step or 1)))
    return ",".join(dict.fromkeys(parts))


def cron_trigger(expr: str, tz: dt.tzinfo | str) -> CronTrigger:
    """The crontab expression's trigger; ValueError says what is wrong."""
    values = expr.split()
    if len(values) != 5:
        raise ValueError(f"{len(values)} fields instead of 5")
    return CronTrigger(minute=values[0], hour=values[1], day=values[2], month=values[3],
                       day_of_week=crontab_weekdays(values[4]), timezone=tz)


class Schedule(TimerTrigger):
    key = "schedule"

    def describe(self, settings: Mapping[str, Any], form: FormDef) -> Label:
        zone = settings.get("timezone")
        each = "，每条符合条件的记录一次" if settings.get("filter") else ""
        each_en = ", once per matching record" if settings.get("filter") else ""
        return Label(f"按计划 {settings['cron']}{f'（{zone}）' if zone else ''}{each}",
                     f"on the schedule {settings['cron']}{f' ({zone})' if zone else ''}{each_en}")
    label = Label("定时触发", "On a schedule")
    description = Label("按 cron 表达式定时触发；可带筛选条件，对每条符合的记录触发一次",
                        "Fires at the times a crontab gives; with a filter, once per matching record")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False, "required": ["cron"],
        "properties": {
            "cron": {"type": "string", "minLength": 1,
                     "description": "A 5-field crontab: minute hour day month weekday (\"0 9 * * 1-5\")."},
            "timezone": _TIMEZONE,
            "filter": _FILTER,
        },
    }

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        self.check_timezone(checker, settings, path)
        try:
            cron_trigger(settings["cron"], "UTC")
        except ValueError as exc:
            checker.report((*path, "cron"), Label(f"cron 表达式无效：{exc}（5 段：分 时 日 月 周）",
                                                  f"Invalid cron expression: {exc} "
                                                  "(5 fields: minute hour day month weekday)"))
        if "filter" in settings:
            self.check_filter(checker, settings["filter"], (*path, "filter"))

    def ticks(self, settings: Mapping[str, Any], after: dt.datetime, until: dt.datetime,
              tz: dt.tzinfo) -> Iterator[dt.datetime]:
        cron = cron_trigger(settings["cron"], self.zone(settings, tz))
        # Fire times fall on whole seconds: the next one strictly after ``after``.
        moment = cron.get_next_fire_time(None, after + dt.timedelta(microseconds=1))
        while moment is not None and moment <= until:
            yield moment
            moment = cron.get_next_fire_time(moment, moment + dt.timedelta(seconds=1))

    def records(self, ctx: TickContext, settings: Mapping[str, Any],
                ticks: list[dt.datetime]) -> Iterator[Mapping[str, Any] | None]:
        if "filter" not in settings:
            yield None
            return
        local = ticks[-1].astimezone(self.zone(settings, ctx.tz))
        yield from matching_records(ctx, resolve_filter(settings["filter"], local), local)


class DateRelative(TimerTrigger):
    key = "date_relative"

    def describe(self, settings: Mapping[str, Any], form: FormDef) -> Label:
        found = form.field(settings["field"])
        name = found.label if found is not None else Label(settings["field"], settings["field"])
        offset = settings.get("offset", {})
        parts = [(int(offset.get(u, 0)), zh, en) for u, zh, en in
                 (("days", "天", "day"), ("hours", "小时", "hour"), ("minutes", "分钟", "minute"))]
        shift = [(n, zh, en) for n, zh, en in parts if n]
        at = settings.get("at", "09:00") if found is not None and temporal_kind(found) == "date" else ""
        at_zh, at_en = (f"，{at}", f", at {at}") if at else ("", "")
        if not shift:
            return Label(f"{form.label.zh}的{name.zh}到达时{at_zh}", f"when a {form.label.en}'s {name.en} comes{at_en}")
        n, zh, en = shift[0]
        return Label(f"{form.label.zh}的{name.zh}{'前' if n < 0 else '后'} {abs(n)} {zh}{at_zh}",
                     f"{abs(n)} {en}{'s' if abs(n) != 1 else ''} {'before' if n < 0 else 'after'} "
                     f"a {form.label.en}'s {name.en}{at_en}")
    label = Label("按日期字段触发", "Relative to a date")
    description = Label("在记录的日期字段前后一段时间触发（如合同到期前 30 天）",
                        "Fires at a time relative to a date field of each record (e.g. 30 days before "
                        "a contract ends)")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False, "required": ["field"],
        "properties": {
            "field": {"type": "string", "description": "A date or datetime field of the form."},
            "offset": {"type": "object", "additionalProperties": False, "minProperties": 1,
                       "properties": {unit: {"type": "integer"} for unit in OFFSET_UNITS},
                       "description": "When, relative to the field: {\"days\": -30} is 30 days before."},
            "at": {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$",
                   "description": "The time of day for a date field (HH:MM, 09:00 by default)."},
            "timezone": _TIMEZONE,
            "filter": _FILTER,
        },
    }

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        self.check_timezone(checker, settings, path)
        found = checker.field((*path, "field"), settings["field"])
        if found is not None and temporal_kind(found) is None:
            checker.report((*path, "field"), Label(
                f"字段 {found.key} 是 {found.type} 类型，按日期触发需要日期或日期时间字段",
                f"The field {found.key} is a {found.type} field; a date trigger needs a date or datetime field"))
        if "filter" in settings:
            self.check_filter(checker, settings["filter"], (*path, "filter"))

    def ticks(self, settings: Mapping[str, Any], after: dt.datetime, until: dt.datetime,
              tz: dt.tzinfo) -> Iterator[dt.datetime]:
        grain = int(DATE_TICK.total_seconds())
        epoch = int(after.timestamp()) // grain * grain + grain
        last = int(until.timestamp())
        for moment in range(epoch, last + 1, grain):
            yield dt.datetime.fromtimestamp(moment, dt.UTC)

    def batches(self, ticks: list[dt.datetime]) -> list[list[dt.datetime]]:
        # Consecutive ticks make one window: a catch-up of a day is one query, not 1,440.
        runs: list[list[dt.datetime]] = []
        for tick in ticks:
            if runs and tick - runs[-1][-1] == DATE_TICK:
                runs[-1].append(tick)
            else:
                runs.append([tick])
        return runs

    def window(self, settings: Mapping[str, Any], field_type: str, first: dt.datetime, last: dt.datetime,
               tz: dt.tzinfo) -> tuple[Any, Any]:
        """The field's values ``(from, to]`` the ticks ``first``..``last`` fire
        for: the minutes they cover shifted back by the offset (for a date:
        the days whose ``at`` falls in them)."""
        offset = dt.timedelta(**{u: int(settings.get("offset", {}).get(u, 0)) for u in OFFSET_UNITS})
        low = (first - DATE_TICK - offset).astimezone(tz)
        high = (last - offset).astimezone(tz)
        if field_type == "datetime":
            return low.isoformat(), high.isoformat()
        hour, minute = (int(part) for part in str(settings.get("at", "09:00")).split(":"))
        at = dt.time(hour, minute)
        # The day d fires at d + at: d + at > low and d + at <= high.
        after = low.date() if low.time() >= at else low.date() - dt.timedelta(days=1)
        until = high.date() if high.time() >= at else high.date() - dt.timedelta(days=1)
        return after.isoformat(), until.isoformat()

    def query(self, ctx: TickContext, settings: Mapping[str, Any], ticks: list[dt.datetime]) -> dict[str, Any]:
        """The filter of a batch's records: the window on the field, and the rule's filter."""
        tz = self.zone(settings, ctx.tz)
        field = settings["field"]
        field_type = temporal_kind(ctx.service.form(ctx.form)[0].form.get_field(field)) or "datetime"
        low, high = self.window(settings, field_type, ticks[0], ticks[-1], tz)
        window: list[Any] = [{"field": field, "op": "gt", "value": low}, {"field": field, "op": "lte", "value": high}]
        if "filter" in settings:
            window.append(resolve_filter(settings["filter"], ticks[-1].astimezone(tz)))
        return {"and": window}

    def records(self, ctx: TickContext, settings: Mapping[str, Any],
                ticks: list[dt.datetime]) -> Iterator[Mapping[str, Any] | None]:
        local = ticks[-1].astimezone(self.zone(settings, ctx.tz))
        yield from matching_records(ctx, self.query(ctx, settings, ticks), local)


TIMER_TRIGGERS: tuple[TimerTrigger, ...] = (Schedule(), DateRelative())
