"""Alerts (警报): a report's measure against a threshold, checked on a
schedule by the worker (task ``report_alerts``), told through the rule
engine's channels.

For each enabled alert of each installed app's reports, ``run_alerts``
claims the check when it is due, in ONE transaction:

1. the alert's state row (``report_alert_states``) is made if missing, then
   claimed by moving ``next_at`` forward only where it is still due: a
   second worker waits for the first's row lock on PostgreSQL (SQLite has
   one writer) and then finds it not due — each check runs once;
2. the measure is computed as the system (every record): the report's total
   (its query without dimensions: an average or a rate is the database's,
   not a sum of rows), or each row's value with ``each_row``;
3. when the condition *becomes* true (was false, or a row newly holds) the
   ``notify`` settings (the rule action's: ``to``, ``title``, ``text``,
   ``channels``) are sent through the Notifier in the same transaction; the
   state keeps what held, so a lasting condition is told once.

A crash rolls all three back: the check is claimed again at the next turn.
Templates see ``alert``, ``report``, ``value``, ``threshold`` and ``rows``
(each ``{dimension: shown value, measure: value}``).
"""

from __future__ import annotations

import datetime as dt
import logging
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from engine.actions.base import ActionContext
from engine.actions.people import resolve_to
from engine.core.errors import QiqiaoError
from engine.definitions.report_files import AlertDef, ReportDef
from engine.definitions.rule_files import RuleDef, StepDef
from engine.notify.notifier import IN_APP, Notice
from engine.notify.templates import MessageTemplate
from engine.records import RecordService
from engine.records.actor import Actor
from engine.records.values import jsonable
from engine.reports.cache import freeze
from engine.reports.model import ReportResult
from engine.store.models import ReportAlertState

if TYPE_CHECKING:
    from engine.reports.service import ReportEngine

log = logging.getLogger("qiqiao.reports")
STATES = cast(sa.Table, ReportAlertState.__table__)
WORKER = Actor(None, "worker")
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le,
    "eq": operator.eq, "ne": operator.ne,
}
_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def every(text: str) -> dt.timedelta:
    """``"15m"`` / ``"1h"`` / ``"1d"`` as a duration (at least a minute)."""
    found = _DURATION.match(text or "")
    if found is None:
        raise ValueError(f"not a duration: {text!r} (like 15m, 1h, 1d)")
    return max(dt.timedelta(**{_UNITS[found.group(2)]: int(found.group(1))}), dt.timedelta(minutes=1))


def holds(alert: AlertDef, value: Any) -> bool:
    if value is None:
        return False
    try:
        return bool(COMPARISONS[alert.op](float(value), float(alert.value)))
    except (TypeError, ValueError):
        return bool(COMPARISONS[alert.op](value, alert.value))


def run_alerts(engine: ReportEngine, now: dt.datetime) -> int:
    """Check every due alert once; how many were checked."""
    done = 0
    for app_key in engine.app_keys():
        try:
            service = engine._service(app_key)
        except QiqiaoError:
            continue
        for report in service.app.reports:
            for alert in report.alerts:
                if not alert.enabled:
                    continue
                try:
                    done += _check(engine, service, report, alert, now)
                except Exception:  # one broken alert never stops the others; tried again next turn
                    log.exception("alert %s.%s.%s failed", app_key, report.key, alert.key)
    return done


