"""Exporting records to CSV and Excel (engine.records.exporting), and exports
imported back, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from test_import import CUSTOMER, DEAL, PRODUCT, QUOTE

from engine.core.clock import FixedClock
from engine.core.errors import NotFoundError
from engine.core.i18n import label
from engine.definitions.model import AppDef, FormDef
from engine.fields import FIELD_TYPES
from engine.records import Actor, RecordService
from engine.records.exporting import export_records
from engine.records.filters import QueryError
from engine.records.importing import import_file
from engine.store.database import Database
from engine.store.tables import create_form_tables

VIEWS: list[dict[str, Any]] = [
    {"key": "won", "label": {"zh": "赢单", "en": "Won"}, "columns": ["code", "customer", "close_value"],
     "filter": {"field": "stage", "op": "eq", "value": "won"}, "sort": [{"field": "close_value", "desc": True}]},
]


def make_app(key: str) -> AppDef:
    deal = {**DEAL, "list_views": VIEWS}
    forms = tuple(FormDef.from_dict(f, app=key) for f in (CUSTOMER, PRODUCT, deal, QUOTE))
    return AppDef(key=key, label=label(key), forms=forms)


def make_service(database: Database, key: str) -> RecordService:
    app = make_app(key)
    create_form_tables(database, app, FIELD_TYPES)
    return RecordService(database, app, field_types=FIELD_TYPES,
                         clock=FixedClock(dt.datetime(2024, 3, 15, 10, 0)))


@pytest.fixture
def service(database: Database) -> RecordService:
    now = dt.datetime(2024, 3, 15, 2, 0, tzinfo=dt.UTC)
    with database.transaction() as conn:
        for user_id, login, name in ((1, "zhang", "张三"), (2, "li", "李四")):
            conn.execute(sa.text("INSERT INTO users (id, login, name, active, locale, created_at) "
                                 "VALUES (:id, :login, :name, true, 'zh', :now)"),
                         {"id": user_id, "login": login, "name": name, "now": now})
    service = make_service(database, "src")
    owner = Actor(user_id=1, source="web")
    service.create_many("customer", [
        {"name": "Acme", "code": "C-1", "industry": "retail", "revenue": "12345678.91", "level": "a"},
        {"name": "Globex", "code": "C-2", "industry": "technology"},
    ], actor=owner)
    service.create_many("product", [{"name": "GTX Pro", "price": "4821"}, {"name": "MG Special", "price": "55.5"}])
    service.create_many("deal", [
        {"code": "D-1", "customer": 1, "product": 1, "sales_rep": 2, "stage": "won", "close_value": "100.10",
         "closed_on": "2024-01-31", "probability": "25%", "tags": ["hot", "big"]},
        {"code": "D-2", "customer": 2, "stage": "won", "close_value": "300"},
        {"code": "D-3", "customer": 1, "product": 2, "stage": "open", "close_value": "200"},
        {"code": "D-4", "customer": 2, "stage": "won", "close_value": "50"},
    ], actor=owner)
    service.create_many("quote", [
        {"title": "Q1", "customer": 1, "items": [{"product": 1, "quantity": 2, "unit_price": "10"},
                                                  {"product": 2, "quantity": 1, "unit_price": "5.5"}]},
        {"title": "Q2", "customer": 2},
        {"title": "Q3", "items": [{"product": 2, "quantity": 3, "unit_price": "1"}]},
    ])
    return service


def csv_rows(service: RecordService, form: str, **options: Any) -> list[list[str]]:
    out = io.StringIO()
    export_records(service, form, out, format="csv", **options)
    import csv

    return list(csv.reader(io.StringIO(out.getvalue())))


def xlsx_sheet(service: RecordService, form: str, **options: Any) -> tuple[Any, bytes]:
    out = io.BytesIO()
    export_records(service, form, out, format="xlsx", **options)
    sheet = openpyxl.load_workbook(io.BytesIO(out.getvalue())).active
    return sheet, out.getvalue()


def test_csv_has_labels_titles_names_and_exact_numbers(service: RecordService) -> None:
    rows = csv_rows(service, "deal", locale="en", columns=["code", "customer", "product", "sales_rep", "stage",
                                                             "close_value", "closed_on", "probability", "tags",
                                                             "weighted", "owner", "created_at"])
    assert rows[0] == ["Deal ID", "Customer", "Product", "Sales rep", "Stage", "Close value", "Close date",
                       "Probability", "Tags", "Weighted", "Owner", "Created at"]
    assert rows[1] == ["D-1", "Acme", "GTX Pro", "李四", "Won", "100.10", "2024-01-31", "0.2500", "Hot, Big",
                       "25.03", "张三", "2024-03-15 10:00:00"]
    zh = csv_rows(service, "deal", columns=["code", "stage", "tags"])
    assert zh[:2] == [["商机编号", "阶段", "标签"], ["D-1", "赢单", "热、大单"]]
    keys = csv_rows(service, "deal", columns=["code", "customer"], header="key")
    assert keys[0] == ["code", "customer"]


def test_xlsx_keeps_numbers_as_numbers_with_their_format_and_dates_as_dates(service: RecordService) -> None:
    sheet, raw = xlsx_sheet(service, "customer", columns=["name", "revenue", "deal_count"])
    header, acme, globex = list(sheet.iter_rows())
    assert [c.value for c in header] == ["客户名称", "营业额", "商机数"]
    assert acme[1].value == pytest.approx(12345678.91) and acme[1].number_format == '"¥"#,##0.00'
    assert acme[2].value == 2 and globex[1].value is None
    # The decimal is written as its exact digits, not through a float.
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<v>12345678.91</v>" in xml
    deals, _ = xlsx_sheet(service, "deal", columns=["code", "closed_on", "probability"])
    first = list(deals.iter_rows())[1]
    assert first[1].is_date and first[1].value == dt.datetime(2024, 1, 31)
    assert first[1].number_format == "yyyy-mm-dd"
    assert first[2].value == pytest.approx(0.25) and first[2].number_format == "#,##0.00%"


def test_a_list_view_gives_the_filter_sort_and_columns(service: RecordService) -> None:
    rows = csv_rows(service, "deal", view="won", locale="en")
    assert rows == [["Deal ID", "Customer", "Close value"], ["D-2", "Globex", "300.00"],
                    ["D-1", "Acme", "100.10"], ["D-4", "Globex", "50.00"]]
    narrowed = csv_rows(service, "deal", view="won", filter={"field": "customer", "op": "eq", "value": 2},
                        sort=[{"field": "code"}], columns=["code"])
    assert narrowed == [["商机编号"], ["D-2"], ["D-4"]]
    with pytest.raises(NotFoundError, match="has no list view lost"):
        csv_rows(service, "deal", view="lost")
    with pytest.raises(NotFoundError, match="has no field nothing"):
        csv_rows(service, "deal", columns=["nothing"])


def test_the_export_pages_through_the_list_with_its_cursor(service: RecordService,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    pages: list[tuple[int, str | None]] = []
    real = service.list

    def spy(form_key: str, **options: Any) -> dict[str, Any]:
        pages.append((options["limit"], options["after"]))
        return real(form_key, **options)

    monkeypatch.setattr(service, "list", spy)
    out = io.StringIO()
    assert export_records(service, "deal", out, format="csv", page_size=3, sort=["code"]) == 4
    assert [limit for limit, _ in pages] == [3, 3]
    assert pages[0][1] is None and pages[1][1] is not None
    assert [line.split(",")[0] for line in out.getvalue().splitlines()[1:]] == ["D-1", "D-2", "D-3", "D-4"]


def test_subform_rows_are_extra_rows_repeating_the_record(service: RecordService) -> None:
    rows = csv_rows(service, "quote", locale="en")
    assert rows[0] == ["Title", "Customer", "Items.Product", "Items.Quantity", "Items.Unit price",
                       "Items.Subtotal", "Total"]
    assert rows[1:] == [
        ["Q1", "Acme", "GTX Pro", "2", "10.00", "20.00", "25.50"],
        ["Q1", "Acme", "MG Special", "1", "5.50", "5.50", "25.50"],
        ["Q2", "Globex", "", "", "", "", "0.00"],
        ["Q3", "", "MG Special", "3", "1.00", "3.00", "3.00"],
    ]


def comparable(service: RecordService, form: str) -> list[dict[str, Any]]:
    """The records' values with relations and members by title or name, without ids."""
    compiled, _ = service.form(form)
    titles = {
        key: {r["id"]: r[key_title] for r in service.list(target, limit=100)["records"]}
        for key, target, key_title in (("customer", "customer", "name"), ("product", "product", "name"))
    }
    found = []
    for record in service.list(form, limit=100, sort=["id"])["records"]:
        values: dict[str, Any] = {}
        for f in compiled.form.fields:
            value = record.get(f.key)
            if f.key in titles and value is not None:
                value = titles[f.key][value]
            if f.fields and value:
                value = [{k: (titles["product"][v] if k == "product" and v else v)
                          for k, v in row.items() if k != "id"} for row in value]
            values[f.key] = value
        found.append(values)
    return found


