"""Creating and upgrading the system tables with alembic, from code.

Called by ``qiqiao init``, the runtime at start-up and test fixtures; the
migrations live in ``engine/store/migrations`` and are written by hand, so
an upgrade never depends on autogenerate guessing at run time.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from engine.store.database import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "qiqiao_alembic_version"


def alembic_config(database: Database) -> Config:
    """An alembic configuration pointing at Qiqiao's migrations and ``database``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option(
        "sqlalchemy.url", database.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def upgrade_system_tables(database: Database, revision: str = "head") -> None:
    """Bring the system tables to ``revision`` (the newest by default), in one transaction."""
    config = alembic_config(database)
    with database.transaction() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(database: Database) -> str | None:
    """The revision the system tables are at (``None`` before the first upgrade)."""
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> str | None:
    """The newest revision the code knows."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()
