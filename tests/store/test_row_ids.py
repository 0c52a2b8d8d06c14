"""Record ids are never reused: new tables, tables made before (rebuilt once
by revision 0005, their highest id carried over from rows and audit log),
and tables a schema change rebuilds."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command

from engine.fields import FIELD_TYPES
from engine.packages import install_package
from engine.records import RecordService
from engine.store.database import Database
from engine.store.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    upgrade_system_tables,
)
from engine.store.row_ids import reuses_ids
from engine.store.schema_apply import migration_operations
from engine.store.schema_change import apply_schema_change, plan_schema_change
from templates_lib.crm import PACKAGE_PATH as CRM

from .test_schema_change import AMOUNT_NUMBER, NAME, NOTE, V1, deal


def crm(database: Database) -> RecordService:
    app = install_package(database, CRM, FIELD_TYPES, package="crm")
    return RecordService(database, app, field_types=FIELD_TYPES)


def created(service: RecordService, form: str, values: dict[str, Any]) -> int:
    return int(service.create(form, values)["id"])


def sql_of(database: Database, table: str) -> str:
    with database.engine.connect() as conn:
        return str(conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).scalar())


def test_a_deleted_records_id_is_not_given_again(database: Database) -> None:
    service = crm(database)
    first = created(service, "customer", {"name": "First"})
    second = created(service, "customer", {"name": "Second"})
    service.delete("customer", second)
    assert created(service, "customer", {"name": "Third"}) > second > first
    product = created(service, "product", {"name": "Widget", "sales_price": "1"})
    quote = service.create("quote", {"customer": first, "items": [{"product": product}, {"product": product}]})
    last_row = quote["items"][1]["id"]
    changed = service.update("quote", quote["id"], {"items": [quote["items"][0]]}, version=quote["version"])
    again = service.update("quote", quote["id"], {"items": [*changed["items"], {"product": product}]},
                           version=changed["version"])
    assert again["items"][1]["id"] > last_row  # subform rows too


def make_legacy(database: Database, table: str) -> None:
    """``table`` as code before revision 0005 made it: no AUTOINCREMENT."""
    with database.schema_transaction() as conn, migration_operations(conn).batch_alter_table(
            table, recreate="always"):
        pass
    with database.engine.connect() as conn:
        assert reuses_ids(conn, table)


def test_tables_made_before_are_rebuilt_keeping_their_highest_id(database: Database) -> None:
    if not database.is_sqlite:
        return  # PostgreSQL's sequences never go back; revision 0005 does nothing there
    service = crm(database)
    kept = created(service, "customer", {"name": "Kept"})
    contact = created(service, "contact", {"name": "Ann", "customer": kept})
    newest = created(service, "customer", {"name": "Newest"})
    make_legacy(database, "crm_customer")
    service.delete("customer", newest)
    command.stamp(alembic_config(database), "0004")
    assert current_revision(database) == "0004"

    # Only 0005 runs again: the later revisions' tables and columns are there already.
    upgrade_system_tables(database, "0005")
    command.stamp(alembic_config(database), "head")

    assert current_revision(database) == head_revision()
    assert "AUTOINCREMENT" in sql_of(database, "crm_customer")
    assert created(service, "customer", {"name": "After"}) > newest
    # The rebuild dropped the old table without firing ON DELETE in those that point at it.
    assert service.get("contact", contact)["customer"] == kept
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []


def test_a_schema_change_that_rebuilds_a_table_keeps_its_highest_id(database: Database) -> None:
    plan = plan_schema_change(None, V1, FIELD_TYPES, database)
    apply_schema_change(database, plan)
    table = sa.table("crm_deal", sa.column("id"), sa.column("name"))
    with database.transaction() as conn:
        conn.execute(sa.insert(table), [{"name": "a"}, {"name": "b"}])
        conn.execute(sa.delete(table).where(table.c.name == "b"))
    # text -> number: on SQLite the table is rebuilt (alembic's batch mode)
    apply_schema_change(database, plan_schema_change(V1, deal(NAME, AMOUNT_NUMBER, NOTE), FIELD_TYPES, database))
    if database.is_sqlite:
        assert "AUTOINCREMENT" in sql_of(database, "crm_deal")
    with database.transaction() as conn:
        new_id = conn.execute(sa.insert(table).values(name="c").returning(table.c.id)).scalar()
    assert new_id == 3
