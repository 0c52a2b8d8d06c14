"""Reading records back into values, and the rows a record owns elsewhere.

A record is its main row plus subform rows (child tables), multi-relation
links (link tables) and lookups (read through a relation). ``RecordReader``
assembles them in as few queries as possible: one per table for a whole
page, never one per record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.i18n import Label
from engine.definitions.model import FieldDef, FormDef
from engine.records.compiled import SYSTEM_FIELDS, CompiledForm, Rollup
from engine.records.deadline import QUERY_TIMEOUT, deadline
from engine.records.values import same
from engine.store.tables import FormTables

if TYPE_CHECKING:
    from engine.records.access import FormPolicy
    from engine.records.filters import PathGuard
    from engine.records.prepare import FieldErrors
    from engine.records.service import RecordService

Record = dict[str, Any]


def utc(moment: dt.datetime | None) -> dt.datetime | None:
    """A stored system timestamp as an aware UTC moment (SQLite returns it naive)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _page_key(form_key: str, *parts: Any) -> str | None:
    """A cache key for a first page; None for later pages (their cursors vary)."""
    if parts[4] is not None:  # after
        return None
    # repr is exact for the JSON-like values a query is made of, and cheap; two
    # spellings of one query (keys in another order) only cost a cache miss.
    return repr((form_key, *parts))


ID_CHUNK = 5000  # ids per IN (...) list: well under SQLite's variable limit


def missing_records(form: FormDef, ids: Sequence[Any]) -> Label:
    """What a write is told of related ids that name no record it may read."""
    text = ", ".join(f"#{i}" for i in ids)
    return Label(f"{form.label.zh} {text} 不存在", f"{form.label.en} {text} does not exist")


