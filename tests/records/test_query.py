"""List queries on SQLite and PostgreSQL: sorting, keyset pages, search, capped counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from engine.definitions.model import AppDef, FormDef, SortKey
from engine.fields import FIELD_TYPES
from engine.records.filters import QueryError
from engine.records.query import (
    build_list_query,
    count_query,
    count_records,
    encode_cursor,
    encode_value,
)
from engine.store.database import Database
from engine.store.tables import create_form_tables

UTC = dt.UTC
T0, T1, T2, T3 = (dt.datetime(2024, 1, 1, h, tzinfo=UTC) for h in (1, 2, 3, 4))
D1, D3, D5 = dt.date(2024, 1, 1), dt.date(2024, 1, 3), dt.date(2024, 1, 5)

ACCOUNT = {"key": "account", "label": "Account", "fields": [{"key": "name", "type": "text", "label": "Name"}]}
DEAL = {
    "key": "deal",
    "label": {"zh": "交易", "en": "Deal"},
    "fields": [
        {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}},
        {"key": "amount", "type": "money", "label": {"zh": "金额", "en": "Amount"}},
        {"key": "close_date", "type": "date", "label": {"zh": "成交日期", "en": "Close date"}},
        {"key": "stage", "type": "select", "label": {"zh": "阶段", "en": "Stage"},
         "options": [{"key": "a", "label": "A"}, {"key": "b", "label": "B"}, {"key": "c", "label": "C"}]},
        {"key": "account", "type": "relation", "target": "account", "label": {"zh": "账户", "en": "Account"}},
        {"key": "notes", "type": "textarea", "label": {"zh": "备注", "en": "Notes"}},
        {"key": "email", "type": "email", "label": {"zh": "邮箱", "en": "Email"}},
        {"key": "region", "type": "address", "level": "city", "label": {"zh": "地区", "en": "Region"}},
        {"key": "tags", "type": "multiselect", "label": "Tags", "options": [{"key": "x", "label": "X"}]},
        {"key": "partners", "type": "relation", "target": "account", "multiple": True, "label": "Partners"},
        {"key": "lines", "type": "subform", "label": "Lines",
         "fields": [{"key": "qty", "type": "number", "label": "Qty"}]},
    ],
}
ACCOUNTS = {1: "alpha", 2: "beta", 3: None, 4: "gamma"}
COLUMNS = ("id", "name", "amount", "close_date", "stage", "account", "notes", "email", "region_city", "created_at")
DEALS = [dict(zip(COLUMNS, row, strict=True)) for row in [
    (1, "applepie", Decimal("100.00"), D5, "a", 1, "first deal", "x@alpha.com", "深圳市", T0),
    (2, "banana", Decimal("100.00"), D5, "b", 2, None, None, "上海市", T0),
    (3, "cherry", Decimal("200.00"), None, None, None, "50% off", None, None, T1),
    (4, None, None, D3, "a", 3, "under_score", "y@beta.org", "深圳市", T1),
    (5, "date", Decimal("50.00"), D5, "c", 4, None, None, "北京市", T2),
    (6, "elder", Decimal("200.00"), D1, "b", 1, "Alpha notes", None, None, T0),
    (7, "fig", None, None, None, 2, None, None, "上海市", None),
    (8, "grape", Decimal("100.00"), D3, "a", None, None, "z@gamma.net", None, T2),
    (9, "appletart", Decimal("300.00"), D5, "c", 1, None, None, "深圳市", T3),
    (10, "kiwi", Decimal("50.00"), None, "b", 3, "kiwi", None, None, T3),
    (11, "lemon", None, D1, "a", 4, None, None, "北京市", None),
    (12, "mango", Decimal("200.00"), D3, None, 2, None, None, None, T1),
    (13, "nectarine", Decimal("100.00"), None, "c", None, None, None, None, T0),
]]
ALL = [deal["id"] for deal in DEALS]


def build_app() -> AppDef:
    return AppDef.from_dict({"key": "sales"}, [FormDef.from_dict(ACCOUNT), FormDef.from_dict(DEAL)])


@dataclass
class Sales:
    database: Database
    app: AppDef

    @property
    def deal(self) -> FormDef:
        return self.app.get_form("deal")

    def page(self, **options: Any) -> tuple[list[int], str | None, str]:
        query = build_list_query(self.deal, self.app, FIELD_TYPES, **options)
        with self.database.engine.connect() as conn:
            rows = conn.execute(query.select).all()
        shown, cursor = query.page(rows)
        return [row.id for row in shown], cursor, str(query.select)

    def walk(self, sort: Sequence[Any], limit: int, **options: Any) -> list[int]:
        """Every page from the first, following cursors; checks no page uses OFFSET."""
        seen: list[int] = []
        after = None
        for _ in range(len(DEALS) + 2):
            ids, after, sql = self.page(sort=sort, limit=limit, after=after, **options)
            assert "OFFSET" not in sql.upper()
            seen.extend(ids)
            if after is None:
                return seen
        raise AssertionError("the pages never ended")

    def count(self, **options: Any) -> tuple[int, bool]:
        with self.database.engine.connect() as conn:
            return count_records(conn, self.deal, self.app, FIELD_TYPES, **options)


@pytest.fixture
def sales(database: Database) -> Iterator[Sales]:
    app = build_app()
    tables = create_form_tables(database, app, FIELD_TYPES)
    with database.transaction() as conn:
        conn.execute(tables["account"].main.insert(), [{"id": k, "name": v} for k, v in ACCOUNTS.items()])
        conn.execute(tables["deal"].main.insert(), DEALS)
    yield Sales(database, app)


# --- sorting and keyset pages ---------------------------------------------------------------

def sort_value(deal: dict[str, Any], path: str) -> Any:
    if path == "account.name":
        return ACCOUNTS.get(deal["account"]) if deal["account"] else None
    if path == "region.city":
        return deal["region_city"]
    return deal[path]


def expected_order(sort: Sequence[Any]) -> list[int]:
    """The order the engine promises: each key in turn, blanks last either
    way, then id in the direction of the last key."""
    keys: list[tuple[str, bool]] = []
    for item in sort:
        if isinstance(item, dict):
            keys.append((item["field"], bool(item.get("desc"))))
        else:
            keys.append((item.lstrip("-"), item.startswith("-")))
    if "id" not in [path for path, _ in keys]:
        keys.append(("id", keys[-1][1] if keys else False))
    rows = list(DEALS)
    for path, desc in reversed(keys):
        present = [r for r in rows if sort_value(r, path) is not None]
        blank = [r for r in rows if sort_value(r, path) is None]
        present.sort(key=lambda r: sort_value(r, path), reverse=desc)
        rows = present + blank
    return [r["id"] for r in rows]


SORTS: list[list[Any]] = [
    [],
    ["amount"],
    ["-amount"],
    ["close_date", "-amount"],
    [{"field": "stage", "desc": True}, "amount"],
    ["-close_date", "stage", "-name"],
    ["account.name"],
    ["-account.name", "-amount"],
    ["-created_at"],
    ["created_at", "close_date"],
    ["region.city", "name"],
    ["name"],
    ["-id"],
    ["id", "amount"],
]


@pytest.mark.parametrize("limit", [1, 3, 5, 50])
@pytest.mark.parametrize("sort", SORTS, ids=[",".join(map(str, s)) or "default" for s in SORTS])
def test_pages_walk_every_row_once_in_order(sales: Sales, sort: list[Any], limit: int) -> None:
    walked = sales.walk(sort, limit)
    assert walked == expected_order(sort)


def test_the_first_page_and_the_last(sales: Sales) -> None:
    ids, cursor, _ = sales.page(sort=["-amount"], limit=4)
    assert ids == [9, 12, 6, 3]  # ties broken by id, in the direction of the last key
    assert cursor is not None
    ids, cursor, _ = sales.page(sort=["-amount"], limit=4, after=cursor)
    assert ids == [13, 8, 2, 1]
    ids, cursor, _ = sales.page(sort=["-amount"], limit=50)
    assert len(ids) == len(DEALS) and cursor is None


def test_sort_keys_from_a_list_view(sales: Sales) -> None:
    assert sales.walk([SortKey("amount", desc=True), SortKey("name")], 4) == expected_order(["-amount", "name"])


def test_a_page_after_a_filter_and_search(sales: Sales) -> None:
    spec = {"field": "amount", "op": "gte", "value": 100}
    walked = sales.walk(["close_date"], 2, filter=spec)
    assert walked == [i for i in expected_order(["close_date"]) if i in (1, 2, 3, 6, 8, 9, 12, 13)]


def test_columns_limit_what_is_selected(sales: Sales) -> None:
    query = build_list_query(sales.deal, sales.app, FIELD_TYPES, columns=["name", "region", "lines"],
                             sort=["-amount", "account.name"])
    names = list(query.select.selected_columns.keys())
    assert names == ["id", "name", "region_province", "region_city", "amount", "_sort_1"]


# --- bad sorts, limits and cursors ------------------------------------------------------------

SORT_ERRORS: list[tuple[Any, str, str]] = [
    (["amout"], "sort[0]", "did you mean amount"),
    ([{"field": "amout"}], "sort[0].field", "did you mean amount"),
    ([{"field": "amount", "desc": "yes"}], "sort[0].desc", "desc must be true or false"),
    ([{"field": "amount", "order": "desc"}], "sort[0].order", "Unknown key order"),
    ([5], "sort[0]", "A sort item must be"),
    (["tags"], "sort[0]", "Cannot sort by Tags"),
    (["lines"], "sort[0]", "Cannot sort by Lines"),
    (["lines.qty"], "sort[0]", "Cannot sort by Lines.Qty"),
    (["partners"], "sort[0]", "Cannot sort by Partners"),
    (["partners.name"], "sort[0]", "Cannot sort by Partners.Name"),
    (["region"], "sort[0]", "address.city"),
    (["name", "-amount", "close_date", "stage", "account", "notes", "email", "id", "region.city"], "sort",
     "At most 8 sort keys"),
]


@pytest.mark.parametrize(("sort", "path", "fragment"), SORT_ERRORS)
def test_sort_errors(sort: Any, path: str, fragment: str) -> None:
    app = build_app()
    with pytest.raises(QueryError) as caught:
        build_list_query(app.get_form("deal"), app, FIELD_TYPES, sort=sort)
    assert caught.value.path == path
    assert fragment in str(caught.value)
    assert caught.value.text("zh").startswith("排序")


@pytest.mark.parametrize("limit", [0, 1001, True, "10"])
def test_limit_errors(limit: Any) -> None:
    app = build_app()
    with pytest.raises(QueryError) as caught:
        build_list_query(app.get_form("deal"), app, FIELD_TYPES, limit=limit)
    assert caught.value.path == "limit"


def cursor_error(sort: Any, after: Any) -> QueryError:
    app = build_app()
    with pytest.raises(QueryError) as caught:
        build_list_query(app.get_form("deal"), app, FIELD_TYPES, sort=sort, after=after)
    assert caught.value.path == "after"
    return caught.value


def test_bad_cursors_are_clear_errors(sales: Sales) -> None:
    _, cursor, _ = sales.page(sort=["close_date"], limit=2)
    assert cursor is not None
    assert "different sort" in str(cursor_error(["-close_date"], cursor))
    for garbage in ["", "!!!", "e30", "bm90IGpzb24", "x" * 5000, 12]:
        assert "not valid" in str(cursor_error(["close_date"], garbage))
    signature = [["close_date", False], ["id", False]]
    for values in (["2024-01-05", 1], [{"d": "2024-13-01"}, 1], [{"d": "2024-01-05"}, None],
                   [{"d": "2024-01-05"}], [{"n": "NaN"}, 1], [{"dt": "2024-01-05T00:00:00"}, 1],
                   [{"d": "2024-01-05"}, True], [{"zz": "1"}, 1]):
        assert "not valid" in str(cursor_error(["close_date"], encode_cursor({"s": signature, "v": values})))


def test_cursor_values_keep_their_types() -> None:
    assert encode_value(Decimal("1.50")) == {"n": "1.50"}
    assert encode_value(dt.date(2024, 1, 5)) == {"d": "2024-01-05"}
    assert encode_value(T0) == {"dt": "2024-01-01T01:00:00+00:00"}
    assert encode_value(dt.time(9, 30)) == {"t": "09:30:00"}
    assert encode_value(None) is None and encode_value("x") == "x" and encode_value(3) == 3


# --- search ------------------------------------------------------------------------------------

SEARCHES: list[tuple[str, list[int]]] = [
    ("apple", [1, 9]),
    ("APPLE", [1, 9]),
    ("alpha", [1, 6]),  # notes or email, whatever the case
    ("apple tart", [9]),  # every word somewhere
    ("50%", [3]),  # % and _ are literal
    ("_", [4]),
    ("深圳", [1, 4, 9]),  # the address
    ("100", []),  # numbers are not searched as text
    ("   ", ALL),
]


@pytest.mark.parametrize(("search", "expected"), SEARCHES)
def test_search(sales: Sales, search: str, expected: list[int]) -> None:
    ids, _, _ = sales.page(search=search, limit=100)
    assert ids == expected
    assert sales.count(search=search) == (len(expected), True)


def test_search_errors() -> None:
    app = build_app()
    for search, fragment in ((5, "must be text"), ("x" * 201, "longer than 200")):
        with pytest.raises(QueryError) as caught:
            build_list_query(app.get_form("deal"), app, FIELD_TYPES, search=search)
        assert caught.value.path == "search" and fragment in str(caught.value)


def test_search_is_a_value_too(sales: Sales) -> None:
    ids, _, _ = sales.page(search="x' OR 1=1 --", limit=100)
    assert ids == []


# --- counting -------------------------------------------------------------------------------------

def test_capped_counts(sales: Sales) -> None:
    assert sales.count() == (13, True)
    assert sales.count(cap=13) == (13, True)
    assert sales.count(cap=12) == (12, False)
    assert sales.count(cap=5) == (5, False)
    assert sales.count(filter={"field": "amount", "op": "gte", "value": 200}) == (4, True)
    assert sales.count(filter={"field": "account.name", "op": "eq", "value": "alpha"}, cap=2) == (2, False)
    result = sales.count(cap=1)
    assert result.total == 1 and result.exact is False


def test_a_count_reads_at_most_cap_plus_one_rows() -> None:
    app = build_app()
    statement = count_query(app.get_form("deal"), app, FIELD_TYPES, cap=100)
    sql = str(statement.compile(compile_kwargs={"literal_binds": True}))
    assert "count(*)" in sql and "LIMIT 101" in sql
    for cap in (0, -1, True):
        with pytest.raises(QueryError):
            count_query(app.get_form("deal"), app, FIELD_TYPES, cap=cap)


def test_filters_reach_the_page_query(sales: Sales) -> None:
    ids, _, _ = sales.page(filter={"or": [{"field": "stage", "op": "eq", "value": "c"},
                                          {"field": "account.name", "op": "eq", "value": "beta"}]}, limit=100)
    assert ids == [2, 5, 7, 9, 12, 13]
    with pytest.raises(QueryError) as caught:
        sales.page(filter={"field": "stage", "op": "gt", "value": "a"})
    assert caught.value.path == "op"


def test_the_select_is_plain_core(sales: Sales) -> None:
    query = build_list_query(sales.deal, sales.app, FIELD_TYPES, sort=["account.name"], limit=2)
    assert isinstance(query.select, sa.Select)
    sql = str(query.select.compile(compile_kwargs={"literal_binds": True}))
    assert "NULLS LAST" in sql and "LIMIT 3" in sql
