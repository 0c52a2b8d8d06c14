"""Importing CSV and Excel files (engine.records.importing), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from engine.core.clock import FixedClock
from engine.core.i18n import label
from engine.definitions.model import AppDef, FormDef
from engine.fields import FIELD_TYPES
from engine.records import RecordService
from engine.records.columns import MappingRefused
from engine.records.importing import ImportOptions, import_file
from engine.records.sheets import FileRefused
from engine.store.database import Database
from engine.store.tables import create_form_tables

CUSTOMER: dict[str, Any] = {
    "key": "customer", "label": {"zh": "客户", "en": "Customer"}, "title_field": "name",
    "fields": [
        {"key": "name", "type": "text", "label": {"zh": "客户名称", "en": "Customer name"},
         "required": True, "unique": True},
        {"key": "code", "type": "text", "label": {"zh": "客户编码", "en": "Code"}},
        {"key": "industry", "type": "select", "label": {"zh": "行业", "en": "Industry"}, "options": [
            {"key": "retail", "label": {"zh": "零售", "en": "Retail"}},
            {"key": "technology", "label": {"zh": "科技", "en": "Technology"}}]},
        {"key": "revenue", "type": "money", "label": {"zh": "营业额", "en": "Revenue"}, "min": 0},
        {"key": "level", "type": "select", "label": {"zh": "等级", "en": "Level"}, "default": "b",
         "options": [{"key": "a", "label": "A"}, {"key": "b", "label": "B"}]},
        {"key": "deal_count", "type": "rollup", "label": {"zh": "商机数", "en": "Deals"},
         "source": "deal.customer", "aggregate": "count"},
    ],
}
PRODUCT: dict[str, Any] = {
    "key": "product", "label": {"zh": "产品", "en": "Product"}, "title_field": "name",
    "fields": [
        {"key": "name", "type": "text", "label": {"zh": "产品名称", "en": "Product name"},
         "required": True, "unique": True},
        {"key": "price", "type": "money", "label": {"zh": "售价", "en": "Price"}},
    ],
}
DEAL: dict[str, Any] = {
    "key": "deal", "label": {"zh": "商机", "en": "Deal"}, "title_field": "code",
    "fields": [
        {"key": "code", "type": "text", "label": {"zh": "商机编号", "en": "Deal ID"}, "required": True},
        {"key": "customer", "type": "relation", "target": "customer",
         "label": {"zh": "客户", "en": "Customer"}, "required": True},
        {"key": "product", "type": "relation", "target": "product", "label": {"zh": "产品", "en": "Product"}},
        {"key": "sales_rep", "type": "member", "label": {"zh": "销售", "en": "Sales rep"}},
        {"key": "stage", "type": "select", "label": {"zh": "阶段", "en": "Stage"}, "default": "open",
         "options": [{"key": "open", "label": {"zh": "进行中", "en": "Open"}},
                     {"key": "won", "label": {"zh": "赢单", "en": "Won"}}]},
        {"key": "close_value", "type": "money", "label": {"zh": "成交金额", "en": "Close value"}},
        {"key": "closed_on", "type": "date", "label": {"zh": "成交日期", "en": "Close date"}},
        {"key": "probability", "type": "percent", "label": {"zh": "赢率", "en": "Probability"}},
        {"key": "tags", "type": "multiselect", "label": {"zh": "标签", "en": "Tags"}, "options": [
            {"key": "hot", "label": {"zh": "热", "en": "Hot"}}, {"key": "big", "label": {"zh": "大单", "en": "Big"}}]},
        {"key": "weighted", "type": "formula", "label": {"zh": "加权金额", "en": "Weighted"},
         "formula": "close_value * probability", "result_type": "money"},
    ],
    "rules": [{"key": "won_needs_value", "when": "stage = \"won\" and ISBLANK(close_value)",
               "actions": [{"type": "error", "message": {"zh": "赢单须填成交金额", "en": "A won deal needs its value"}}]}],
}
QUOTE: dict[str, Any] = {
    "key": "quote", "label": {"zh": "报价", "en": "Quote"}, "title_field": "title",
    "fields": [
        {"key": "title", "type": "text", "label": {"zh": "标题", "en": "Title"}, "required": True},
        {"key": "customer", "type": "relation", "target": "customer", "label": {"zh": "客户", "en": "Customer"}},
        {"key": "items", "type": "subform", "label": {"zh": "明细", "en": "Items"}, "fields": [
            {"key": "product", "type": "relation", "target": "product", "label": {"zh": "产品", "en": "Product"},
             "required": True},
            {"key": "quantity", "type": "number", "label": {"zh": "数量", "en": "Quantity"}, "precision": 0,
             "min": 1},
            {"key": "unit_price", "type": "money", "label": {"zh": "单价", "en": "Unit price"}},
            {"key": "subtotal", "type": "formula", "label": {"zh": "小计", "en": "Subtotal"},
             "formula": "quantity * unit_price", "result_type": "money"},
        ]},
        {"key": "total", "type": "rollup", "label": {"zh": "总计", "en": "Total"}, "source": "items",
         "field": "subtotal", "aggregate": "sum"},
    ],
}


def make_app(key: str = "io") -> AppDef:
    forms = tuple(FormDef.from_dict(f, app=key) for f in (CUSTOMER, PRODUCT, DEAL, QUOTE))
    return AppDef(key=key, label=label("IO"), forms=forms)


@pytest.fixture
def service(database: Database) -> RecordService:
    app = make_app()
    create_form_tables(database, app, FIELD_TYPES)
    now = dt.datetime(2024, 3, 15, 10, 0, tzinfo=dt.UTC)
    with database.transaction() as conn:
        for user_id, login, name in ((1, "zhang", "张三"), (2, "li", "李四"), (3, "wang1", "王五"),
                                     (4, "wang2", "王五")):
            conn.execute(sa.text("INSERT INTO users (id, login, name, active, locale, created_at) "
                                 "VALUES (:id, :login, :name, true, 'zh', :now)"),
                         {"id": user_id, "login": login, "name": name, "now": now})
    return RecordService(database, app, field_types=FIELD_TYPES,
                         clock=FixedClock(dt.datetime(2024, 3, 15, 10, 0)))


def csv_file(*lines: str, bom: bool = False) -> io.BytesIO:
    text = "\n".join(lines) + "\n"
    return io.BytesIO(text.encode("utf-8-sig" if bom else "utf-8"))


def xlsx_file(rows: list[list[Any]]) -> io.BytesIO:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    out.seek(0)
    return out


def records(service: RecordService, form: str) -> list[dict[str, Any]]:
    return list(service.list(form, limit=500, sort=["id"])["records"])


def seed(service: RecordService) -> None:
    service.create_many("customer", [
        {"name": "Acme", "code": "C-1", "industry": "retail"},
        {"name": "acme", "code": "C-2"},
        {"name": "Globex", "code": "C-3", "industry": "technology"},
    ])
    service.create_many("product", [{"name": "GTX Pro", "price": "4821"}, {"name": "MG Special", "price": "55"}])


# --- columns ----------------------------------------------------------------------------------


def test_columns_are_matched_by_label_in_either_language_or_by_key(service: RecordService) -> None:
    report = import_file(service, "customer", csv_file(
        "客户名称,industry,REVENUE , Level,Notes,",
        "Acme,Retail,\"1,200.50\",A,a note,x",
        "Globex,科技,,,,",
    ), format="csv")
    assert report.mapping == {"客户名称": "name", "industry": "industry", "REVENUE": "revenue", "Level": "level"}
    assert [(c.column, c.reason.en) for c in report.ignored_columns] == [
        ("Notes", "No field of the form matches this column"),
        ("(F)", "The column has no header"),
    ]
    assert (report.created, report.failed) == (2, 0)
    acme, globex = records(service, "customer")
    assert (acme["industry"], acme["revenue"], acme["level"]) == ("retail", Decimal("1200.50"), "a")
    assert (globex["industry"], globex["revenue"], globex["level"]) == ("technology", None, "b")


def test_an_explicit_mapping_comes_first_and_none_leaves_a_column_out(service: RecordService) -> None:
    seed(service)
    report = import_file(service, "deal", csv_file(
        "Ref,Account,Close Value,Ignored col,Close date",
        "D-1,Globex,99.5,zzz,2024-01-31",
    ), format="csv", mapping={"Ref": "code", "Account": "customer", "Ignored col": None})
    assert report.mapping == {"Ref": "code", "Account": "customer", "Close Value": "close_value",
                              "Close date": "closed_on"}
    assert [(c.column, c.reason.en) for c in report.ignored_columns] == [("Ignored col", "Left out by the mapping")]
    (deal,) = records(service, "deal")
    assert deal["code"] == "D-1" and deal["close_value"] == Decimal("99.50")
    assert deal["closed_on"] == dt.date(2024, 1, 31)


def test_computed_and_system_columns_are_reported_not_imported(service: RecordService) -> None:
    seed(service)
    report = import_file(service, "deal", csv_file(
        "商机编号,客户,加权金额,创建时间,id",
        "D-1,Acme,5,2020-01-01,99",
    ), format="csv")
    assert {c.column: c.reason.en for c in report.ignored_columns} == {
        "加权金额": "Computed by the system; not imported",
        "创建时间": "Set by the system; not imported",
        "id": "Set by the system; not imported",
    }
    assert report.created == 1


def test_a_subform_is_imported_one_column_per_field_not_as_a_whole(service: RecordService) -> None:
    report = import_file(service, "quote", csv_file("Title,明细", "Q1,\"[{\"\"quantity\"\": 1}]\""), format="csv")
    assert [(c.column, c.reason.en) for c in report.ignored_columns] == [
        ("明细", "A subform is imported one column per field (items.product ...)")]
    assert report.created == 1


def test_set_up_mistakes_are_refused_before_anything_is_written(service: RecordService) -> None:
    def attempt(**settings: Any) -> None:
        import_file(service, "customer", csv_file("Name,Industry", "Acme,retail"), format="csv", **settings)

    with pytest.raises(MappingRefused, match="has no column \"Nmae\""):
        attempt(mapping={"Nmae": "name"})
    with pytest.raises(MappingRefused, match="did you mean name"):
        attempt(mapping={"Name": "nmae"})
    with pytest.raises(MappingRefused, match="cannot be imported"):
        attempt(mapping={"Name": "deal_count"})
    with pytest.raises(MappingRefused, match="on_duplicate needs a key_field"):
        attempt(on_duplicate="skip")
    with pytest.raises(MappingRefused, match="value_map names nothing_here"):
        attempt(value_map={"nothing_here": {"a": "b"}})
    with pytest.raises(FileRefused, match=r"\.xls"):
        import_file(service, "customer", "old.xls")
    assert records(service, "customer") == []


def test_a_required_field_without_a_column_is_a_warning_and_every_row_says_so(service: RecordService) -> None:
    report = import_file(service, "customer", csv_file("Industry", "retail"), format="csv")
    assert [w.en for w in report.warnings] == ["Required field Customer name has no column in the file"]
    (failure,) = report.failures
    assert (failure.row_number, failure.column, failure.field) == (2, None, "name")
    assert failure.message.en == "Customer name: Required"


# --- relations, members and value maps -----------------------------------------------------------


def test_relations_match_exactly_first_then_ignoring_case(service: RecordService) -> None:
    seed(service)
    report = import_file(service, "deal", csv_file(
        "Deal ID,Customer,Product",
        "D-1,Acme,GTX Pro",      # exact, although "acme" also matches ignoring case
        "D-2,acme,gtx pro",      # exact; the product ignoring case
        "D-3,GLOBEX,",           # one match ignoring case
        "D-4,ACME,",             # two matches ignoring case, none exact: ambiguous
    ), format="csv", on_error="skip")
    ids = {c["name"]: c["id"] for c in records(service, "customer")}
    products = {p["name"]: p["id"] for p in records(service, "product")}
    deals = {d["code"]: (d["customer"], d["product"]) for d in records(service, "deal")}
    assert deals == {"D-1": (ids["Acme"], products["GTX Pro"]), "D-2": (ids["acme"], products["GTX Pro"]),
                     "D-3": (ids["Globex"], None)}
    (failure,) = report.failures
    assert (failure.row_number, failure.column, failure.value) == (5, "Customer", "ACME")
    assert failure.message.en.startswith("Several Customer records have Customer name \"ACME\"")


def test_relations_match_by_a_chosen_field_and_unknown_values_fail_their_row(service: RecordService) -> None:
    seed(service)
    report = import_file(service, "deal", csv_file(
        "Deal ID,Customer",
        "D-1,C-3",
        "D-2,C-9",
    ), format="csv", relation_match={"customer": "code"}, on_error="skip")
    (deal,) = records(service, "deal")
    assert deal["customer"] == next(c["id"] for c in records(service, "customer") if c["code"] == "C-3")
    (failure,) = report.failures
    assert (failure.row_number, failure.column, failure.field, failure.value) == (3, "Customer", "customer", "C-9")
    assert failure.message.en == "No Customer has Code \"C-9\""
    assert failure.message.zh == "客户中没有客户编码为“C-9”的记录"


def test_a_value_map_fixes_a_misspelling_and_the_rest_imports(service: RecordService) -> None:
    seed(service)
    source = ["Deal ID,Customer,Product", "D-1,Acme,GTXPro", "D-2,Acme,MG Special"]
    first = import_file(service, "deal", csv_file(*source), format="csv", on_error="skip", key_field="code")
    (failure,) = first.failures
    assert (failure.row_number, failure.value) == (2, "GTXPro")
    assert failure.message.en == "No Product has Product name \"GTXPro\" — did you mean \"GTX Pro\"?"
    second = import_file(service, "deal", csv_file(*source), format="csv", key_field="code",
                         on_duplicate="skip", value_map={"product": {"GTXPro": "GTX Pro"}})
    assert (second.created, second.skipped, second.failed) == (1, 1, 0)
    products = {p["id"]: p["name"] for p in records(service, "product")}
    assert sorted(products[d["product"]] for d in records(service, "deal")) == ["GTX Pro", "MG Special"]


def test_members_match_by_login_or_name_and_ambiguous_names_fail(service: RecordService) -> None:
    seed(service)
    report = import_file(service, "deal", csv_file(
        "Deal ID,Customer,Sales rep,负责人",
        "D-1,Acme,li,张三",
        "D-2,Acme,李四,zhang",
        "D-3,Acme,王五,",
        "D-4,Acme,nobody,",
    ), format="csv", on_error="skip")
    assert report.mapping["负责人"] == "owner"
    deals = {d["code"]: (d["sales_rep"], d["owner"]) for d in records(service, "deal")}
    assert deals == {"D-1": (2, 1), "D-2": (2, 1)}
    assert [(f.row_number, f.value, f.message.en) for f in report.failures] == [
        (4, "王五", "Several users are called \"王五\" (#3, #4); use their login instead"),
        (5, "nobody", "No user has the login or name \"nobody\""),
    ]


def test_multiple_values_in_one_cell(service: RecordService) -> None:
    seed(service)
    import_file(service, "deal", csv_file("Deal ID,Customer,Tags", "D-1,Acme,\"Hot、大单\""), format="csv")
    (deal,) = records(service, "deal")
    assert deal["tags"] == ["hot", "big"]


# --- duplicates --------------------------------------------------------------------------------------


KEYED = ["Customer name,Industry,Revenue", "Acme,Technology,10", "Initech,Retail,20"]


def keyed_import(service: RecordService, policy: str | None) -> Any:
    return import_file(service, "customer", csv_file(*KEYED), format="csv", key_field="name",
                       on_duplicate=policy, on_error="skip")


def revenue_by_name(service: RecordService) -> dict[str, Any]:
    return {c["name"]: (c["industry"], c["revenue"]) for c in records(service, "customer")}


@pytest.mark.parametrize(
    ("policy", "totals", "acme"),
    [
        (None, (1, 0, 0, 1), ("retail", None)),           # error is the default with a key
        ("error", (1, 0, 0, 1), ("retail", None)),
        ("skip", (1, 0, 1, 0), ("retail", None)),
        ("update", (0, 1, 0, 1), ("technology", Decimal("10.00"))),
        ("upsert", (1, 1, 0, 0), ("technology", Decimal("10.00"))),
    ],
)
def test_duplicate_policies(service: RecordService, policy: str | None, totals: tuple[int, ...],
                            acme: tuple[Any, ...]) -> None:
    seed(service)
    report = keyed_import(service, policy)
    assert (report.created, report.updated, report.skipped, report.failed) == totals
    names = revenue_by_name(service)
    assert names["Acme"] == acme
    assert names["acme"] == (None, None)  # the key matches exactly
    assert ("Initech" in names) == (policy in (None, "error", "skip", "upsert"))
    messages = [(f.row_number, f.message.en) for f in report.failures]
    if policy in (None, "error"):
        assert messages == [(2, "Already exists (record #1)")]
    if policy == "update":
        assert messages == [(3, "No record with this key to update")]


def test_an_upsert_of_the_values_already_held_reports_them_unchanged(service: RecordService) -> None:
    seed(service)
    same = ["Customer name,Industry,Code", "Acme,Retail,C-1", "Globex,Technology,C-3", "Initech,Retail,C-4"]
    first = import_file(service, "customer", csv_file(*same), format="csv", key_field="name",
                        on_duplicate="upsert")
    assert (first.created, first.updated, first.unchanged) == (1, 0, 2)
    assert "1 created, 0 updated, 2 unchanged, 0 skipped" in first.describe()
    assert "更新 0，未变 2，跳过 0" in first.describe("zh")
    versions = {c["name"]: c["version"] for c in records(service, "customer")}
    assert versions == {"Acme": 1, "acme": 1, "Globex": 1, "Initech": 1}  # nothing was written again
    changed = import_file(service, "customer", csv_file(*same[:2], "Globex,Retail,C-3"), format="csv",
                          key_field="name", on_duplicate="update", dry_run=True)
    assert changed.totals() == {"rows": 2, "records": 2, "created": 0, "updated": 1, "unchanged": 1,
                                "skipped": 0, "failed": 0, "not_written": 0}


def test_a_neutralized_csv_cell_reads_back_as_the_text_it_was_made_from(service: RecordService) -> None:
    report = import_file(service, "customer", csv_file(
        "Customer name,Code", "'=1+1,'-x", "''=kept,'plain", "\"' =1+1\",' ", "-5,'-5", "\" =2+2\",'"),
        format="csv")
    assert report.failures == [], report.describe()
    assert [(c["name"], c["code"]) for c in records(service, "customer")] == [
        ("=1+1", "-x"), ("'=kept", "'plain"), ("' =1+1", "'"), ("-5", "-5"), ("=2+2", "'")]


def test_a_key_twice_in_the_file_fails_the_second_row(service: RecordService) -> None:
    report = import_file(service, "customer", csv_file("Customer name,Revenue", "Acme,1", "Acme,2"),
                         format="csv", key_field="name", on_duplicate="upsert", on_error="skip")
    assert (report.created, report.failed) == (1, 1)
    assert [(f.row_number, f.message.en) for f in report.failures] == [(3, "Same key as row 2")]


def test_updates_keep_what_blank_cells_leave_out_and_report_validation_errors(service: RecordService) -> None:
    seed(service)
    report = import_file(service, "customer", csv_file(
        "Customer name,Industry,Revenue", "Acme,,5", "Globex,,-1",
    ), format="csv", key_field="name", on_duplicate="update", on_error="skip")
    assert (report.updated, report.failed) == (1, 1)
    assert revenue_by_name(service)["Acme"] == ("retail", Decimal("5.00"))
    (failure,) = report.failures
    assert (failure.row_number, failure.column, failure.value) == (3, "Revenue", "-1")
    assert failure.message.en.startswith("Must be at least")


# --- batches, errors and dry runs ---------------------------------------------------------------------


SIX = ["Customer name,Revenue", "A1,1", "A2,2", "A3,3", "A4,-4", "A5,5", "A6,6"]


def names(service: RecordService) -> list[str]:
    return [c["name"] for c in records(service, "customer")]


def test_a_batch_is_all_or_nothing_and_abort_stops_at_the_first_bad_batch(service: RecordService) -> None:
    report = import_file(service, "customer", csv_file(*SIX), format="csv", batch_size=2)
    assert names(service) == ["A1", "A2"]
    assert report.totals() == {"rows": 4, "records": 4, "created": 2, "updated": 0, "unchanged": 0, "skipped": 0,
                               "failed": 1, "not_written": 1}
    assert report.stopped_at_row == 4
    assert [(f.row_number, f.column, f.value) for f in report.failures] == [(5, "Revenue", "-4")]
    assert "stopped at the batch starting at row 4" in report.describe("en")


def test_on_error_skip_leaves_out_the_bad_rows_and_writes_the_rest(service: RecordService) -> None:
    report = import_file(service, "customer", csv_file(*SIX), format="csv", batch_size=2, on_error="skip")
    assert names(service) == ["A1", "A2", "A3", "A5", "A6"]
    assert (report.rows, report.created, report.failed, report.not_written) == (6, 5, 1, 0)
    assert report.stopped_at_row is None


def test_matching_errors_and_service_errors_of_one_batch_are_all_reported(service: RecordService) -> None:
    seed(service)
    report = import_file(service, "deal", csv_file(
        "Deal ID,Customer,Stage,Close value",
        "D-1,Nobody,Open,",     # unknown customer
        ",Acme,Won,",           # no id; won without a value (a form rule)
        "D-3,Acme,Open,1",      # good, but in a bad batch
    ), format="csv")
    assert records(service, "deal") == []
    assert [(f.row_number, f.column, f.message.en) for f in report.failures] == [
        (2, "Customer", "No Customer has Customer name \"Nobody\""),
        (3, "Deal ID", "Required"),
        (3, None, "A won deal needs its value"),
    ]
    assert (report.failed, report.not_written) == (2, 1)


def test_a_dry_run_checks_every_batch_and_writes_nothing(service: RecordService) -> None:
    report = import_file(service, "customer", csv_file(*SIX), format="csv", batch_size=2, dry_run=True)
    assert names(service) == []
    assert report.dry_run
    assert (report.rows, report.created, report.failed, report.not_written) == (6, 4, 1, 1)
    assert report.stopped_at_row == 4
    assert "A real import would stop at the batch starting at row 4" in report.describe("en")
    assert report.describe("zh").startswith("试导入（未写入任何数据）客户")
    skipped = import_file(service, "customer", csv_file(*SIX), format="csv", dry_run=True, on_error="skip")
    assert (skipped.created, skipped.failed) == (5, 1) and names(service) == []


def test_row_numbers_are_the_spreadsheet_rows(service: RecordService) -> None:
    report = import_file(service, "customer", csv_file(
        "Customer name,Revenue", "A1,1", "", "A2,x", ",,", "\"A\n3\",-1",
    ), format="csv", on_error="skip")
    assert [f.row_number for f in report.failures] == [4, 6]
    assert report.rows == 3


# --- subforms ------------------------------------------------------------------------------------------


def test_subform_rows_are_grouped_under_their_record_by_consecutive_keys(service: RecordService) -> None:
    seed(service)
    report = import_file(service, "quote", csv_file(
        "Title,Customer,Items.Product,明细.数量,items.unit_price",
        "Q1,Acme,GTX Pro,2,10",
        "Q1,,MG Special,1,5.5",
        "Q2,Globex,MG Special,3,1",
        "Q3,Globex,Nothing,1,1",
        "Q3,Globex,MG Special,0,1",
    ), format="csv", key_field="title", on_error="skip")
    assert (report.rows, report.records, report.created, report.failed) == (5, 3, 2, 1)
    quotes = {q["title"]: q for q in service.list("quote", limit=10)["records"]}
    q1 = quotes["Q1"]
    assert [(r["quantity"], r["unit_price"]) for r in q1["items"]] == [
        (Decimal(2), Decimal("10.00")), (Decimal(1), Decimal("5.50"))]
    assert q1["total"] == Decimal("25.50")
    assert len(quotes["Q2"]["items"]) == 1 and "Q3" not in quotes
    assert [(f.row_number, f.column, f.value) for f in report.failures] == [
        (5, "Items.Product", "Nothing"), (6, "明细.数量", "0")]


def test_group_by_names_a_column_that_is_not_a_field(service: RecordService) -> None:
    seed(service)
    report = import_file(service, "quote", csv_file(
        "No.,Title,items.product,items.quantity",
        "1,Same,GTX Pro,1", "1,Same,MG Special,1", "2,Same,GTX Pro,4",
    ), format="csv", group_by="No.")
    assert report.created == 2
    assert [len(q["items"]) for q in records(service, "quote")] == [2, 1]


# --- file formats ----------------------------------------------------------------------------------------


def test_excel_cells_keep_their_types(service: RecordService, tmp_path: Path) -> None:
    seed(service)
    path = tmp_path / "deals.xlsx"
    workbook = openpyxl.load_workbook(xlsx_file([
        ["商机编号", "客户", "成交金额", "成交日期", "赢率", None],
        ["D-1", "Acme", 1234.56, dt.datetime(2024, 5, 6), 0.25, None],
        [1002, "Globex", 7, "2024/5/7", "30%", None],
        [None, None, None, None, None, None],
    ]))
    workbook.save(path)
    report = import_file(service, "deal", path)
    assert (report.rows, report.created) == (2, 2)
    one, two = records(service, "deal")
    assert (one["close_value"], one["closed_on"], one["probability"]) == (
        Decimal("1234.56"), dt.date(2024, 5, 6), Decimal("0.2500"))
    assert (two["code"], two["closed_on"], two["probability"]) == ("1002", dt.date(2024, 5, 7), Decimal("0.3000"))


def test_csv_with_a_byte_order_mark_and_semicolons(service: RecordService) -> None:
    report = import_file(service, "customer", csv_file("客户名称;营业额", "华信科技;\"1.234,5\"", bom=True),
                         ImportOptions(format="csv"))
    assert report.mapping == {"客户名称": "name", "营业额": "revenue"}
    assert report.failed == 1  # 1.234,5 is not a number here: the cell is reported, not guessed
    text = import_file(service, "customer", io.StringIO("\ufeff客户名称\t营业额\n华信科技\t1234.5\n"), format="csv")
    assert text.created == 1


def test_failed_rows_are_written_back_with_their_errors_to_be_fixed(service: RecordService, tmp_path: Path) -> None:
    report = import_file(service, "customer", csv_file(*SIX, "A7,x"), format="csv", on_error="skip")
    failed_csv = tmp_path / "failed.csv"
    assert report.write_failed_rows(failed_csv) == 2
    text = failed_csv.read_text(encoding="utf-8-sig").splitlines()
    assert text[0] == "Customer name,Revenue,error"
    assert text[1].startswith("A4,-4,\"row 5, Revenue \"\"-4\"\": Must be at least")
    failed_xlsx = tmp_path / "failed.xlsx"
    report.write_failed_rows(failed_xlsx, locale="zh")
    sheet = openpyxl.load_workbook(failed_xlsx).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Customer name", "Revenue", "错误原因") and rows[2][:2] == ("A7", "x")
    fixed = failed_csv.read_text(encoding="utf-8-sig").replace("A4,-4", "A4,4").replace("A7,x", "A7,7")
    again = import_file(service, "customer", io.StringIO(fixed), format="csv")
    assert again.created == 2 and [c.column for c in again.ignored_columns] == ["error"]


def test_the_report_as_data_and_as_text_in_both_languages(service: RecordService) -> None:
    report = import_file(service, "customer", csv_file("Customer name,Revenue,Misc", "A,1", "B,-2"),
                         format="csv", on_error="skip")
    data = report.as_dict("zh")
    assert data["totals"] == {"rows": 2, "records": 2, "created": 1, "updated": 0, "unchanged": 0, "skipped": 0,
                              "failed": 1, "not_written": 0}
    assert data["ignored_columns"] == [{"column": "Misc", "reason": "表单中没有与之对应的字段"}]
    assert data["failures"] == [{"row": 3, "column": "Revenue", "field": "revenue", "value": "-2",
                                 "message": "不能小于 ¥0.00"}]
    assert report.describe("en").splitlines()[0] == (
        "Import into Customer: 2 rows read (2 records), 1 created, 0 updated, 0 skipped, 1 failed.")
    assert "第 3 行，Revenue“-2”：不能小于 ¥0.00" in report.describe("zh")


def test_imported_records_count_towards_rollups_and_are_audited(service: RecordService) -> None:
    seed(service)
    import_file(service, "deal", csv_file("Deal ID,Customer", "D-1,Acme", "D-2,Acme"), format="csv")
    acme = next(c for c in records(service, "customer") if c["name"] == "Acme")
    assert acme["deal_count"] == Decimal(2)
    with service.database.transaction() as conn:
        sources = conn.execute(sa.text("SELECT source FROM audit_log WHERE form = 'deal'")).scalars().all()
    assert sources == ["import", "import"]  # one entry per record, with its values


def test_batches_take_a_fixed_number_of_rows_or_as_many_as_fit_in_the_time_given() -> None:
    from engine.records.import_rows import BatchSizer

    fixed = BatchSizer(200, None)  # batch_size given
    fixed.took(200, 5.0)
    assert fixed.size == 200
    timed = BatchSizer(200, 0.02)  # SQLite: about 20 ms of the write lock a batch
    assert timed.size == BatchSizer.FEWEST == 50
    timed.took(50, 0.005)  # 0.1 ms a record: 200 would fit, and 200 is the most
    assert timed.size == 200
    timed.took(200, 0.05)  # 0.25 ms a record now (load came): the estimate moves halfway, to 0.175 ms
    assert timed.size == 114
    timed.took(114, 0.5)  # 4.4 ms a record: fewer than 50 would fit, but a batch has a cost of its own
    assert timed.size == 50
    assert BatchSizer(5, 0.02).size == 5  # never more than the most
