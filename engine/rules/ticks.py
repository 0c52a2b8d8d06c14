"""Runs the due ticks of schedule and date rules, once per tick across workers.

``run_due`` is the worker's task (``runtime/worker.py``). For each enabled
rule with a timer trigger (``engine.rules.timers``) of each installed app it
lists the ticks due since the rule's cursor (``rule_cursors``, key
``tick:<rule>``) up to now and, in ONE transaction:

1. claims them by inserting ``(app, rule, tick)`` rows into ``rule_ticks``
   with ON CONFLICT DO NOTHING ... RETURNING: a tick another worker claimed
   first is not returned, and this one skips it (on PostgreSQL the insert
   waits for the other's transaction, so an uncommitted claim is not missed);
2. fires the rule for the claimed ticks' records (``RuleEngine.fire_all``;
   a date rule's consecutive ticks are one window, so one query);
3. moves the cursor forward and prunes old claims.

A crash rolls the three back together: the tick is claimed again later.
Missed ticks (no worker running) are caught up from the cursor; a rule never
seen before starts at the time it was published, or now if the clock is
behind that (never from the epoch).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Iterator
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from engine.core.errors import QiqiaoError
from engine.rules.engine import Firing, RuleEngine
from engine.rules.index import PreparedRule
from engine.rules.timers import TickContext, TimerTrigger
from engine.store.models import Definition, RuleCursor, RuleTick

log = logging.getLogger("qiqiao.rules")

TICKS = cast(sa.Table, RuleTick.__table__)
CURSORS = cast(sa.Table, RuleCursor.__table__)
DEFINITIONS = cast(sa.Table, Definition.__table__)
# Ticks one call runs per rule: a long catch-up continues on the next call
# (the worker calls again at once when a call did something).
MAX_TICKS = 1440
CLAIM_ROWS = 500  # rows per INSERT (well under SQLite's variable limit)
# Claimed ticks are kept this long behind the cursor, then pruned.
KEEP_TICKS = dt.timedelta(days=2)


def run_due(rules: RuleEngine, now: dt.datetime, worker_name: str) -> int:
    """Claim and run every due tick of every timer rule; returns the ticks run."""
    done = 0
    for app_key in rules.records.app_keys():
        try:
            timed = [item for item in rules.index(app_key).by_key.values()
                     if item.rule.enabled and isinstance(item.trigger, TimerTrigger)]
        except QiqiaoError as exc:
            log.error("rules of %s not loaded: %s", app_key, exc)
            continue
        for item in timed:
            try:
                done += run_rule(rules, app_key, item, now, worker_name)
            except (QiqiaoError, ValueError, sa.exc.SQLAlchemyError) as exc:
                # One broken rule (a filter that no longer compiles ...) does not stop the others.
                log.error("timer rule %s.%s failed: %s", app_key, item.rule.key, exc)
    return done


def run_rule(rules: RuleEngine, app_key: str, item: PreparedRule, now: dt.datetime, worker_name: str) -> int:
    """Claim and run the rule's due ticks (at most ``MAX_TICKS``) in one transaction."""
    trigger = cast(TimerTrigger, item.trigger)
    settings = item.rule.trigger.settings
    service = rules.records.get(app_key)
    with service.database.reading() as conn:
        start = cursor(conn, app_key, item.rule.key)
    if start is None:
        # First sight of the rule: it starts when it was published (or now), kept so it does not slide.
        with service.database.transaction() as conn:
            start = published_at(conn, app_key, item.rule.key, now)
            move_cursor(conn, app_key, item.rule.key, start, now)
            start = cursor(conn, app_key, item.rule.key) or start
    due = list(itertools.islice(trigger.ticks(settings, start, now, rules.clock.tz), MAX_TICKS))
    if not due:
        return 0
    with service.database.transaction() as conn:
        mine = claim(conn, app_key, item.rule.key, due, now, worker_name)
        ctx = TickContext(service, conn, item.rule.form, rules.clock.tz)
        for batch in trigger.batches(mine):

            def firings(batch: list[dt.datetime] = batch) -> Iterator[Firing]:
                for record in trigger.records(ctx, settings, batch):
                    yield Firing(trigger.key, record, None, "schedule", None, 0,
                                 {"ticks": [batch[0].isoformat(), batch[-1].isoformat()]})

            rules.fire_all(app_key, item.rule.key, conn, firings)
        move_cursor(conn, app_key, item.rule.key, due[-1], now)
    return len(mine)


def claim(conn: Connection, app: str, rule: str, ticks: list[dt.datetime], now: dt.datetime,
          worker: str) -> list[dt.datetime]:
    """The ticks this transaction claimed (the others are another worker's).
    Inserted in ascending order, so two workers claiming overlapping ticks
    wait for each other without deadlocking."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    claimed: set[dt.datetime] = set()
    for start in range(0, len(ticks), CLAIM_ROWS):
        rows = [dict(app=app, rule=rule, tick=_utc(tick), claimed_at=_utc(now), claimed_by=worker[:100])
                for tick in ticks[start:start + CLAIM_ROWS]]
        insert = dialect.insert(TICKS).values(rows).on_conflict_do_nothing(
            index_elements=["app", "rule", "tick"]).returning(TICKS.c.tick)
        claimed.update(_aware(moment) for moment in conn.execute(insert).scalars())
    return [tick for tick in ticks if _utc(tick) in claimed]


def cursor(conn: Connection, app: str, rule: str) -> dt.datetime | None:
    """The last tick the rule ran (aware, UTC), or None before its first."""
    value = conn.execute(sa.select(CURSORS.c.value).where(
        CURSORS.c.app == app, CURSORS.c.key == f"tick:{rule}")).scalar()
    return dt.datetime.fromisoformat(value["tick"]) if value else None


def published_at(conn: Connection, app: str, rule: str, now: dt.datetime) -> dt.datetime:
    """When the rule's current version was published (its first tick's lower bound)."""
    moment = conn.execute(sa.select(sa.func.max(DEFINITIONS.c.published_at)).where(
        DEFINITIONS.c.app == app, DEFINITIONS.c.kind == "rule", DEFINITIONS.c.key == rule)).scalar()
    if moment is None:
        return now
    assert isinstance(moment, dt.datetime)
    return min(_aware(moment), now)


def move_cursor(conn: Connection, app: str, rule: str, tick: dt.datetime, now: dt.datetime) -> None:
    key = f"tick:{rule}"
    value: dict[str, Any] = {"tick": tick.astimezone(dt.UTC).isoformat()}
    known = cursor(conn, app, rule)
    if known is None:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(dialect.insert(CURSORS).values(app=app, key=key, value=value, updated_at=_utc(now))
                     .on_conflict_do_update(index_elements=["app", "key"],
                                            set_={"value": value, "updated_at": _utc(now)}))
    elif known < tick:
        conn.execute(CURSORS.update().where(CURSORS.c.app == app, CURSORS.c.key == key)
                     .values(value=value, updated_at=_utc(now)))
    # No worker lists ticks before the cursor: older claims only fill the table.
    conn.execute(TICKS.delete().where(TICKS.c.app == app, TICKS.c.rule == rule,
                                      TICKS.c.tick < _utc(tick - KEEP_TICKS)))


def _utc(moment: dt.datetime) -> dt.datetime:
    """A moment as stored: in UTC (PostgreSQL keeps the zone, SQLite drops it)."""
    return moment.astimezone(dt.UTC)


def _aware(moment: dt.datetime) -> dt.datetime:
    """A stored moment read back: SQLite's come naive (they are UTC)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
