"""Alembic environment for Qiqiao's system tables.

Run programmatically by ``engine.store.migrate.upgrade_system_tables``, which
hands over an open connection in ``config.attributes["connection"]``; the
``alembic`` command line works too, with ``sqlalchemy.url`` set.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from engine.store.database import DEFAULT_URL, Database
from engine.store.migrate import VERSION_TABLE
from engine.store.models import SYSTEM_TABLES, Base


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # App tables (<app>_<form>) live in the same database; they are not ours to migrate.
    return not (type_ == "table" and reflected and compare_to is None and name not in SYSTEM_TABLES)


def run_migrations(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,
        include_object=include_object,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    database = Database(config.get_main_option("sqlalchemy.url") or DEFAULT_URL)
    try:
        with database.transaction() as conn:
            run_migrations(conn)
    finally:
        database.dispose()


main()
