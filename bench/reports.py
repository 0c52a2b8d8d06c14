"""What the report engine costs, in one run (issue #14), on SQLite and PostgreSQL:

1. GROUP BY month and stage (count and sum of amount) over 1,000,000
   opportunities (``--rows`` for fewer), seen by a user whose data scope is
   their department (300 users in 30 departments: ~1/30 of the rows):
   ``run_query`` end to end (check, compile, run, decode, labels) versus a
   hand-written SQL of the same result. Goal: <= 1.2x.
2. The same result computed by loading the viewer's rows into Python and
   grouping them there (what a report engine that aggregates in Python
   pays): reported as how many times slower than the engine.

Both sides read the same table with the same index (on owner, which the
department scope needs). Rounds alternate between contender and baseline
and keep the best of each, so a busy machine slows both alike. PostgreSQL:
a server of our own, or the one ``QIQIAO_BENCH_PG`` names.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.core.clock import FixedClock  # noqa: E402
from engine.core.i18n import label  # noqa: E402
from engine.definitions.model import AppDef, FormDef  # noqa: E402
from engine.fields import FIELD_TYPES  # noqa: E402
from engine.org.permissions import parse_role  # noqa: E402
from engine.org.principal import Principal  # noqa: E402
from engine.records import Actor, RecordService  # noqa: E402
from engine.records.access import AppAccess  # noqa: E402
from engine.reports.model import parse_query  # noqa: E402
from engine.reports.query import run_query  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.migrate import upgrade_system_tables  # noqa: E402
from engine.store.models import UserDepartment  # noqa: E402
from engine.store.tables import create_form_tables  # noqa: E402

STAGES = ["lead", "qualified", "proposal", "won", "lost"]
OPPORTUNITY = {
    "key": "opportunity", "label": "Opportunity", "title_field": "name", "fields": [
        {"key": "name", "type": "text", "label": "Name"},
        {"key": "stage", "type": "select", "label": "Stage", "options": [{"key": k, "label": k} for k in STAGES]},
        {"key": "amount", "type": "money", "label": "Amount", "precision": 2},
        {"key": "close_date", "type": "date", "label": "Close date"}]}
USERS, DEPARTMENTS = 300, 30
VIEWER = 7  # in department 1 + 7 % 30
TODAY = dt.date(2026, 12, 4)
QUERY = {"form": "opportunity",
         "measures": [{"key": "count", "agg": "count"}, {"key": "amount", "agg": "sum", "field": "amount"}],
         "dimensions": [{"key": "month", "field": "close_date", "grain": "month"}, {"key": "stage", "field": "stage"}],
         "limit": 5000}
TABLE = "bench_opportunity"
SCOPE = "(t.owner = :me OR t.owner IN (SELECT user_id FROM user_departments WHERE department_id = :department))"
HAND_SQL = {
    "sqlite": f"""SELECT CAST(strftime('%Y', close_date) AS INTEGER) * 12 + CAST(strftime('%m', close_date) AS INTEGER) - 1 AS month,
                         stage, count(*) AS count, sum(amount) AS amount
                  FROM {TABLE} AS t WHERE {SCOPE} GROUP BY month, stage ORDER BY month, stage LIMIT 5001""",
    "postgresql": f"""SELECT date_trunc('month', close_date) AS month, stage, count(*) AS count, sum(amount) AS amount
                      FROM {TABLE} AS t WHERE {SCOPE} GROUP BY 1, 2 ORDER BY 1, 2 LIMIT 5001""",
}
PYTHON_SQL = f"SELECT close_date, stage, amount FROM {TABLE} AS t WHERE {SCOPE}"


def department_of(user: int) -> int:
    return 1 + user % DEPARTMENTS


def fill(database: Database, rows: int) -> RecordService:
    upgrade_system_tables(database)
    app = AppDef(key="bench", label=label("Bench"), forms=(FormDef.from_dict(OPPORTUNITY, app="bench"),))
    create_form_tables(database, app, FIELD_TYPES)
    service = RecordService(database, app, field_types=FIELD_TYPES, clock=FixedClock(dt.datetime(2026, 12, 4, 10)))
    main = service.form("opportunity")[1].main
    chance = random.Random(14)
    start, moment = dt.date(2022, 1, 1), dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with database.transaction() as conn:
        conn.execute(sa.text("INSERT INTO departments (id, name) VALUES (:id, :name)"),
                     [{"id": d, "name": f"D{d}"} for d in range(1, DEPARTMENTS + 1)])
        conn.execute(sa.text("INSERT INTO users (id, login, name, active, locale, created_at) "
                             "VALUES (:id, :login, :login, true, 'zh', CURRENT_TIMESTAMP)"),
                     [{"id": u, "login": f"u{u}"} for u in range(1, USERS + 1)])
        conn.execute(cast(sa.Table, UserDepartment.__table__).insert(),
                     [{"user_id": u, "department_id": department_of(u), "is_main": True} for u in range(1, USERS + 1)])
    batch = 50_000
    for first in range(0, rows, batch):
        chunk = [{"owner": chance.randrange(1, USERS + 1), "created_by": 1, "created_at": moment,
                  "updated_at": moment, "version": 1, "name": f"O{i}", "stage": chance.choice(STAGES),
                  "amount": Decimal(chance.randrange(100, 10_000_000)) / 100,
                  "close_date": start + dt.timedelta(days=chance.randrange(0, 1800))}
                 for i in range(first, min(rows, first + batch))]
        with database.transaction() as conn:
            conn.execute(main.insert(), chunk)
    with database.transaction() as conn:
        # The index the department scope needs, for the engine and the hand SQL alike.
        conn.execute(sa.text(f"CREATE INDEX bench_owner ON {main.name} (owner)"))
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"ANALYZE {main.name}"))
            conn.execute(sa.text("ANALYZE user_departments"))
        else:
            conn.execute(sa.text("ANALYZE"))
    return service


def viewer() -> Actor:
    role = parse_role("sales", {"opportunity": {"actions": ["read"], "read": "department"}})
    department = department_of(VIEWER)
    principal = Principal(user_id=VIEWER, login=f"u{VIEWER}", roles=frozenset({"sales"}),
                          department_ids=frozenset({department}), main_department_id=department)
    return Actor(user_id=VIEWER, source="web", access=AppAccess(principal, (role,), app="bench"))


def timed(run: Callable[[], Any]) -> Callable[[int], float]:
    def once(_: int) -> float:
        started = time.perf_counter()
        run()
        return time.perf_counter() - started

    return once


def best(rounds: int, *runs: Callable[[int], float]) -> list[float]:
    times: list[list[float]] = [[] for _ in runs]
    for round_ in range(rounds):
        for index, run in enumerate(runs):
            times[index].append(run(round_))
    return [min(t) for t in times]


def group_by_month_and_stage(kind: str, database: Database, service: RecordService, rounds: int) -> list[dict[str, Any]]:
    """Goals 1 and 2 on one database."""
    query, who = parse_query(QUERY), viewer()
    policy = who.policy(service, "opportunity")
    params = {"me": VIEWER, "department": department_of(VIEWER)}
    hand = sa.text(HAND_SQL[kind].replace(TABLE, service.form("opportunity")[1].main.name))
    loading = sa.text(PYTHON_SQL.replace(TABLE, service.form("opportunity")[1].main.name))

    def engine() -> Any:
        with database.reading() as conn:
            return run_query(conn, query, service.app, service.field_types, policy=policy, user_id=VIEWER,
                             today=TODAY, tz=dt.UTC)

    def by_hand() -> Any:
        with database.reading() as conn:
            return conn.execute(hand, params).all()

    def in_python() -> Any:
        groups: dict[tuple[int, str], list[Any]] = defaultdict(lambda: [0, 0.0])
        with database.reading() as conn:
            for close_date, stage, amount in conn.execute(loading, params):
                day = close_date if isinstance(close_date, dt.date) else dt.date.fromisoformat(close_date)
                group = groups[(day.year * 12 + day.month - 1, stage)]
                group[0] += 1
                group[1] += float(amount or 0)
        return sorted(groups.items())

    result, expected, python = engine(), by_hand(), in_python()
    assert len(result.rows) == len(expected) == len(python), (len(result.rows), len(expected), len(python))
    assert sum(r[2] for r in result.rows) == sum(r[2] for r in expected) == sum(g[0] for _, g in python)
    ours, base, slow = best(rounds, timed(engine), timed(by_hand), timed(in_python))
    return [
        {"goal": f"{kind}: GROUP BY month, stage, department scope — engine vs hand SQL",
         "contender_s": ours, "baseline_s": base, "ratio": ours / base, "target": "<= 1.2x", "met": ours / base <= 1.2},
        {"goal": f"{kind}: the same grouped in Python — Python vs engine",
         "contender_s": slow, "baseline_s": ours, "ratio": slow / ours, "target": "reported", "met": True},
    ]


@contextlib.contextmanager
def databases(folder: Path, kinds: list[str]) -> Iterator[list[tuple[str, Database]]]:
    opened: list[tuple[str, Database]] = []
    server = None
    try:
        for kind in kinds:
            if kind == "sqlite":
                opened.append((kind, Database(f"sqlite:///{folder / 'reports.sqlite3'}")))
                continue
            from bench.load import postgres_database

            url, server = postgres_database(os.environ.get("QIQIAO_BENCH_PG"))
            opened.append((kind, Database(url)))
        yield opened
    finally:
        for _, database in opened:
            database.dispose()
        if server is not None:
            server.stop()


def measure_queries(rows: int, rounds: int, kinds: list[str]) -> list[dict[str, Any]]:
    """Goals 1 and 2 on each database kind."""
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="qiqiao-bench-") as tmp, databases(Path(tmp), kinds) as opened:
        for kind, database in opened:
            started = time.perf_counter()
            service = fill(database, rows)
            print(f"{kind}: {rows:,} rows written in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            results.extend(group_by_month_and_stage(kind, database, service, rounds))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="opportunities (default 1,000,000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    rows = measure_queries(args.rows, args.rounds, args.databases.split(","))
    print(f"| {'measurement':<72} | {'contender':>12} | {'baseline':>12} | {'ratio':<18} | goal |")
    print(f"|{'-' * 74}|{'-' * 14}|{'-' * 14}|{'-' * 20}|------|")
    for row in rows:
        print(f"| {row['goal']:<72} | {row['contender_s']:>10.4f} s | {row['baseline_s']:>10.4f} s | "
              f"{row['ratio']:>6.2f}x ({row['target']}) | {'met' if row['met'] else 'MISSED'} |")
    return 0 if all(row["met"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
