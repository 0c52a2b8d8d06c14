"""Parents' rollups counted again after their children were written.

Every write ends (``engine.records.ending``) by refreshing the records the
written ones count towards: a customer's ``opportunity_count`` after its
opportunities. Each parent is refreshed once, in (form, id) order, and each
refresh ends like any write: audit entry (``recompute``), event, and the
parent's own parents one cascade level deeper.

One or a few parents of a form (an ordinary create, update or delete) go
through ``RecordService.recompute``, one statement at a time. Many parents of
one form (an import batch) are refreshed set-based, which gives the same
values, audit entries, events and cascade in the same order:

1. every parent of the form is locked first, in id order, a chunk of ids per
   statement, so two concurrent batches wait for each other, never deadlock
   on one another's parents;
2. per chunk, the parents are read with one query (and their subform rows,
   links and lookups with one each), and each rollup over the child form is
   counted for the whole chunk with one ``GROUP BY`` query;
3. per parent, ``RecordService.settle`` computes, writes what changed and
   finishes, as ``recompute`` does.

What step 2 read ahead goes stale if a parent's write leads to other writes
that it read (a rule writing another parent, a cascade into the same form):
``writes_seen`` tells, and the rest of the chunk is read again.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.records.access import filter_paths
from engine.records.compiled import CompiledForm
from engine.records.data_versions import writes_seen
from engine.store.tables import FormTables

if TYPE_CHECKING:
    from engine.records.actor import Actor
    from engine.records.service import RecordService

Record = dict[str, Any]
# Parents of one form from which a refresh is set-based: below it, the
# per-parent statements (reused, cached) cost less than building IN lists.
MANY = 8
# Ids per IN list: statements stay bounded, under SQLite's parameter limit.
CHUNK = 500


def refresh_parents(
    service: RecordService, conn: Connection, child_form: str,
    parents: Mapping[tuple[str, int], set[str]], actor: Actor,
) -> None:
    """Refresh ``parents`` ((form, id) -> keys of its rollups over
    ``child_form`` to count again), in (form, id) order."""
    by_form: dict[str, list[tuple[int, set[str]]]] = {}
    for (parent_form, parent_id), rollups in sorted(parents.items()):
        by_form.setdefault(parent_form, []).append((parent_id, rollups))
    for parent_form, entries in by_form.items():
        if len(entries) < MANY:
            for parent_id, rollups in entries:
                service.recompute(parent_form, parent_id, actor=actor, connection=conn,
                                  rollups=rollups)
            continue
        compiled, tables = service.form(parent_form)
        ids = [parent_id for parent_id, _ in entries]
        for start in range(0, len(ids), CHUNK):
            conn.execute(_lock_rows(tables.main), {"_ids": ids[start:start + CHUNK]})
        watched = _watched(service, compiled, child_form, entries)
        for start in range(0, len(entries), CHUNK):
            _refresh_chunk(service, conn, compiled, tables, entries[start:start + CHUNK], watched,
                           actor)


def _refresh_chunk(
    service: RecordService, conn: Connection, compiled: CompiledForm, tables: FormTables,
    entries: Sequence[tuple[int, set[str]]], watched: frozenset[str] | None, actor: Actor,
) -> None:
    pending = list(entries)
    while pending:
        records, outside = _read_ahead(service, conn, compiled, tables, pending)
        rest: list[tuple[int, set[str]]] = []
        for position, (parent_id, _) in enumerate(pending):
            previous = records.get(parent_id)
            if previous is None:  # deleted meanwhile: recompute finds nothing either
                continue
            before = _tally(conn, watched)
            record = service.settle(conn, compiled, tables, previous, outside[parent_id], actor)
            own = 0 if record is previous else 1  # the parent's own write marks its form once
            if _tally(conn, watched) != before + own:
                rest = pending[position + 1:]
                break
        pending = rest


def _read_ahead(
    service: RecordService, conn: Connection, compiled: CompiledForm, tables: FormTables,
    entries: Sequence[tuple[int, set[str]]],
) -> tuple[dict[int, Record], dict[int, dict[str, Any]]]:
    """The parents as ``reader.get`` gives them, and per parent the values of
    its rollups to count again, as ``reader.outside_rollups`` gives them."""
    ids = [parent_id for parent_id, _ in entries]
    main = tables.main
    rows = [dict(row._mapping) for row in
            conn.execute(sa.select(main).where(main.c.id.in_(ids)).order_by(main.c.id))]
    reader = service.reader
    records = {int(r["id"]): r for r in reader.hydrate(conn, compiled, tables, rows)}
    wanted: dict[str, list[int]] = {}
    for parent_id, rollups in entries:
        for key in rollups:
            wanted.setdefault(key, []).append(parent_id)
    counted: dict[str, dict[int, Any]] = {}
    for rollup in compiled.rollups:
        if rollup.key in wanted:
            query = reader.rollup_query(compiled, rollup, grouped=True)
            counted[rollup.key] = dict(conn.execute(query, {"_parents": wanted[rollup.key]}).all())
    outside: dict[int, dict[str, Any]] = {}
    for parent_id, rollups in entries:
        # In the compiled form's order, as outside_rollups gives them.
        outside[parent_id] = {
            rollup.key: reader.rollup_value(compiled, rollup, counted[rollup.key].get(parent_id))
            for rollup in compiled.rollups if rollup.key in rollups
        }
    return records, outside


def _watched(
    service: RecordService, compiled: CompiledForm, child_form: str,
    entries: Sequence[tuple[int, set[str]]],
) -> frozenset[str] | None:
    """The forms whose writes make what was read ahead stale: the parents'
    and the children's; every form (None) when a rollup's filter reads
    through a relation or subform (it may read any form)."""
    keys = set().union(*(rollups for _, rollups in entries))
    for rollup in compiled.rollups:
        if rollup.key in keys and any("." in path for path in filter_paths(rollup.where)):
            return None
    return frozenset({compiled.form.key, child_form})


def _tally(conn: Connection, watched: frozenset[str] | None) -> int:
    seen = writes_seen(conn)
    if watched is None:
        return sum(seen.values())
    return sum(seen.get(form, 0) for form in watched)


@functools.lru_cache(maxsize=512)
def _lock_rows(main: sa.Table) -> sa.Select[Any]:
    # In id order: rows are locked as the sorted ids come, so two batches
    # sharing parents take them in one order. FOR NO KEY UPDATE, as
    # ``recompute`` locks one parent (SQLite renders none: writers are serialized).
    ids: sa.BindParameter[Any] = sa.bindparam("_ids", expanding=True)
    return sa.select(main.c.id).where(main.c.id.in_(ids)).order_by(main.c.id).with_for_update(
        key_share=True)
