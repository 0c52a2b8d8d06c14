"""Statements sent to the driver as SQL text write and read exactly what Core does."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from engine.store.database import Database, JSONDocument
from engine.store.driver import DriverStatement

METADATA = sa.MetaData()
THINGS = sa.Table(
    "driver_things", METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(50)),
    sa.Column("at", sa.DateTime(timezone=True)),
    sa.Column("day", sa.Date),
    sa.Column("amount", sa.Numeric(12, 2)),
    sa.Column("done", sa.Boolean),
    sa.Column("doc", JSONDocument),
    sa.Column("version", sa.Integer),
)
KEYS = [c.key for c in THINGS.c if c.key != "id"]
ROWS: list[dict[str, Any]] = [
    {"name": "合同", "at": dt.datetime(2026, 12, 4, 8, 30, tzinfo=dt.UTC), "day": dt.date(2026, 1, 31),
     "amount": Decimal("1234.50"), "done": True, "doc": {"nodes": ["a", "b"], "n": 1}, "version": 1},
    {"name": None, "at": dt.datetime(2026, 12, 4, 8, 30, 0, 1, tzinfo=dt.UTC), "day": None, "amount": None,
     "done": False, "doc": None, "version": 2},
    {"name": "x'; DROP TABLE driver_things; --", "at": None, "day": dt.date(2027, 2, 28), "amount": Decimal(0),
     "done": None, "doc": [], "version": 3},
]


@pytest.fixture
def things(bare_database: Database) -> Database:
    METADATA.create_all(bare_database.engine)
    return bare_database


def _read(database: Database, ids: list[int]) -> list[dict[str, Any]]:
    with database.engine.connect() as conn:
        rows = conn.execute(sa.select(THINGS).where(THINGS.c.id.in_(ids)).order_by(THINGS.c.id)).mappings()
        return [{k: v for k, v in row.items() if k != "id"} for row in rows]


def test_one_row_at_a_time_reads_back_as_core_writes_it(things: Database) -> None:
    insert = DriverStatement(THINGS.insert().returning(THINGS.c.id), KEYS)
    with things.engine.begin() as conn:
        ours = [int(insert.execute(conn, row).scalar_one()) for row in ROWS]
        cores = [int(conn.execute(THINGS.insert().returning(THINGS.c.id), row).scalar_one()) for row in ROWS]
    assert len(set(ours + cores)) == 6
    assert _read(things, ours) == _read(things, cores)
    # The JSON document null is stored as Core stores it (JSON null, not SQL NULL), so a filter finds it alike.
    with things.engine.connect() as conn:
        nulls = conn.execute(sa.select(THINGS.c.id).where(THINGS.c.doc.is_(None))).scalars().all()
    assert [i in nulls for i in ours] == [i in nulls for i in cores]


def test_many_rows_an_update_and_its_count(things: Database) -> None:
    insert = DriverStatement(THINGS.insert(), KEYS)
    bump = DriverStatement(
        THINGS.update().where(THINGS.c.name == sa.bindparam("_name"), THINGS.c.version == sa.bindparam("_version")),
        ["doc", "version", "_name", "_version"])
    with things.engine.begin() as conn:
        insert.execute(conn, ROWS)
        assert bump.execute(conn, {"_name": "合同", "_version": 1, "doc": {"k": "新"}, "version": 2}).rowcount == 1
        # A second writer that read version 1 changes nothing.
        assert bump.execute(conn, {"_name": "合同", "_version": 1, "doc": {"k": "旧"}, "version": 2}).rowcount == 0
    with things.engine.connect() as conn:
        rows = conn.execute(sa.select(THINGS.c.name, THINGS.c.doc, THINGS.c.version).order_by(THINGS.c.id)).all()
    assert [tuple(r) for r in rows] == [("合同", {"k": "新"}, 2), (None, None, 2),
                                        ("x'; DROP TABLE driver_things; --", [], 3)]


def test_the_connections_events_see_each_statement(things: Database) -> None:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    insert = DriverStatement(THINGS.insert(), KEYS)
    sa.event.listen(things.engine, "before_cursor_execute", count)
    try:
        with things.engine.begin() as conn:
            insert.execute(conn, ROWS[0])
    finally:
        sa.event.remove(things.engine, "before_cursor_execute", count)
    assert [s for s in seen if s.startswith("INSERT")] == [
        next(s for s in seen if s.startswith("INSERT INTO driver_things"))]


def test_statements_it_cannot_send_as_written_are_refused(things: Database) -> None:
    with things.engine.begin() as conn:
        expanding = DriverStatement(THINGS.delete().where(THINGS.c.id.in_(sa.bindparam("ids", expanding=True))), ["ids"])
        with pytest.raises(ValueError, match="not a plain statement"):
            expanding.execute(conn, {"ids": [1, 2]})
        constant = DriverStatement(THINGS.update().where(THINGS.c.name == "a"), ["version"])
        with pytest.raises(ValueError, match=r"not a plain statement for the driver: parameters \['name_1'\]"):
            constant.execute(conn, {"version": 1})
