"""Importing records from CSV and Excel files: ``import_file``.

The file is read as a stream and handled in batches of ``batch_size``
records. For each batch:

1. each cell goes through its field type's ``import_value`` (after
   ``value_map`` rewrote it), blank cells are left out so defaults apply;
2. cells that name records or people are matched with one query per field
   (``engine.records.matching``);
3. with a ``key_field``, the records the keys name are found with one query,
   and ``on_duplicate`` says what happens to them;
4. the batch is written in one transaction: new records through
   ``RecordService.create_many`` (all the checks of a single create), existing
   ones through ``RecordService.update``. ``on_error="abort"`` writes a batch
   only when every record in it is good, and stops at the first bad batch;
   ``on_error="skip"`` leaves the bad records out and writes the rest.
   ``dry_run`` checks every batch the same way and rolls each one back.

Subform rows come from columns ``<subform>.<field>``; consecutive rows with
the same value in the ``group_by`` column (by default the key field's) are
one record, each row adding a subform row. See docs/import-export.md.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.errors import NotFoundError, ValidationError
from engine.core.i18n import Label, Message
from engine.fields.base import FieldValueError
from engine.records.batch import RowsInvalid
from engine.records.columns import ColumnPlan, FieldColumn, MappingRefused, plan_columns
from engine.records.import_report import ImportReport, RowFailure
from engine.records.import_rows import BatchSizer, Line, PendingRecord, RowReader, group_rows
from engine.records.matching import CHUNK, Matcher, matcher_for
from engine.records.service import Actor, RecordService
from engine.records.sheets import Sheet, open_sheet

IMPORTER = Actor(None, "import")
ON_DUPLICATE = ("error", "skip", "update", "upsert")
ON_ERROR = ("abort", "skip")
_ROW_KEY = re.compile(r"^(\w+)\[(\d+)\](?:\.(\w+))?$")

_KEY_TWICE = Message("与第 {row} 行的键值相同", "Same key as row {row}")
_KEY_EXISTS = Message("已存在（记录 #{id}）", "Already exists (record #{id})")
_KEY_SEVERAL = Message("键值对应多条记录（{ids}），无法确定更新哪一条",
                       "Several records have this key ({ids}); cannot tell which to update")
_KEY_MISSING = Label("没有该键值的记录可更新", "No record with this key to update")
_KEY_BLANK = Label("键值为空，无法找到要更新的记录", "The key is blank: no record to update can be found")


@dataclass(frozen=True)
class ImportOptions:
    """How to read the file and what to do with its rows (docs/import-export.md)."""

    format: str | None = None
    sheet: str | int | None = None
    delimiter: str | None = None
    mapping: Mapping[str, str | None] | None = None
    relation_match: Mapping[str, str] = field(default_factory=dict)
    value_map: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    key_field: str | None = None
    on_duplicate: str | None = None
    group_by: str | None = None
    batch_size: int | None = None  # None: the database's own (Database.import_batch_rows)
    on_error: str = "abort"
    dry_run: bool = False


# Called after each batch with the report so far; False stops the import there.
Progress = Callable[[ImportReport], bool]


def import_file(
    service: RecordService,
    form_key: str,
    source: str | Path | IO[bytes] | IO[str],
    options: ImportOptions | None = None,
    *,
    actor: Actor = IMPORTER,
    progress: Progress | None = None,
    **settings: Any,
) -> ImportReport:
    """Import the rows of ``source`` (a path or file object; CSV or xlsx) into
    ``form_key``. ``settings`` override fields of ``options``. Problems with
    the set-up (an unknown column in ``mapping`` ...) raise before anything is
    written; problems with rows are in the report. Importing is an action of
    its own (a role may create records but not import them): without it,
    ``PermissionDenied`` before the file is read. ``progress`` is called
    after every batch (committed or, in a dry run, rolled back); when it
    answers False the import stops there and the report says ``cancelled``."""
    chosen = dataclasses.replace(options or ImportOptions(), **settings)
    with _prepared(service, form_key, source, chosen, actor) as (sheet, batches):
        report = batches.report
        records = group_rows(sheet.rows, batches.group_index)
        database = service.database
        sizer = BatchSizer(chosen.batch_size or database.import_batch_rows,
                           None if chosen.batch_size else database.import_batch_seconds)
        # Each batch a write transaction; an import is background work, and
        # gives way to other writers (engine.store.contention).
        with database.writer(background=True) as conn:
            while True:
                with collection_paused():
                    batch = list(itertools.islice(records, sizer.size))
                    if not batch:
                        break
                    going_on = batches.run(conn, batch) or chosen.dry_run
                sizer.took(len(batch), batches.held)
                if progress is not None and not progress(report):
                    report.cancelled = True
                    break
                if not going_on:
                    break
    return report


def check_import(
    service: RecordService,
    form_key: str,
    source: str | Path | IO[bytes] | IO[str],
    options: ImportOptions | None = None,
    *,
    actor: Actor = IMPORTER,
) -> ImportReport:
    """Everything ``import_file`` checks before it reads a row — the right to
    import, the file, the mapping, the key and group columns — without
    reading the rows: the empty report holds the column plan (``mapping``,
    ``ignored_columns``) and the warnings. Raises as ``import_file`` would."""
    with prepared_import(service, form_key, source, options, actor=actor) as (_, report):
        return report


@contextmanager
def prepared_import(
    service: RecordService, form_key: str, source: str | Path | IO[bytes] | IO[str],
    options: ImportOptions | None = None, *, actor: Actor = IMPORTER,
) -> Iterator[tuple[Sheet, ImportReport]]:
    """The open sheet, its rows not yet read, and the empty report of an
    import checked as ``check_import`` checks it (a preview reads a few rows)."""
    with _prepared(service, form_key, source, options or ImportOptions(), actor) as (sheet, batches):
        yield sheet, batches.report


@contextmanager
def _prepared(service: RecordService, form_key: str, source: str | Path | IO[bytes] | IO[str],
              chosen: ImportOptions, actor: Actor) -> Iterator[tuple[Sheet, _Batches]]:
    check_options(chosen)
    compiled, _ = service.form(form_key)
    actor.policy(service, form_key).require("import")
    with open_sheet(source, format=chosen.format, sheet=chosen.sheet, delimiter=chosen.delimiter) as sheet:
        plan = plan_columns(compiled.form, service.field_types, sheet.header, chosen.mapping)
        report = ImportReport(form_key, compiled.form.label, list(sheet.header), dry_run=chosen.dry_run,
                              ignored_columns=list(plan.ignored),
                              mapping={c.header: c.path for c in plan.columns})
        yield sheet, _Batches(service, form_key, plan, chosen, actor, report, text_cells=sheet.text_cells)


@contextmanager
def collection_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector off for one batch. A batch makes a
    few dicts per cell and keeps them until it is written; left on, the
    collector scans the whole heap again and again while they pile up (a
    fifth of an import's time). Refcounting still frees them at once, and
    whatever cycles a batch leaves are collected after it."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def check_options(options: ImportOptions) -> None:
    """Refuse options that contradict themselves (``MappingRefused``)."""
    if options.on_error not in ON_ERROR:
        raise MappingRefused(Label(f"on_error 应为 {' / '.join(ON_ERROR)}",
                                   f"on_error must be one of {', '.join(ON_ERROR)}"))
    if options.on_duplicate is not None and options.on_duplicate not in ON_DUPLICATE:
        raise MappingRefused(Label(f"on_duplicate 应为 {' / '.join(ON_DUPLICATE)}",
                                   f"on_duplicate must be one of {', '.join(ON_DUPLICATE)}"))
    if options.on_duplicate is not None and options.key_field is None:
        raise MappingRefused(Label("on_duplicate 需要同时给出 key_field", "on_duplicate needs a key_field"))
    if options.batch_size is not None and options.batch_size < 1:
        raise MappingRefused(Label("batch_size 至少为 1", "batch_size must be at least 1"))


class _Batches:
    """The state of one import across its batches."""

    def __init__(self, service: RecordService, form_key: str, plan: ColumnPlan, options: ImportOptions,
                 actor: Actor, report: ImportReport, *, text_cells: bool = False) -> None:
        self.service, self.form_key, self.plan, self.options = service, form_key, plan, options
        self.actor, self.report = actor, report
        self.compiled, self.tables = service.form(form_key)
        self.abort = options.on_error == "abort"
        self.by_path = plan.by_path()
        value_maps = self._value_maps()
        unknown = set(options.relation_match) - set(self.by_path)
        if unknown:
            raise MappingRefused(Label(f"relation_match 中的 {', '.join(sorted(unknown))} 不是导入的列",
                                       f"relation_match names {', '.join(sorted(unknown))}, which no column fills"))
        matchers: dict[str, Matcher] = {}
        guard = actor.policy(service, form_key).guard()
        for column in plan.columns:
            matcher = matcher_for(service, column.field, options.relation_match.get(column.path), guard)
            if matcher is not None:
                matchers[column.path] = matcher
        self.reader = RowReader(plan.columns, value_maps, matchers, text_cells=text_cells)
        self.subforms = {c.subform for c in plan.columns if c.subform}
        self.key_column = self._key_column()
        self.policy = options.on_duplicate or "error"
        self.group_index = self._group_index()
        self.seen_keys: dict[Any, int] = {}
        self.held = 0.0  # seconds the last batch's transaction took, begin to end
        self._warn_unmapped_required()

    # --- set-up -----------------------------------------------------------------
    def _value_maps(self) -> dict[str, Mapping[str, str]]:
        found: dict[str, Mapping[str, str]] = {}
        for name, table in self.options.value_map.items():
            column = self.by_path.get(name)
            if column is None:
                index = self.plan.header_index(name)
                column = next((c for c in self.plan.columns if c.index == index), None)
            if column is None:
                raise MappingRefused(Label(f"value_map 中的 {name} 不是导入的列或字段",
                                           f"value_map names {name}, which is no imported column or field"))
            found[column.path] = {str(k): v for k, v in table.items()}
        return found

    def _key_column(self) -> FieldColumn | None:
        key = self.options.key_field
        if key is None:
            return None
        column = self.by_path.get(key)
        if column is None or column.subform is not None or column.field.key not in self.tables.main.c:
            raise MappingRefused(Label(f"键字段 {key} 应为本表单中已导入的一列",
                                       f"The key field {key} must be a field of the form that a column fills"))
        return column

    def _group_index(self) -> int | None:
        name = self.options.group_by
        if name is not None:
            column = self.by_path.get(name)
            index = column.index if column else self.plan.header_index(name)
            if index is None:
                raise MappingRefused(Label(f"分组列 {name} 不在文件中", f"The group_by column {name} is not in the file"))
            return index
        if self.subforms and self.key_column is not None:
            return self.key_column.index
        return None

    def _warn_unmapped_required(self) -> None:
        if self.policy == "update":
            return
        for f in self.compiled.input_fields:
            mapped = f.key in self.by_path or f.key in self.subforms
            if f.required and not mapped and f.default is None and not f.default_formula and not f.default_link:
                self.report.warnings.append(Label(f"必填字段 {f.label.zh} 在文件中没有对应的列",
                                                  f"Required field {f.label.en} has no column in the file"))

    # --- one batch ------------------------------------------------------------------
    def run(self, conn: Connection, batch: list[list[Line]]) -> bool:
        """Import one batch in its own transaction; False when it failed under abort."""
        entries, slots = self.reader.read(batch)
        transaction = conn.begin()
        began = time.perf_counter()
        try:
            self.reader.match(conn, slots)
            if self.key_column is not None:
                self._match_keys(conn, entries)
            created = self._create(conn, [e for e in entries if e.action == "create"])
            updated = unchanged = 0
            for entry in entries:
                if entry.action == "update" and not entry.failures:
                    outcome = self._update(conn, entry)
                    updated += outcome == "updated"
                    unchanged += outcome == "unchanged"
            failed = [e for e in entries if e.failures]
            stop = bool(failed) and self.abort
            if stop or self.options.dry_run:
                transaction.rollback()
            else:
                transaction.commit()
            self.held = time.perf_counter() - began
        except BaseException:
            transaction.rollback()
            raise
        self._count(entries, failed, created, (updated, unchanged), stop)
        return not stop

    def _count(self, entries: list[PendingRecord], failed: list[PendingRecord], created: list[int],
               updates: tuple[int, int], stop: bool) -> None:
        report = self.report
        report.rows += sum(len(e.lines) for e in entries)
        report.records += len(entries)
        report.failed += len(failed)
        skipped = sum(1 for e in entries if e.action == "skip" and not e.failures)
        report.skipped += skipped
        if stop:
            report.not_written += len(entries) - len(failed) - skipped
            if report.stopped_at_row is None:
                report.stopped_at_row = entries[0].first_row
        else:
            report.created += len(created)
            report.updated += updates[0]
            report.unchanged += updates[1]
            if not self.options.dry_run:
                report.created_ids.extend(created)
        for entry in failed:
            report.failures.extend(sorted(entry.failures, key=lambda f: f.row_number))
            report.failed_rows.extend(entry.lines)

    def _match_keys(self, conn: Connection, entries: list[PendingRecord]) -> None:
        column = self.key_column
        assert column is not None
        f, ftype = column.field, column.ftype
        wanted: dict[Any, PendingRecord] = {}
        for entry in entries:
            if f.key in entry.bad_keys:
                continue
            value = None
            if entry.values.get(f.key) is not None:
                try:
                    value = ftype.coerce(f, entry.values[f.key])
                except FieldValueError:
                    continue  # the create or update reports it
            if value is None or ftype.is_blank(value):
                if self.policy == "update":
                    entry.fail(entry.first_row, column, None, _KEY_BLANK, f.key)
                continue
            first = self.seen_keys.get(value)
            if first is not None:
                entry.fail(entry.first_row, column, self._cell(entry, column), _KEY_TWICE.format(row=first), f.key)
                continue
            self.seen_keys[value] = entry.first_row
            wanted[value] = entry
        main = self.tables.main
        readable = self.actor.policy(self.service, self.form_key).read_clause()
        found: dict[Any, list[int]] = {}
        versions: dict[int, int] = {}
        values = list(wanted)
        for start in range(0, len(values), CHUNK):
            query = (sa.select(main.c[f.key], main.c.id, main.c.version)
                     .where(main.c[f.key].in_(values[start:start + CHUNK])))
            if readable is not None:  # a record the importer cannot read is not one to match
                query = query.where(readable)
            for stored, record_id, version in conn.execute(query):
                found.setdefault(ftype.from_db(f, {f.key: stored}), []).append(int(record_id))
                versions[int(record_id)] = int(version)
        for value, entry in wanted.items():
            ids = sorted(found.get(value, []))
            cell = self._cell(entry, column)
            if len(ids) > 1:
                entry.fail(entry.first_row, column, cell,
                           _KEY_SEVERAL.format(ids=", ".join(f"#{i}" for i in ids)), f.key)
            elif ids and self.policy == "error":
                entry.fail(entry.first_row, column, cell, _KEY_EXISTS.format(id=ids[0]), f.key)
            elif ids:
                # A row that gives nothing but its key has nothing to change.
                bare = entry.values.keys() <= {f.key} and not entry.failures
                entry.action = "skip" if self.policy == "skip" or bare else "update"
                entry.record_id, entry.version = ids[0], versions[ids[0]]
            elif self.policy == "update":
                entry.fail(entry.first_row, column, cell, _KEY_MISSING, f.key)

    # --- writing ----------------------------------------------------------------------------
    def _create(self, conn: Connection, entries: list[PendingRecord]) -> list[int]:
        attempt = entries
        while attempt:
            guarded = any(e.failures for e in attempt)
            savepoint = conn.begin_nested() if guarded and not self.abort else None
            try:
                ids = self.service.create_many(self.form_key, [e.values for e in attempt],
                                               actor=self.actor, connection=conn)
            except RowsInvalid as exc:
                if savepoint is not None:
                    savepoint.rollback()
                for index, errors in exc.row_errors.items():
                    self._fail_fields(attempt[index], errors)
                if self.abort:
                    return []
                attempt = [e for e in attempt if not e.failures]
                continue
            if guarded:
                # Rows with matching errors went along to have every problem
                # reported; they must not stay written.
                if savepoint is not None:
                    savepoint.rollback()
                if self.abort:
                    return []
                attempt = [e for e in attempt if not e.failures]
                continue
            return ids
        return []

    def _update(self, conn: Connection, entry: PendingRecord) -> str:
        """``updated``, ``unchanged`` (the row holds what the record holds, so
        the service wrote no new version) or ``failed``."""
        assert entry.record_id is not None
        try:
            with conn.begin_nested():
                record = self.service.update(self.form_key, entry.record_id, entry.values, version=None,
                                             actor=self.actor, connection=conn)
        except ValidationError as exc:
            self._fail_fields(entry, exc.field_errors)
            return "failed"
        except NotFoundError as exc:
            entry.fail(entry.first_row, None, None, exc.message, "_record")
            return "failed"
        return "unchanged" if record.get("version") == entry.version else "updated"

    def _fail_fields(self, entry: PendingRecord, errors: Mapping[str, list[Label]]) -> None:
        """Report the service's field errors against the rows and columns they came from."""
        # A subform's own messages restate its rows' problems ("Row 2, Quantity: ...");
        # when those are reported row by row, the restatement is left out.
        by_row = {key.split("[", 1)[0] for key in [*errors, *entry.bad_keys] if "[" in key}
        for key, messages in errors.items():
            if key in entry.bad_keys or key in by_row:
                continue  # already reported, more precisely
            number, path = entry.first_row, key
            match = _ROW_KEY.match(key)
            if match:
                sub, index, child = match.group(1), int(match.group(2)), match.group(3)
                rows = entry.sub_lines.get(sub, [])
                number = rows[index] if index < len(rows) else number
                path = f"{sub}.{child}" if child else sub
            column = self.by_path.get(path)
            cells = next((c for n, c in entry.lines if n == number), entry.lines[0][1])
            value = cells[column.index] if column else None
            for message in messages:
                if column is None and path != "_record":
                    message = self._named(path, message)
                entry.failures.append(RowFailure(number, column.header if column else None,
                                                 None if path == "_record" else path, value, message))

    def _named(self, path: str, message: Label) -> Label:
        f = self.compiled.form.field(path.split(".")[0])
        if f is None:
            return message
        return Label(f"{f.label.zh}：{message.zh}", f"{f.label.en}: {message.en}")

    @staticmethod
    def _cell(entry: PendingRecord, column: FieldColumn) -> Any:
        return entry.lines[0][1][column.index]