# Text a spreadsheet would take for a formula (CWE-1236), and text that already looks neutralized.
# Input trimming stores " =2+2" as "=2+2" (and drops a leading tab or carriage return): the
# stored value is what is neutralized.
FORMULA_LIKE = ['=HYPERLINK("http://evil","x")', "=1+1", "+1+1", "-1+1", "@SUM(A1)", " =2+2",
                "'=already quoted", "''", "'plain", "-5", "+7.5", "-"]
STORED = [text.strip() for text in FORMULA_LIKE]


def add_formula_like_text(service: RecordService) -> None:
    service.create_many("customer", [{"name": text, "code": text} for text in FORMULA_LIKE])
    first = service.list("customer", filter={"field": "name", "op": "eq", "value": FORMULA_LIKE[0]})["records"][0]
    service.create_many("deal", [{"code": "=D-9", "customer": first["id"], "close_value": "-3"}])


def test_csv_cells_that_begin_like_a_formula_are_neutralized(service: RecordService) -> None:
    add_formula_like_text(service)
    rows = csv_rows(service, "customer", columns=["name", "revenue"], header="key", sort=["id"])
    assert [row[0] for row in rows[3:]] == [
        "'=HYPERLINK(\"http://evil\",\"x\")", "'=1+1", "'+1+1", "'-1+1", "'@SUM(A1)", "'=2+2",
        "''=already quoted", "'''", "'plain", "-5", "+7.5", "'-"]
    deal = csv_rows(service, "deal", columns=["code", "customer", "close_value"], header="key", sort=["-id"])[1]
    assert deal == ["'=D-9", "'=HYPERLINK(\"http://evil\",\"x\")", "-3.00"]  # a number stays a number


