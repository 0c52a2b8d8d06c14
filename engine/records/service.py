"""The one write path for records: ``RecordService``.

Every record — from the web, the API, an import or a rule — is created,
updated and deleted here, each in one transaction:

coercion and validation (all errors, per field, both languages) -> defaults
(fixed, formula) -> formula fields, lookups and rollups in dependency order
-> form rules -> serial numbers -> write with optimistic locking on
``version`` -> audit entry with the field-level diff -> domain events ->
rollups of the records this one counts towards.

Nothing is half-written: a failure anywhere rolls the whole write back.
"""

from __future__ import annotations

import builtins
import datetime as dt
import difflib
import functools
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.clock import Clock, SystemClock
from engine.core.errors import (
    ConflictError,
    DuplicateValueError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.model import AppDef, FormDef
from engine.expr import EvaluationContext
from engine.fields.base import FieldType
from engine.records.access import FormPolicy, filter_paths

# Actor and SYSTEM are re-exported: callers import them with the service.
from engine.records.actor import SYSTEM as SYSTEM
from engine.records.actor import Actor as Actor
from engine.records.actor import evaluation_context, owner_problems
from engine.records.blockers import release_or_refuse
from engine.records.compiled import SYSTEM_FIELDS, CompiledForm, FormState, compiled_form
from engine.records.ending import AUDIT_INSERT, audit_row, changed_fields, finish
from engine.records.events import EventBus
from engine.records.file_refs import check_record_files
from engine.records.flow_lock import RUNNING, refuse_locked
from engine.records.links import apply_linked_defaults
from engine.records.prepare import (
    FieldErrors,
    apply_defaults,
    check_unique,
    coerce,
    only_taken_values,
    validate_values,
)
from engine.records.reader import RecordReader
from engine.records.rollup_refresh import refresh_parents
from engine.records.serials import draw_serials
from engine.records.values import same
from engine.store.database import Database
from engine.store.tables import FormTables, form_tables

Record = dict[str, Any]




class RecordService:
    """Create, update, delete, get and list the records of one app."""

    def __init__(
        self,
        database: Database,
        app: AppDef,
        *,
        field_types: Registry[FieldType] | None = None,
        clock: Clock | None = None,
        bus: EventBus | None = None,
    ) -> None:
        if field_types is None:
            from engine.fields import FIELD_TYPES

            field_types = FIELD_TYPES
        self.database = database
        self.app = app
        self.field_types = field_types
        self.clock = clock or SystemClock()
        self.bus = bus or EventBus()
        self.reader = RecordReader(self)
        self._forms: dict[str, tuple[CompiledForm, FormTables]] = {}
        self._inserts: dict[str, sa.Insert] = {}
        # form key -> [(parent form, rollup key)] of rollups counting that form's records
        self._dependents: dict[str, list[tuple[str, str]]] = {}
        for form in app.forms:
            compiled = compiled_form(form, field_types)
            for rollup in compiled.rollups:
                if rollup.other_form:
                    self._dependents.setdefault(rollup.other_form, []).append((form.key, rollup.key))

    # --- forms ---------------------------------------------------------------
    def form(self, key: str) -> tuple[CompiledForm, FormTables]:
        """The compiled form and its tables; an unknown form is NotFoundError."""
        found = self._forms.get(key)
        if found is None:
            form = self.app.form(key)
            if form is None:
                close = difflib.get_close_matches(key, [f.key for f in self.app.forms], n=1)
                hint = f" — did you mean {close[0]}?" if close else ""
                raise NotFoundError(
                    Label(f"应用 {self.app.key} 没有表单 {key}", f"App {self.app.key} has no form {key}{hint}")
                )
            found = (compiled_form(form, self.field_types), form_tables(form, self.field_types))
            self._forms[key] = found
        return found

    def _insert(self, tables: FormTables) -> sa.Insert:
        statement = self._inserts.get(tables.main.name)
        if statement is None or statement.table is not tables.main:
            statement = self._inserts[tables.main.name] = tables.main.insert()
        return statement

    @contextmanager
    def transaction(self, connection: Connection | None = None) -> Iterator[Connection]:
        """The caller's transaction, or a new one committed at the end. A
        constraint the checks did not foresee (two writers racing for one
        unique value) is a ConflictError, never a driver traceback."""
        try:
            if connection is not None:
                yield connection
                return
            with self.database.transaction() as own:
                yield own
        except sa.exc.IntegrityError as exc:
            raise ConflictError(
                Label("数据与其他记录冲突（唯一或引用约束），未保存",
                      "The data conflicts with another record (a unique or reference rule); nothing was saved"),
                details={"constraint": str(exc.orig).splitlines()[0] if exc.orig else None},
            ) from None

    @contextmanager
    def reading(self, connection: Connection | None = None) -> Iterator[Connection]:
        """The caller's connection, or a read-only one of our own."""
        if connection is not None:
            yield connection
            return
        with self.database.reading() as own:
            yield own

    def context(
        self, conn: Connection, compiled: CompiledForm, actor: Actor,
        previous: Mapping[str, Any] | None = None,
    ) -> EvaluationContext:
        """What formulas know besides the record: the actor (user, main
        department, roles; looked up only for forms whose formulas ask), the
        clock, the previous values."""
        if not compiled.uses_actor:
            return EvaluationContext(clock=self.clock, previous=previous,
                                     user={"id": actor.user_id} if actor.user_id is not None else None)
        return evaluation_context(conn, self.clock, actor, previous)

    # --- reading -------------------------------------------------------------------
    def get(
        self, form_key: str, record_id: int, *, actor: Actor = SYSTEM,
        connection: Connection | None = None,
    ) -> Record:
        """The record, with subform rows, multi-relation ids and lookups; a
        record outside the actor's read scope is NotFoundError."""
        policy = actor.policy(self, form_key)
        policy.require("read")
        with self.reading(connection) as conn:
            return self.reader.get(conn, form_key, record_id, policy)

    def list(
        self,
        form_key: str,
        *,
        filter: Mapping[str, Any] | None = None,
        sort: Sequence[Mapping[str, Any] | str] = (),
        search: str | None = None,
        limit: int = 50,
        after: str | None = None,
        fields: Sequence[str] | None = None,
        actor: Actor = SYSTEM,
        connection: Connection | None = None,
    ) -> dict[str, Any]:
        """A page of records: ``{"records": [...], "next": cursor or None}``,
        only those in the actor's read scope, without fields they may not see."""
        policy = actor.policy(self, form_key)
        policy.require("read")
        policy.check_readable_paths([*filter_paths(filter), *_sort_paths(sort)])
        with self.reading(connection) as conn:
            return self.reader.list(
                conn, form_key, filter=filter, sort=sort, search=search, limit=limit,
                after=after, fields=fields, user_id=actor.user_id, policy=policy,
            )

    def count(
        self,
        form_key: str,
        *,
        filter: Mapping[str, Any] | None = None,
        search: str | None = None,
        cap: int = 10_000,
        actor: Actor = SYSTEM,
        connection: Connection | None = None,
    ) -> tuple[int, bool]:
        """How many records match, counting at most ``cap``: (count, exact)."""
        policy = actor.policy(self, form_key)
        policy.require("read")
        policy.check_readable_paths(filter_paths(filter))
        with self.reading(connection) as conn:
            return self.reader.count(conn, form_key, filter=filter, search=search, cap=cap,
                                     user_id=actor.user_id, policy=policy)

    def evaluate(
        self,
        form_key: str,
        values: Mapping[str, Any],
        *,
        record_id: int | None = None,
        actor: Actor = SYSTEM,
        connection: Connection | None = None,
        defaults: bool = False,
    ) -> FormState:
        """The live form for ``values`` (merged over the stored record when
        ``record_id`` is given), with related records and rollups from the database.
        ``defaults``: a new record's fields left out of ``values`` take their
        defaults, as ``create`` would give them (a blank form being opened)."""
        from engine.records.live import coerce_leniently

        compiled, _ = self.form(form_key)
        with self.transaction(connection) as conn:
            previous = self.reader.get(conn, form_key, record_id) if record_id is not None else {}
            clean, problems = coerce_leniently(compiled, values)
            merged = {**previous, **clean}
            context = self.context(conn, compiled, actor, compiled.formula_values(previous) if previous else None)
            if defaults and record_id is None:
                apply_defaults(compiled, merged, values, context)
            if compiled.has_links:
                apply_linked_defaults(self, conn, compiled, merged, values, context,
                                      creating=record_id is None)
            state = self._compute(conn, compiled, merged, context, record_id=record_id)
            state.input_errors.update(problems)
            state.inputs = clean
            return state

    # --- writing -------------------------------------------------------------------
    def create(
        self,
        form_key: str,
        values: Mapping[str, Any],
        *,
        actor: Actor = SYSTEM,
        connection: Connection | None = None,
    ) -> Record:
        """Create a record from input values; ValidationError lists every problem."""
        compiled, tables = self.form(form_key)
        policy = actor.policy(self, form_key)
        policy.require("create")
        with self.transaction(connection) as conn:
            data, errors = coerce(compiled, values, creating=True)
            for key, problems in policy.check_writable(values, policy.creating_grants()).items():
                errors.setdefault(key, []).extend(problems)
            moved = owner_problems(policy, actor, actor.user_id, data["owner"]) if "owner" in data else []
            if moved:
                errors.setdefault("owner", []).extend(moved)
            context = self.context(conn, compiled, actor)
            apply_defaults(compiled, data, values, context)
            if compiled.has_links:
                apply_linked_defaults(self, conn, compiled, data, values, context, creating=True)
            now = self.clock.now()
            # Numbers are drawn before formulas run, so a formula may read them;
            # a refused write rolls the counter back with everything else.
            if not errors:
                for f in compiled.serials:
                    data[f.key] = draw_serials(conn, self.app.key, compiled.form.key, f,
                                               compiled.types[f.key], now.date())[0]
            state = self._compute(conn, compiled, data, context, record_id=None)
            self._validate(conn, compiled, tables, state, errors, given=set(values), record_id=None,
                           policy=policy)
            if errors:
                raise _invalid(compiled.form, errors)
            row = self.row(compiled, state.values)
            stamp = now.astimezone(dt.UTC)
            row.update(
                owner=data.get("owner", actor.user_id), created_by=actor.user_id, created_at=stamp,
                updated_by=actor.user_id, updated_at=stamp, version=1,
            )
            # Values go as parameters, not .values(): the statement compiles once per form.
            inserted = conn.execute(self._insert(tables), row).inserted_primary_key
            assert inserted is not None
            record_id = int(inserted[0])
            self.reader.write_children(conn, compiled, tables, record_id, state.values, creating=True)
            record = self.created_records(conn, compiled, tables, [record_id], [row], [state.values])[0]
            finish(self, conn, compiled, "create", actor, record, None,
                   changed_fields(compiled, None, record))
            return record if policy.unrestricted else policy.strip(dict(record))

    def created_records(
        self, conn: Connection, compiled: CompiledForm, tables: FormTables, ids: Sequence[int],
        rows: Sequence[Mapping[str, Any]], values: Sequence[Mapping[str, Any]],
    ) -> builtins.list[Record]:
        """The records just written, in the shape ``get`` gives (fields and
        system columns, never storage columns), without reading them back:
        the values are canonical already (coercion gives what the column
        returns). Child rows and links are read back, for their ids."""
        if compiled.needs_reading_back:
            return self.reader.hydrate(conn, compiled, tables,
                                       [{**row, "id": i} for i, row in zip(ids, rows, strict=True)])
        records = []
        for record_id, row, given in zip(ids, rows, values, strict=True):
            record: Record = {key: row.get(key) for key in SYSTEM_FIELDS}
            record["id"] = record_id
            for f in compiled.stored_fields:
                record[f.key] = given.get(f.key)
            for lookup in compiled.lookups:
                record[lookup.key] = given.get(lookup.key)
            records.append(record)
        return records

    def create_many(
        self,
        form_key: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        actor: Actor = SYSTEM,
        connection: Connection | None = None,
    ) -> builtins.list[int]:
        """Create many records, all or nothing (see ``engine.records.batch``);
        ``RowsInvalid`` lists every bad row. Returns the new ids in order."""
        from engine.records.batch import create_many

        with self.transaction(connection) as conn:
            return create_many(self, conn, form_key, rows, actor)

    def update(
        self,
        form_key: str,
        record_id: int,
        changes: Mapping[str, Any],
        *,
        version: int | None,
        actor: Actor = SYSTEM,
        connection: Connection | None = None,
    ) -> Record:
        """Change some fields of a record that is at ``version``; a stale
        version is a ConflictError, so no one overwrites a change unseen.
        ``version=None`` skips the check (imports, system recomputation)."""
        compiled, tables = self.form(form_key)
        policy = actor.policy(self, form_key)
        with self.transaction(connection) as conn:
            writers = self._writable(conn, policy, record_id, "update")
            previous = self.reader.get(conn, form_key, record_id)
            if version is not None and int(previous["version"]) != int(version):
                raise _stale(compiled.form, record_id, int(previous["version"]), int(version))
            data, errors = coerce(compiled, changes, creating=False)
            changing = [k for k in changes if not same(previous.get(k), data.get(k, changes[k]))]
            if previous.get("flow_status") == RUNNING and changing:
                refuse_locked(self, conn, form_key, previous, changing, actor)
            for key, problems in policy.check_writable(changing, writers).items():
                errors.setdefault(key, []).extend(problems)
            merged = {**previous, **data}
            context = self.context(conn, compiled, actor, compiled.formula_values(previous))
            if compiled.has_links:
                apply_linked_defaults(self, conn, compiled, merged, changes, context, creating=False)
            state = self._compute(conn, compiled, merged, context, record_id=record_id)
            changed = {
                f.key for f in compiled.form.fields
                if compiled.types[f.key].stored and not same(previous.get(f.key), state.values.get(f.key))
            }
            for key in sorted(set(data) & changed):
                # Read-only is for people: a rule's action stamps such fields
                # (the pool's previous owner) as the form's own rules do.
                if key != "owner" and state.readonly.get(key) and actor.source != "rule":
                    errors.setdefault(key, []).append(Label("该字段只读，不能修改", "This field is read-only"))
            self._validate(conn, compiled, tables, state, errors, given=changed, record_id=record_id,
                           policy=policy)
            if errors:
                raise _invalid(compiled.form, errors)
            if "owner" in data and not same(previous.get("owner"), data["owner"]):
                problems = owner_problems(policy, actor, previous.get("owner"), data["owner"])
                if problems:
                    raise _invalid(compiled.form, {"owner": problems})
                changed.add("owner")
            if not changed:  # nothing to write: no new version, no audit entry, no event
                return previous if policy.unrestricted else policy.strip(dict(previous))
            self._write_update(conn, compiled, tables, record_id, int(previous["version"]),
                               state.values, changed, actor)
            record = self.reader.get(conn, form_key, record_id)
            finish(self, conn, compiled, "update", actor, record, previous, changed)
            return record if policy.unrestricted else policy.strip(dict(record))

    def delete(
        self,
        form_key: str,
        record_id: int,
        *,
        version: int | None = None,
        actor: Actor = SYSTEM,
        connection: Connection | None = None,
    ) -> None:
        """Delete a record (its subform rows and links go with it). A record
        that others still point at is a ConflictError naming them."""
        compiled, tables = self.form(form_key)
        policy = actor.policy(self, form_key)
        with self.transaction(connection) as conn:
            self._writable(conn, policy, record_id, "delete")
            previous = self.reader.get(conn, form_key, record_id)
            if version is not None and int(previous["version"]) != int(version):
                raise _stale(compiled.form, record_id, int(previous["version"]), int(version))
            if previous.get("flow_status") == RUNNING:
                refuse_locked(self, conn, form_key, previous, None, actor)
            release_or_refuse(self, conn, compiled.form, record_id)
            self.reader.delete_children(conn, compiled, tables, record_id)
            conn.execute(tables.main.delete().where(tables.main.c.id == record_id))
            finish(self, conn, compiled, "delete", actor, previous, previous,
                   changed_fields(compiled, previous, None))

    def _writable(
        self, conn: Connection, policy: FormPolicy, record_id: int, action: str
    ) -> tuple[Any, ...]:
        """The grants that let the actor ``action`` this record. Outside the
        read scope the record is not found; readable but outside every write
        scope, the action is refused."""
        if policy.unrestricted:
            return ()
        self.reader.get(conn, policy.form_key, record_id, policy)  # NotFoundError when unreadable
        policy.require(action)
        main = policy.tables.main
        grants = []
        for grant in policy.rights.writers:
            if not grant.allows(action) or grant.write is None:
                continue
            clause = policy.scope_clause(grant.write)
            if conn.execute(sa.select(main.c.id).where(main.c.id == record_id, clause)).first():
                grants.append(grant)
        if not grants:
            raise PermissionDenied(
                Label(f"没有{'修改' if action == 'update' else '删除'}这条记录的权限",
                      f"You may not {action} this record"),
                details={"form": policy.form_key, "record": record_id, "action": action},
            )
        return tuple(grants)

    # --- the steps -------------------------------------------------------------------
    def _validate(
        self,
        conn: Connection,
        compiled: CompiledForm,
        tables: FormTables,
        state: FormState,
        errors: FieldErrors,
        *,
        given: set[str],
        record_id: int | None,
        policy: FormPolicy | None = None,
    ) -> None:
        validate_values(compiled, state, errors, given=given, creating=record_id is None)
        check_record_files(conn, compiled, state.values, errors, given)
        self.reader.check_relations(conn, compiled, state.values, errors, given,
                                    policy.guard() if policy is not None else None)
        check_unique(conn, compiled, tables, state.values, errors, given, record_id)

    def _compute(
        self,
        conn: Connection,
        compiled: CompiledForm,
        values: dict[str, Any],
        context: EvaluationContext,
        *,
        record_id: int | None,
        rollups: Collection[str] | None = None,
        outside: Mapping[str, Any] | None = None,
    ) -> FormState:
        """``outside``: the rollups over other forms, when the caller counted
        them already (else those named by ``rollups``, all by default)."""
        related = self.reader.related(conn, compiled, values) if compiled.related_paths else None
        if outside is None:
            outside = self.reader.outside_rollups(conn, compiled, record_id, rollups)
        rows = self.reader.row_related(conn, compiled, values) if compiled.child_related else None
        return compiled.compute(values, context, related, outside, rows)

    def row(self, compiled: CompiledForm, values: Mapping[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for f, encode in compiled.encoders:
            if encode is None:
                row[f.key] = values.get(f.key)
            else:
                row.update(encode(f, values.get(f.key)))
        return row

    def _write_update(
        self,
        conn: Connection,
        compiled: CompiledForm,
        tables: FormTables,
        record_id: int,
        version: int,
        values: Mapping[str, Any],
        changed: set[str],
        actor: Actor,
        *,
        recompute: bool = False,
    ) -> None:
        """Write the changed fields, with optimistic locking on ``version``. A
        person's edit bumps the version and stamps the author; a recompute
        (computed values only) leaves both, see ``engine.records.ending``."""
        row: dict[str, Any] = {}
        for f in compiled.stored_fields:
            if f.key in changed:
                row.update(compiled.types[f.key].to_db(f, values.get(f.key)))
        if "owner" in changed:
            row["owner"] = values.get("owner")
        if not recompute:
            row.update(updated_by=actor.user_id, updated_at=self.clock.now().astimezone(dt.UTC),
                       version=version + 1)
        main = tables.main
        statement = main.update().where(
            main.c.id == sa.bindparam("_record_id"), main.c.version == sa.bindparam("_version")
        )
        result = conn.execute(statement, {**row, "_record_id": record_id, "_version": version})
        if result.rowcount != 1:
            current = conn.execute(sa.select(main.c.version).where(main.c.id == record_id)).scalar()
            if current is None:
                raise _not_found(compiled.form, record_id)
            raise _stale(compiled.form, record_id, int(current), version)
        self.reader.write_children(conn, compiled, tables, record_id, values, creating=False,
                                   only=changed)

    def audit(
        self, conn: Connection, form: FormDef, record_id: int | None, action: str, actor: Actor,
        changes: dict[str, Any],
    ) -> None:
        AUDIT_INSERT.execute(conn, audit_row(self, form.key, record_id, action, actor, changes))

    def refresh_dependents(
        self, conn: Connection, form: FormDef, records: Sequence[Mapping[str, Any]], actor: Actor
    ) -> None:
        """Recompute the rollups (and what reads them) of the records these
        count towards, each parent once, one cascade level deeper: a payment
        receipt changes its contract's ``received`` and ``outstanding``. Only
        the rollups over this form are counted again; the parent's others
        keep their stored values (their own children keep them current).
        Many parents of one form are refreshed set-based, see
        ``engine.records.rollup_refresh``."""
        dependents = self._dependents.get(form.key, ())
        if not dependents:
            return
        caused = actor.caused("recompute")  # a cycle is refused even with no parent set
        parents: dict[tuple[str, int], set[str]] = {}
        for parent_form, rollup_key in dependents:
            parent_compiled, _ = self.form(parent_form)
            rollup = next(r for r in parent_compiled.rollups if r.key == rollup_key)
            assert rollup.relation is not None
            for rec in records:
                if rec.get(rollup.relation) is not None:
                    parents.setdefault((parent_form, int(rec[rollup.relation])), set()).add(rollup_key)
        if parents:
            refresh_parents(self, conn, form.key, parents, caused)

    def recompute(
        self, form_key: str, record_id: int, *, actor: Actor = SYSTEM,
        connection: Connection | None = None, rollups: Collection[str] | None = None,
    ) -> Record | None:
        """Recompute a record's computed fields and write those that changed,
        with an audit entry (``recompute``, by the system) and an event, but
        no new version or author: see ``engine.records.ending``. ``rollups``
        limits the rollups over other forms counted again (default: all).
        None when gone."""
        compiled, tables = self.form(form_key)
        with self.transaction(connection) as conn:
            # Lock the row before reading it, so nobody's edit lands between the
            # read and the write (a 409 for a follow-up nobody could have seen).
            # FOR NO KEY UPDATE leaves the key share that a child's foreign key
            # check takes alone: two follow-ups of one customer do not deadlock.
            # SQLite renders no lock clause; its writers are serialized already.
            conn.execute(_lock_row(tables.main), {"_id": record_id})
            try:
                previous = self.reader.get(conn, form_key, record_id)
            except NotFoundError:
                return None
            outside = self.reader.outside_rollups(conn, compiled, record_id, rollups)
            return self.settle(conn, compiled, tables, previous, outside, actor)

    def settle(
        self, conn: Connection, compiled: CompiledForm, tables: FormTables, previous: Record,
        outside: Mapping[str, Any], actor: Actor,
    ) -> Record:
        """The end of a recompute of the locked, just read record
        ``previous``, whose rollups over other forms were counted as
        ``outside``: compute, write the fields that changed (no new version,
        see ``engine.records.ending``) and finish. Returns the record written,
        or ``previous`` itself when nothing changed. ``recompute`` and the
        set-based refresh (``engine.records.rollup_refresh``) both end here."""
        record_id = int(previous["id"])
        context = self.context(conn, compiled, actor, compiled.formula_values(previous))
        state = self._compute(conn, compiled, dict(previous), context, record_id=record_id,
                              outside=outside)
        # Computed fields, and fields that form rules set from them
        # (a plan's status follows what was received).
        changed = {
            f.key for f in compiled.stored_fields
            if f.key not in compiled.actor_bound
            and not same(previous.get(f.key), state.values.get(f.key))
        }
        if not changed:
            return previous
        self._write_update(conn, compiled, tables, record_id, int(previous["version"]),
                           state.values, changed, actor, recompute=True)
        record = self.reader.get(conn, compiled.form.key, record_id)
        finish(self, conn, compiled, "recompute", actor, record, previous, changed)
        return record


@functools.lru_cache(maxsize=512)
def _lock_row(main: sa.Table) -> sa.Select[Any]:
    # Built once per form table: every write to a child recomputes its parents.
    return sa.select(main.c.id).where(main.c.id == sa.bindparam("_id")).with_for_update(key_share=True)


def _sort_paths(sort: Sequence[Mapping[str, Any] | str]) -> list[str]:
    paths: list[str] = []
    for item in sort or ():
        if isinstance(item, str):
            paths.extend(part.strip() for part in item.split(","))
        elif isinstance(item, Mapping) and isinstance(item.get("field"), str):
            paths.append(item["field"])
    return paths


def _invalid(form: FormDef, errors: FieldErrors) -> ValidationError:
    count = sum(len(m) for m in errors.values())
    family = DuplicateValueError if only_taken_values(errors) else ValidationError
    return family(
        Label(f"{form.label.zh}：{count} 处数据有误", f"{form.label.en}: {count} problem(s) with the data"),
        field_errors=errors,
    )


def _stale(form: FormDef, record_id: int, current: int, given: int) -> ConflictError:
    return ConflictError(
        Label(
            f"{form.label.zh} #{record_id} 已被他人修改（当前版本 {current}，你的版本 {given}），请刷新后再改",
            f"{form.label.en} #{record_id} was changed by someone else (it is at version "
            f"{current}, you had {given}); reload it and try again",
        ),
        details={"record": record_id, "version": current, "your_version": given},
    )


def _not_found(form: FormDef, record_id: int) -> NotFoundError:
    return NotFoundError(
        Label(f"{form.label.zh} #{record_id} 不存在", f"{form.label.en} #{record_id} does not exist"),
        details={"form": form.key, "record": record_id},
    )
