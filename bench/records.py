"""How fast the form engine is, against hand-written SQLAlchemy Core, in one run.

On a SQLite file (WAL), each measurement against its baseline in the same run:

1. create: one record through ``RecordService.create`` (a 15-field form with
   a formula field and an audit entry), each in its own transaction, versus a
   Core insert of the same, already clean row with commit. Goal: <= 3x.
2. import: 100,000 CSV rows through ``import_file`` with full validation,
   versus Core ``executemany`` of the already clean rows in the same batches.
   Goal: <= 2.5x.
3. list: a page of 50 (filter on one field, sort on another) from a
   1,000,000-row table through ``RecordService.list``, versus the
   hand-written Core query using the same index. Goal: <= 1.5x.
4. add a field to that 1,000,000-row table: plan + apply. Goal: < 1 s.
5. install the CRM template into a fresh database. Goal: < 3 s.

Timings alternate between contender and baseline and keep the best round,
so a busy machine slows both alike. ``--quick`` shrinks the sizes (for CI
smoke runs); the goals are judged on the full sizes.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from engine.core.i18n import label
from engine.definitions.model import AppDef, FormDef
from engine.fields import FIELD_TYPES
from engine.records import RecordService
from engine.records.importing import ImportOptions, import_file
from engine.store.database import Database
from engine.store.migrate import upgrade_system_tables
from engine.store.schema_change import apply_schema_change, plan_schema_change
from engine.store.tables import create_form_tables, form_tables

STAGES = ["won", "lost", "engaging", "prospecting"]
REGIONS = ["east", "west", "north", "south", "central"]
FIELDS: list[dict[str, Any]] = [
    {"key": "name", "type": "text", "label": "Name", "required": True},
    {"key": "email", "type": "email", "label": "Email"},
    {"key": "phone", "type": "phone", "label": "Phone"},
    {"key": "amount", "type": "money", "label": "Amount"},
    {"key": "qty", "type": "number", "label": "Quantity", "precision": 0},
    {"key": "discount", "type": "percent", "label": "Discount"},
    {"key": "stage", "type": "select", "label": "Stage",
     "options": [{"key": s, "label": s.title()} for s in STAGES]},
    {"key": "closed_on", "type": "date", "label": "Closed on"},
    {"key": "active", "type": "boolean", "label": "Active"},
    {"key": "notes", "type": "textarea", "label": "Notes"},
    {"key": "city", "type": "text", "label": "City"},
    {"key": "website", "type": "url", "label": "Website"},
    {"key": "rating", "type": "rating", "label": "Rating"},
    {"key": "region", "type": "text", "label": "Region"},
    {"key": "net", "type": "formula", "label": "Net", "result_type": "money",
     "formula": "amount * qty * (1 - discount)"},
]


def deal_form(extra: list[dict[str, Any]] | None = None) -> FormDef:
    return FormDef.from_dict({
        "key": "deal", "label": "Deal", "fields": FIELDS + (extra or []),
        "indexes": [{"fields": ["stage", "amount"]}],
    }, app="bench")


def fresh_database(folder: Path, name: str) -> Database:
    database = Database(f"sqlite:///{folder / name}")
    upgrade_system_tables(database)
    return database


def app_with(form: FormDef) -> AppDef:
    return AppDef(key="bench", label=label("Bench"), forms=(form,))


def raw_row(rng: random.Random, index: int) -> dict[str, Any]:
    return {
        "name": f"Deal {index}", "email": f"buyer{index}@example.com",
        "phone": f"138{rng.randint(10_000_000, 99_999_999)}", "amount": f"{rng.randint(100, 90_000)}.50",
        "qty": rng.randint(1, 9), "discount": f"{rng.randint(0, 30)}%", "stage": rng.choice(STAGES),
        "closed_on": (dt.date(2023, 1, 1) + dt.timedelta(days=rng.randint(0, 700))).isoformat(),
        "active": rng.random() < 0.5, "notes": "Followed up by phone", "city": "Shanghai",
        "website": "https://example.com", "rating": rng.randint(1, 5), "region": rng.choice(REGIONS),
    }


def clean_row(raw: dict[str, Any], stamp: dt.datetime | None = None) -> dict[str, Any]:
    """The row exactly as the service stores it — field columns and system
    columns — computed by hand: the baseline's input."""
    amount = Decimal(raw["amount"])
    discount = Decimal(raw["discount"].rstrip("%")) / 100
    moment = stamp or dt.datetime.now(dt.UTC)
    return {
        **raw, "amount": amount, "qty": Decimal(raw["qty"]), "discount": discount,
        "closed_on": dt.date.fromisoformat(raw["closed_on"]),
        "net": (amount * raw["qty"] * (1 - discount)).quantize(Decimal("0.01")),
        "owner": None, "created_by": None, "updated_by": None,
        "created_at": moment, "updated_at": moment, "version": 1,
    }


