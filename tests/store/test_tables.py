"""App tables: a real table per form, columns named by field keys, child and
link tables, foreign keys and indexes, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random

import pytest
import sqlalchemy as sa

from engine.core.errors import DefinitionError
from engine.core.i18n import label
from engine.definitions.model import AppDef
from engine.fields import FIELD_TYPES
from engine.store.database import Database
from engine.store.models import Department, User
from engine.store.tables import SYSTEM_COLUMNS, create_form_tables, form_tables

from .forms import every_type_form, form

NOW = dt.datetime(2026, 5, 20, tzinfo=dt.UTC)
CUSTOMER = form(
    "customer",
    [
        {"key": "name", "type": "text", "label": "Name", "unique": True, "max_length": 100},
        {"key": "parent", "type": "relation", "target": "customer", "on_delete": "set_null"},
        {"key": "level", "type": "select", "options": [{"key": "a", "label": "A"}]},
    ],
    indexes=[{"fields": ["level", "created_at"]}],
)
CONTACT = form(
    "contact",
    [
        {"key": "name", "type": "text"},
        {"key": "customer", "type": "relation", "target": "customer"},
    ],
)
CRM = AppDef(key="crm", label=label("CRM"), forms=(CONTACT, CUSTOMER))


def test_a_form_is_a_table_with_system_columns_then_field_columns() -> None:
    tables = form_tables(CUSTOMER, FIELD_TYPES)
    assert tables.main.name == "crm_customer"
    assert [c.name for c in tables.main.columns] == [*SYSTEM_COLUMNS, "name", "parent", "level"]
    assert tables.main.c.id.primary_key
    assert not tables.main.c.version.nullable
    assert {fk.target_fullname for fk in tables.main.c.owner.foreign_keys} == {"users.id"}


def test_relations_get_a_foreign_key_and_an_index() -> None:
    main = form_tables(CUSTOMER, FIELD_TYPES).main
    (key,) = main.c.parent.foreign_keys
    assert (key.target_fullname, key.ondelete) == ("crm_customer.id", "SET NULL")
    (contact_key,) = form_tables(CONTACT, FIELD_TYPES).main.c.customer.foreign_keys
    assert contact_key.ondelete == "RESTRICT"
    indexes = {ix.name: ([c.name for c in ix.columns], ix.unique) for ix in main.indexes}
    assert indexes == {
        "ix_crm_customer_parent": (["parent"], False),
        "ux_crm_customer_name": (["name"], True),
        "ix_crm_customer_level_created_at": (["level", "created_at"], False),
    }


def test_tables_are_cached_per_definition_version() -> None:
    assert form_tables(CUSTOMER, FIELD_TYPES) is form_tables(CUSTOMER, FIELD_TYPES)
    changed = form("customer", [{"key": "name", "type": "text", "max_length": 120}])
    assert form_tables(changed, FIELD_TYPES) is not form_tables(CUSTOMER, FIELD_TYPES)


def test_a_form_cannot_take_a_system_table_name() -> None:
    clash = form("log", [{"key": "x", "type": "text"}])
    with pytest.raises(DefinitionError, match="system table"):
        form_tables(
            clash.__class__(key="log", label=clash.label, app="audit", fields=clash.fields),
            FIELD_TYPES,
        )


def test_a_form_with_every_field_type_gets_its_tables(database: Database) -> None:
    sample = every_type_form()
    built = create_form_tables(
        database, AppDef(key="t", label=label("T"), forms=(sample,)), FIELD_TYPES
    )
    tables = built["sample"]
    names = database.table_names()
    assert {t.name for t in tables.tables} <= names
    assert "t_sample__f_subform" in names and "t_sample__f_links" in names
    columns = set(database.column_names("t_sample"))
    for f in sample.fields:
        ftype = FIELD_TYPES.get(f.type)
        for column in (
            ftype.column_names(f) if ftype.storage_for(f) == "column" and ftype.stored else []
        ):
            assert column in columns, f"{f.type}: column {column} missing"
    assert "f_lookup" not in columns and "f_section" not in columns
    child = set(database.column_names("t_sample__f_subform"))
    assert {"id", "parent_id", "item", "qty", "product"} <= child


def test_values_of_every_stored_type_round_trip(database: Database) -> None:
    sample = every_type_form()
    tables = create_form_tables(
        database, AppDef(key="t", label=label("T"), forms=(sample,)), FIELD_TYPES
    )["sample"]
    rng = random.Random(7)
    with database.transaction() as connection:
        first = connection.execute(sa.insert(tables.main).returning(tables.main.c.id)).scalar_one()
    values: dict[str, object] = {}
    row: dict[str, object] = {}
    for f in sample.fields:
        ftype = FIELD_TYPES.get(f.type)
        if not (ftype.stored and ftype.storage_for(f) == "column") or ftype.computed:
            continue
        value = first if f.type == "relation" else ftype.coerce(f, ftype.fake(f, rng))
        values[f.key] = value
        row.update(ftype.to_db(f, value))
    with database.transaction() as connection:
        create_referenced_rows(connection, tables.main, row)
        new_id = connection.execute(
            sa.insert(tables.main).values(row).returning(tables.main.c.id)
        ).scalar_one()
        stored = (
            connection.execute(sa.select(tables.main).where(tables.main.c.id == new_id))
            .one()
            ._mapping
        )
    for key, value in values.items():
        f = sample.get_field(key)
        assert FIELD_TYPES.get(f.type).from_db(f, stored) == value, f.type


def create_referenced_rows(
    connection: sa.Connection, table: sa.Table, row: dict[str, object]
) -> None:
    """Users and departments that fake member and department values point at."""
    for column in table.columns:
        for key in column.foreign_keys:
            target = key.target_fullname.split(".")[0]
            value = row.get(column.name)
            if value is None or target == table.name:
                continue
            if target == "users":
                connection.execute(
                    sa.insert(User).values(id=value, login=f"u{value}", name="U", created_at=NOW)
                )
            elif target == "departments":
                connection.execute(sa.insert(Department).values(id=value, name="D"))


def test_foreign_keys_hold_on_both_databases(database: Database) -> None:
    built = create_form_tables(database, CRM, FIELD_TYPES)
    customer, contact = built["customer"].main, built["contact"].main
    with database.transaction() as connection:
        parent = connection.execute(
            sa.insert(customer).values(name="Parent").returning(customer.c.id)
        ).scalar_one()
        child = connection.execute(
            sa.insert(customer).values(name="Child", parent=parent).returning(customer.c.id)
        ).scalar_one()
        connection.execute(sa.insert(contact).values(name="Li", customer=child))
    with pytest.raises(sa.exc.IntegrityError), database.transaction() as connection:
        connection.execute(sa.insert(contact).values(name="Ghost", customer=999))
    with pytest.raises(sa.exc.IntegrityError), database.transaction() as connection:
        connection.execute(sa.delete(customer).where(customer.c.id == child))  # restrict
    with database.transaction() as connection:
        connection.execute(sa.delete(customer).where(customer.c.id == parent))  # set null
        assert (
            connection.execute(sa.select(customer.c.parent).where(customer.c.id == child)).scalar()
            is None
        )


def test_unique_fields_are_unique_indexes(database: Database) -> None:
    customer = create_form_tables(database, CRM, FIELD_TYPES)["customer"].main
    with database.transaction() as connection:
        connection.execute(sa.insert(customer).values(name="Acme"))
    with pytest.raises(sa.exc.IntegrityError), database.transaction() as connection:
        connection.execute(sa.insert(customer).values(name="Acme"))


def test_creating_twice_keeps_the_tables_and_their_rows(database: Database) -> None:
    customer = create_form_tables(database, CRM, FIELD_TYPES)["customer"].main
    with database.transaction() as connection:
        connection.execute(sa.insert(customer).values(name="Acme"))
    create_form_tables(database, CRM, FIELD_TYPES)
    with database.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(customer)).scalar() == 1


def test_an_index_on_an_unknown_field_is_a_definition_error() -> None:
    bad = form("bad", [{"key": "x", "type": "text"}], indexes=[{"fields": ["nope"]}])
    with pytest.raises(DefinitionError, match="nope"):
        form_tables(bad, FIELD_TYPES)


def test_field_settings_of_the_definition_reach_the_column() -> None:
    main = form_tables(
        form("item", [{"key": "code", "type": "text", "max_length": 30}]), FIELD_TYPES
    ).main
    assert main.c.code.type.length == 30


def test_forms_that_point_at_each_other_are_created_together(database: Database) -> None:
    account = form(
        "account",
        [
            {"key": "name", "type": "text"},
            {
                "key": "main_contact",
                "type": "relation",
                "target": "person",
                "on_delete": "set_null",
            },
        ],
    )
    person = form(
        "person",
        [
            {"key": "name", "type": "text"},
            {"key": "account", "type": "relation", "target": "account"},
        ],
    )
    built = create_form_tables(
        database, AppDef(key="crm", label=label("CRM"), forms=(account, person)), FIELD_TYPES
    )
    accounts, people = built["account"].main, built["person"].main
    with database.transaction() as connection:
        account_id = connection.execute(
            sa.insert(accounts).values(name="Acme").returning(accounts.c.id)
        ).scalar_one()
        person_id = connection.execute(
            sa.insert(people).values(name="Li", account=account_id).returning(people.c.id)
        ).scalar_one()
        connection.execute(sa.update(accounts).values(main_contact=person_id))
    with pytest.raises(sa.exc.IntegrityError), database.transaction() as connection:
        connection.execute(sa.update(accounts).values(main_contact=999))
