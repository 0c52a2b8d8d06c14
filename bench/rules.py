"""What rules cost, in one run (issue #12). On SQLite files (WAL):

1. create with rules: one record through ``RecordService.create`` on a form
   with 10 ``record_created`` rules whose conditions are false (each run
   logged as skipped), versus the same create on a form without rules.
   Goal: <= 1.15x.
2. date trigger: the ``date_relative`` trigger's query for a day of ticks
   (records whose end date, 30 days ahead at 09:00, falls in that day) over
   1,000,000 contracts (``--quick``: 100,000), records hydrated, versus the
   hand-written Core query on the same index. Goal: <= 1.5x. Reported too:
   the trigger against evaluating the same condition record by record in
   Python (every row read), which is what the SQL range avoids.
3. the outbox's rows, from ``bench/rules_outbox.py`` ``measure(quick)``.

Rounds alternate between contender and baseline and keep the best of each,
so a busy machine slows both alike.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.composition import Engine, compose  # noqa: E402
from engine.core.clock import FixedClock  # noqa: E402
from engine.fields import FIELD_TYPES  # noqa: E402
from engine.packages import install_package  # noqa: E402
from engine.rules.timers import TickContext  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.migrate import upgrade_system_tables  # noqa: E402

NOW = dt.datetime(2026, 12, 4, 9, 30)
FORMS = {
    "deal": {"key": "deal", "label": "Deal", "title_field": "name", "fields": [
        {"key": "name", "type": "text", "label": "Name", "required": True},
        {"key": "amount", "type": "number", "label": "Amount", "precision": 2},
        {"key": "stage", "type": "text", "label": "Stage"},
        {"key": "flag", "type": "text", "label": "Flag"}]},
    "contract": {"key": "contract", "label": "Contract", "title_field": "title", "fields": [
        {"key": "title", "type": "text", "label": "Title", "required": True},
        {"key": "amount", "type": "number", "label": "Amount", "precision": 2},
        {"key": "ends", "type": "date", "label": "Ends", "index": True}]},
}
FALSE_RULES = [
    {"key": f"never_{i}", "label": f"Never {i}", "form": "deal", "trigger": {"type": "record_created"},
     "condition": f'AND(amount > {1_000_000_000 + i}, stage = "won")',
     "actions": [{"type": "update_record", "values": {"flag": f'"rule {i}"'}}]}
    for i in range(10)
]
EXPIRING = {"key": "expiring", "label": "Expiring", "form": "contract",
            "trigger": {"type": "date_relative", "field": "ends", "offset": {"days": -30}, "at": "09:00"},
            "actions": [{"type": "update_record", "values": {"title": "title"}}]}


def package(root: Path, rules: list[dict[str, Any]]) -> Path:
    (root / "forms").mkdir(parents=True)
    (root / "rules").mkdir()
    (root / "app.yaml").write_text(yaml.safe_dump(
        {"schema_version": 1, "key": "shop", "label": "Shop", "version": "1.0.0"}), encoding="utf-8")
    for key, form in FORMS.items():
        (root / "forms" / f"{key}.yaml").write_text(yaml.safe_dump({"schema_version": 1, **form}), encoding="utf-8")
    for rule in rules:
        (root / "rules" / f"{rule['key']}.yaml").write_text(yaml.safe_dump(rule), encoding="utf-8")
    return root


def installed(folder: Path, name: str, rules: list[dict[str, Any]]) -> Engine:
    database = Database(f"sqlite:///{folder / name}.sqlite3")
    upgrade_system_tables(database)
    install_package(database, package(folder / name, rules), FIELD_TYPES)
    return compose(database, clock=FixedClock(NOW))


def best(rounds: int, contender: Callable[[int], float], baseline: Callable[[int], float]) -> tuple[float, float]:
    ours, base = [], []
    for run in range(rounds):
        base.append(baseline(run))
        ours.append(contender(run))
    return min(ours), min(base)


def creates(engine: Engine, count: int) -> Callable[[int], float]:
    service = engine.service("shop")

    def run(round_: int) -> float:
        started = time.perf_counter()
        for i in range(count):
            service.create("deal", {"name": f"deal {round_}-{i}", "amount": 100 + i, "stage": "open"})
        return time.perf_counter() - started

    return run


def create_with_rules(folder: Path, quick: bool) -> dict[str, Any]:
    count, rounds = (200, 2) if quick else (1_000, 5)
    plain, ruled = installed(folder, "plain", []), installed(folder, "ruled", FALSE_RULES)
    creates(plain, 20)(99)  # warm both: compiled forms, statements, the rule index
    creates(ruled, 20)(99)
    ours, base = best(rounds, creates(ruled, count), creates(plain, count))
    return {"goal": f"create with 10 false rules vs none, {count:,} creates", "contender_s": ours,
            "baseline_s": base, "ratio": ours / base, "target": "<= 1.15x", "met": ours / base <= 1.15}


def fill_contracts(engine: Engine, count: int) -> sa.Table:
    """``count`` contracts ending over ~3 years, by one INSERT ... SELECT from a recursive CTE."""
    main = engine.service("shop").form("contract")[1].main
    with engine.database.transaction() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO {main.name} (id, title, amount, ends, version, created_at, updated_at) "
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "SELECT i, 'contract ' || i, i % 1000, date('2026-01-01', '+' || (i * 7919 % 1100) || ' days'), 1, "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00' FROM n", (count,))
    with engine.database.transaction() as conn:
        conn.exec_driver_sql(f"ANALYZE {main.name}")
    return main


def date_trigger(folder: Path, quick: bool) -> list[dict[str, Any]]:
    count, rounds = (100_000, 3) if quick else (1_000_000, 7)
    engine = installed(folder, "contracts", [EXPIRING])
    main = fill_contracts(engine, count)
    prepared = engine.rules.rule("shop", "expiring")
    trigger: Any = prepared.trigger
    settings = prepared.rule.trigger.settings
    service = engine.service("shop")
    tz = engine.clock.tz
    # A day of minute ticks: the contracts ending 30 days after that day fire at its 09:00.
    first = dt.datetime(2026, 12, 5, 0, 1, tzinfo=tz)
    ticks = [first + dt.timedelta(minutes=m) for m in range(1440)]
    compiled, tables = service.form("contract")
    low, high = trigger.window(settings, "date", ticks[0], ticks[-1], tz)
    hand = sa.select(main).where(main.c.ends > sa.bindparam("low"), main.c.ends <= sa.bindparam("high")) \
        .order_by(main.c.id)
    found: dict[str, int] = {}

    def contender(_: int) -> float:
        started = time.perf_counter()
        with engine.database.reading() as conn:
            found["trigger"] = len(list(trigger.records(TickContext(service, conn, "contract", tz), settings, ticks)))
        return time.perf_counter() - started

    def baseline(_: int) -> float:
        started = time.perf_counter()
        with engine.database.reading() as conn:
            rows = [dict(r) for r in conn.execute(hand, {"low": dt.date.fromisoformat(low),
                                                         "high": dt.date.fromisoformat(high)}).mappings()]
            found["hand"] = len(service.reader.hydrate(conn, compiled, tables, rows))
        return time.perf_counter() - started

    def per_record(_: int) -> float:
        # The same condition, record by record: every end date read, shifted and compared in Python.
        started = time.perf_counter()
        offset, at = dt.timedelta(days=-30), dt.time(9, 0)
        start, end = ticks[0] - dt.timedelta(minutes=1), ticks[-1]
        with engine.database.reading() as conn:
            hits = [row.id for row in conn.execute(sa.select(main.c.id, main.c.ends))
                    if row.ends is not None
                    and start < dt.datetime.combine(row.ends, at, tz) + offset <= end]
        found["python"] = len(hits)
        return time.perf_counter() - started

    ours, base = best(rounds, contender, baseline)
    python = min(per_record(0) for _ in range(max(1, rounds // 3)))
    assert found["trigger"] == found["hand"] == found["python"] > 0, found
    return [
        {"goal": f"date trigger, a day's ticks over {count:,} rows ({found['hand']} hits) vs hand SQL",
         "contender_s": ours, "baseline_s": base, "ratio": ours / base, "target": "<= 1.5x",
         "met": ours / base <= 1.5},
        {"goal": "same, evaluated per record in Python vs the trigger (report)", "contender_s": python,
         "baseline_s": ours, "ratio": python / ours, "target": "reported", "met": True},
    ]


def outbox_rows(quick: bool) -> list[dict[str, Any]]:
    path = ROOT / "bench" / "rules_outbox.py"
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location("rules_outbox", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows: list[dict[str, Any]] = module.measure(quick)
    goal = float(getattr(module, "GOAL", 0.0))
    return [{**row, "met": row["ratio"] >= goal} for row in rows]


def measure(quick: bool) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="qiqiao-bench-") as tmp:
        folder = Path(tmp)
        rows = [create_with_rules(folder, quick), *date_trigger(folder, quick)]
    return rows + outbox_rows(quick)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    rows = measure(args.quick)
    print(f"| {'measurement':<72} | {'qiqiao':>12} | {'baseline':>12} | {'ratio':<18} | goal |")
    print(f"|{'-' * 74}|{'-' * 14}|{'-' * 14}|{'-' * 20}|------|")
    for row in rows:
        print(f"| {row['goal']:<72} | {row['contender_s']:>10.4f} s | {row['baseline_s']:>10.4f} s | "
              f"{row['ratio']:>6.2f}x ({row['target']}) | {'met' if row['met'] else 'MISSED'} |")
    return 0 if args.quick or all(row["met"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
