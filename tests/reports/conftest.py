"""A small sales app for the report engine's tests: customers (with an
industry), opportunities (stage, amount, close date, owner, customer) over
two years, people in two departments — on SQLite and PostgreSQL, built once
per test module and database kind; ``rows`` are the opportunities as
Python sees them, for computing expected numbers independently."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa

from engine.core.clock import FixedClock
from engine.core.i18n import label
from engine.definitions.model import AppDef, FormDef
from engine.fields import FIELD_TYPES
from engine.org.permissions import parse_role
from engine.org.principal import Principal
from engine.records import Actor, RecordService
from engine.records.access import AppAccess
from engine.store.database import Database
from engine.store.migrate import upgrade_system_tables
from engine.store.models import UserDepartment
from engine.store.tables import create_form_tables
from tests.conftest import admin_execute, postgres_schema_database

STAGES = ["lead", "proposal", "won", "lost"]
INDUSTRIES = ["retail", "tech", "energy"]
CUSTOMER: dict[str, Any] = {
    "key": "customer", "label": {"zh": "客户", "en": "Customer"}, "title_field": "name",
    "fields": [
        {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}},
        {"key": "industry", "type": "select", "label": {"zh": "行业", "en": "Industry"},
         "options": [{"key": k, "label": {"zh": f"行业{k}", "en": k.title()}} for k in INDUSTRIES]},
        {"key": "secret", "type": "number", "label": "Secret"},
    ],
}
OPPORTUNITY: dict[str, Any] = {
    "key": "opportunity", "label": {"zh": "商机", "en": "Opportunity"}, "title_field": "name",
    "fields": [
        {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}},
        {"key": "stage", "type": "select", "label": {"zh": "阶段", "en": "Stage"},
         "options": [{"key": k, "label": {"zh": f"阶段{k}", "en": k.title()}, "color": "#52c41a" if k == "won" else None}
                     for k in STAGES]},
        {"key": "amount", "type": "money", "label": {"zh": "金额", "en": "Amount"}, "currency": "CNY", "precision": 2},
        {"key": "close_date", "type": "date", "label": {"zh": "成交日期", "en": "Close date"}},
        {"key": "customer", "type": "relation", "target": "customer", "label": {"zh": "客户", "en": "Customer"}},
        {"key": "cost", "type": "number", "label": {"zh": "成本", "en": "Cost"}},
        {"key": "met_at", "type": "datetime", "label": {"zh": "会面时间", "en": "Met at"}},
    ],
}
PEOPLE = {1: ("Li Lei", 10), 2: ("Wang Fang", 10), 3: ("Zhang Wei", 20), 4: ("Zhao Lei", 20)}
TODAY = dt.date(2025, 6, 15)


@dataclass
class World:
    database: Database
    service: RecordService
    rows: list[dict[str, Any]]  # the opportunities as written
    customers: dict[int, dict[str, Any]]

    @property
    def app(self) -> AppDef:
        return self.service.app


def actor(user_id: int, *, scope: str = "all", hide: tuple[str, ...] = ()) -> Actor:
    grant: dict[str, Any] = {"actions": ["read"], "read": scope}
    if hide:
        grant["fields"] = dict.fromkeys(hide, "hidden")
    role = parse_role("sales", {"opportunity": grant, "customer": {"actions": ["read"], "read": "all",
                                                                    "fields": {"secret": "hidden"}}})
    department = PEOPLE[user_id][1]
    principal = Principal(user_id=user_id, login=f"u{user_id}", roles=frozenset({"sales"}),
                          department_ids=frozenset({department}), main_department_id=department)
    return Actor(user_id=user_id, source="web", access=AppAccess(principal, (role,), app="sales"))


def _build(database: Database) -> World:
    upgrade_system_tables(database)
    app = AppDef(key="sales", label=label("Sales"),
                 forms=tuple(FormDef.from_dict(f, app="sales") for f in (CUSTOMER, OPPORTUNITY)))
    create_form_tables(database, app, FIELD_TYPES)
    with database.transaction() as conn:
        conn.execute(sa.text("INSERT INTO departments (id, name) VALUES (10, 'East'), (20, 'West')"))
        for user_id, (name, _) in PEOPLE.items():
            conn.execute(sa.text("INSERT INTO users (id, login, name, active, locale, created_at) "
                                 "VALUES (:id, :login, :name, true, 'zh', CURRENT_TIMESTAMP)"),
                         {"id": user_id, "login": f"u{user_id}", "name": name})
        conn.execute(cast(sa.Table, UserDepartment.__table__).insert(),
                     [{"user_id": u, "department_id": d, "is_main": True} for u, (_, d) in PEOPLE.items()])
    service = RecordService(database, app, field_types=FIELD_TYPES, clock=FixedClock(dt.datetime(2025, 6, 15, 10)))
    chance = random.Random(14)
    customers = [{"name": f"C{i}", "industry": INDUSTRIES[i % 3] if i != 5 else None, "secret": i} for i in range(8)]
    ids = service.create_many("customer", customers)
    by_id = {i: c for i, c in zip(ids, customers, strict=True)}
    rows = []
    for i in range(240):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=chance.randrange(0, 540))
        rows.append({"name": f"O{i}", "stage": chance.choice(STAGES) if i % 17 else None,
                     "amount": Decimal(chance.randrange(100, 100000)) / 100 if i % 13 else None,
                     "close_date": day if i % 19 else None, "owner": 1 + i % 4,
                     "customer": ids[i % 8] if i % 11 else None, "cost": chance.randrange(0, 50)})
    service.create_many("opportunity", rows)
    return World(database, service, rows, by_id)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("reports") / "sales.sqlite3"
        database = Database(f"sqlite:///{path}")
        yield _build(database)
        database.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    database, schema = postgres_schema_database(url)
    try:
        yield _build(database)
    finally:
        database.dispose()
        admin_execute(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
