"""Filter operators, executed against a real SQLite file."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from engine.definitions.model import FieldDef
from engine.fields import FIELD_TYPES, OPERATORS, FieldValueError, field_types_for

from .field_samples import build_table, field, sample

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite.*Decimal")

FIELDS = [
    sample("name"), sample("amount"), sample("signed_on"), sample("visited_at"), sample("stage"),
    sample("tags"), sample("owner"), sample("helpers"), sample("customer"), sample("products"),
    sample("address"), sample("active"), sample("total"), sample("opens_at"), sample("spot"),
]
ROWS: list[dict[str, Any]] = [
    {"id": 1, "name": "华信科技 Co_1%", "amount": "100", "signed_on": "2024-01-05",
     "visited_at": "2024-01-05 09:30", "stage": "won", "tags": ["lead", "won"], "owner": 1,
     "helpers": [1, 12], "customer": 5, "products": [3, 4], "address": "广东省深圳市南山区科技园路1号",
     "active": True, "total": "100", "opens_at": "09:00", "spot": "22.54,113.93 科技园"},
    {"id": 2, "name": "Acme", "amount": "2,500.50", "signed_on": "2024-02-01",
     "visited_at": "2024-01-05 23:30", "stage": "lead", "tags": ["lost"], "owner": 2,
     "helpers": [2], "customer": 6, "products": [4], "address": "浙江省 杭州市 西湖区 文一西路",
     "active": False, "total": "2500", "opens_at": "14:30"},
    {"id": 3},
    {"id": 4, "name": "", "amount": 0, "tags": []},
]


@pytest.fixture
def db(engine: sa.Engine) -> tuple[sa.Engine, sa.Table]:
    metadata, table, _extra = build_table(FIELDS)
    metadata.create_all(engine)
    link = metadata.tables["app_thing__products"]
    with engine.begin() as connection:
        connection.execute(metadata.tables["users"].insert(), [{"id": i} for i in (1, 2, 12)])
        for raw in ROWS:
            row: dict[str, Any] = {"id": raw["id"]}
            for f in FIELDS:
                kind = FIELD_TYPES.get(f.type)
                row.update(kind.to_db(f, kind.coerce(f, raw.get(f.key))))
            if raw.get("name") == "":
                row["name"] = ""  # a blank text as some other writer left it
            if raw.get("tags") == []:
                row["tags"] = []
            connection.execute(table.insert(), [row])
            value = FIELD_TYPES.get("relation").coerce(sample("products"), raw.get("products"))
            if value:
                connection.execute(link.insert(), FIELD_TYPES.get("relation").link_rows(  # type: ignore[attr-defined]
                    sample("products"), raw["id"], value))
    return engine, table


def matching(db: tuple[sa.Engine, sa.Table], key: str, op: str, value: Any = None, today: dt.date | None = None) -> list[int]:
    engine, table = db
    f = next(f for f in FIELDS if f.key == key)
    clause = FIELD_TYPES.get(f.type).filter_clause(f, table, op, value, today=today)
    with engine.connect() as connection:
        return list(connection.execute(sa.select(table.c.id).where(clause).order_by(table.c.id)).scalars())


CASES: list[tuple[str, str, Any, list[int]]] = [
    ("name", "eq", "Acme", [2]),
    ("name", "eq", "acme", []),
    ("name", "ne", "Acme", [1, 3, 4]),
    ("name", "contains", "co_1%", [1]),
    ("name", "contains", "o_", [1]),
    ("name", "contains", "%", [1]),
    ("name", "contains", "ACM", [2]),
    ("name", "not_contains", "acme", [1, 3, 4]),
    ("name", "starts_with", "华信", [1]),
    ("name", "ends_with", "ME", [2]),
    ("name", "in", ["Acme", "x"], [2]),
    ("name", "not_in", ["Acme"], [1, 3, 4]),
    ("name", "is_blank", None, [3, 4]),
    ("name", "not_blank", None, [1, 2]),
    ("amount", "gt", 100, [2]),
    ("amount", "gte", "100", [1, 2]),
    ("amount", "lt", "1,000", [1, 4]),
    ("amount", "lte", "¥100.00", [1, 4]),
    ("amount", "eq", "100.00", [1]),
    ("amount", "ne", 100, [2, 3, 4]),
    ("amount", "between", ["50", "¥3000"], [1, 2]),
    ("amount", "between", [3000, 50], [1, 2]),
    ("amount", "in", [0, "2500.50"], [2, 4]),
    ("amount", "is_blank", None, [3]),
    ("total", "gt", "1000", [2]),
    ("signed_on", "before", "2024-01-10", [1]),
    ("signed_on", "after", "2024/1/10", [2]),
    ("signed_on", "on", "2024年1月5日", [1]),
    ("signed_on", "between", ["2024-01-01", "2024-01-31"], [1]),
    ("signed_on", "is_blank", None, [3, 4]),
    ("visited_at", "on", "2024-01-05", [1, 2]),
    ("visited_at", "on", "2024-01-06", []),
    ("visited_at", "before", "2024-01-05 12:00", [1]),
    ("visited_at", "after", "2024-01-05", []),
    ("visited_at", "after", "2024-01-05 12:00", [2]),
    ("visited_at", "gt", "2024-01-05T02:00:00Z", [2]),
    ("visited_at", "between", ["2024-01-05 09:00", "2024-01-05 10:00"], [1]),
    ("opens_at", "before", "12:00", [1]),
    ("opens_at", "between", ["14:00", "15:00"], [2]),
    ("stage", "eq", "赢单", [1]),
    ("stage", "ne", "won", [2, 3, 4]),
    ("stage", "in", ["won", "Lead"], [1, 2]),
    ("stage", "not_in", ["won"], [2, 3, 4]),
    ("tags", "has_any", ["won", "lost"], [1, 2]),
    ("tags", "has_any", "线索", [1]),
    ("tags", "has_all", ["lead", "won"], [1]),
    ("tags", "has_all", ["lead", "lost"], []),
    ("tags", "is_blank", None, [3, 4]),
    ("tags", "not_blank", None, [1, 2]),
    ("owner", "eq", 2, [2]),
    ("owner", "in", [1, "2"], [1, 2]),
    ("owner", "is_me", 1, [1]),
    ("owner", "ne", 1, [2, 3, 4]),
    ("helpers", "has_any", [2], [2]),
    ("helpers", "has_any", [1], [1]),
    ("helpers", "has_all", [1, 12], [1]),
    ("helpers", "is_me", 12, [1]),
    ("helpers", "is_me", 2, [2]),
    ("helpers", "is_blank", None, [3, 4]),
    ("customer", "eq", {"id": 5}, [1]),
    ("customer", "not_in", [5], [2, 3, 4]),
    ("customer", "is_blank", None, [3, 4]),
    ("products", "has_any", [4], [1, 2]),
    ("products", "has_all", [3, 4], [1]),
    ("products", "has_any", [], []),
    ("products", "is_blank", None, [3, 4]),
    ("products", "not_blank", None, [1, 2]),
    ("address", "contains", "深圳", [1]),
    ("address", "starts_with", "浙江", [2]),
    ("address", "is_blank", None, [3, 4]),
    ("active", "eq", True, [1]),
    ("active", "eq", "否", [2]),
    ("active", "ne", True, [2, 3, 4]),
    ("active", "is_blank", None, [3, 4]),
    ("spot", "contains", "科技", [1]),
    ("spot", "is_blank", None, [2, 3, 4]),
]


@pytest.mark.parametrize(("key", "op", "value", "expected"), CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_operator(db: tuple[sa.Engine, sa.Table], key: str, op: str, value: Any, expected: list[int]) -> None:
    assert matching(db, key, op, value) == expected


def test_within_days_takes_today(db: tuple[sa.Engine, sa.Table]) -> None:
    assert matching(db, "signed_on", "within_days", 30, today=dt.date(2024, 1, 20)) == [2]
    assert matching(db, "signed_on", "within_days", -30, today=dt.date(2024, 1, 20)) == [1]
    assert matching(db, "visited_at", "within_days", 0, today=dt.date(2024, 1, 5)) == [1, 2]
    assert matching(db, "visited_at", "within_days", "3", today=dt.date(2024, 1, 6)) == []
    with pytest.raises(ValueError, match="today"):
        matching(db, "signed_on", "within_days", 30)


def test_every_case_operator_and_type_pair_is_covered() -> None:
    covered = {op for _key, op, _value, _expected in CASES} | {"within_days"}
    assert covered == set(OPERATORS.keys())


def test_every_operator_applies_to_some_type() -> None:
    for operator in OPERATORS:
        assert field_types_for(operator.key), operator.key
    assert "member" in field_types_for("is_me")
    assert "text" not in field_types_for("gt")


def test_unsupported_operator() -> None:
    table = build_table([sample("name")])[1]
    with pytest.raises(FieldValueError) as info:
        FIELD_TYPES.get("text").filter_clause(sample("name"), table, "gt", 3)
    assert "gt" in info.value.message.en and "不支持" in info.value.message.zh
    with pytest.raises(FieldValueError):
        FIELD_TYPES.get("number").filter_clause(sample("amount"), build_table([sample("amount")])[1], "between", 3)


def test_values_are_bound_parameters() -> None:
    _metadata, table, _extra = build_table(FIELDS)
    for key, op, value, _expected in CASES:
        f = next(f for f in FIELDS if f.key == key)
        clause = FIELD_TYPES.get(f.type).filter_clause(f, table, op, value, today=dt.date(2024, 1, 1))
        sql = str(clause.compile(dialect=sa.dialects.postgresql.dialect()))
        for text in ("Acme", "深圳", "华信", "won", "2024"):
            assert text not in sql, (key, op, sql)


@pytest.mark.parametrize(("f", "op", "value", "zh", "en"), [
    (sample("owner"), "eq", 3, "owner 是 #3", "owner is #3"),
    (sample("stage"), "eq", "won", "stage 是 赢单", "stage is Won"),
    (sample("stage"), "in", ["won", "lead"], "stage 是 赢单、线索 之一", "stage is any of Won, Lead"),
    (sample("amount"), "between", [50, 3000], "amount 介于 ¥50.00 与 ¥3,000.00 之间",
     "amount is between ¥50.00 and ¥3,000.00"),
    (sample("name"), "is_blank", None, "name 为空", "name is blank"),
    (sample("name"), "contains", "科技", "name 包含 “科技”", "name contains \"科技\""),
    (sample("tags"), "has_any", ["won"], "tags 包含 赢单 中的任一项", "tags has any of Won"),
    (sample("owner"), "is_me", 3, "owner 是当前用户", "owner is the current user"),
    (sample("signed_on"), "within_days", 7, "signed_on 在今天起 7 天内", "signed_on is within 7 days of today"),
    (field("负责人", "member"), "eq", 3, "负责人 是 #3", "负责人 is #3"),
])
def test_sentences(f: FieldDef, op: str, value: Any, zh: str, en: str) -> None:
    kind = FIELD_TYPES.get(f.type)
    assert kind.describe_filter(f, op, value, "zh") == zh
    assert kind.describe_filter(f, op, value, "en") == en


def test_every_operator_has_labels_and_a_sentence() -> None:
    for operator in OPERATORS:
        assert operator.label.zh and operator.label.en
        assert operator.arity in (0, 1, 2, "list")
        assert operator.sentence("字段", ["a", "b"], "zh").startswith("字段")
        assert operator.sentence("Field", ["a", "b"], "en").startswith("Field")
