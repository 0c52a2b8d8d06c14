"""A record changes shape, never loses data (DESIGN §4), on SQLite and PostgreSQL.

Rows are written with plain Core inserts; each test publishes a new version
of the form, and checks the plan (its words and counts) and the data after.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from engine.core.errors import ConflictError, DefinitionError, NotFoundError
from engine.definitions.model import FormDef
from engine.fields import FIELD_TYPES
from engine.store.database import Database
from engine.store.models import SchemaChange, User
from engine.store.schema_change import (
    BACKUP_KEY,
    AddField,
    AppliedChange,
    ConvertField,
    CreateTable,
    RestoreField,
    RetireField,
    Runner,
    SchemaPlan,
    Step,
    apply_schema_change,
    plan_schema_change,
    purge_field,
    retired_fields,
)
from engine.store.tables import form_tables

from .forms import form, read_values

NOW = dt.datetime(2026, 5, 20, tzinfo=dt.UTC)
NAME = {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}}
AMOUNT_TEXT = {"key": "amount", "type": "text", "label": {"zh": "金额", "en": "Amount"}}
AMOUNT_NUMBER = {**AMOUNT_TEXT, "type": "number"}
NOTE = {"key": "note", "type": "textarea", "label": {"zh": "备注", "en": "Note"}}
TITLE = {
    "key": "title",
    "type": "text",
    "label": {"zh": "标题", "en": "Title"},
    "renamed_from": "name",
}
ITEMS = {
    "key": "items",
    "type": "subform",
    "label": {"zh": "明细", "en": "Line items"},
    "fields": [
        {"key": "item", "type": "text", "label": "Item"},
        {"key": "qty", "type": "number", "label": "Qty"},
    ],
}
V1 = form("deal", [NAME, AMOUNT_TEXT, NOTE], label={"zh": "商机", "en": "Deal"})
ROWS = [
    {"name": "Alpha", "amount": "12.5", "note": "first"},
    {"name": "Beta", "amount": "abc", "note": "second"},
    {"name": "Gamma", "amount": None, "note": None},
    {"name": "Delta", "amount": "1,000", "note": "fourth"},
]


def deal(*fields: dict[str, Any], **extra: Any) -> FormDef:
    return form("deal", list(fields), label={"zh": "商机", "en": "Deal"}, **extra)


def publish(
    database: Database, old: FormDef | None, new: FormDef, accept_nulling: bool = False
) -> AppliedChange:
    plan = plan_schema_change(old, new, FIELD_TYPES, database)
    return apply_schema_change(database, plan, accept_nulling)


def read(database: Database, table: str, *columns: str) -> dict[int, tuple[Any, ...]]:
    source = sa.table(table, sa.column("id"), *(sa.column(c) for c in columns))
    with database.engine.connect() as connection:
        return {
            row[0]: tuple(row[1:])
            for row in connection.execute(sa.select(source).order_by(source.c.id))
        }


def changes(database: Database) -> list[SchemaChange]:
    with database.engine.connect() as connection:
        rows = connection.execute(sa.select(SchemaChange.__table__).order_by(SchemaChange.id)).all()
    return [SchemaChange(**row._mapping) for row in rows]


@pytest.fixture
def deals(database: Database) -> Database:
    """The database with form ``deal`` v1 published and four rows in it."""
    publish(database, None, V1)
    with database.transaction() as connection:
        connection.execute(sa.insert(form_tables(V1, FIELD_TYPES).main), ROWS)
    return database


# --- type change --------------------------------------------------------------------
def test_a_type_change_counts_unconvertible_rows_before_anything_runs(deals: Database) -> None:
    plan = plan_schema_change(V1, deal(NAME, AMOUNT_NUMBER, NOTE), FIELD_TYPES, deals)
    assert plan.checked
    assert plan.unconvertible == {"amount": [2]}
    assert "1 row cannot be converted (id 2)" in plan.describe("en")
    assert "1 行无法转换（id：2）" in plan.describe("zh")
    assert read(deals, "crm_deal", "amount")[2] == ("abc",)


def test_a_type_change_with_unconvertible_rows_is_refused_and_changes_nothing(
    deals: Database,
) -> None:
    before = (deals.column_names("crm_deal"), read(deals, "crm_deal", "name", "amount", "note"))
    with pytest.raises(ConflictError) as refused:
        publish(deals, V1, deal(NAME, AMOUNT_NUMBER, NOTE))
    assert refused.value.details["ids"] == [2]
    assert "cannot be converted" in str(refused.value)
    assert (
        deals.column_names("crm_deal"),
        read(deals, "crm_deal", "name", "amount", "note"),
    ) == before
    assert len(changes(deals)) == 1  # only the creation


def test_accepting_nulling_converts_the_rest_and_backs_up_what_was_emptied(deals: Database) -> None:
    v2 = deal(NAME, AMOUNT_NUMBER, NOTE)
    applied = publish(deals, V1, v2, accept_nulling=True)
    assert applied.rows_nulled == 1
    assert read_values(deals, v2, "amount") == {
        1: Decimal("12.5"),
        2: None,
        3: None,
        4: Decimal("1000"),
    }
    assert read_values(deals, v2, "name") == {1: "Alpha", 2: "Beta", 3: "Gamma", 4: "Delta"}
    record = changes(deals)[-1]
    assert record.rows_nulled == 1
    assert record.backup is not None
    saved = record.backup[BACKUP_KEY]["fields"]["crm_deal.amount"]
    assert (saved["type"], saved["to_type"]) == ("text", "number")
    assert [(row["id"], row["value"]) for row in saved["rows"]] == [(2, {"amount": "abc"})]
    with deals.engine.connect() as connection:
        (column,) = [
            c for c in sa.inspect(connection).get_columns("crm_deal") if c["name"] == "amount"
        ]
    assert isinstance(column["type"], sa.Numeric)


def test_rows_that_turn_bad_after_planning_are_still_refused(deals: Database) -> None:
    with deals.transaction() as connection:
        connection.execute(
            sa.delete(sa.table("crm_deal", sa.column("id"))).where(sa.column("id") == 2)
        )
    plan = plan_schema_change(V1, deal(NAME, AMOUNT_NUMBER, NOTE), FIELD_TYPES, deals)
    assert plan.unconvertible == {}
    with deals.transaction() as connection:
        connection.execute(
            sa.insert(form_tables(V1, FIELD_TYPES).main).values(name="Late", amount="n/a")
        )
    with pytest.raises(ConflictError, match="cannot be converted"):
        apply_schema_change(deals, plan)
    assert read(deals, "crm_deal", "amount")[5] == ("n/a",)


def test_a_shorter_max_length_counts_the_values_that_no_longer_fit(deals: Database) -> None:
    short = deal({**NAME, "max_length": 4}, AMOUNT_TEXT, NOTE)
    plan = plan_schema_change(V1, short, FIELD_TYPES, deals)
    (step,) = plan.steps
    assert isinstance(step, ConvertField) and step.reason == "settings"
    assert plan.unconvertible == {"name": [1, 3, 4]}
    longer = deal({**NAME, "max_length": 500}, AMOUNT_TEXT, NOTE)
    plan = plan_schema_change(V1, longer, FIELD_TYPES, deals)
    assert plan.unconvertible == {}
    apply_schema_change(deals, plan)
    with deals.engine.connect() as connection:
        (column,) = [
            c for c in sa.inspect(connection).get_columns("crm_deal") if c["name"] == "name"
        ]
    assert getattr(column["type"], "length", None) in (500, None)  # SQLite keeps no length
    assert read(deals, "crm_deal", "name")[1] == ("Alpha",)


# --- rename, retire, restore, purge -------------------------------------------------
def test_a_rename_keeps_the_data_under_the_new_key(deals: Database) -> None:
    v2 = deal(TITLE, AMOUNT_TEXT, NOTE)
    plan = plan_schema_change(V1, v2, FIELD_TYPES, deals)
    assert plan.sentences("en") == [
        "Rename field “Title” (title) from name to title; its data stays"
    ]
    apply_schema_change(deals, plan)
    assert "name" not in deals.column_names("crm_deal")
    assert read_values(deals, v2, "title") == {1: "Alpha", 2: "Beta", 3: "Gamma", 4: "Delta"}
    # The definition keeps saying renamed_from; publishing it again changes nothing.
    assert plan_schema_change(v2, v2, FIELD_TYPES, deals).is_empty


def test_a_removed_field_is_retired_with_its_data_and_restored_with_it(deals: Database) -> None:
    v2 = deal(NAME, AMOUNT_TEXT)
    plan = plan_schema_change(V1, v2, FIELD_TYPES, deals)
    assert [type(s) for s in plan.steps] == [RetireField]
    apply_schema_change(deals, plan)
    assert "note" in deals.column_names("crm_deal")
    with deals.engine.connect() as connection:
        assert set(retired_fields(connection, "crm", "deal")["crm_deal"]) == {"note"}
    # The form's table no longer has the column; new rows are written without it.
    with deals.transaction() as connection:
        connection.execute(sa.insert(form_tables(v2, FIELD_TYPES).main).values(name="Epsilon"))
    restore = plan_schema_change(v2, V1, FIELD_TYPES, deals)
    assert [type(s) for s in restore.steps] == [RestoreField]
    assert restore.sentences("zh") == ["恢复已停用的字段「备注」(note)，原有数据仍在"]
    apply_schema_change(deals, restore)
    assert read_values(deals, V1, "note") == {
        1: "first",
        2: "second",
        3: None,
        4: "fourth",
        5: None,
    }


def test_a_field_restored_with_another_type_is_converted_from_its_retired_data(
    deals: Database,
) -> None:
    publish(deals, V1, deal(NAME, NOTE))
    back = deal(NAME, AMOUNT_NUMBER, NOTE)
    plan = plan_schema_change(deal(NAME, NOTE), back, FIELD_TYPES, deals)
    assert [type(s) for s in plan.steps] == [ConvertField, RestoreField]
    assert plan.unconvertible == {"amount": [2]}
    apply_schema_change(deals, plan, accept_nulling=True)
    assert read_values(deals, back, "amount")[1] == Decimal("12.5")


def test_purging_writes_a_backup_then_drops_the_column(deals: Database, tmp_path: Path) -> None:
    v2 = deal(NAME, AMOUNT_TEXT)
    publish(deals, V1, v2)
    with pytest.raises(DefinitionError, match="still on the form"):
        purge_field(deals, v2, "name", tmp_path)
    with pytest.raises(NotFoundError):
        purge_field(deals, v2, "nothing", tmp_path)
    path = purge_field(deals, v2, "note", tmp_path)
    backup = json.loads(path.read_text(encoding="utf-8"))
    assert backup["field"]["key"] == "note"
    assert [(r["id"], r["note"]) for r in backup["rows"]] == [
        (1, "first"),
        (2, "second"),
        (3, None),
        (4, "fourth"),
    ]
    assert "note" not in deals.column_names("crm_deal")
    assert changes(deals)[-1].backup_path == str(path)
    # Gone for good: the key can come back only as a new, empty field.
    plan = plan_schema_change(v2, V1, FIELD_TYPES, deals)
    assert [type(s) for s in plan.steps] == [AddField]


# --- new tables ----------------------------------------------------------------------
def test_adding_a_subform_creates_its_child_table(deals: Database) -> None:
    v2 = deal(NAME, AMOUNT_TEXT, NOTE, ITEMS)
    plan = plan_schema_change(V1, v2, FIELD_TYPES, deals)
    assert [type(s) for s in plan.steps] == [CreateTable]
    assert plan.sentences("en") == ["Create table crm_deal__items for field “Line items” (items)"]
    assert plan.sentences("zh") == ["为字段「明细」(items)新建表 crm_deal__items"]
    apply_schema_change(deals, plan)
    child = form_tables(v2, FIELD_TYPES).field_tables("items")[0]
    with deals.transaction() as connection:
        connection.execute(
            sa.insert(child), [{"parent_id": 1, "item": "Pump", "qty": 2, "position": 0}]
        )
    assert read(deals, "crm_deal__items", "parent_id", "item") == {1: (1, "Pump")}
    assert read(deals, "crm_deal", "name")[4] == ("Delta",)


def test_subform_fields_change_shape_inside_the_child_table(deals: Database) -> None:
    v2 = deal(NAME, AMOUNT_TEXT, NOTE, ITEMS)
    publish(deals, V1, v2)
    with deals.transaction() as connection:
        connection.execute(
            sa.insert(form_tables(v2, FIELD_TYPES).field_tables("items")[0]),
            [{"parent_id": 1, "item": "Pump", "qty": 2, "position": 0}],
        )
    items = {
        **ITEMS,
        "fields": [
            {"key": "product", "type": "text", "label": "Product", "renamed_from": "item"},
            {"key": "qty", "type": "number", "label": "Qty"},
            {"key": "price", "type": "money", "label": "Price"},
        ],
    }
    v3 = deal(NAME, AMOUNT_TEXT, NOTE, items)
    plan = plan_schema_change(v2, v3, FIELD_TYPES, deals)
    assert {s.table for s in plan.steps} == {"crm_deal__items"}
    apply_schema_change(deals, plan)
    assert read(deals, "crm_deal__items", "product", "qty", "price") == {1: ("Pump", 2, None)}


def test_adding_a_multi_relation_creates_its_link_table(deals: Database) -> None:
    related = {
        "key": "related",
        "type": "relation",
        "target": "deal",
        "multiple": True,
        "label": "Related",
    }
    plan = plan_schema_change(V1, deal(NAME, AMOUNT_TEXT, NOTE, related), FIELD_TYPES, deals)
    assert [s.table for s in plan.steps if isinstance(s, CreateTable)] == ["crm_deal__related"]
    apply_schema_change(deals, plan)
    assert "crm_deal__related" in deals.table_names()


def test_a_removed_subform_keeps_its_table_and_rows(deals: Database) -> None:
    v2 = deal(NAME, AMOUNT_TEXT, NOTE, ITEMS)
    publish(deals, V1, v2)
    with deals.transaction() as connection:
        connection.execute(
            sa.insert(form_tables(v2, FIELD_TYPES).field_tables("items")[0]),
            [{"parent_id": 1, "item": "Pump", "qty": 2, "position": 0}],
        )
    plan = plan_schema_change(v2, V1, FIELD_TYPES, deals)
    assert [type(s) for s in plan.steps] == [RetireField]
    apply_schema_change(deals, plan)
    assert read(deals, "crm_deal__items", "item") == {1: ("Pump",)}
    assert [type(s) for s in plan_schema_change(V1, v2, FIELD_TYPES, deals).steps] == [RestoreField]


# --- indexes -------------------------------------------------------------------------
def test_a_unique_index_on_duplicated_values_is_refused_before_it_runs(deals: Database) -> None:
    with deals.transaction() as connection:
        connection.execute(sa.insert(form_tables(V1, FIELD_TYPES).main).values(name="Alpha"))
    plan = plan_schema_change(
        V1, deal({**NAME, "unique": True}, AMOUNT_TEXT, NOTE), FIELD_TYPES, deals
    )
    assert plan.problems
    assert "1 values are duplicated" in plan.describe("en")
    with pytest.raises(ConflictError, match="duplicated"):
        apply_schema_change(deals, plan)


def test_index_changes_follow_the_definition(deals: Database) -> None:
    v2 = deal({**NAME, "unique": True}, {**AMOUNT_TEXT, "index": True}, NOTE)
    publish(deals, V1, v2)
    with deals.engine.connect() as connection:
        indexes = {
            ix["name"]: bool(ix["unique"]) for ix in sa.inspect(connection).get_indexes("crm_deal")
        }
    assert indexes == {"ux_crm_deal_name": True, "ix_crm_deal_amount": False}
    publish(deals, v2, deal({**TITLE, "unique": True}, AMOUNT_TEXT, NOTE))
    with deals.engine.connect() as connection:
        indexes = {
            ix["name"]: bool(ix["unique"]) for ix in sa.inspect(connection).get_indexes("crm_deal")
        }
    assert indexes == {"ux_crm_deal_title": True}


# --- safety --------------------------------------------------------------------------
class Boom(Step):
    kind = "boom"

    def describe(self, locale: str = "en") -> str:
        return "boom"

    def apply(self, run: Runner) -> None:
        raise RuntimeError("injected failure")


def test_a_failing_step_leaves_everything_as_it_was(deals: Database) -> None:
    v2 = deal(TITLE, AMOUNT_NUMBER, {"key": "stage", "type": "text", "label": "Stage"}, ITEMS)
    plan = plan_schema_change(V1, v2, FIELD_TYPES, deals)
    plan.steps.append(Boom(table="crm_deal"))
    columns = deals.column_names("crm_deal")
    data = read(deals, "crm_deal", "name", "amount", "note")
    with pytest.raises(RuntimeError, match="injected"):
        apply_schema_change(deals, plan, accept_nulling=True)
    assert deals.column_names("crm_deal") == columns
    assert read(deals, "crm_deal", "name", "amount", "note") == data
    assert "crm_deal__items" not in deals.table_names()
    assert len(changes(deals)) == 1


def test_a_step_the_database_refuses_is_a_conflict_and_changes_nothing(deals: Database) -> None:
    class BadSql(Boom):
        def apply(self, run: Runner) -> None:
            run.connection.exec_driver_sql("ALTER TABLE no_such_table ADD COLUMN x INTEGER")

    plan = plan_schema_change(V1, deal(TITLE, AMOUNT_TEXT, NOTE), FIELD_TYPES, deals)
    plan.steps.append(BadSql(table="crm_deal"))
    with pytest.raises(ConflictError, match="nothing was changed"):
        apply_schema_change(deals, plan)
    assert "name" in deals.column_names("crm_deal")


def test_adding_fields_to_a_big_table_is_a_plain_add_column(deals: Database) -> None:
    with deals.transaction() as connection:
        connection.execute(
            sa.insert(form_tables(V1, FIELD_TYPES).main),
            [{"name": f"n{i}", "amount": str(i)} for i in range(5000)],
        )
    parent = {"key": "parent", "type": "relation", "target": "deal", "label": "Parent"}
    stage = {"key": "stage", "type": "text", "label": "Stage"}
    plan = plan_schema_change(V1, deal(NAME, AMOUNT_TEXT, NOTE, stage, parent), FIELD_TYPES, deals)
    statements: list[str] = []

    def collect(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(deals.engine, "before_cursor_execute", collect)
    try:
        apply_schema_change(deals, plan)
    finally:
        sa.event.remove(deals.engine, "before_cursor_execute", collect)
    ddl = [
        s
        for s in statements
        if s.lstrip().upper().startswith(("ALTER", "CREATE", "DROP", "INSERT"))
    ]
    adds = [s for s in ddl if "ADD COLUMN" in s.upper()]
    assert len(adds) == 2 and "REFERENCES crm_deal" in adds[1]
    rebuilt = [
        s
        for s in ddl
        if "CREATE TABLE" in s.upper()
        or "INSERT INTO CRM_DEAL" in s.upper()
        or "_ALEMBIC_TMP" in s.upper()
    ]
    assert rebuilt == []
    assert read(deals, "crm_deal", "stage")[5000] == (None,)


def test_a_rename_onto_a_retired_fields_column_is_a_definition_error(deals: Database) -> None:
    v2 = deal(NAME, AMOUNT_TEXT)
    publish(deals, V1, v2)
    onto_retired = deal({**TITLE, "key": "note"}, AMOUNT_TEXT)
    with pytest.raises(DefinitionError, match="purge it first"):
        plan_schema_change(v2, onto_retired, FIELD_TYPES, deals)


def test_two_fields_renamed_from_one_is_a_definition_error() -> None:
    renamed_twice = deal(TITLE, {**TITLE, "key": "heading"}, AMOUNT_TEXT, NOTE)
    with pytest.raises(DefinitionError, match="still in use"):
        plan_schema_change(V1, renamed_twice, FIELD_TYPES)


def test_pointing_a_relation_at_another_form_is_refused() -> None:
    old = deal({"key": "customer", "type": "relation", "target": "customer", "label": "C"})
    new = deal({"key": "customer", "type": "relation", "target": "supplier", "label": "C"})
    with pytest.raises(DefinitionError, match="cannot change"):
        plan_schema_change(old, new, FIELD_TYPES)


# --- the plan in words ---------------------------------------------------------------
EXPECTED_EN = """\
Schema change for form “Deal” (table crm_deal):
1. Rename field “Title” (title) from name to title; its data stays
2. Add field “Stage” (stage): new column stage in crm_deal
3. Change field “Amount” (amount) from Text to Number, converting row by row; 1 row cannot be \
converted (id 2): publishing is refused unless they may be emptied (their values are backed up)
4. Retire field “Note” (note): note and its data stay; it can be restored, or purged explicitly
5. Create table crm_deal__items for field “Line items” (items)"""

EXPECTED_ZH = """\
表单「商机」（表 crm_deal）的结构变更：
1. 字段「标题」(title)由 name 改名为 title，数据保留
2. 新增字段「阶段」(stage)：在表 crm_deal 中加列 stage
3. 字段「金额」(amount)的类型由「单行文本」改为「数字」，逐行转换；1 行无法转换（id：2），\
除非确认将其置空（原值会备份），否则拒绝发布
4. 停用字段「备注」(note)：note 及其数据保留，可恢复，或显式清除
5. 为字段「明细」(items)新建表 crm_deal__items"""


def test_the_plan_reads_as_sentences_in_both_languages(deals: Database) -> None:
    stage = {"key": "stage", "type": "text", "label": {"zh": "阶段", "en": "Stage"}}
    plan = plan_schema_change(V1, deal(TITLE, stage, AMOUNT_NUMBER, ITEMS), FIELD_TYPES, deals)
    assert plan.describe("en") == EXPECTED_EN
    assert plan.describe("zh-CN") == EXPECTED_ZH


def test_a_plan_without_a_database_does_not_count(deals: Database) -> None:
    plan = plan_schema_change(V1, deal(NAME, AMOUNT_NUMBER, NOTE), FIELD_TYPES)
    assert not plan.checked
    assert plan.describe("en").endswith("(existing rows not checked)")


def test_the_recorded_plan_is_json_with_its_sentences(deals: Database) -> None:
    plan: SchemaPlan = plan_schema_change(
        V1, deal(TITLE, AMOUNT_TEXT, NOTE), FIELD_TYPES, deals, from_version=1, to_version=2
    )
    apply_schema_change(deals, plan, applied_by=None)
    record = changes(deals)[-1]
    assert (record.from_version, record.to_version) == (1, 2)
    assert record.plan["steps"][0]["kind"] == "rename_field"
    assert record.plan["sentences"]["zh"] == ["字段「标题」(title)由 name 改名为 title，数据保留"]
    json.dumps(record.plan)


def test_an_unchanged_form_needs_no_change(deals: Database) -> None:
    plan = plan_schema_change(V1, V1, FIELD_TYPES, deals)
    assert plan.is_empty
    assert plan.describe("en").endswith("Nothing to change.")
    assert apply_schema_change(deals, plan) == AppliedChange(None, 0)


def test_rebuilding_a_parent_table_keeps_its_child_rows(deals: Database) -> None:
    """On SQLite a conversion rebuilds the table; the rows pointing at it stay."""
    v2 = deal(NAME, AMOUNT_TEXT, NOTE, ITEMS)
    publish(deals, V1, v2)
    with deals.transaction() as connection:
        connection.execute(
            sa.insert(form_tables(v2, FIELD_TYPES).field_tables("items")[0]),
            [
                {"parent_id": 1, "item": "Pump", "qty": 2, "position": 0},
                {"parent_id": 4, "item": "Valve", "qty": 1, "position": 0},
            ],
        )
    publish(deals, v2, deal(NAME, AMOUNT_NUMBER, NOTE, ITEMS), accept_nulling=True)
    assert read(deals, "crm_deal__items", "parent_id", "item") == {1: (1, "Pump"), 2: (4, "Valve")}
    with pytest.raises(sa.exc.IntegrityError), deals.transaction() as connection:
        connection.execute(
            sa.insert(form_tables(v2, FIELD_TYPES).field_tables("items")[0]),
            [{"parent_id": 99, "item": "Ghost", "qty": 1, "position": 0}],
        )


def test_a_subform_field_changes_type_inside_the_child_table(deals: Database) -> None:
    v2 = deal(NAME, AMOUNT_TEXT, NOTE, ITEMS)
    publish(deals, V1, v2)
    child = form_tables(v2, FIELD_TYPES).field_tables("items")[0]
    with deals.transaction() as connection:
        connection.execute(
            sa.insert(child),
            [
                {"parent_id": 1, "item": "12", "qty": 2, "position": 0},
                {"parent_id": 1, "item": "x", "qty": 3, "position": 1},
            ],
        )
    items = {
        **ITEMS,
        "fields": [{"key": "item", "type": "number", "label": "Item"}, ITEMS["fields"][1]],
    }
    plan = plan_schema_change(v2, deal(NAME, AMOUNT_TEXT, NOTE, items), FIELD_TYPES, deals)
    assert plan.unconvertible == {"crm_deal__items.item": [2]}
    apply_schema_change(deals, plan, accept_nulling=True)
    assert read(deals, "crm_deal__items", "item", "qty") == {1: (12, 2), 2: (None, 3)}


def test_renaming_a_subform_takes_its_tables_and_rows_along(deals: Database) -> None:
    related = {
        "key": "related",
        "type": "relation",
        "target": "deal",
        "multiple": True,
        "label": "R",
    }
    items = {**ITEMS, "fields": [*ITEMS["fields"], related]}
    v2 = deal(NAME, AMOUNT_TEXT, NOTE, items)
    publish(deals, V1, v2)
    child = form_tables(v2, FIELD_TYPES).field_tables("items")[0]
    with deals.transaction() as connection:
        connection.execute(
            sa.insert(child), [{"parent_id": 1, "item": "Pump", "qty": 2, "position": 0}]
        )
    lines = {**items, "key": "lines", "renamed_from": "items"}
    plan = plan_schema_change(v2, deal(NAME, AMOUNT_TEXT, NOTE, lines), FIELD_TYPES, deals)
    assert sorted(s.describe("en") for s in plan.steps if s.kind == "rename_table") == [
        "Rename table crm_deal__items to crm_deal__lines",
        "Rename table crm_deal__items__related to crm_deal__lines__related",
    ]
    assert not [s for s in plan.steps if isinstance(s, CreateTable)]
    apply_schema_change(deals, plan)
    assert read(deals, "crm_deal__lines", "item") == {1: ("Pump",)}
    assert "crm_deal__items" not in deals.table_names()


def test_changing_a_relations_on_delete_rebuilds_its_foreign_key(deals: Database) -> None:
    parent = {"key": "parent", "type": "relation", "target": "deal", "label": "Parent"}
    v2 = deal(NAME, AMOUNT_TEXT, NOTE, parent)
    publish(deals, V1, v2)
    main = form_tables(v2, FIELD_TYPES).main
    with deals.transaction() as connection:
        connection.execute(sa.update(main).where(main.c.id == 2).values(parent=1))
    v3 = deal(NAME, AMOUNT_TEXT, NOTE, {**parent, "on_delete": "set_null"})
    plan = plan_schema_change(v2, v3, FIELD_TYPES, deals)
    assert [s.kind for s in plan.steps] == ["drop_index", "convert_field", "create_index"]
    apply_schema_change(deals, plan)
    assert read(deals, "crm_deal", "parent")[2] == (1,)
    with deals.transaction() as connection:
        connection.execute(sa.delete(main).where(main.c.id == 1))
    assert read(deals, "crm_deal", "parent")[2] == (None,)
    with pytest.raises(sa.exc.IntegrityError), deals.transaction() as connection:
        connection.execute(sa.update(main).where(main.c.id == 3).values(parent=99))


def test_a_field_changed_into_a_member_gets_the_members_foreign_key(deals: Database) -> None:
    owner = {"key": "owner_name", "type": "text", "label": "Owner"}
    v2 = deal(NAME, AMOUNT_TEXT, NOTE, owner)
    publish(deals, V1, v2)
    with deals.transaction() as connection:
        connection.execute(sa.insert(User).values(id=7, login="li", name="Li", created_at=NOW))
        main = form_tables(v2, FIELD_TYPES).main
        connection.execute(sa.update(main).where(main.c.id == 1).values(owner_name="7"))
    v3 = deal(NAME, AMOUNT_TEXT, NOTE, {**owner, "type": "member"})
    publish(deals, v2, v3)
    assert read_values(deals, v3, "owner_name")[1] == 7
    with deals.engine.connect() as connection:
        keys = sa.inspect(connection).get_foreign_keys("crm_deal")
    assert any(
        k["constrained_columns"] == ["owner_name"] and k["referred_table"] == "users" for k in keys
    )


def test_a_precision_change_converts_the_column(deals: Database) -> None:
    v2 = deal(NAME, {**AMOUNT_NUMBER, "precision": 2}, NOTE)
    publish(deals, V1, v2, accept_nulling=True)
    v3 = deal(NAME, {**AMOUNT_NUMBER, "precision": 4}, NOTE)
    plan = plan_schema_change(v2, v3, FIELD_TYPES, deals)
    assert [(s.kind, getattr(s, "reason", None)) for s in plan.steps] == [("convert_field", "settings")]
    assert plan.unconvertible == {}
    apply_schema_change(deals, plan)
    assert read_values(deals, v3, "amount")[1] == Decimal("12.5")
    with deals.engine.connect() as connection:
        (column,) = [c for c in sa.inspect(connection).get_columns("crm_deal") if c["name"] == "amount"]
    assert getattr(column["type"], "scale", 4) == 4
