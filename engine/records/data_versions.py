"""Data versions: a number per form that changes whenever its records do,
so a report's cached result (``engine.reports.cache``) is reused only while
nothing it read has changed.

Every write of records ends in ``engine.records.ending`` (and a flow's
status in ``flow_lock``): each inserts one row into ``data_changes`` in the
write's own transaction (``mark_changed``). A form's version is its
``data_versions.version`` plus the count of its ``data_changes`` rows.

Why rows and a count, not a counter updated in place or the newest id:
- a counter row updated by every write would make concurrent writers of a
  form wait for each other's commit, and two transactions writing two forms
  in opposite orders (a rule's cascade) would deadlock on PostgreSQL;
- the newest id is not enough: ids are handed out when rows are inserted,
  not when they commit, so a transaction that commits late with a smaller id
  would leave the newest id unchanged and a cached result stale forever.
A count of committed rows grows with every commit, in whatever order, and a
rolled-back write adds nothing. Readers read the version *before* they run
their query, so a result never hides a write that committed after it.

``compact`` folds a form's rows into its ``data_versions`` number (the sum
is unchanged) once there are many, so counting stays cheap; it deletes with
RETURNING and adds what it deleted, so two compactions at once on
PostgreSQL never count a row twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from engine.store.driver import DriverStatement
from engine.store.models import DataChange, DataVersion

_CHANGES = cast(sa.Table, DataChange.__table__)
_VERSIONS = cast(sa.Table, DataVersion.__table__)
# The mark is on every write's path: sent to the driver as compiled text, it
# costs ~30 µs against ~70 µs through Core's execute (engine.store.driver).
_MARK = DriverStatement(_CHANGES.insert(), ["app", "form"])
# Rows of one form past which a reader folds them into the base number.
COMPACT_AFTER = 500


# conn.info key of the marks this connection has written, per form (writes_seen).
_SEEN = "qiqiao.writes_seen"


def mark_changed(conn: Connection, app: str, form: str) -> None:
    """Say, in ``conn``'s transaction, that ``form``'s records changed."""
    _MARK.execute(conn, {"app": app, "form": form})
    seen = writes_seen(conn)
    seen[form] = seen.get(form, 0) + 1


def writes_seen(conn: Connection) -> dict[str, int]:
    """How many writes of records each form has had on this connection
    (ever: only differences mean anything). A batch that read records ahead
    compares two tallies to learn whether a subscriber or a cascade wrote
    behind its back (engine/records/rollup_refresh.py)."""
    seen: dict[str, int] | None = conn.info.get(_SEEN)
    if seen is None:
        seen = conn.info[_SEEN] = {}
    return seen


class Versions(NamedTuple):
    values: dict[str, int]  # form -> version
    piled: list[str]  # forms whose change rows should be compacted (in a write transaction)


def read_versions(conn: Connection, app: str, forms: Iterable[str]) -> Versions:
    """The current version of each of ``forms`` (0 for a form never
    written), with one statement."""
    keys = sorted(set(forms))
    if not keys:
        return Versions({}, [])
    counts = (sa.select(_CHANGES.c.form.label("form"), sa.literal(0).label("base"),
                        sa.func.count().label("n"))
              .where(_CHANGES.c.app == app, _CHANGES.c.form.in_(keys)).group_by(_CHANGES.c.form))
    bases = (sa.select(_VERSIONS.c.form.label("form"), _VERSIONS.c.version.label("base"),
                       sa.literal(0).label("n"))
             .where(_VERSIONS.c.app == app, _VERSIONS.c.form.in_(keys)))
    versions = dict.fromkeys(keys, 0)
    piled: list[str] = []
    for form, base, n in conn.execute(sa.union_all(counts, bases)):
        versions[form] += int(base) + int(n)
        if n and int(n) > COMPACT_AFTER:
            piled.append(form)
    return Versions(versions, piled)


def compact(conn: Connection, app: str, form: str) -> int:
    """Fold ``form``'s change rows into its base number (the version stays
    the same), in ``conn``'s (write) transaction; how many rows were folded."""
    where = sa.and_(_CHANGES.c.app == app, _CHANGES.c.form == form)
    deleted = len(conn.execute(sa.delete(_CHANGES).where(where).returning(_CHANGES.c.id)).all())
    if deleted:
        insert: Any = (postgresql.insert(_VERSIONS) if conn.dialect.name == "postgresql"
                       else sqlite.insert(_VERSIONS))
        conn.execute(insert.values(app=app, form=form, version=deleted).on_conflict_do_update(
            index_elements=[_VERSIONS.c.app, _VERSIONS.c.form],
            set_={"version": _VERSIONS.c.version + deleted}))
    return deleted
