"""Names for the ids a record holds: members and departments by their name,
related records by their title. Exports write them into cells (and read
them back, ``matching.MATCHERS``); pages show them.

``NAMERS`` maps a field type to how its ids are named; ``names_for`` names
the ids of several fields over a page of records in one query per field,
never record by record. Given a ``ReadGuard``, a related record the reader
may not read keeps no title (the page shows its id only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.definitions.model import FieldDef
from engine.store.models import Department, User

if TYPE_CHECKING:
    from engine.records.access import ReadGuard
    from engine.records.service import RecordService

Namer = Callable[[Connection, set[int]], dict[int, Any]]
ID_CHUNK = 500


def _people(table: sa.Table) -> Callable[..., Namer | None]:
    def make(service: RecordService, f: FieldDef, guard: ReadGuard | None = None) -> Namer:
        def names(conn: Connection, ids: set[int]) -> dict[int, Any]:
            query = sa.select(table.c.id, table.c.name).where(table.c.id.in_(sorted(ids)))
            return {int(i): text for i, text in conn.execute(query)}

        return names

    return make


def _titles(service: RecordService, f: FieldDef, guard: ReadGuard | None = None) -> Namer | None:
    """Records of the relation's target by their title (ids when it has none)."""
    target_compiled, target_tables = service.form(str(f.setting("target")))
    title_key = target_compiled.form.title_field
    if not title_key or title_key not in target_tables.main.c:
        return None
    title_field = target_compiled.form.get_field(title_key)
    title_type = target_compiled.types[title_key]
    main = target_tables.main

    def titles(conn: Connection, ids: set[int]) -> dict[int, Any]:
        query = sa.select(main).where(main.c.id.in_(sorted(ids)))
        if guard is not None:
            readable = guard.scope(target_compiled.form, main)
            if readable is not None:
                query = query.where(readable)
        return {int(row.id): title_type.export_value(title_field, title_type.from_db(title_field, cast(Mapping[str, Any], row._mapping)))
                for row in conn.execute(query)}

    return titles


# Field type key -> how ids held by that type are named in a file (matching.MATCHERS reads them back).
NAMERS: dict[str, Callable[..., Namer | None]] = {
    "relation": _titles,
    "member": _people(cast(sa.Table, User.__table__)),
    "department": _people(cast(sa.Table, Department.__table__)),
}




def ids_in(value: Any) -> list[int]:
    """The ids a member, department or relation value holds (one or a list)."""
    if value is None:
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, int)]


def names_for(
    service: RecordService, fields: Iterable[FieldDef], records: Iterable[Mapping[str, Any]],
    *, guard: ReadGuard | None = None, connection: Connection | None = None,
) -> dict[str, dict[int, Any]]:
    """field key -> {id: name or title} for the ids ``records`` hold in ``fields``
    (subform rows' fields: give the child field and rows as records)."""
    wanted: dict[str, tuple[Namer, set[int]]] = {}
    rows = list(records)
    for f in fields:
        make = NAMERS.get(f.type)
        namer = make(service, f, guard) if make is not None else None
        if namer is None:
            continue
        ids = {i for record in rows for i in ids_in(record.get(f.key))}
        if ids:
            wanted[f.key] = (namer, ids)
    if not wanted:
        return {}

    def run(conn: Connection) -> dict[str, dict[int, Any]]:
        found: dict[str, dict[int, Any]] = {}
        for key, (namer, ids) in wanted.items():
            ordered = sorted(ids)
            named: dict[int, Any] = {}
            for start in range(0, len(ordered), ID_CHUNK):
                named.update(namer(conn, set(ordered[start:start + ID_CHUNK])))
            found[key] = named
        return found

    if connection is not None:
        return run(connection)
    with service.database.reading() as conn:
        return run(conn)
