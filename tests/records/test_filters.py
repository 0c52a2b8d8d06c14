"""The filter language, executed on SQLite and PostgreSQL (the ``database`` fixture).

A small CRM (customers, opportunities with a field of most types, a subform
and relations) is written with Core inserts; each case checks that a filter
returns exactly the expected opportunity (or customer) ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.definitions.model import AppDef, FieldDef, FormDef
from engine.fields import FIELD_TYPES
from engine.fields.operators import OPERATORS
from engine.records.filters import QueryError, compile_filter, describe_filter
from engine.store.database import Database
from engine.store.tables import create_form_tables, form_tables

UTC = dt.UTC
TODAY = dt.date(2024, 3, 8)


def options(*pairs: tuple[str, str, str]) -> list[dict[str, Any]]:
    return [{"key": key, "label": {"zh": zh, "en": en}} for key, zh, en in pairs]


CUSTOMER = {
    "key": "customer",
    "label": {"zh": "客户", "en": "Customer"},
    "fields": [
        {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}},
        {"key": "industry", "type": "select", "label": {"zh": "行业", "en": "Industry"},
         "options": options(("it", "互联网", "IT"), ("retail", "零售", "Retail"), ("bank", "银行", "Banking"))},
        {"key": "parent", "type": "relation", "target": "customer", "label": {"zh": "上级", "en": "Parent"}},
        {"key": "address", "type": "address", "label": {"zh": "地址", "en": "Address"}},
    ],
}
OPPORTUNITY = {
    "key": "opportunity",
    "label": {"zh": "商机", "en": "Opportunity"},
    "fields": [
        {"key": "title", "type": "text", "label": {"zh": "标题", "en": "Title"}},
        {"key": "amount", "type": "money", "label": {"zh": "金额", "en": "Amount"}},
        {"key": "probability", "type": "percent", "label": {"zh": "赢率", "en": "Probability"}},
        {"key": "quantity", "type": "number", "precision": 0, "label": {"zh": "数量", "en": "Quantity"}},
        {"key": "score", "type": "rating", "label": {"zh": "评分", "en": "Score"}},
        {"key": "stage", "type": "select", "label": {"zh": "阶段", "en": "Stage"},
         "options": options(("open", "进行中", "Open"), ("won", "赢单", "Won"), ("lost", "输单", "Lost"))},
        {"key": "tags", "type": "multiselect", "label": {"zh": "标签", "en": "Tags"},
         "options": options(("vip", "重要", "VIP"), ("new", "新", "New"), ("old", "老", "Old"))},
        {"key": "won", "type": "boolean", "label": {"zh": "已成交", "en": "Won"}},
        {"key": "close_date", "type": "date", "label": {"zh": "成交日期", "en": "Close date"}},
        {"key": "closed_at", "type": "datetime", "label": {"zh": "成交时间", "en": "Closed at"}},
        {"key": "meeting", "type": "time", "label": {"zh": "会议时间", "en": "Meeting"}},
        {"key": "notes", "type": "textarea", "label": {"zh": "备注", "en": "Notes"}},
        {"key": "phone", "type": "phone", "label": {"zh": "电话", "en": "Phone"}},
        {"key": "email", "type": "email", "label": {"zh": "邮箱", "en": "Email"}},
        {"key": "website", "type": "url", "label": {"zh": "网址", "en": "Website"}},
        {"key": "place", "type": "location", "label": {"zh": "地点", "en": "Place"}},
        {"key": "sales", "type": "member", "label": {"zh": "销售", "en": "Sales"}},
        {"key": "team", "type": "member", "multiple": True, "label": {"zh": "团队", "en": "Team"}},
        {"key": "customer", "type": "relation", "target": "customer", "label": {"zh": "客户", "en": "Customer"}},
        {"key": "competitors", "type": "relation", "target": "customer", "multiple": True,
         "label": {"zh": "竞争对手", "en": "Competitors"}},
        {"key": "customer_industry", "type": "lookup", "relation": "customer", "field": "industry",
         "label": {"zh": "客户行业", "en": "Customer industry"}},
        {"key": "items", "type": "subform", "label": {"zh": "明细", "en": "Items"}, "fields": [
            {"key": "product", "type": "text", "label": {"zh": "产品", "en": "Product"}},
            {"key": "qty", "type": "number", "label": {"zh": "数量", "en": "Qty"}},
            {"key": "supplier", "type": "relation", "target": "customer", "label": {"zh": "供应商", "en": "Supplier"}},
        ]},
    ],
}

CUSTOMERS = [
    {"id": 1, "name": "华信科技", "industry": "it", "parent": None,
     "address": ("广东省", "深圳市", "南山区", "科技园路1号")},
    {"id": 2, "name": "Acme Retail", "industry": "retail", "parent": 1,
     "address": ("上海市", "上海市", "浦东新区", "世纪大道100号")},
    {"id": 3, "name": "北方银行", "industry": "bank", "parent": 2, "address": ("北京市", "北京市", "朝阳区", None)},
    {"id": 4, "name": None, "industry": None, "parent": None, "address": (None, None, None, None)},
]
OPPORTUNITIES: list[dict[str, Any]] = [
    {"id": 1, "title": "Big deal 大单", "amount": Decimal("1000.00"), "probability": Decimal("0.5000"),
     "quantity": Decimal(10), "score": 5, "stage": "won", "tags": ["vip", "new"], "won": True,
     "close_date": dt.date(2024, 1, 15), "closed_at": dt.datetime(2024, 1, 15, 2, 0),
     "meeting": dt.time(9, 30), "notes": "first\nline", "phone": "13800000001", "email": "a@x.com",
     "website": "https://a.example.com", "place_lat": Decimal("22.54"), "place_lng": Decimal("113.93"),
     "place_address": "科技园", "sales": 1, "team": [1, 2], "customer": 1,
     "owner": 1, "created_by": 1, "created_at": dt.datetime(2024, 1, 1, 16, 30, tzinfo=UTC),
     "updated_by": 2, "updated_at": dt.datetime(2024, 2, 1, tzinfo=UTC), "version": 1, "flow_status": None},
    {"id": 2, "title": "small_deal 100%", "amount": Decimal("50.50"), "probability": Decimal("0.1000"),
     "quantity": Decimal(1), "score": 2, "stage": "lost", "tags": ["old"], "won": False,
     "close_date": dt.date(2024, 2, 1), "closed_at": dt.datetime(2024, 1, 31, 17, 0),
     "meeting": dt.time(14, 0), "notes": None, "phone": None, "email": "b@y.org", "website": None,
     "sales": 2, "team": [2], "customer": 2,
     "owner": 2, "created_by": 2, "created_at": dt.datetime(2024, 1, 1, 15, 30, tzinfo=UTC),
     "updated_by": None, "updated_at": None, "version": 2, "flow_status": "running"},
    {"id": 3, "title": "Renewal", "amount": None, "probability": None, "quantity": None, "score": None,
     "stage": "open", "tags": [], "won": None, "close_date": dt.date(2024, 3, 10), "closed_at": None,
     "meeting": None, "notes": "", "phone": "010-12345678", "email": None, "website": None,
     "sales": None, "team": None, "customer": 3,
     "owner": 1, "created_by": None, "created_at": dt.datetime(2024, 2, 1, tzinfo=UTC),
     "updated_by": None, "updated_at": None, "version": 1, "flow_status": "approved"},
    {"id": 4, "title": None, "amount": Decimal("0.00"), "probability": Decimal("1.0000"),
     "quantity": Decimal(0), "score": 1, "stage": None, "tags": ["vip"], "won": True,
     "close_date": None, "closed_at": dt.datetime(2024, 3, 10, 12, 0), "meeting": dt.time(18, 45),
     "notes": "notes 4", "phone": None, "email": None, "website": "http://d.example.org",
     "place_lat": Decimal("39.9"), "place_lng": Decimal("116.4"), "place_address": "天安门",
     "sales": 1, "team": [1], "customer": None,
     "owner": None, "created_by": 1, "created_at": dt.datetime(2024, 3, 1, tzinfo=UTC),
     "updated_by": None, "updated_at": None, "version": 3, "flow_status": None},
    {"id": 5, "title": "x' OR 1=1 --", "amount": Decimal("2000.00"), "probability": Decimal("0.9000"),
     "quantity": Decimal(100), "score": 4, "stage": "won", "tags": ["new"], "won": False,
     "close_date": dt.date(2023, 12, 31), "closed_at": dt.datetime(2023, 12, 31, 15, 59, 59),
     "meeting": dt.time(23, 0), "notes": "O'Reilly", "phone": "13900000002", "email": "c@z.com",
     "website": "https://e.example.com/path", "sales": 2, "team": None, "customer": 2,
     "owner": 2, "created_by": 2, "created_at": dt.datetime(2023, 6, 1, tzinfo=UTC),
     "updated_by": None, "updated_at": None, "version": 1, "flow_status": "running"},
]
COMPETITORS = {1: [2, 3], 2: [1], 4: [1, 2], 5: [3]}
ITEMS = [
    {"id": 1, "parent_id": 1, "position": 0, "product": "Widget", "qty": Decimal(2), "supplier": 2},
    {"id": 2, "parent_id": 1, "position": 1, "product": "Gadget", "qty": Decimal(5), "supplier": 3},
    {"id": 3, "parent_id": 2, "position": 0, "product": "Widget", "qty": Decimal(1), "supplier": None},
    {"id": 4, "parent_id": 4, "position": 0, "product": None, "qty": Decimal(10), "supplier": 1},
]
ALL = [1, 2, 3, 4, 5]


@dataclass
class Crm:
    database: Database
    app: AppDef

    def form(self, key: str) -> FormDef:
        return self.app.get_form(key)

    def ids(self, spec: Any, form: str = "opportunity", **options: Any) -> list[int]:
        definition = self.form(form)
        table = form_tables(definition, FIELD_TYPES).main
        options.setdefault("today", TODAY)
        clause = compile_filter(spec, definition, self.app, FIELD_TYPES, **options)
        with self.database.engine.connect() as conn:
            if self.database.is_postgresql:
                # A server away from UTC: timestamptz comparisons must not depend on it.
                conn.exec_driver_sql("SET TIME ZONE 'America/New_York'")
            return sorted(conn.execute(sa.select(table.c.id).where(clause)).scalars())


def build_app() -> AppDef:
    forms = [FormDef.from_dict(CUSTOMER), FormDef.from_dict(OPPORTUNITY)]
    return AppDef.from_dict({"key": "crm", "label": "CRM"}, forms)


@pytest.fixture
def crm(database: Database) -> Iterator[Crm]:
    app = build_app()
    tables = create_form_tables(database, app, FIELD_TYPES)
    customer, opportunity = tables["customer"], tables["opportunity"]
    users = sa.Table("users", sa.MetaData(), autoload_with=database.engine)
    with database.transaction() as conn:
        conn.execute(users.insert(), [
            {"id": uid, "login": login, "name": login, "created_at": dt.datetime(2024, 1, 1)}
            for uid, login in ((1, "alice"), (2, "bob"))
        ])
        for row in CUSTOMERS:
            province, city, district, detail = row["address"]
            conn.execute(customer.main.insert().values(
                id=row["id"], name=row["name"], industry=row["industry"], parent=row["parent"],
                address_province=province, address_city=city, address_district=district,
                address_detail=detail,
            ))
        conn.execute(opportunity.main.insert(), [
            {**{c.name: None for c in opportunity.main.c if c.name != "version"}, **row}
            for row in OPPORTUNITIES
        ])
        links = opportunity.field_tables("competitors")[0]
        conn.execute(links.insert(), [
            {"source_id": source, "target_id": target, "position": i}
            for source, targets in COMPETITORS.items() for i, target in enumerate(targets)
        ])
        conn.execute(opportunity.field_tables("items")[0].insert(), ITEMS)
    yield Crm(database, app)


# --- every operator on every field type ------------------------------------------------

CASES: list[tuple[str, str, Any, list[int]]] = [
    # text (with LIKE wildcards and quotes taken literally)
    ("title", "eq", "Renewal", [3]),
    ("title", "ne", "Renewal", [1, 2, 4, 5]),
    ("title", "contains", "DEAL", [1, 2]),
    ("title", "contains", "_", [2]),
    ("title", "contains", "%", [2]),
    ("title", "not_contains", "deal", [3, 4, 5]),
    ("title", "starts_with", "big", [1]),
    ("title", "ends_with", "大单", [1]),
    ("title", "in", ["Renewal", "Big deal 大单"], [1, 3]),
    ("title", "not_in", ["Renewal"], [1, 2, 4, 5]),
    ("title", "is_blank", None, [4]),
    ("title", "not_blank", None, [1, 2, 3, 5]),
    ("title", "eq", None, [4]),
    ("title", "ne", None, [1, 2, 3, 5]),
    # money, percent, number, rating
    ("amount", "eq", "1,000", [1]),
    ("amount", "ne", 1000, [2, 3, 4, 5]),
    ("amount", "gt", 100, [1, 5]),
    ("amount", "gte", "1000.00", [1, 5]),
    ("amount", "lt", 50.5, [4]),
    ("amount", "lte", "¥50.50", [2, 4]),
    ("amount", "between", [0, 1000], [1, 2, 4]),
    ("amount", "between", [1000, 0], [1, 2, 4]),
    ("amount", "between", [100, None], [1, 5]),
    ("amount", "in", [0, 2000], [4, 5]),
    ("amount", "not_in", [0, 2000], [1, 2, 3]),
    ("amount", "is_blank", None, [3]),
    ("amount", "not_blank", None, [1, 2, 4, 5]),
    ("probability", "eq", "50%", [1]),
    ("probability", "ne", 0.5, [2, 3, 4, 5]),
    ("probability", "gt", "50%", [4, 5]),
    ("probability", "gte", 0.9, [4, 5]),
    ("probability", "lt", 0.5, [2]),
    ("probability", "lte", "50%", [1, 2]),
    ("probability", "between", ["10%", "50%"], [1, 2]),
    ("probability", "in", ["10%", 1], [2, 4]),
    ("probability", "not_in", ["10%"], [1, 3, 4, 5]),
    ("probability", "is_blank", None, [3]),
    ("probability", "not_blank", None, [1, 2, 4, 5]),
    ("quantity", "eq", 10, [1]),
    ("quantity", "ne", 10, [2, 3, 4, 5]),
    ("quantity", "gt", 1, [1, 5]),
    ("quantity", "gte", 1, [1, 2, 5]),
    ("quantity", "lt", 10, [2, 4]),
    ("quantity", "lte", 10, [1, 2, 4]),
    ("quantity", "between", [1, 10], [1, 2]),
    ("quantity", "in", [0, 100], [4, 5]),
    ("quantity", "not_in", [0, 100], [1, 2, 3]),
    ("quantity", "is_blank", None, [3]),
    ("quantity", "not_blank", None, [1, 2, 4, 5]),
    ("score", "eq", "★★★★★", [1]),
    ("score", "ne", 5, [2, 3, 4, 5]),
    ("score", "gt", 2, [1, 5]),
    ("score", "gte", 2, [1, 2, 5]),
    ("score", "lt", 2, [4]),
    ("score", "lte", 2, [2, 4]),
    ("score", "between", [2, 4], [2, 5]),
    ("score", "in", [1, 5], [1, 4]),
    ("score", "not_in", [1, 5], [2, 3, 5]),
    ("score", "is_blank", None, [3]),
    ("score", "not_blank", None, [1, 2, 4, 5]),
    # select: by key or by label in either language
    ("stage", "eq", "won", [1, 5]),
    ("stage", "eq", "赢单", [1, 5]),
    ("stage", "eq", "Won", [1, 5]),
    ("stage", "ne", "won", [2, 3, 4]),
    ("stage", "in", ["won", "输单"], [1, 2, 5]),
    ("stage", "not_in", ["won"], [2, 3, 4]),
    ("stage", "is_blank", None, [4]),
    ("stage", "not_blank", None, [1, 2, 3, 5]),
    # multiselect
    ("tags", "has_any", ["vip"], [1, 4]),
    ("tags", "has_any", ["老", "new"], [1, 2, 5]),
    ("tags", "has_any", "VIP", [1, 4]),
    ("tags", "has_all", ["vip", "new"], [1]),
    ("tags", "is_blank", None, [3]),
    ("tags", "not_blank", None, [1, 2, 4, 5]),
    # boolean
    ("won", "eq", True, [1, 4]),
    ("won", "eq", "否", [2, 5]),
    ("won", "ne", True, [2, 3, 5]),
    ("won", "is_blank", None, [3]),
    ("won", "not_blank", None, [1, 2, 4, 5]),
    # date (any common input form)
    ("close_date", "eq", "2024-01-15", [1]),
    ("close_date", "eq", "2024/1/15", [1]),
    ("close_date", "eq", "2024年1月15日", [1]),
    ("close_date", "ne", "2024-01-15", [2, 3, 4, 5]),
    ("close_date", "before", "2024-02-01", [1, 5]),
    ("close_date", "after", "2024-02-01", [3]),
    ("close_date", "on", "2024-03-10", [3]),
    ("close_date", "between", ["2024-01-01", "2024-02-01"], [1, 2]),
    ("close_date", "within_days", 7, [3]),
    ("close_date", "within_days", -60, [1, 2]),
    ("close_date", "gt", "2024-01-15", [2, 3]),
    ("close_date", "gte", "2024-01-15", [1, 2, 3]),
    ("close_date", "lt", "2024-01-15", [5]),
    ("close_date", "lte", "2024-01-15", [1, 5]),
    ("close_date", "is_blank", None, [4]),
    ("close_date", "not_blank", None, [1, 2, 3, 5]),
    # datetime: stored in UTC, read in the deployment's time zone (Asia/Shanghai)
    ("closed_at", "eq", "2024-01-15T10:00:00+08:00", [1]),
    ("closed_at", "eq", "2024-01-15 10:00", [1]),
    ("closed_at", "ne", "2024-01-15 10:00", [2, 3, 4, 5]),
    ("closed_at", "on", "2024-02-01", [2]),
    ("closed_at", "on", "2024-01-31", []),
    ("closed_at", "before", "2024-01-01", [5]),
    ("closed_at", "after", "2024-01-31", [2, 4]),
    ("closed_at", "between", ["2024-01-01 00:00", "2024-02-01 01:00"], [1, 2]),
    ("closed_at", "within_days", 3, [4]),
    ("closed_at", "within_days", -60, [1, 2]),
    ("closed_at", "gt", "2024-01-15 10:00", [2, 4]),
    ("closed_at", "gte", "2024-01-15 10:00", [1, 2, 4]),
    ("closed_at", "lt", "2024-01-15 10:00", [5]),
    ("closed_at", "lte", "2024-01-15 10:00", [1, 5]),
    ("closed_at", "is_blank", None, [3]),
    ("closed_at", "not_blank", None, [1, 2, 4, 5]),
    # time
    ("meeting", "eq", "09:30", [1]),
    ("meeting", "ne", "9:30", [2, 3, 4, 5]),
    ("meeting", "before", "14:00", [1]),
    ("meeting", "after", "14:00", [4, 5]),
    ("meeting", "between", ["09:00", "18:45"], [1, 2, 4]),
    ("meeting", "is_blank", None, [3]),
    ("meeting", "not_blank", None, [1, 2, 4, 5]),
    # textarea
    ("notes", "contains", "LINE", [1]),
    ("notes", "contains", "o'r", [5]),
    ("notes", "not_contains", "o", [1, 2, 3]),
    ("notes", "is_blank", None, [2, 3]),
    ("notes", "not_blank", None, [1, 4, 5]),
    # phone, email, url: text operators on normalised text
    ("phone", "eq", "138 0000 0001", [1]),
    ("phone", "ne", "13800000001", [2, 3, 4, 5]),
    ("phone", "contains", "1234", [3]),
    ("phone", "not_contains", "138", [2, 3, 4, 5]),
    ("phone", "starts_with", "010", [3]),
    ("phone", "ends_with", "0002", [5]),
    ("phone", "in", ["13800000001", "13900000002"], [1, 5]),
    ("phone", "not_in", ["13800000001"], [2, 3, 4, 5]),
    ("phone", "is_blank", None, [2, 4]),
    ("phone", "not_blank", None, [1, 3, 5]),
    ("email", "eq", "a@X.COM", [1]),
    ("email", "ne", "a@x.com", [2, 3, 4, 5]),
    ("email", "contains", "@y", [2]),
    ("email", "not_contains", ".com", [2, 3, 4]),
    ("email", "starts_with", "c@", [5]),
    ("email", "ends_with", ".org", [2]),
    ("email", "in", ["a@x.com", "c@z.com"], [1, 5]),
    ("email", "not_in", ["a@x.com"], [2, 3, 4, 5]),
    ("email", "is_blank", None, [3, 4]),
    ("email", "not_blank", None, [1, 2, 5]),
    ("website", "eq", "https://a.example.com", [1]),
    ("website", "ne", "https://a.example.com", [2, 3, 4, 5]),
    ("website", "contains", "example", [1, 4, 5]),
    ("website", "not_contains", "https", [2, 3, 4]),
    ("website", "starts_with", "http://", [4]),
    ("website", "ends_with", "/path", [5]),
    ("website", "in", ["http://d.example.org"], [4]),
    ("website", "not_in", ["http://d.example.org"], [1, 2, 3, 5]),
    ("website", "is_blank", None, [2, 3]),
    ("website", "not_blank", None, [1, 4, 5]),
    # location (by its place name)
    ("place", "contains", "科技", [1]),
    ("place", "not_contains", "科技", [2, 3, 4, 5]),
    ("place", "is_blank", None, [2, 3, 5]),
    ("place", "not_blank", None, [1, 4]),
    # member, single and multiple; is_me with the current user (bob, 2)
    ("sales", "eq", 1, [1, 4]),
    ("sales", "ne", "1", [2, 3, 5]),
    ("sales", "in", [1, 2], [1, 2, 4, 5]),
    ("sales", "not_in", [2], [1, 3, 4]),
    ("sales", "is_me", None, [2, 5]),
    ("sales", "is_blank", None, [3]),
    ("sales", "not_blank", None, [1, 2, 4, 5]),
    ("team", "has_any", [1], [1, 4]),
    ("team", "has_all", [1, 2], [1]),
    ("team", "is_me", None, [1, 2]),
    ("team", "is_blank", None, [3, 5]),
    ("team", "not_blank", None, [1, 2, 4]),
    # relations, single (a column) and multiple (a link table)
    ("customer", "eq", 2, [2, 5]),
    ("customer", "ne", 2, [1, 3, 4]),
    ("customer", "in", [1, 3], [1, 3]),
    ("customer", "not_in", [1], [2, 3, 4, 5]),
    ("customer", "is_blank", None, [4]),
    ("customer", "not_blank", None, [1, 2, 3, 5]),
    ("competitors", "has_any", [1], [2, 4]),
    ("competitors", "has_any", [1, 3], [1, 2, 4, 5]),
    ("competitors", "has_all", [1, 2], [4]),
    ("competitors", "is_blank", None, [3]),
    ("competitors", "not_blank", None, [1, 2, 4, 5]),
    # subform rows
    ("items", "is_blank", None, [3, 5]),
    ("items", "not_blank", None, [1, 2, 4]),
    # a lookup is read through its relation
    ("customer_industry", "eq", "IT", [1]),
    ("customer_industry", "in", ["retail", "银行"], [2, 3, 5]),
]


@pytest.mark.parametrize(("field", "op", "value", "expected"), CASES, ids=[f"{f}-{o}-{v}" for f, o, v, _ in CASES])
def test_operator(crm: Crm, field: str, op: str, value: Any, expected: list[int]) -> None:
    assert crm.ids({"field": field, "op": op, "value": value}, user_id=2) == expected


def test_every_operator_of_every_field_has_a_case() -> None:
    form = build_app().get_form("opportunity")
    covered = {(field, op) for field, op, _, _ in CASES}
    missing = [
        (field.key, op)
        for field in form.fields
        for op in FIELD_TYPES.get(field.type).operators_for(field)
        if (field.key, op) not in covered
    ]
    assert missing == []


SYSTEM_CASES: list[tuple[str, str, Any, list[int]]] = [
    ("id", "in", [1, 3], [1, 3]),
    ("id", "gt", 3, [4, 5]),
    ("id", "between", [2, 4], [2, 3, 4]),
    ("owner", "eq", 1, [1, 3]),
    ("owner", "is_me", None, [2, 5]),
    ("owner", "is_blank", None, [4]),
    ("created_by", "not_in", [1], [2, 3, 5]),
    # created_at holds UTC moments; days are the deployment's (UTC+8)
    ("created_at", "on", "2024-01-02", [1]),
    ("created_at", "on", "2024-01-01", [2]),
    ("created_at", "before", "2024-01-02", [2, 5]),
    ("created_at", "after", "2024-01-01", [1, 3, 4]),
    ("created_at", "gte", "2024-02-01 08:00", [3, 4]),
    ("created_at", "within_days", -7, [4]),
    ("updated_at", "is_blank", None, [2, 3, 4, 5]),
    ("updated_by", "eq", 2, [1]),
    ("version", "gte", 2, [2, 4]),
    ("flow_status", "eq", "running", [2, 5]),
    ("flow_status", "in", ["running", "approved"], [2, 3, 5]),
    ("flow_status", "is_blank", None, [1, 4]),
]


@pytest.mark.parametrize(("field", "op", "value", "expected"), SYSTEM_CASES,
                         ids=[f"{f}-{o}-{v}" for f, o, v, _ in SYSTEM_CASES])
def test_system_fields(crm: Crm, field: str, op: str, value: Any, expected: list[int]) -> None:
    assert crm.ids({"field": field, "op": op, "value": value}, user_id=2) == expected


def test_is_me_without_a_user_matches_nothing(crm: Crm) -> None:
    assert crm.ids({"field": "owner", "op": "is_me"}) == []
    assert crm.ids({"not": {"field": "owner", "op": "is_me"}}) == ALL


# --- groups -------------------------------------------------------------------------------

GROUPS: list[tuple[Any, list[int]]] = [
    ({}, ALL),
    ({"and": []}, ALL),
    ({"or": []}, ALL),
    ({"and": [{"field": "amount", "op": "gt", "value": 100}, {"field": "stage", "op": "eq", "value": "won"}]}, [1, 5]),
    ({"or": [{"field": "amount", "op": "lt", "value": 100}, {"field": "stage", "op": "eq", "value": "open"}]}, [2, 3, 4]),
    ({"not": {"field": "amount", "op": "gt", "value": 100}}, [2, 3, 4]),
    ({"not": {"not": {"field": "amount", "op": "gt", "value": 100}}}, [1, 5]),
    ({"and": [
        {"or": [{"field": "stage", "op": "eq", "value": "won"}, {"field": "won", "op": "eq", "value": True}]},
        {"not": {"or": [{"field": "amount", "op": "gte", "value": 2000}, {"field": "title", "op": "is_blank"}]}},
    ]}, [1]),
    ({"or": [{"and": [{"field": "id", "op": "eq", "value": 1}]}, {"and": [{"field": "id", "op": "eq", "value": 3}]}]}, [1, 3]),
]


@pytest.mark.parametrize(("spec", "expected"), GROUPS)
def test_groups(crm: Crm, spec: Any, expected: list[int]) -> None:
    assert crm.ids(spec) == expected


# --- paths ---------------------------------------------------------------------------------

PATHS: list[tuple[str, Any, list[int]]] = [
    ("opportunity", {"field": "customer.industry", "op": "eq", "value": "it"}, [1]),
    ("opportunity", {"field": "customer.industry", "op": "eq", "value": "零售"}, [2, 5]),
    ("opportunity", {"field": "customer.name", "op": "contains", "value": "acme"}, [2, 5]),
    ("opportunity", {"field": "customer.parent.name", "op": "eq", "value": "华信科技"}, [2, 5]),
    ("opportunity", {"field": "customer.parent.parent.name", "op": "eq", "value": "华信科技"}, [3]),
    ("opportunity", {"field": "customer.address.city", "op": "eq", "value": "上海市"}, [2, 5]),
    ("opportunity", {"field": "customer.address", "op": "contains", "value": "深圳"}, [1]),
    ("opportunity", {"field": "customer.id", "op": "gte", "value": 2}, [2, 3, 5]),
    # a condition through a relation needs a related record; "not" takes in the rest
    ("opportunity", {"not": {"field": "customer.industry", "op": "eq", "value": "it"}}, [2, 3, 4, 5]),
    ("opportunity", {"field": "competitors.industry", "op": "eq", "value": "bank"}, [1, 5]),
    ("opportunity", {"field": "competitors.name", "op": "contains", "value": "ACME"}, [1, 4]),
    ("opportunity", {"field": "competitors.parent.industry", "op": "eq", "value": "it"}, [1, 4]),
    ("opportunity", {"field": "items.product", "op": "eq", "value": "Widget"}, [1, 2]),
    ("opportunity", {"field": "items.qty", "op": "gt", "value": 4}, [1, 4]),
    ("opportunity", {"field": "items.product", "op": "is_blank"}, [4]),
    ("opportunity", {"field": "items.supplier.industry", "op": "eq", "value": "retail"}, [1]),
    ("opportunity", {"field": "items.id", "op": "eq", "value": 3}, [2]),
    ("opportunity", {"and": [
        {"field": "items.product", "op": "eq", "value": "Widget"},
        {"field": "items.qty", "op": "gte", "value": 2},
    ]}, [1]),
    # each condition finds its own row: Gadget is on one row, qty 2 on another
    ("opportunity", {"and": [
        {"field": "items.product", "op": "eq", "value": "Gadget"},
        {"field": "items.qty", "op": "eq", "value": 2},
    ]}, [1]),
    ("opportunity", {"field": "place.lat", "op": "gt", "value": 30}, [4]),
    # a form related to itself
    ("customer", {"field": "parent.name", "op": "eq", "value": "华信科技"}, [2]),
    ("customer", {"field": "parent.parent.name", "op": "eq", "value": "华信科技"}, [3]),
    ("customer", {"field": "parent.industry", "op": "in", "value": ["it", "retail"]}, [2, 3]),
    ("customer", {"not": {"field": "parent.industry", "op": "eq", "value": "it"}}, [1, 3, 4]),
    ("customer", {"field": "address.detail", "op": "is_blank"}, [3, 4]),
    ("customer", {"field": "address.province", "op": "starts_with", "value": "广东"}, [1]),
    ("customer", {"field": "address", "op": "starts_with", "value": "上海市"}, [2]),
    ("customer", {"field": "address", "op": "not_contains", "value": "北京"}, [1, 2, 4]),
    ("customer", {"field": "address", "op": "is_blank"}, [4]),
]


@pytest.mark.parametrize(("form", "spec", "expected"), PATHS)
def test_paths(crm: Crm, form: str, spec: Any, expected: list[int]) -> None:
    assert crm.ids(spec, form) == expected


# --- safety ----------------------------------------------------------------------------------

INJECTION = "x' OR 1=1 --"


def test_a_value_is_only_ever_a_value(crm: Crm) -> None:
    assert crm.ids({"field": "title", "op": "eq", "value": INJECTION}) == [5]
    assert crm.ids({"field": "title", "op": "contains", "value": "' OR 1=1"}) == [5]
    assert crm.ids({"field": "customer.name", "op": "eq", "value": INJECTION}) == []
    assert crm.ids({"field": "title", "op": "in", "value": [INJECTION, "'; DROP TABLE crm_customer; --"]}) == [5]
    form = crm.form("opportunity")
    clause = compile_filter({"field": "title", "op": "eq", "value": INJECTION}, form, crm.app, FIELD_TYPES)
    assert INJECTION not in str(clause.compile())
    assert crm.ids({}, "customer") == [1, 2, 3, 4]


# --- errors ----------------------------------------------------------------------------------

def error_for(spec: Any, form: str = "opportunity") -> QueryError:
    app = build_app()
    with pytest.raises(QueryError) as caught:
        compile_filter(spec, app.get_form(form), app, FIELD_TYPES, today=TODAY)
    return caught.value


ERRORS: list[tuple[Any, str, list[str]]] = [
    ({"field": "amout", "op": "gt", "value": 1}, "field", ["amout", "did you mean amount", "是否想用 amount"]),
    ({"and": [{"field": "title", "op": "eq", "value": "a"}, {"field": "amount", "op": "contains", "value": 1}]},
     "and[1].op", ["Amount (amount)", "contains", "supported: eq, ne, gt", "金额（amount）", "不支持运算符"]),
    ({"field": "amount", "op": "greater", "value": 1}, "op", ["greater", "did you mean gte"]),
    ({"field": "customer.industy", "op": "eq", "value": "it"}, "field",
     ["Form Customer (customer) has no field industy", "did you mean industry"]),
    ({"field": "items.prodcut", "op": "eq", "value": "x"}, "field", ["Subform Items (items)", "did you mean product"]),
    ({"field": "title.x", "op": "eq", "value": 1}, "field", ["Title (title) is not a relation or a subform"]),
    ({"field": "", "op": "eq", "value": 1}, "field", ["A field name is needed"]),
    ({"field": "close_date", "op": "gt", "value": "2024-13-45"}, "value", ["Close date (close_date)", "2024-13-45", "成交日期"]),
    ({"or": [{"not": {"field": "stage", "op": "eq", "value": "nope"}}]}, "or[0].not.value", ["nope", "not an option"]),
    ({"field": "amount", "op": "between", "value": [1]}, "value", ["two values"]),
    ({"field": "amount", "op": "eq", "value": "abc"}, "value", ["abc"]),
    ({"field": "close_date", "op": "within_days", "value": "soon"}, "value", ["soon"]),
    ({"field": "amount", "op": "gt"}, "value", ["Operator gt needs a value", "运算符 gt 需要一个值"]),
    ({"field": "amount", "op": "in", "value": None}, "value", ["needs a value"]),
    ({"field": "title", "op": "eq", "valeu": "x"}, "valeu", ["Unknown key valeu"]),
    ({"and": {"field": "title"}}, "and", ["list of conditions"]),
    ({"and": [], "or": []}, "", ["exactly one key"]),
    ({"or": [{"and": [{}, ["not a condition"]]}]}, "or[0].and[1]", ["must be an object"]),
    ({"field": "title", "op": "in", "value": ["x"] * 1001}, "value", ["At most 1000 values"]),
    ({"field": "notes", "op": "eq", "value": "x"}, "op", ["supported: contains, not_contains"]),
]


@pytest.mark.parametrize(("spec", "path", "fragments"), ERRORS, ids=[e[1] or "root" for e in ERRORS])
def test_errors_say_what_and_where(spec: Any, path: str, fragments: list[str]) -> None:
    error = error_for(spec)
    assert error.path == path
    text = f"{error.text('en')} {error.text('zh')}"
    for fragment in fragments:
        assert fragment in text
    assert isinstance(error, ValidationError)
    assert error.as_dict()["details"] == {path or "filter": [error.text("en")]}


def test_too_deep_is_an_error() -> None:
    spec: Any = {"field": "title", "op": "is_blank"}
    for _ in range(30):
        spec = {"not": spec}
    assert "Nested deeper" in str(error_for(spec))


def test_too_many_conditions_is_an_error() -> None:
    spec = {"or": [{"field": "id", "op": "eq", "value": i} for i in range(300)]}
    assert "More than 200 conditions" in str(error_for(spec))


# --- sentences -----------------------------------------------------------------------------------

def test_describe_in_both_languages() -> None:
    app = build_app()
    form = app.get_form("opportunity")
    spec = {"and": [{"field": "amount", "op": "gt", "value": 100}, {"field": "stage", "op": "eq", "value": "won"}]}
    assert describe_filter(spec, form, "zh", app=app) == "金额 大于 ¥100.00 且 阶段 是 赢单"
    assert describe_filter(spec, form, "en", app=app) == "Amount is greater than ¥100.00 and Stage is Won"
    nested = {"or": [
        {"field": "customer.industry", "op": "eq", "value": "it"},
        {"and": [{"field": "owner", "op": "is_me"}, {"not": {"field": "title", "op": "is_blank"}}]},
    ]}
    assert describe_filter(nested, form, "zh", app=app) == "客户.行业 是 互联网 或 （负责人 是当前用户 且 并非（标题 为空））"
    assert describe_filter(nested, form, "en", app=app) == (
        "Customer.Industry is IT or (Owner is the current user and not (Title is blank))"
    )
    assert describe_filter({"field": "close_date", "op": "between", "value": ["2024-01-01", "2024-01-31"]},
                           form, "en", app=app) == "Close date is between 2024-01-01 and 2024-01-31"
    assert describe_filter({}, form, "zh") == "全部记录"
    with pytest.raises(QueryError):
        describe_filter({"field": "nope", "op": "eq", "value": 1}, form, "zh", app=app)


# --- docs ------------------------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "filters.md"
START, END = "<!-- generated: operators -->", "<!-- end generated -->"


def operator_tables() -> str:
    """The operator tables of docs/filters.md, from the registries."""
    lines = ["| op | 中文 | English | value |", "| --- | --- | --- | --- |"]
    for operator in OPERATORS:
        if operator.arity == 0:
            value = "—"
        elif operator.arity == 2:
            value = "`[low, high]`"
        elif operator.arity == "list":
            value = "a list (one value is a list of one)"
        else:
            value = {"integer": "a whole number", "text": "text"}.get(operator.operand, "a value of the field")
        lines.append(f"| `{operator.key}` | {operator.label.zh} | {operator.label.en} | {value} |")
    lines += ["", "| field type | operators |", "| --- | --- |"]
    for ftype in FIELD_TYPES:
        if not ftype.operators:
            continue
        if hasattr(ftype, "result_type_key"):
            lines.append(f"| {ftype.key} | those of its `result_type` |")
            continue
        variants = {
            name: ftype.operators_for(FieldDef(key="f", type=ftype.key, label=Label("f", "f"), settings=settings))
            for name, settings in (("single", {}), ("multiple", {"multiple": True}))
        }
        if variants["single"] == variants["multiple"]:
            variants = {"": variants["single"]}
        for name, ops in variants.items():
            title = f"{ftype.key} ({name})" if name else ftype.key
            lines.append(f"| {title} | {', '.join(f'`{op}`' for op in ops)} |")
    return "\n".join(lines)


def test_the_operator_tables_in_the_docs_are_current() -> None:
    text = DOCS.read_text(encoding="utf-8")
    generated = text.split(START, 1)[1].split(END, 1)[0].strip()
    assert generated == operator_tables(), "paste operator_tables() into docs/filters.md"
