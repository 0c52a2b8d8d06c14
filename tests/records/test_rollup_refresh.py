"""A batch's parents refreshed set-based (engine/records/rollup_refresh.py):
the same values, audit entries, events and cascade as one parent at a time,
and concurrent batches into shared parents — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random
import threading
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from engine.core.clock import FixedClock
from engine.core.i18n import label
from engine.definitions.model import AppDef, FormDef
from engine.fields import FIELD_TYPES
from engine.records import RecordService, rollup_refresh
from engine.records.events import RecordEvent
from engine.store.database import Database
from engine.store.tables import create_form_tables

RECENT = {"field": "closed_on", "op": "within_days", "value": -30}
REGION: dict[str, Any] = {
    "key": "region", "label": {"zh": "区域", "en": "Region"}, "title_field": "name",
    "fields": [
        {"key": "name", "type": "text", "label": "名称"},
        {"key": "customers", "type": "rollup", "label": "客户数", "source": "customer.region",
         "aggregate": "count"},
        {"key": "won", "type": "rollup", "label": "赢单", "source": "customer.region",
         "field": "won", "aggregate": "sum", "result_type": "money"},
    ],
}
CUSTOMER: dict[str, Any] = {
    "key": "customer", "label": {"zh": "客户", "en": "Customer"}, "title_field": "name",
    "fields": [
        {"key": "name", "type": "text", "label": "名称"},
        {"key": "region", "type": "relation", "target": "region", "label": "区域"},
        {"key": "deals", "type": "rollup", "label": "商机数", "source": "deal.customer",
         "aggregate": "count"},
        {"key": "won", "type": "rollup", "label": "赢单", "source": "deal.customer", "field": "amount",
         "aggregate": "sum", "result_type": "money",
         "where": {"field": "stage", "op": "eq", "value": "won"}},
        {"key": "biggest", "type": "rollup", "label": "最大", "source": "deal.customer",
         "field": "amount", "aggregate": "max", "result_type": "money"},
        {"key": "first_close", "type": "rollup", "label": "最早", "source": "deal.customer",
         "field": "closed_on", "aggregate": "min", "result_type": "date"},
        {"key": "recent", "type": "rollup", "label": "近期", "source": "deal.customer",
         "field": "amount", "aggregate": "sum", "result_type": "money", "where": RECENT},
        {"key": "last_recent", "type": "rollup", "label": "近期最后", "source": "deal.customer",
         "field": "closed_on", "aggregate": "max", "result_type": "date", "where": RECENT},
        {"key": "referred", "type": "rollup", "label": "推荐", "source": "deal.referrer",
         "aggregate": "count"},
        {"key": "tier", "type": "select", "label": "级别", "default": "small", "options": [
            {"key": "small", "label": "小"}, {"key": "big", "label": "大"}]},
    ],
    "rules": [{"key": "big", "when": "deals >= 3",
               "actions": [{"type": "set_value", "fields": ["tier"], "formula": '"big"'}]}],
}
DEAL: dict[str, Any] = {
    "key": "deal", "label": {"zh": "商机", "en": "Deal"},
    "fields": [
        {"key": "customer", "type": "relation", "target": "customer", "label": "客户"},
        {"key": "referrer", "type": "relation", "target": "customer", "label": "推荐人"},
        {"key": "amount", "type": "money", "label": "金额"},
        {"key": "stage", "type": "select", "label": "阶段", "options": [
            {"key": "won", "label": "赢"}, {"key": "lost", "label": "输"}]},
        {"key": "closed_on", "type": "date", "label": "关闭"},
    ],
}
# The customer's rollups that do not depend on the day (expected_customers).
TIMELESS = ("deals", "won", "biggest", "first_close", "referred")
START = dt.datetime(2024, 6, 1, 9, 0)


def make_service(database: Database, app_key: str) -> RecordService:
    forms = tuple(FormDef.from_dict(f, app=app_key) for f in (REGION, CUSTOMER, DEAL))
    app = AppDef(key=app_key, label=label(app_key), forms=forms)
    create_form_tables(database, app, FIELD_TYPES)
    return RecordService(database, app, field_types=FIELD_TYPES, clock=FixedClock(START))


def deal(rng: random.Random, customers: int, today: dt.date, *, old: bool = False) -> dict[str, Any]:
    return {
        "customer": rng.randint(1, customers),
        "referrer": rng.choice([None, rng.randint(1, customers)]),
        "amount": Decimal(rng.randint(1, 500)) if not old else Decimal("1.50"),
        "stage": "lost" if old else rng.choice(["won", "lost"]),
        "closed_on": today - dt.timedelta(days=90 if old else rng.randint(0, 20)),
    }


def scenario(service: RecordService) -> list[tuple[Any, ...]]:
    """Batches into many parents, with a cascade to the regions, rollups
    going back to empty, and a subscriber writing behind the batch's back:
    the events seen, in order."""
    events: list[tuple[Any, ...]] = []

    def watch(event: RecordEvent) -> None:
        events.append((event.kind, event.form, event.record_id, sorted(event.changed), event.depth,
                       event.source, _plain(event.record), _plain(event.previous)))
        # A rule of sorts: the third customer turning big gets the twelfth a
        # deal, which the batch read ahead before.
        if (event.form, event.record_id, event.kind) == ("customer", 3, "record.updated") and \
                "tier" in event.changed:
            assert event.actor is not None
            service.create("deal", {"customer": 12, "amount": Decimal(7), "stage": "won",
                                    "closed_on": service.clock.today()},
                           actor=event.actor.caused(), connection=event.connection)

    service.bus.subscribe(watch)
    rng = random.Random(5)
    for name in ("East", "West", "North"):
        service.create("region", {"name": name})
    for n in range(14):
        service.create("customer", {"name": f"C{n + 1}", "region": n % 3 + 1})
    service.create_many("deal", [deal(rng, 13, START.date()) for _ in range(40)])
    service.create_many("deal", [deal(rng, 13, START.date()) for _ in range(25)])
    assert isinstance(service.clock, FixedClock)
    service.clock.advance(dt.timedelta(days=60))  # the recent deals are old now
    old = [deal(rng, 13, START.date(), old=True) for _ in range(26)]
    for n, row in enumerate(old):
        row["customer"] = n % 13 + 1  # every customer with a deal refreshed once more
    service.create_many("deal", old)
    return events


def _plain(record: Any) -> Any:
    return None if record is None else {k: v for k, v in record.items()}


def stored(service: RecordService) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for form in ("region", "customer", "deal"):
        found[form] = []
        after = None
        while True:
            page = service.list(form, limit=200, sort=["id"], after=after)
            found[form].extend(page["records"])
            if not (after := page["next"]):
                break
    return found


def audit(database: Database, app: str) -> list[tuple[Any, ...]]:
    with database.reading() as conn:
        rows = conn.execute(sa.text(
            "SELECT form, record_id, action, user_id, source, changes, at FROM audit_log "
            "WHERE app = :app ORDER BY id"), {"app": app}).all()
    return [tuple(r) for r in rows]


def test_a_batch_refreshes_its_parents_as_one_at_a_time_would(
        database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    statements: list[str] = []
    sa.event.listen(database.engine, "before_cursor_execute",
                    lambda conn, cursor, sql, *rest: statements.append(sql))
    set_based = make_service(database, "batch")
    batch_events = scenario(set_based)
    batch_statements = len(statements)
    with monkeypatch.context() as patched:
        patched.setattr(rollup_refresh, "MANY", 10**9)  # every parent on its own
        one_by_one = make_service(database, "single")
        single_events = scenario(one_by_one)
    single_statements = len(statements) - batch_statements

    assert stored(set_based) == stored(one_by_one)
    assert audit(database, "batch") == audit(database, "single")
    assert batch_events == single_events
    # The batches did take the set-based path: far fewer statements.
    assert batch_statements < single_statements * 0.7, (batch_statements, single_statements)

    customers = {c["id"]: c for c in stored(set_based)["customer"]}
    assert customers[14]["deals"] == 0 and customers[14]["biggest"] is None  # never touched
    refreshed = [c for c in customers.values() if c["deals"]]
    assert len(refreshed) == 13
    # Sixty days on, nothing is recent: sums back to 0, latest dates to blank.
    assert all(c["recent"] == 0 and c["last_recent"] is None for c in refreshed)
    assert any(c["tier"] == "big" for c in refreshed)
    regions = stored(set_based)["region"]
    assert sum(r["won"] for r in regions) == sum(c["won"] for c in customers.values())
    assert expected_customers(set_based) == {k: {f: v[f] for f in TIMELESS}
                                             for k, v in customers.items()}
    actions = {row[2] for row in audit(database, "batch") if row[0] == "customer"}
    assert actions == {"create", "recompute"}


def expected_customers(service: RecordService) -> dict[int, dict[str, Any]]:
    """The rollups that do not depend on the day, from the deals themselves."""
    deals = stored(service)["deal"]
    result = {}
    for customer in stored(service)["customer"]:
        mine = [d for d in deals if d["customer"] == customer["id"]]
        result[customer["id"]] = {
            "deals": len(mine),
            "won": sum((d["amount"] for d in mine if d["stage"] == "won"), Decimal(0)),
            "biggest": max((d["amount"] for d in mine), default=None),
            "first_close": min((d["closed_on"] for d in mine), default=None),
            "referred": sum(1 for d in deals if d["referrer"] == customer["id"]),
        }
    return result


def test_concurrent_batches_into_shared_parents_neither_deadlock_nor_drift(database: Database) -> None:
    service = make_service(database, "race")
    for name in ("East", "West"):
        service.create("region", {"name": name})
    for n in range(20):
        service.create("customer", {"name": f"C{n + 1}", "region": n % 2 + 1})
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def load(seed: int) -> None:
        rng = random.Random(seed)
        try:
            start.wait()
            for _ in range(4):
                service.create_many("deal", [deal(rng, 20, START.date()) for _ in range(40)])
        except BaseException as exc:  # any error fails the test, a deadlock first
            failures.append(exc)

    threads = [threading.Thread(target=load, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert len(stored(service)["deal"]) == 320
    before = stored(service)
    for customer_id in range(1, 21):  # counted afresh: nothing to correct
        service.recompute("customer", customer_id)
    for region_id in (1, 2):
        service.recompute("region", region_id)
    assert stored(service) == before
    customers = {c["id"]: c for c in before["customer"]}
    assert expected_customers(service) == {
        k: {f: v[f] for f in TIMELESS}
        for k, v in customers.items()}
    assert sum(r["won"] for r in before["region"]) == sum(c["won"] for c in customers.values())
