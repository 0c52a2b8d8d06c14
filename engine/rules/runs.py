"""The run log: every run of every rule, how it ended and what each action did.

``status`` is ``done``, ``skipped`` (the condition was false), ``failed``
(an action raised: its writes were rolled back, the error is kept and the
run can be retried) or ``cut`` (the loop guard stopped it: too deep a
cascade, or the rule already ran for this record in this cascade).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.rules.deferred import DeferredRuns, deferred_runs, flush_before_reading
from engine.store.database import Database
from engine.store.models import RuleRun

RUNS = cast(sa.Table, RuleRun.__table__)
RUN_INSERT = RUNS.insert()
# Skipped runs are most runs (every rule of a form hears each of its writes):
# their constant columns are SQL literals, so a row binds only what varies
# and nothing is JSON-encoded (the run log's cost per write, bench/rules.py).
SKIPPED_INSERT = RUNS.insert().values(status=sa.literal_column("'skipped'"),
                                      actions=sa.literal_column("'[]'"))
SKIPPED_VARIES = ("app", "rule", "trigger", "form", "record_id", "started_at", "duration_ms", "depth",
                  "source", "user_id", "retry_of")  # in write_skipped's order

DONE = "done"
SKIPPED = "skipped"
FAILED = "failed"
CUT = "cut"
RUNNING = "running"
STATUSES = (DONE, SKIPPED, FAILED, CUT)
MAX_LIMIT = 200


@dataclass(frozen=True)
class RunEntry:
    """One run as the admin pages and the API show it."""

    id: int
    app: str
    rule: str
    trigger: str
    form: str | None
    record_id: int | None
    status: str
    started_at: dt.datetime
    duration_ms: float
    depth: int
    source: str | None
    user_id: int | None
    actions: list[dict[str, Any]]
    error: str | None
    retry_of: int | None

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def run_row(*, app: str, rule: str, trigger: str, form: str | None, record_id: int | None,
            status: str, started_at: dt.datetime, duration_ms: float = 0.0, depth: int = 0,
            source: str | None = None, user_id: int | None = None,
            actions: Sequence[Mapping[str, Any]] = (), error: str | None = None,
            payload: Mapping[str, Any] | None = None, retry_of: int | None = None) -> dict[str, Any]:
    return {"app": app, "rule": rule, "trigger": trigger, "form": form, "record_id": record_id,
            "status": status, "started_at": started_at.astimezone(dt.UTC), "duration_ms": duration_ms,
            "depth": depth, "source": source, "user_id": user_id, "actions": list(actions),
            "error": error, "payload": dict(payload) if payload is not None else None, "retry_of": retry_of}


def start_run(conn: Connection, row: Mapping[str, Any]) -> int:
    return int(conn.execute(RUN_INSERT.returning(RUNS.c.id), dict(row)).scalar_one())


def end_run(conn: Connection, run_id: int, *, status: str, duration_ms: float,
            actions: Sequence[Mapping[str, Any]], error: str | None = None,
            payload: Mapping[str, Any] | None = None) -> None:
    conn.execute(RUNS.update().where(RUNS.c.id == run_id).values(
        status=status, duration_ms=duration_ms, actions=list(actions), error=error,
        payload=dict(payload) if payload is not None else None))


def log_runs(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Runs that ended before they started (cut, or failed in their condition), in one statement."""
    if rows:
        conn.execute(RUN_INSERT, [dict(r) for r in rows])


def deferred_log(database: Database) -> DeferredRuns:
    """The database's log of skipped runs written after their write commits."""
    return deferred_runs(database, write_skipped)


# An aggregated skip names at most this many of its records.
MAX_NAMED = 200


# One event's skipped runs as the rule engine defers them: app, form, record
# id, when the event was heard, depth, source, user id, the seconds its skips
# took together, and the (rule, trigger) of each skip.
Skips = tuple[str, str, int | None, dt.datetime, int, str | None, int | None, float, list[tuple[str, str]]]


def write_skipped(conn: Connection, entries: list[Skips]) -> None:
    """The skips of each rule since the last flush: a plain run row when there
    is one, else one row for all of them — record_id empty, the count, the
    first moment and the records (the first ``MAX_NAMED``) in its action."""
    groups: dict[tuple[str, str, str, str], list[tuple[Any, ...]]] = {}
    for app, form, record_id, started_at, depth, source, user_id, spent, skipped in entries:
        run = (record_id, started_at.astimezone(dt.UTC), round(spent * 1000, 3) / len(skipped), depth,
               source, user_id)
        for rule, trigger in skipped:
            groups.setdefault((app, rule, trigger, form), []).append(run)
    single = [(key, runs[0]) for key, runs in groups.items() if len(runs) == 1]
    if single:
        conn.execute(SKIPPED_INSERT, [dict(zip(SKIPPED_VARIES, (*key, *run, None), strict=True))
                                      for key, run in single])
    many = [(key, runs) for key, runs in groups.items() if len(runs) > 1]
    if many:
        conn.execute(RUN_INSERT, [run_row(
            app=app, rule=rule, trigger=trigger, form=form, record_id=None, status=SKIPPED,
            started_at=runs[0][1], duration_ms=round(sum(r[2] for r in runs), 3), depth=min(r[3] for r in runs),
            source=runs[0][4] if len({r[4] for r in runs}) == 1 else None,
            actions=[{"type": "condition", "outcome": "skipped", "detail": {
                "count": len(runs), "until": runs[-1][1].isoformat(), "records": [r[0] for r in runs[:MAX_NAMED]]}}],
        ) for (app, rule, trigger, form), runs in many])


def flush(database: Database) -> None:
    """Write the skipped runs waiting in this process: before reading the log."""
    deferred_log(database).flush()


def read_runs(conn: Connection, *, app: str | None = None, rule: str | None = None,
              form: str | None = None, record_id: int | None = None, status: str | None = None,
              before: int | None = None, limit: int = 50) -> list[RunEntry]:
    """Runs, newest first, filtered by whatever is given; ``before``: ids below it (the next page)."""
    flush_before_reading(conn)
    query = sa.select(RUNS).order_by(RUNS.c.id.desc()).limit(max(1, min(limit, MAX_LIMIT)))
    for column, value in (("app", app), ("rule", rule), ("form", form), ("record_id", record_id),
                          ("status", status)):
        if value is not None:
            query = query.where(RUNS.c[column] == value)
    if before is not None:
        query = query.where(RUNS.c.id < before)
    return [entry(row) for row in conn.execute(query).mappings()]


def read_run(conn: Connection, run_id: int) -> RunEntry | None:
    row = conn.execute(sa.select(RUNS).where(RUNS.c.id == run_id)).mappings().first()
    return entry(row) if row is not None else None


def run_payload(conn: Connection, run_id: int) -> dict[str, Any] | None:
    payload = conn.execute(sa.select(RUNS.c.payload).where(RUNS.c.id == run_id)).scalar()
    return dict(payload) if isinstance(payload, Mapping) else None


def entry(row: Any) -> RunEntry:
    started = row["started_at"]
    started = started.replace(tzinfo=dt.UTC) if started.tzinfo is None else started
    return RunEntry(
        id=int(row["id"]), app=row["app"], rule=row["rule"], trigger=row["trigger"], form=row["form"],
        record_id=row["record_id"], status=row["status"], started_at=started,
        duration_ms=float(row["duration_ms"]), depth=int(row["depth"]), source=row["source"],
        user_id=row["user_id"], actions=list(row["actions"] or []), error=row["error"],
        retry_of=row["retry_of"],
    )