def _check(engine: ReportEngine, service: RecordService, report: ReportDef, alert: AlertDef,
           now: dt.datetime) -> int:
    at = now.astimezone(dt.UTC)
    key = {"app": service.app.key, "report": report.key, "alert": alert.key}
    where = sa.and_(STATES.c.app == key["app"], STATES.c.report == key["report"], STATES.c.alert == key["alert"])
    with service.database.transaction() as conn:
        insert: Any = postgresql.insert(STATES) if conn.dialect.name == "postgresql" else sqlite.insert(STATES)
        conn.execute(insert.values(**key, next_at=at, held=False, held_rows=[]).on_conflict_do_nothing())
        claimed = conn.execute(sa.update(STATES).where(where, STATES.c.next_at <= at)
                               .values(next_at=at + every(alert.every), checked_at=at)).rowcount
        if claimed != 1:
            return 0
        state = conn.execute(sa.select(STATES.c.held, STATES.c.held_rows).where(where)).one()
        result = _result(engine, service, report, alert, conn)
        column = result.column(alert.measure)
        if column is None:
            raise LookupError(f"report {report.key} has no measure {alert.measure}")
        index = result.columns.index(column)
        dimensions = [(i, c) for i, c in enumerate(result.columns) if c.role == "dimension"]
        holding = [row for row in result.rows if holds(alert, row[index])]
        keys = [freeze([row[i] for i, _ in dimensions]) for row in holding]
        if alert.each_row:
            before = set(state.held_rows or [])
            new = [row for row, k in zip(holding, keys, strict=True) if k not in before]
            fire = bool(new)
        else:
            new = holding
            fire = bool(holding) and not state.held
        value = result.rows[0][index] if result.rows and not alert.each_row else None
        values: dict[str, Any] = {"held": bool(holding), "held_rows": keys, "last_value": {"value": jsonable(value)}}
        if fire:
            _notify(engine, service, conn, report, alert, result, new, dimensions, index, value, now)
            values["fired_at"] = at
        conn.execute(sa.update(STATES).where(where).values(**values))
    return 1


def _result(engine: ReportEngine, service: RecordService, report: ReportDef, alert: AlertDef,
            conn: Connection) -> ReportResult:
    query = report.query
    if not alert.each_row:  # the total, computed by the database
        query = replace(query, dimensions=(), order=(), top=None, compare=(), running=(), pivot=None,
                        limit=None, having=None)
    return engine._run(service, query, WORKER, ("alert", report.key, report.version, alert.each_row),
                       connection=conn)


def _notify(engine: ReportEngine, service: RecordService, conn: Connection, report: ReportDef,
            alert: AlertDef, result: ReportResult, rows: list[tuple[Any, ...]],
            dimensions: list[tuple[int, Any]], index: int, value: Any, now: dt.datetime) -> None:
    settings: Mapping[str, Any] = alert.notify
    locale = str(settings.get("locale", "zh"))
    rule = RuleDef(key=f"alert_{report.key}_{alert.key}", label=alert.label, form=report.form,
                   trigger=StepDef("schedule"), actions=())
    ctx = ActionContext(conn=conn, service=service, org=engine.org, rule=rule, run_id=0, actor=WORKER,
                        now=now, extras={"notifier": engine.notifier})
    reach = resolve_to(ctx, list(settings.get("to", ())))
    shown = [{**{c.key: _shown(result, c.key, row[i], locale) for i, c in dimensions},
              alert.measure: row[index]} for row in rows]
    context = {"alert": alert.label.text(locale), "report": report.label.text(locale), "value": value,
               "threshold": alert.value, "rows": shown}
    name = f"{service.app.key}.{report.key}.{alert.key}"

    def render(part: str, html: bool = False) -> str | None:
        source = settings.get(part)
        return MessageTemplate(str(source), html=html, name=f"{name}: {part}").render(context) if source else None

    notice = Notice(
        key=f"alert:{name}:{now.astimezone(dt.UTC).isoformat()}",
        title=render("title") or alert.label.text(locale), text=render("text") or "",
        html=render("html", html=True), users=tuple(reach.users), addresses=tuple(reach.addresses),
        robots=tuple(reach.robots), channels=tuple(settings.get("channels", (IN_APP,))), app=service.app.key,
        form=report.form, link=f"/a/{service.app.key}/reports/{report.key}", source=f"alert:{name}")
    engine.notifier.send(conn, notice)


def _shown(result: ReportResult, key: str, value: Any, locale: str) -> str:
    found = result.labels.get(key, {}).get(value)
    return found.text(locale) if found is not None else ("" if value is None else str(value))
