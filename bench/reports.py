"""What the report engine costs, in one run (issue #14), on SQLite and PostgreSQL:

1. GROUP BY month (close date) and stage, count and sum of amount, over
   1,000,000 opportunities (``--quick``: 100,000), seen by a user whose
   data scope is their department (400 users in 20 departments: ~1/20 of
   the rows): ``run_query`` end to end (compile, run, decode, labels)
   versus the hand-written SQL a developer would write for the same
   numbers. Goal: <= 1.2x.
2. The same numbers computed by loading the viewer's rows into Python and
   grouping them there (what a report engine that aggregates in Python
   pays): reported as how many times slower than the engine.
3. The cached dashboard, from ``bench/reports_dashboard.py``
   (``dashboard_goal``).

Rows are written in bulk into the form's table (``create_form_tables``):
executemany on SQLite, COPY on PostgreSQL. Both sides read the same table
with the same index (on owner, which the department scope needs); the three
results are checked equal before anything is timed. Each run executes each
contender ``--repeat`` times, runs alternate between the contenders (a busy
machine slows them alike), and the table shows the median of ``--runs``
runs per execution. PostgreSQL: a server of our own, or the one
``QIQIAO_BENCH_PG`` names.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

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
from engine.store.tables import create_form_tables  # noqa: E402

STAGES = ["lead", "qualified", "proposal", "won", "lost"]
OPPORTUNITY = {
    "key": "opportunity", "label": "Opportunity", "title_field": "name", "fields": [
        {"key": "name", "type": "text", "label": "Name"},
        {"key": "stage", "type": "select", "label": "Stage", "options": [{"key": k, "label": k} for k in STAGES]},
        {"key": "amount", "type": "money", "label": "Amount", "precision": 2},
        {"key": "close_date", "type": "date", "label": "Close date"}]}
USERS, DEPARTMENTS = 400, 20
VIEWER = 7
TODAY = dt.date(2026, 12, 4)
QUERY = {"form": "opportunity",
         "measures": [{"key": "count", "agg": "count"}, {"key": "amount", "agg": "sum", "field": "amount"}],
         "dimensions": [{"key": "month", "field": "close_date", "grain": "month"}, {"key": "stage", "field": "stage"}],
         "limit": 5000}
# The SQL a developer writes for these numbers, one per dialect: the month as the database says it best.
SCOPE = "owner IN (SELECT user_id FROM user_departments WHERE department_id = :department)"
MONTH = {"sqlite": "substr(close_date, 1, 7)", "postgresql": "date_trunc('month', close_date)"}
HAND_SQL = ("SELECT {month} AS month, stage, count(*) AS count, sum(amount) AS amount FROM {table} "
            "WHERE " + SCOPE + " GROUP BY 1, 2 ORDER BY 1, 2")
Numbers = dict[tuple[dt.date | None, str | None], tuple[int, float]]


def department_of(user: int) -> int:
    return 1 + user % DEPARTMENTS


def opportunities(rows: int) -> Iterator[tuple[Any, ...]]:
    """(owner, name, stage, amount, close date): about 1 in 100 without a
    stage, 1 in 50 without a close date, five years of close dates."""
    chance = random.Random(14)
    start = dt.date(2022, 1, 1)
    for i in range(rows):
        yield (chance.randrange(1, USERS + 1), f"O{i}", chance.choice(STAGES) if i % 100 else None,
               Decimal(chance.randrange(100, 10_000_000)) / 100,
               start + dt.timedelta(days=chance.randrange(0, 1826)) if i % 50 else None)


def fill(database: Database, rows: int) -> RecordService:
    upgrade_system_tables(database)
    app = AppDef(key="bench", label=label("Bench"), forms=(FormDef.from_dict(OPPORTUNITY, app="bench"),))
    create_form_tables(database, app, FIELD_TYPES)
    service = RecordService(database, app, field_types=FIELD_TYPES, clock=FixedClock(dt.datetime(2026, 12, 4, 10)))
    table = service.form("opportunity")[1].main.name
    with database.transaction() as conn:
        conn.execute(sa.text("INSERT INTO departments (id, name) VALUES (:id, :name)"),
                     [{"id": d, "name": f"D{d}"} for d in range(1, DEPARTMENTS + 1)])
        conn.execute(sa.text("INSERT INTO users (id, login, name, active, locale, created_at) "
                             "VALUES (:id, :login, :login, true, 'zh', CURRENT_TIMESTAMP)"),
                     [{"id": u, "login": f"u{u}"} for u in range(1, USERS + 1)])
        conn.execute(sa.text("INSERT INTO user_departments (user_id, department_id, is_main) VALUES (:u, :d, true)"),
                     [{"u": u, "d": department_of(u)} for u in range(1, USERS + 1)])
        columns = "owner, created_by, created_at, updated_at, version, name, stage, amount, close_date"
        cursor = conn.connection.cursor()
        if conn.dialect.name == "postgresql":
            moment = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for owner, name, stage, amount, close in opportunities(rows):
                    copy.write_row((owner, 1, moment, moment, 1, name, stage, amount, close))
        else:
            stamp = "2026-01-01 00:00:00.000000"
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES (?, 1, ?, ?, 1, ?, ?, ?, ?)",
                               ((owner, stamp, stamp, name, stage, float(amount), close and close.isoformat())
                                for owner, name, stage, amount, close in opportunities(rows)))
        cursor.close()
    with database.transaction() as conn:
        # The index the department scope needs, for the engine and the hand SQL alike.
        conn.execute(sa.text(f"CREATE INDEX bench_owner ON {table} (owner)"))
        conn.execute(sa.text("ANALYZE"))
    return service


def viewer() -> Actor:
    role = parse_role("sales", {"opportunity": {"actions": ["read"], "read": "department"}})
    department = department_of(VIEWER)
    principal = Principal(user_id=VIEWER, login=f"u{VIEWER}", roles=frozenset({"sales"}),
                          department_ids=frozenset({department}), main_department_id=department)
    return Actor(user_id=VIEWER, source="web", access=AppAccess(principal, (role,), app="bench"))


def _month(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite's 'YYYY-MM'
        return dt.date(int(value[:4]), int(value[5:7]), 1)
    return dt.date(value.year, value.month, 1)


def same(found: Numbers, expected: Numbers) -> bool:
    return found.keys() == expected.keys() and all(
        found[k][0] == expected[k][0] and abs(found[k][1] - expected[k][1]) < 0.005 for k in found)


def contenders(database: Database, service: RecordService) -> dict[str, Callable[[], Numbers]]:
    """The engine, the hand SQL and grouping in Python: each gives month and stage -> (count, amount)."""
    query, who = parse_query(QUERY), viewer()
    policy = who.policy(service, "opportunity")
    main = service.form("opportunity")[1].main
    params = {"department": department_of(VIEWER)}
    hand = sa.text(HAND_SQL.format(month=MONTH[database.engine.dialect.name], table=main.name))
    owners = sa.select(sa.column("user_id")).select_from(sa.table("user_departments")) \
        .where(sa.column("department_id") == department_of(VIEWER))
    # What a Python-aggregating engine reads: the viewer's rows, typed (dates and decimals).
    loading = sa.select(main.c.close_date, main.c.stage, main.c.amount).where(main.c.owner.in_(owners))

    def engine() -> Numbers:
        with database.reading() as conn:
            result = run_query(conn, query, service.app, service.field_types, policy=policy, user_id=VIEWER,
                               today=TODAY, tz=dt.UTC)
        return {(month, stage): (count, float(amount or 0)) for month, stage, count, amount in result.rows}

    def by_hand() -> Numbers:
        with database.reading() as conn:
            rows = conn.execute(hand, params).all()
        return {(_month(month), stage): (count, float(amount or 0)) for month, stage, count, amount in rows}

    def in_python() -> Numbers:
        groups: dict[tuple[dt.date | None, str | None], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
        with database.reading() as conn:
            for close_date, stage, amount in conn.execute(loading):
                group = groups[(None if close_date is None else close_date.replace(day=1), stage)]
                group[0] += 1
                group[1] += amount or 0
        return {key: (count, float(total)) for key, (count, total) in sorted(
            groups.items(), key=lambda item: (item[0][0] or dt.date.max, item[0][1] or "~"))}

    return {"engine": engine, "hand": by_hand, "python": in_python}


def medians(runs: int, repeat: int, work: dict[str, Callable[[], Any]]) -> dict[str, float]:
    """Seconds per execution of each contender: the median of ``runs`` runs of ``repeat`` executions."""
    times: dict[str, list[float]] = {name: [] for name in work}
    for _ in range(runs):
        for name, run in work.items():
            started = time.perf_counter()
            for _ in range(repeat):
                run()
            times[name].append((time.perf_counter() - started) / repeat)
    return {name: statistics.median(t) for name, t in times.items()}


def group_by_month_and_stage(kind: str, database: Database, service: RecordService, runs: int,
                             repeat: int) -> list[dict[str, Any]]:
    """Goals 1 and 2 on one database."""
    work = contenders(database, service)
    results = {name: run() for name, run in work.items()}  # also warms caches and the connection pool
    if not same(results["engine"], results["hand"]) or not same(results["python"], results["hand"]):
        raise SystemExit(f"{kind}: the engine, the hand SQL and Python disagree: "
                         f"{len(results['engine'])}/{len(results['hand'])}/{len(results['python'])} groups")
    seen = sum(count for count, _ in results["hand"].values())
    took = medians(runs, repeat, work)
    ours, base, slow = took["engine"], took["hand"], took["python"]
    return [
        {"goal": f"{kind}: month x stage, department scope ({seen:,} rows): engine vs hand SQL",
         "contender_s": ours, "baseline_s": base, "ratio": ours / base, "target": "<= 1.2x", "met": ours / base <= 1.2},
        {"goal": f"{kind}: the same grouped in Python vs the engine",
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


def measure_queries(rows: int, runs: int, repeat: int, kinds: list[str]) -> list[dict[str, Any]]:
    """Goals 1 and 2 on each database kind."""
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="qiqiao-bench-") as tmp, databases(Path(tmp), kinds) as opened:
        for kind, database in opened:
            started = time.perf_counter()
            service = fill(database, rows)
            print(f"{kind}: {rows:,} rows written in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            results.extend(group_by_month_and_stage(kind, database, service, runs, repeat))
    return results


def dashboard_rows(rows: int) -> list[dict[str, Any]]:
    """Goal 3, when bench/reports_dashboard.py is there."""
    if rows <= 0 or not (ROOT / "bench" / "reports_dashboard.py").exists():
        return []
    from bench.reports_dashboard import GOAL, dashboard_goal

    first, again = dashboard_goal(rows)
    ratio = first / again if again else float("inf")
    return [{"goal": f"dashboard of 8 reports over {rows:,} rows: first open vs again (cached)",
             "contender_s": first, "baseline_s": again, "ratio": ratio, "target": f">= {GOAL:.0f}x",
             "met": ratio >= GOAL}]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows, a 100,000-row dashboard")
    parser.add_argument("--rows", type=int, help="opportunities (default 1,000,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs; the median is shown (default 3)")
    parser.add_argument("--repeat", type=int, default=5, help="executions per run (default 5)")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--dashboard-rows", type=int,
                        help="rows under the cached-dashboard goal (default 200,000; 0 skips it)")
    args = parser.parse_args()
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    board = args.dashboard_rows if args.dashboard_rows is not None else 100_000 if args.quick else 200_000
    table = measure_queries(rows, args.runs, args.repeat, args.databases.split(",")) + dashboard_rows(board)
    print("\nqiqiao reports: the engine vs hand-written SQL and vs grouping in Python (seconds per report)\n")
    print(f"| {'measurement':<76} | {'contender':>12} | {'baseline':>12} | {'ratio':<18} | goal |")
    print(f"|{'-' * 78}|{'-' * 14}|{'-' * 14}|{'-' * 20}|------|")
    for row in table:
        print(f"| {row['goal']:<76} | {row['contender_s']:>10.4f} s | {row['baseline_s']:>10.4f} s | "
              f"{row['ratio']:>6.2f}x ({row['target']}) | {'met' if row['met'] else 'MISSED'} |")
    return 0 if args.quick or all(row["met"] for row in table) else 1


if __name__ == "__main__":
    sys.exit(main())
