"""Creating and upgrading the system tables with alembic, from code.

Called by ``qiqiao init`` and the other commands, ``qiqiao serve`` at
start-up (once, before its workers start) and test fixtures; the migrations
live in ``engine/store/migrations`` and are written by hand, so an upgrade
never depends on autogenerate guessing at run time. An app built on a
database whose tables are behind the code refuses to start
(``require_current``) rather than fail request by request.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from engine.core.errors import QiqiaoError
from engine.core.i18n import Label
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
    """Bring the system tables to ``revision`` (the newest by default), in one
    transaction; a migration may rebuild tables (on SQLite, with foreign key
    enforcement off until the keys are checked before commit)."""
    config = alembic_config(database)
    with database.schema_transaction() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def upgrade_if_behind(database: Database) -> str | None:
    """Upgrade the system tables when the code knows newer revisions (not when
    a newer Qiqiao upgraded them: ``require_current`` says so). The revision
    they were at when upgraded ("" for none), else None."""
    current = current_revision(database)
    if current == head_revision() or (current is not None and current not in known_revisions()):
        return None
    upgrade_system_tables(database)
    return current or ""


def current_revision(database: Database) -> str | None:
    """The revision the system tables are at (``None`` before the first upgrade)."""
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def known_revisions() -> set[str]:
    """Every revision the code has a migration for."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def head_revision() -> str | None:
    """The newest revision the code knows."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


class SchemaOutdated(QiqiaoError):
    """The system tables are not at the revision this code needs."""

    code = "schema_outdated"


def require_current(database: Database) -> None:
    """``SchemaOutdated``, in a sentence saying what to run, unless the
    system tables are at the newest revision the code knows."""
    current, head = current_revision(database), head_revision()
    if current == head:
        return
    if current is None:
        message = Label("数据库还没有七巧的系统表：请先运行 qiqiao init",
                        "The database has no Qiqiao system tables yet: run qiqiao init first")
    elif current in known_revisions():
        message = Label(f"数据库的系统表版本为 {current}，此版本需要 {head}：请运行 qiqiao init 升级（数据不会丢失）",
                        f"The database's system tables are at revision {current} and this version needs "
                        f"{head}: run qiqiao init to upgrade them (nothing is lost)")
    else:
        message = Label(f"数据库由更新版本的七巧升级过（版本 {current}），此版本只认识到 {head}",
                        f"The database was upgraded by a newer Qiqiao (revision {current}); "
                        f"this version knows revisions up to {head}")
    raise SchemaOutdated(message, details={"revision": current, "needed": head})
