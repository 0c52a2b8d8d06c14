"""Serial numbers (流水号): prefix + date part + counter, unique under concurrency.

The counter lives in ``serial_counters`` keyed by (app, form, field, period);
the period is the part of the date the counter resets on ("20240301" for a
daily reset, "202403" monthly, "2024" yearly, "" never). One upsert statement
increments and returns the counter inside the record's transaction, so two
writers can never draw the same number: PostgreSQL locks the counter row
until commit, SQLite serializes writers.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from engine.definitions.model import FieldDef
from engine.store.models import SerialCounter

_COUNTERS = cast(sa.Table, SerialCounter.__table__)
_PERIOD_FORMATS = {"daily": "%Y%m%d", "monthly": "%Y%m", "yearly": "%Y", "never": ""}
# The designers write date parts the way Excel does; strftime spells them so.
_DATE_PARTS = (("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"))


def period_key(reset: str, moment: dt.datetime) -> str:
    fmt = _PERIOD_FORMATS.get(reset, "")
    return moment.strftime(fmt) if fmt else ""


def date_part(date_format: str | None, moment: dt.datetime) -> str:
    if not date_format:
        return ""
    fmt = date_format
    for excel, strf in _DATE_PARTS:
        fmt = fmt.replace(excel, strf)
    return moment.strftime(fmt)


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


def next_serial(connection: Connection, app: str, form: str, field: FieldDef, moment: dt.datetime) -> str:
    """The next serial number of ``field``, e.g. ``QT202403010007``."""
    reset = str(field.setting("reset", "never"))
    counter = next_counter(connection, app, form, field.key, period_key(reset, moment))
    digits = int(field.setting("digits", 4))
    prefix = str(field.setting("prefix", "") or "")
    return f"{prefix}{date_part(field.setting('date_format'), moment)}{counter:0{digits}d}"


def current_counters(connection: Connection, app: str, form: str) -> dict[tuple[str, str], int]:
    """(field, period) -> the last number drawn, for tests and admin pages."""
    rows = connection.execute(
        sa.select(_COUNTERS.c.field, _COUNTERS.c.period, _COUNTERS.c.value).where(
            _COUNTERS.c.app == app, _COUNTERS.c.form == form
        )
    )
    return {(row.field, row.period): int(row.value) for row in rows}