class RecordReader:
    """The read side of ``RecordService`` (it shares the service's forms)."""

    def __init__(self, service: RecordService) -> None:
        self.service = service
        # First pages of lists by their arguments: the same list view asked
        # again reuses its statement (SQLAlchemy keeps its compiled form on it).
        self._pages: dict[str, Any] = {}
        self._by_id: dict[str, Any] = {}
        # Statements of rollups over other forms: (form, rollup, today, grouped) -> select.
        self._rollups: dict[tuple[str, str, dt.date, bool], Any] = {}
        # Seconds a list or count statement may run (engine/records/deadline.py).
        self.query_timeout: float | None = QUERY_TIMEOUT

    # --- whole records -----------------------------------------------------------
    def get(self, conn: Connection, form_key: str, record_id: int, policy: FormPolicy | None = None) -> Record:
        """The record; outside ``policy``'s read scope it does not exist."""
        compiled, tables = self.service.form(form_key)
        query = self.by_id(form_key)
        flags: list[Any] = []
        if policy is not None and not policy.unrestricted:
            scope = policy.read_clause()
            if scope is not None:
                query = query.where(scope)
            flags = policy.reader_flags()
            query = query.add_columns(*flags)
        row = conn.execute(query, {"_id": record_id}).first()
        if row is None:
            from engine.records.service import _not_found

            raise _not_found(compiled.form, record_id)
        record = self.hydrate(conn, compiled, tables, [dict(row._mapping)])[0]
        if policy is None:
            return record
        policy.mask_lookups(conn, [record])
        return policy.strip(record)

    def by_id(self, form_key: str) -> Any:
        """The statement reading one main row by ``_id``, built once per form:
        SQLAlchemy keeps a reused statement's cache key, and building the
        comparison cost more than running the query."""
        query = self._by_id.get(form_key)
        if query is None:
            main = self.service.form(form_key)[1].main
            query = self._by_id[form_key] = sa.select(main).where(main.c.id == sa.bindparam("_id"))
        return query

    def hydrate(
        self,
        conn: Connection,
        compiled: CompiledForm,
        tables: FormTables,
        rows: Sequence[Mapping[Any, Any]],
        fields: Sequence[str] | None = None,
    ) -> list[Record]:
        """Records from main-table rows; ``fields`` limits what is read beyond
        the main row (subforms, links and lookups cost a query each per page).
        A row given as a plain ``dict`` becomes the record itself (no copy)."""
        wanted = set(fields) if fields is not None else None
        decoders = [
            (key, decode) for key, decode in compiled.decoders
            if decode is not None and (wanted is None or key in wanted)
        ]
        # A lookup reads through its relation: a relation wanted only for
        # that is kept until the lookups are read, then dropped.
        through: set[str] = set()
        if wanted is not None:
            through = {lookup.relation for lookup in compiled.lookups if lookup.key in wanted} - wanted
        drop = compiled.raw_columns if wanted is None else compiled.raw_columns | (
            {f.key for f in compiled.stored_fields} - wanted - through
        )
        records: list[Record] = []
        utc_zone = dt.UTC
        for raw in rows:
            # One C-level dict of every column, then only the values that need
            # decoding are touched: a page of 50 costs little more than the query.
            # Rows handed over as plain dicts are the caller's to give away.
            record: Record = raw if type(raw) is dict else dict(raw)
            moment = record["created_at"]
            if moment is not None and moment.tzinfo is not utc_zone:
                record["created_at"] = moment.replace(tzinfo=utc_zone) if moment.tzinfo is None else utc(moment)
            moment = record["updated_at"]
            if moment is not None and moment.tzinfo is not utc_zone:
                record["updated_at"] = moment.replace(tzinfo=utc_zone) if moment.tzinfo is None else utc(moment)
            for key, decode in decoders:
                record[key] = decode(record)
            for key in drop:
                record.pop(key, None)
            records.append(record)
        if not records:
            return records
        ids = [int(r["id"]) for r in records]
        for sub in compiled.subforms:
            if wanted is None or sub.key in wanted:
                rows_by_parent = self._child_rows(conn, compiled, tables, sub, ids)
                for record in records:
                    record[sub.key] = rows_by_parent.get(int(record["id"]), [])
        for link in compiled.link_fields:
            if wanted is None or link.key in wanted:
                targets = self._links(conn, tables, link, ids)
                for record in records:
                    record[link.key] = targets.get(int(record["id"]), [])
        for lookup in compiled.lookups:
            if wanted is not None and lookup.key not in wanted:
                continue
            relation = compiled.form.get_field(lookup.relation)
            target_ids = {r.get(lookup.relation) for r in records} - {None}
            if compiled.storage[relation.key] != "column" or not target_ids:
                for record in records:
                    record[lookup.key] = None
                continue
            values = self._field_values(conn, str(relation.setting("target")), lookup.field, target_ids)
            for record in records:
                record[lookup.key] = values.get(record.get(lookup.relation))
        for record in records:
            for key in through:
                record.pop(key, None)
        return records

    def _child_rows(
        self, conn: Connection, compiled: CompiledForm, tables: FormTables, sub: FieldDef,
        ids: list[int],
    ) -> dict[int, list[Record]]:
        table = tables.field_tables(sub.key)[0]
        types = compiled.child_types[sub.key]
        query = sa.select(table).where(table.c.parent_id.in_(ids)).order_by(
            table.c.parent_id, table.c.position, table.c.id
        )
        result: dict[int, list[Record]] = {}
        for row in conn.execute(query):
            mapping = row._mapping
            child: Record = {"id": mapping["id"]}
            for c in sub.fields:
                if types[c.key].stored and types[c.key].storage_for(c) == "column":
                    child[c.key] = types[c.key].from_db(c, cast(Mapping[str, Any], mapping))
            result.setdefault(int(mapping["parent_id"]), []).append(child)
        return result

    @staticmethod
    def _links(conn: Connection, tables: FormTables, link: FieldDef, ids: list[int]) -> dict[int, list[int]]:
        table = tables.field_tables(link.key)[0]
        query = sa.select(table.c.source_id, table.c.target_id).where(table.c.source_id.in_(ids)).order_by(
            table.c.source_id, table.c.position
        )
        result: dict[int, list[int]] = {}
        for source_id, target_id in conn.execute(query):
            result.setdefault(int(source_id), []).append(int(target_id))
        return result

    def _field_values(self, conn: Connection, form_key: str, key: str, ids: set[Any]) -> dict[Any, Any]:
        compiled, tables = self.service.form(form_key)
        f = compiled.fields.get(key)
        if key in SYSTEM_FIELDS:
            column = tables.main.c[key]
            return dict(conn.execute(sa.select(tables.main.c.id, column).where(tables.main.c.id.in_(ids))).all())
        if f is None or compiled.storage[key] != "column":
            return {}
        rows = conn.execute(sa.select(tables.main).where(tables.main.c.id.in_(ids)))
        return {row.id: compiled.types[key].from_db(f, cast(Mapping[str, Any], row._mapping)) for row in rows}

    # --- for computing ------------------------------------------------------------
    def related(self, conn: Connection, compiled: CompiledForm, values: Mapping[str, Any],
                keys: Iterable[str] | None = None) -> dict[str, Any]:
        """Relation key -> the related record as formulas see it (with ``id``),
        for the relations the form's formulas read through (or ``keys``)."""
        related: dict[str, Any] = {}
        for key in compiled.related_paths if keys is None else keys:
            relation = compiled.form.get_field(key)
            target_id = values.get(key)
            if target_id is None or compiled.storage[key] != "column":
                related[key] = None
                continue
            target_key = str(relation.setting("target"))
            target_compiled, target_tables = self.service.form(target_key)
            row = conn.execute(self.by_id(target_key), {"_id": target_id}).first()
            if row is None:
                related[key] = None
                continue
            record = self.hydrate(conn, target_compiled, target_tables, [row._mapping], fields=[
                f.key for f in target_compiled.stored_fields
            ])[0]
            seen = target_compiled.formula_values(record)
            title_field = target_compiled.form.title_field
            seen["_title"] = record.get(title_field) if title_field else record.get("id")
            related[key] = seen
        return related

    def row_related(
        self, conn: Connection, compiled: CompiledForm, values: Mapping[str, Any]
    ) -> dict[str, list[dict[str, Any]]]:
        """Per subform, per row: relation key -> the related record as row
        formulas see it (``product.sales_price`` in a quote line)."""
        result: dict[str, list[dict[str, Any]]] = {}
        for sub_key, paths in compiled.child_related.items():
            sub = compiled.fields[sub_key]
            rows = list(values.get(sub_key) or ())
            loaded: dict[str, dict[Any, Any]] = {}
            for key in paths:
                relation = sub.child(key)
                ids = {row.get(key) for row in rows} - {None}
                loaded[key] = self._records_by_id(conn, str(relation.setting("target")), ids) if relation else {}
            result[sub_key] = [{key: loaded[key].get(row.get(key)) for key in paths} for row in rows]
        return result

    def _records_by_id(self, conn: Connection, form_key: str, ids: set[Any]) -> dict[Any, Any]:
        if not ids:
            return {}
        target_compiled, target_tables = self.service.form(form_key)
        rows = [r._mapping for r in conn.execute(
            sa.select(target_tables.main).where(target_tables.main.c.id.in_(sorted(ids))))]
        found: dict[Any, Any] = {}
        for record in self.hydrate(conn, target_compiled, target_tables, rows,
                                   fields=[f.key for f in target_compiled.stored_fields]):
            seen = target_compiled.formula_values(record)
            title = target_compiled.form.title_field
            seen["_title"] = record.get(title) if title else record.get("id")
            found[record["id"]] = seen
        return found

    def outside_rollups(self, conn: Connection, compiled: CompiledForm, record_id: int | None,
                        only: Collection[str] | None = None) -> dict[str, Any]:
        """The rollups over other forms' records pointing at this record
        (``only``: just these; the others are left out)."""
        result: dict[str, Any] = {}
        for rollup in compiled.rollups:
            if rollup.other_form is None or (only is not None and rollup.key not in only):
                continue
            result[rollup.key] = self._outside_rollup(conn, compiled, rollup, record_id)
        return result

    def _outside_rollup(
        self, conn: Connection, compiled: CompiledForm, rollup: Rollup, record_id: int | None
    ) -> Any:
        if record_id is None:
            return self.rollup_value(compiled, rollup, None)
        value = conn.execute(self.rollup_query(compiled, rollup), {"_parent": record_id}).scalar()
        return self.rollup_value(compiled, rollup, value)

    @staticmethod
    def rollup_value(compiled: CompiledForm, rollup: Rollup, value: Any) -> Any:
        """A rollup over another form from its aggregate (None: no child
        counted): the rollup's own type reads it as a stored value (money at
        its precision, a latest date-time as an aware moment); nothing counted
        is 0 for a sum or count, blank otherwise."""
        rollup_field = compiled.fields[rollup.key]
        if value is None:
            if rollup.aggregate not in ("sum", "count"):
                return None
            value = Decimal(0)
        return compiled.types[rollup.key].from_db(rollup_field, {rollup.key: value})

    def rollup_query(self, compiled: CompiledForm, rollup: Rollup, *, grouped: bool = False) -> Any:
        """The statement of a rollup over another form, built once a day (its
        ``where`` may name today) and reused: every write to a child runs its
        parent's rollup, and building the filter cost more than running it.
        ``grouped``: the rollup of every parent in ``_parents`` at once, as
        (parent id, aggregate) rows (engine/records/rollup_refresh.py)."""
        today = self.service.clock.today()
        key = (compiled.form.key, rollup.key, today, grouped)
        query = self._rollups.get(key)
        if query is not None:
            return query
        assert rollup.other_form is not None and rollup.relation is not None
        other_compiled, other_tables = self.service.form(rollup.other_form)
        main = other_tables.main
        measure: Any
        if rollup.aggregate == "count":
            measure = sa.func.count(main.c[rollup.field]) if rollup.field else sa.func.count()
        else:
            measure = getattr(sa.func, rollup.aggregate)(main.c[str(rollup.field)])
        parent = main.c[rollup.relation]
        if grouped:
            query = (sa.select(parent, measure)
                     .where(parent.in_(sa.bindparam("_parents", expanding=True))).group_by(parent))
        else:
            query = sa.select(measure).where(parent == sa.bindparam("_parent"))
        if rollup.where:
            from engine.records.filters import compile_filter

            query = query.where(compile_filter(
                rollup.where, other_compiled.form, self.service.app, self.service.field_types,
                tables=other_tables, today=today,
            ))
        if any(key[2] != today for key in self._rollups):
            self._rollups.clear()  # yesterday's statements
        self._rollups[key] = query
        return query

    def check_relations(
        self, conn: Connection, compiled: CompiledForm, values: Mapping[str, Any],
        errors: FieldErrors, given: set[str], guard: PathGuard | None = None,
    ) -> None:
        """Every related id points at an existing record of the target form
        that the writer may read (``guard``), in the record and in its subform
        rows (``items[0].product``): a record they cannot read is reported as
        missing, so linking to it tells nothing either, and a missing one is
        the writer's mistake, not a database constraint."""
        for f in compiled.relations:
            if f.key not in given or f.key in errors:
                continue
            self._check_ids(conn, f, values.get(f.key), f.key, errors, guard)
        self.check_row_relations(conn, compiled, values, errors, given, guard)

    def check_row_relations(
        self, conn: Connection, compiled: CompiledForm, values: Mapping[str, Any],
        errors: FieldErrors, given: set[str], guard: PathGuard | None = None,
    ) -> None:
        """Every related id in the subform rows of ``given`` exists."""
        for sub in compiled.subforms:
            if sub.key not in given or sub.key in errors:
                continue
            types = compiled.child_types[sub.key]
            for child in sub.fields:
                if types[child.key].role != "relation" or types[child.key].storage_for(child) != "column":
                    continue
                for index, row in enumerate(values.get(sub.key) or ()):
                    where = f"{sub.key}[{index}].{child.key}"
                    if where not in errors:
                        self._check_ids(conn, child, row.get(child.key), where, errors, guard)

    def _check_ids(
        self, conn: Connection, f: FieldDef, value: Any, where: str, errors: FieldErrors,
        guard: PathGuard | None = None,
    ) -> None:
        ids = [value] if not isinstance(value, list | tuple) else list(value)
        ids = [i for i in ids if i is not None]
        if not ids:
            return
        target, found = self.readable_ids(conn, str(f.setting("target")), ids, guard)
        missing = [i for i in ids if i not in found]
        if missing:
            errors.setdefault(where, []).append(missing_records(target, missing))

    def readable_ids(
        self, conn: Connection, form_key: str, ids: Iterable[Any], guard: PathGuard | None,
    ) -> tuple[FormDef, set[Any]]:
        """The form ``form_key`` and which of ``ids`` name its records that the
        writer may read (``guard``; all of them for the system), in chunks of
        bound parameters. A record they cannot read counts as missing."""
        target_compiled, target_tables = self.service.form(form_key)
        main = target_tables.main
        readable = guard.scope(target_compiled.form, main) if guard is not None else None
        wanted = sorted(set(ids))
        found: set[Any] = set()
        for start in range(0, len(wanted), ID_CHUNK):
            found.update(conn.execute(
                sa.select(main.c.id).where(main.c.id.in_(wanted[start:start + ID_CHUNK]))
                .where(*([readable] if readable is not None else []))).scalars())
        return target_compiled.form, found

    # --- rows a record owns ------------------------------------------------------
    def write_children(
        self, conn: Connection, compiled: CompiledForm, tables: FormTables, record_id: int,
        values: Mapping[str, Any], *, creating: bool, only: set[str] | None = None,
    ) -> None:
        for sub in compiled.subforms:
            if creating or (only is not None and sub.key in only):
                self._write_rows(conn, compiled, tables, sub, record_id, values.get(sub.key) or [], creating)
        for link in compiled.link_fields:
            if creating or (only is not None and link.key in only):
                table = tables.field_tables(link.key)[0]
                if not creating:
                    conn.execute(table.delete().where(table.c.source_id == record_id))
                targets = list(dict.fromkeys(values.get(link.key) or []))
                if targets:
                    conn.execute(table.insert(), [
                        {"source_id": record_id, "target_id": t, "position": i}
                        for i, t in enumerate(targets)
                    ])

    def _write_rows(
        self, conn: Connection, compiled: CompiledForm, tables: FormTables, sub: FieldDef,
        record_id: int, rows: Sequence[Mapping[str, Any]], creating: bool,
    ) -> None:
        table = tables.field_tables(sub.key)[0]
        types = compiled.child_types[sub.key]
        existing: dict[int, Mapping[Any, Any]] = {}
        if not creating:
            existing = {
                int(r.id): r._mapping
                for r in conn.execute(sa.select(table).where(table.c.parent_id == record_id))
            }
        kept: set[int] = set()
        inserts: list[dict[str, Any]] = []
        for position, row in enumerate(rows):
            data: dict[str, Any] = {"parent_id": record_id, "position": position}
            for c in sub.fields:
                if types[c.key].stored and types[c.key].storage_for(c) == "column":
                    data.update(types[c.key].to_db(c, row.get(c.key)))
            row_id = row.get("id")
            if row_id is not None and int(row_id) in existing:
                kept.add(int(row_id))
                old = existing[int(row_id)]
                if any(not same(old.get(k), v) for k, v in data.items()):
                    conn.execute(table.update().where(table.c.id == int(row_id)).values(data))
            else:
                inserts.append(data)
        gone = set(existing) - kept
        if gone:
            conn.execute(table.delete().where(table.c.id.in_(gone)))
        if inserts:
            conn.execute(table.insert(), inserts)

    def delete_children(self, conn: Connection, compiled: CompiledForm, tables: FormTables, record_id: int) -> None:
        for sub in compiled.subforms:
            table = tables.field_tables(sub.key)[0]
            conn.execute(table.delete().where(table.c.parent_id == record_id))
        for link in compiled.link_fields:
            table = tables.field_tables(link.key)[0]
            conn.execute(table.delete().where(table.c.source_id == record_id))

    # --- lists -------------------------------------------------------------------------
    def list(
        self, conn: Connection, form_key: str, *, filter: Mapping[str, Any] | None,
        sort: Sequence[Mapping[str, Any] | str], search: str | None, limit: int,
        after: str | None, fields: Sequence[str] | None, user_id: int | None,
        policy: FormPolicy | None = None,
    ) -> dict[str, Any]:
        from engine.records import query as list_query

        compiled, tables = self.service.form(form_key)
        if fields is not None:
            check_selection(compiled, fields)
        today = self.service.clock.today()
        restricted = policy is not None and not policy.unrestricted
        scope_key = policy.access.cache_key if restricted and policy and policy.access else None
        key = _page_key(form_key, filter, sort, search, limit, after, user_id, today, scope_key)
        page = self._pages.get(key) if key is not None else None
        if page is None:
            unsearchable: frozenset[str] = frozenset()
            if restricted and policy is not None:
                every = policy.rights.fields_every_reader_shows(compiled.fields)
                unsearchable = frozenset(compiled.fields) - every
            page = list_query.build_list_query(
                compiled.form, self.service.app, self.service.field_types, filter=filter,
                sort=sort, search=search, limit=limit, after=after, user_id=user_id,
                today=today, tables=tables, unsearchable=unsearchable,
                guard=policy.guard() if restricted and policy is not None else None,
            )
            if restricted and policy is not None:
                scope = policy.read_clause()
                select = page.select.where(scope) if scope is not None else page.select
                page = replace(page, select=select.add_columns(*policy.reader_flags()))
            if key is not None:
                if len(self._pages) >= 512:
                    self._pages.pop(next(iter(self._pages)))
                self._pages[key] = page
        with deadline(conn, self.query_timeout):
            result = conn.execute(page.select)
            keys = list(result.keys())
            rows = [dict(zip(keys, row, strict=True)) for row in result.all()]
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = page.cursor(rows[-1]) if more and rows else None
        records = self.hydrate(conn, compiled, tables, rows, fields)
        if restricted and policy is not None:
            policy.mask_lookups(conn, records)
            records = [policy.strip(record) for record in records]
        return {"records": records, "next": next_cursor}

    def count(
        self, conn: Connection, form_key: str, *, filter: Mapping[str, Any] | None,
        search: str | None, cap: int, user_id: int | None, policy: FormPolicy | None = None,
    ) -> tuple[int, bool]:
        from engine.records import query as list_query

        compiled, tables = self.service.form(form_key)
        scope = policy.read_clause() if policy is not None else None
        unsearchable: frozenset[str] = frozenset()
        if policy is not None and not policy.unrestricted:
            unsearchable = frozenset(compiled.fields) - policy.rights.fields_every_reader_shows(compiled.fields)
        statement = list_query.count_query(
            compiled.form, self.service.app, self.service.field_types, filter=filter,
            search=search, cap=cap, user_id=user_id, today=self.service.clock.today(), tables=tables,
            unsearchable=unsearchable, scope=scope,
            guard=policy.guard() if policy is not None and not policy.unrestricted else None,
        )
        with deadline(conn, self.query_timeout):
            counted = int(conn.execute(statement).scalar_one())
        return (min(counted, cap), counted <= cap)




def check_selection(compiled: CompiledForm, fields: Sequence[str]) -> None:
    """Refuse a ``fields`` selection naming no field of the form: a typo
    would otherwise answer records without the column asked for."""
    from engine.records.filters import QueryError
    from engine.records.prepare import unknown_field

    for key in fields:
        if key not in compiled.fields and key not in SYSTEM_FIELDS:
            problem = unknown_field(compiled.form, key)
            raise QueryError(Label(f"参数 fields：{problem.zh}", f"Parameter fields: {problem.en}"), "fields")