def best_of(rounds: int, contender: Callable[[], float], baseline: Callable[[], float]) -> tuple[float, float]:
    """Best seconds of each, measured in alternation."""
    ours, theirs = float("inf"), float("inf")
    for _ in range(rounds):
        ours = min(ours, contender())
        theirs = min(theirs, baseline())
    return ours, theirs


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


# --- 1. create -------------------------------------------------------------------------

def bench_create(folder: Path, count: int, rounds: int) -> tuple[float, float]:
    database = fresh_database(folder, "create.sqlite3")
    form = deal_form()
    create_form_tables(database, app_with(form), FIELD_TYPES)
    service = RecordService(database, app_with(form), field_types=FIELD_TYPES)
    rng = random.Random(1)
    raws = [raw_row(rng, i) for i in range(count)]
    cleans = [clean_row(r) for r in raws]
    insert = form_tables(form, FIELD_TYPES).main.insert()

    def through_service() -> float:
        started = time.perf_counter()
        for raw in raws:
            service.create("deal", raw)
        return (time.perf_counter() - started) / count

    def core() -> float:
        started = time.perf_counter()
        for row in cleans:
            now = dt.datetime.now(dt.UTC)  # each record is stamped when it is written
            with database.engine.begin() as conn:
                conn.execute(insert, {**row, "created_at": now, "updated_at": now})
        return (time.perf_counter() - started) / count

    through_service()  # warm up compiled statements and caches
    return best_of(rounds, through_service, core)


# --- 2. import -------------------------------------------------------------------------

def bench_import(folder: Path, rows: int, batch: int) -> tuple[float, float]:
    rng = random.Random(2)
    raws = [raw_row(rng, i) for i in range(rows)]
    source = folder / "deals.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(raws[0]))
        writer.writeheader()
        writer.writerows(raws)
    stamp = dt.datetime.now(dt.UTC)  # one moment per import, as the service writes it
    cleans = [clean_row(r, stamp) for r in raws]

    def through_import() -> float:
        database = fresh_database(folder, f"import-{time.monotonic_ns()}.sqlite3")
        form = deal_form()
        create_form_tables(database, app_with(form), FIELD_TYPES)
        service = RecordService(database, app_with(form), field_types=FIELD_TYPES)
        seconds = timed(lambda: import_file(service, "deal", source, ImportOptions(batch_size=batch)))
        with database.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM bench_deal")).scalar() == rows
        database.dispose()
        return seconds

    def core() -> float:
        database = fresh_database(folder, f"core-{time.monotonic_ns()}.sqlite3")
        form = deal_form()
        create_form_tables(database, app_with(form), FIELD_TYPES)
        insert = form_tables(form, FIELD_TYPES).main.insert()

        def load() -> None:
            for start in range(0, rows, batch):
                with database.engine.begin() as conn:
                    conn.execute(insert, cleans[start:start + batch])

        seconds = timed(load)
        database.dispose()
        return seconds

    return best_of(2, through_import, core)


# --- 3 and 4. a big table ------------------------------------------------------------------

def build_big_table(folder: Path, rows: int) -> tuple[Database, FormDef]:
    database = fresh_database(folder, "big.sqlite3")
    form = deal_form()
    create_form_tables(database, app_with(form), FIELD_TYPES)
    insert = form_tables(form, FIELD_TYPES).main.insert()
    rng = random.Random(3)
    template = clean_row(raw_row(rng, 0))
    chunk = 50_000
    for start in range(0, rows, chunk):
        batch = []
        for index in range(start, min(rows, start + chunk)):
            row = dict(template)
            row["name"] = f"Deal {index}"
            row["stage"] = STAGES[index % 4]
            row["amount"] = Decimal(rng.randint(100, 9_000_000)) / 100
            batch.append(row)
        with database.engine.begin() as conn:
            conn.execute(insert, batch)
    with database.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return database, form