def test_xlsx_text_cells_are_strings_never_formulas(service: RecordService) -> None:
    add_formula_like_text(service)
    sheet, raw = xlsx_sheet(service, "customer", columns=["name", "revenue"], sort=["id"])
    cells = [row[0] for row in list(sheet.iter_rows())[3:]]
    assert [c.value for c in cells] == STORED
    assert all(c.data_type == "s" for c in cells)
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and '<t>=HYPERLINK("http://evil","x")</t>' in xml


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("header", ["label", "key"])
def test_an_export_imports_back_to_the_same_values(service: RecordService, database: Database,
                                                   kind: str, header: str) -> None:
    copy = make_service(database, f"copy_{kind}_{header}")
    add_formula_like_text(service)
    keys = {"customer": "name", "product": "name", "deal": "code", "quote": "title"}
    for form, key in keys.items():
        out = io.BytesIO()
        written = export_records(service, form, out, format=kind, header=header, locale="en")
        out.seek(0)
        report = import_file(copy, form, out, format=kind, key_field=key)
        assert report.failures == [], report.describe()
        assert report.created == written
    for form in keys:
        assert comparable(copy, form) == comparable(service, form), form


def test_a_bad_query_is_refused_before_a_file_is_begun(service: RecordService, tmp_path: Any) -> None:
    target = tmp_path / "customers.csv"
    with pytest.raises(QueryError):
        export_records(service, "customer", target, filter={"field": "nope", "op": "eq", "value": 1})
    with pytest.raises(QueryError):
        export_records(service, "customer", target, sort=["-nope"])
    assert not target.exists()
