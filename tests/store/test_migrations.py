"""The system tables: alembic creates them, and they match the ORM models."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.orm import Session

from engine.store.database import Database
from engine.store.migrate import (
    VERSION_TABLE,
    current_revision,
    head_revision,
    upgrade_system_tables,
)
from engine.store.models import SYSTEM_TABLES, Base, Definition, SchemaChange, User

NOW = dt.datetime(2026, 5, 20, 9, 30, tzinfo=dt.UTC)


def test_upgrade_creates_every_system_table(bare_database: Database) -> None:
    assert current_revision(bare_database) is None
    upgrade_system_tables(bare_database)
    assert current_revision(bare_database) == head_revision()
    assert bare_database.table_names() >= SYSTEM_TABLES


def test_upgrade_twice_is_a_no_op(database: Database) -> None:
    upgrade_system_tables(database)
    assert current_revision(database) == head_revision()


def test_migrated_schema_matches_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "version_table": VERSION_TABLE,
            },
        )
        assert compare_metadata(context, Base.metadata) == []


def test_models_read_and_write_on_the_migrated_tables(database: Database) -> None:
    with Session(database.engine) as session, session.begin():
        user = User(login="li", name="李雷", created_at=NOW)
        session.add(user)
        session.flush()
        session.add(
            Definition(
                app="crm",
                kind="form",
                key="customer",
                version=1,
                body={"key": "customer", "label": {"zh": "客户"}},
                published_at=NOW,
                published_by=user.id,
            )
        )
        session.add(
            SchemaChange(
                app="crm", form="customer", plan={"steps": []}, applied_at=NOW, rows_nulled=0
            )
        )
    with Session(database.engine) as session:
        stored = session.scalars(sa.select(User)).one()
        assert (stored.login, stored.active, stored.locale) == ("li", True, "zh")
        body = session.scalars(sa.select(Definition.body)).one()
        assert body["label"] == {"zh": "客户"}


def test_definition_versions_are_unique(database: Database) -> None:
    row = {
        "app": "crm",
        "kind": "form",
        "key": "customer",
        "version": 1,
        "body": {},
        "published_at": NOW,
    }
    with database.transaction() as connection:
        connection.execute(sa.insert(Definition), [row])
    with pytest.raises(sa.exc.IntegrityError), database.transaction() as connection:
        connection.execute(sa.insert(Definition), [row])


def test_sqlite_is_set_up_for_concurrency_and_integrity(tmp_path: object) -> None:
    database = Database(f"sqlite:///{tmp_path}/x/q.sqlite3")
    with database.engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() == 5000
    database.dispose()


def test_postgresql_urls_use_psycopg() -> None:
    database = Database("postgresql://someone@localhost/qiqiao")
    assert database.url.drivername == "postgresql+psycopg"
    assert database.is_postgresql and not database.is_sqlite
