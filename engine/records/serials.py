"""Serial numbers (流水号): prefix + date part + counter, unique under concurrency.

The field type (``role = "serial"``) says what a number looks like and when
its counter starts again (``period`` and ``format_serial``); this module
draws the counter. It lives in ``serial_counters`` keyed by (app, form,
field, period). One upsert statement advances and returns the counter inside
the record's transaction, so two writers can never draw the same number:
PostgreSQL locks the counter row until commit, SQLite serializes writers.
A refused write rolls its counter back with everything else.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from engine.definitions.model import FieldDef
from engine.fields.base import FieldType
from engine.store.models import SerialCounter

_COUNTERS = cast(sa.Table, SerialCounter.__table__)


class Numbered(Protocol):
    """What a serial field type offers (``engine.fields.computed.SerialType``)."""

    def period(self, field: FieldDef, day: dt.date) -> str: ...

    def format_serial(self, field: FieldDef, counter: int, day: dt.date) -> str: ...


def next_counter(
    connection: Connection, app: str, form: str, field: str, period: str, step: int = 1
) -> int:
    """Advance the counter by ``step`` and return its new value (the last of
    the ``step`` numbers drawn; 1 for the first number of a period). The row
    stays locked until the transaction ends, so the block is the caller's."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(_COUNTERS)
        .values(app=app, form=form, field=field, period=period, value=step)
        .on_conflict_do_update(
            index_elements=["app", "form", "field", "period"],
            set_={"value": _COUNTERS.c.value + step},
        )
        .returning(_COUNTERS.c.value)
    )
    return int(connection.execute(statement).scalar_one())


def draw_serials(
    connection: Connection, app: str, form: str, field: FieldDef, field_type: FieldType,
    day: dt.date, count: int = 1,
) -> list[str]:
    """``count`` consecutive serial numbers of ``field`` for records made on ``day``."""
    numbered = cast(Numbered, field_type)
    last = next_counter(connection, app, form, field.key, numbered.period(field, day), step=count)
    return [numbered.format_serial(field, n, day) for n in range(last - count + 1, last + 1)]


def current_counters(connection: Connection, app: str, form: str) -> dict[tuple[str, str], int]:
    """(field, period) -> the last number drawn, for tests and admin pages."""
    rows = connection.execute(
        sa.select(_COUNTERS.c.field, _COUNTERS.c.period, _COUNTERS.c.value).where(
            _COUNTERS.c.app == app, _COUNTERS.c.form == form
        )
    )
    return {(row.field, row.period): int(row.value) for row in rows}