def bench_list(database: Database, form: FormDef, rounds: int) -> tuple[float, float]:
    service = RecordService(database, app_with(form), field_types=FIELD_TYPES)
    main = form_tables(form, FIELD_TYPES).main
    spec = {"field": "stage", "op": "eq", "value": "won"}
    sort = [{"field": "amount", "desc": True}]
    first = service.list("deal", filter=spec, sort=sort, limit=50)
    assert len(first["records"]) == 50 and first["next"]
    hand_written = (
        sa.select(main).where(main.c.stage == "won")
        .order_by(main.c.amount.desc(), main.c.id.desc()).limit(51)
    )

    def page_through_service() -> float:
        return timed(lambda: [service.list("deal", filter=spec, sort=sort, limit=50) for _ in range(20)]) / 20

    def page_by_hand() -> float:
        def run() -> None:
            for _ in range(20):
                with database.engine.connect() as conn:
                    rows = conn.execute(hand_written).all()
                    assert len(rows) == 51
        return timed(run) / 20

    page_through_service()
    return best_of(rounds, page_through_service, page_by_hand)


def bench_add_field(database: Database, form: FormDef) -> float:
    changed = deal_form([{"key": "source", "type": "text", "label": "Source"}])
    started = time.perf_counter()
    plan = plan_schema_change(form, changed, FIELD_TYPES, database)
    apply_schema_change(database, plan)
    return time.perf_counter() - started


# --- 5. CRM install ------------------------------------------------------------------------

def bench_install(folder: Path) -> float:
    from engine.packages import install_package
    from templates_lib import TEMPLATES

    database = fresh_database(folder, "crm.sqlite3")
    started = time.perf_counter()
    install_package(database, TEMPLATES.get("crm").path, FIELD_TYPES)
    return time.perf_counter() - started


# --- report --------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    creates, import_rows, big_rows, rounds = (
        (300, 5_000, 20_000, 2) if args.quick else (2_000, 100_000, 1_000_000, 5)
    )
    results: list[tuple[str, str, str, str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="qiqiao-bench-") as tmp:
        folder = Path(tmp)
        ours, base = bench_create(folder, creates, rounds)
        results.append(("create one record", f"{1 / ours:,.0f}/s", f"{1 / base:,.0f}/s",
                         f"{ours / base:.2f}x (goal <= 3x)", ours / base <= 3))
        ours, base = bench_import(folder, import_rows, 1000)
        results.append((f"import {import_rows:,} CSV rows", f"{import_rows / ours:,.0f} rows/s",
                        f"{import_rows / base:,.0f} rows/s", f"{ours / base:.2f}x (goal <= 2.5x)",
                        ours / base <= 2.5))
        database, form = build_big_table(folder, big_rows)
        ours, base = bench_list(database, form, rounds)
        results.append((f"list page of 50 of {big_rows:,}", f"{ours * 1000:.2f} ms", f"{base * 1000:.2f} ms",
                        f"{ours / base:.2f}x (goal <= 1.5x)", ours / base <= 1.5))
        seconds = bench_add_field(database, form)
        results.append((f"add a field to {big_rows:,} rows", f"{seconds:.3f} s", "—", "goal < 1 s", seconds < 1))
        database.dispose()
        seconds = bench_install(folder)
        results.append(("install the CRM template", f"{seconds:.3f} s", "—", "goal < 3 s", seconds < 3))
    print(f"| {'measurement':<32} | {'qiqiao':>16} | {'baseline':>16} | {'ratio':<22} | goal |")
    print(f"|{'-' * 34}|{'-' * 18}|{'-' * 18}|{'-' * 24}|------|")
    for name, ours_text, base_text, ratio, met in results:
        print(f"| {name:<32} | {ours_text:>16} | {base_text:>16} | {ratio:<22} | {'met' if met else 'MISSED'} |")
    return 0 if all(r[4] for r in results) or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
