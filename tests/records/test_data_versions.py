"""Data versions (engine/records/data_versions.py): every committed write of
a form's records changes its version, a rolled-back one does not, a late
commit with an early id still counts, concurrent writers never wait on a
counter, and compaction keeps the number — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from engine.core.i18n import label
from engine.definitions.model import AppDef, FormDef
from engine.fields import FIELD_TYPES
from engine.records import RecordService
from engine.records.data_versions import COMPACT_AFTER, compact, mark_changed, read_versions
from engine.store.database import Database
from engine.store.migrate import upgrade_system_tables
from engine.store.tables import create_form_tables
from tests.conftest import admin_execute, postgres_schema_database

NOTE: dict[str, Any] = {"key": "note", "label": "Note", "fields": [{"key": "text", "type": "text", "label": "Text"}]}
TAG: dict[str, Any] = {"key": "tag", "label": "Tag", "fields": [{"key": "name", "type": "text", "label": "Name"}]}


@pytest.fixture
def service(database: Database) -> RecordService:
    app = AppDef(key="kb", label=label("KB"), forms=tuple(FormDef.from_dict(f, app="kb") for f in (NOTE, TAG)))
    create_form_tables(database, app, FIELD_TYPES)
    return RecordService(database, app, field_types=FIELD_TYPES)


def versions(database: Database) -> dict[str, int]:
    with database.reading() as conn:
        return read_versions(conn, "kb", ["note", "tag"]).values


def test_each_write_of_a_form_changes_only_its_version(service: RecordService, database: Database) -> None:
    assert versions(database) == {"note": 0, "tag": 0}
    created = service.create("note", {"text": "a"})
    after_create = versions(database)
    assert after_create["note"] > 0 and after_create["tag"] == 0
    service.update("note", created["id"], {"text": "b"}, version=created["version"])
    after_update = versions(database)
    assert after_update["note"] > after_create["note"] and after_update["tag"] == 0
    service.delete("note", created["id"])
    assert versions(database)["note"] > after_update["note"]
    service.create_many("tag", [{"name": "x"}, {"name": "y"}])
    assert versions(database)["tag"] > 0


def test_a_rolled_back_write_changes_nothing(service: RecordService, database: Database) -> None:
    before = versions(database)
    with pytest.raises(RuntimeError), database.transaction() as conn:
        service.create("note", {"text": "lost"}, connection=conn)
        raise RuntimeError("roll back")
    assert versions(database) == before


@pytest.fixture
def postgres(postgres_url: str) -> Iterator[Database]:
    """PostgreSQL only: SQLite has one writer at a time, so commits cannot cross there."""
    database, schema = postgres_schema_database(postgres_url)
    upgrade_system_tables(database)
    try:
        yield database
    finally:
        database.dispose()
        admin_execute(postgres_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_a_late_commit_with_an_early_id_still_changes_the_version(postgres: Database) -> None:
    # A takes its change row first but commits after B: a version read in
    # between must differ from one read after A commits.
    database = postgres
    a = database.engine.connect()
    a_tx = a.begin()
    mark_changed(a, "kb", "note")
    with database.transaction() as b:
        mark_changed(b, "kb", "note")
    between = versions(database)["note"]
    a_tx.commit()
    a.close()
    assert versions(database)["note"] == between + 1


def test_concurrent_writers_all_count(service: RecordService, database: Database) -> None:
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(5):
                service.create("note", {"text": f"{n}-{i}"})
        except BaseException as exc:  # reported below
            errors.append(exc)

    before = versions(database)["note"]
    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert versions(database)["note"] == before + 20


def test_compaction_keeps_the_version_and_is_flagged_when_rows_pile_up(database: Database,
                                                                       service: RecordService) -> None:
    with database.transaction() as conn:
        for _ in range(COMPACT_AFTER + 1):
            mark_changed(conn, "kb", "tag")
    with database.reading() as conn:
        read = read_versions(conn, "kb", ["tag", "note"])
    assert read.values["tag"] == COMPACT_AFTER + 1 and read.piled == ["tag"]
    with database.transaction() as conn:
        assert compact(conn, "kb", "tag") == COMPACT_AFTER + 1
        mark_changed(conn, "kb", "tag")
    with database.transaction() as conn:
        assert compact(conn, "kb", "tag") == 1
    with database.reading() as conn:
        again = read_versions(conn, "kb", ["tag"])
    assert again.values["tag"] == COMPACT_AFTER + 2 and again.piled == []
