"""From the rows of a file to the input of a record: ``RowReader``.

Each cell is trimmed, rewritten by the ``value_map`` of its column, and
passed through its field type's ``import_value``; a blank cell gives no
input, so the field's default applies (on create) or its value stays (on
update). Cells that name records or people are collected per batch and
matched together (``match``): one query per field, never one per row.

This is the part of an import that runs for every cell, so it is written
for speed: the per-column work is worked out once, in ``RowReader``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sqlalchemy.engine import Connection

from engine.core.i18n import Label
from engine.definitions.model import FieldDef
from engine.fields.base import FieldType, FieldValueError
from engine.fields.choice import LIST_SEPARATORS
from engine.records.columns import FieldColumn
from engine.records.import_report import RowFailure
from engine.records.matching import Matcher
from engine.records.sheets import cell_text

Line = tuple[int, list[Any]]
# index, field key, column, import_value (None when the type keeps cells as they are),
# value map, matcher, multiple
_Step = tuple[int, str, FieldColumn, "Callable[[FieldDef, Any], Any] | None",
              "Mapping[str, str] | None", "Matcher | None", bool]


class PendingRecord:
    """A record being imported: its rows, its input, and what went wrong with it.
    ``action`` is ``create``, ``update`` (``record_id`` at ``version``) or ``skip``."""

    __slots__ = ("action", "bad_keys", "failures", "lines", "record_id", "sub_lines", "values", "version")

    def __init__(self, lines: list[Line]) -> None:
        self.lines = lines
        self.values: dict[str, Any] = {}
        self.failures: list[RowFailure] = []
        # Error keys (``customer``, ``items[0].product``) already reported, so
        # the service's echo of the same problem is not reported twice.
        self.bad_keys: set[str] = set()
        self.sub_lines: dict[str, list[int]] = {}
        self.action = "create"
        self.record_id: int | None = None
        self.version: int | None = None  # the record's, when the key found it

    @property
    def first_row(self) -> int:
        return self.lines[0][0]

    def fail(self, number: int, column: FieldColumn | None, value: Any, message: Label, error_key: str) -> None:
        self.bad_keys.add(error_key)
        self.failures.append(RowFailure(number, column.header if column else None,
                                        column.path if column else None, value, message))


class _Slot:
    """A cell naming records or people, matched with the rest of its batch."""

    __slots__ = ("column", "container", "error_key", "record", "row_number", "texts")

    def __init__(self, record: PendingRecord, container: dict[str, Any], column: FieldColumn,
                 texts: list[str], row_number: int, error_key: str) -> None:
        self.record, self.container, self.column = record, container, column
        self.texts, self.row_number, self.error_key = texts, row_number, error_key


def _step(column: FieldColumn, value_map: Mapping[str, str] | None, matcher: Matcher | None) -> _Step:
    keeps_cells = type(column.ftype).import_value is FieldType.import_value
    convert = None if keeps_cells else column.ftype.import_value
    multiple = bool(column.field.setting("multiple"))
    return (column.index, column.field.key, column, convert, value_map or None, matcher, multiple)


class RowReader:
    """Reads records from rows for one import: the form's own columns from a
    record's first row, subform columns from each of its rows."""

    def __init__(self, columns: list[FieldColumn], value_maps: Mapping[str, Mapping[str, str]],
                 matchers: Mapping[str, Matcher], *, text_cells: bool = False) -> None:
        self.matchers = matchers
        # Columns whose text goes to the service as it is, when every cell is
        # text (CSV): read with one comprehension, the bulk of most imports.
        self.plain: list[tuple[int, str]] = []
        self.main: list[_Step] = []
        self.subs: dict[str, list[_Step]] = {}
        for column in columns:
            step = _step(column, value_maps.get(column.path), matchers.get(column.path))
            if column.subform is not None:
                self.subs.setdefault(column.subform, []).append(step)
            elif text_cells and step[3] is None and step[4] is None and step[5] is None:
                self.plain.append((column.index, column.field.key))
            else:
                self.main.append(step)

    def read(self, batch: list[list[Line]]) -> tuple[list[PendingRecord], list[_Slot]]:
        """The batch's records, and the cells of theirs still to be matched."""
        slots: list[_Slot] = []
        records = []
        for lines in batch:
            record = PendingRecord(lines)
            number, cells = lines[0]
            if self.plain:
                record.values = {key: text for index, key in self.plain if (text := cells[index].strip())}
            self._fill(record, record.values, self.main, number, cells, slots, "")
            for sub, steps in self.subs.items():
                rows: list[dict[str, Any]] = []
                numbers: list[int] = []
                for number, cells in lines:
                    row: dict[str, Any] = {}
                    if self._fill(record, row, steps, number, cells, slots, f"{sub}[{len(rows)}]."):
                        rows.append(row)
                        numbers.append(number)
                if rows:
                    record.values[sub] = rows
                    record.sub_lines[sub] = numbers
            records.append(record)
        return records, slots

    @staticmethod
    def _fill(record: PendingRecord, target: dict[str, Any], steps: list[_Step], number: int,
              cells: list[Any], slots: list[_Slot], prefix: str) -> bool:
        """Put the row's cells for ``steps`` into ``target``; True when any was not blank."""
        touched = False
        for index, key, column, convert, value_map, matcher, multiple in steps:
            cell = cells[index]
            if cell is None:
                continue
            if type(cell) is str:
                cell = cell.strip()
                if not cell:
                    continue
            touched = True
            if value_map is not None:
                cell = value_map.get(cell_text(cell), cell)
            if convert is not None:
                try:
                    cell = convert(column.field, cell)
                except FieldValueError as exc:
                    record.fail(number, column, cell, exc.message, prefix + key)
                    continue
            if matcher is None:
                target[key] = cell
                continue
            if multiple and isinstance(cell, str):
                texts = [t for t in LIST_SEPARATORS.split(cell) if t]
            else:
                texts = [cell_text(cell)]
            if value_map is not None:
                texts = [value_map.get(t, t) for t in texts]
            slots.append(_Slot(record, target, column, texts, number, prefix + key))
        return touched

    def match(self, conn: Connection, slots: list[_Slot]) -> None:
        """Replace the texts naming records or people with their ids, one query per
        field for the whole batch; a text naming none, or several, fails its row."""
        wanted: dict[str, set[str]] = {}
        for slot in slots:
            wanted.setdefault(slot.column.path, set()).update(slot.texts)
        matched = {path: self.matchers[path].match(conn, texts) for path, texts in wanted.items()}
        for slot in slots:
            found = matched[slot.column.path]
            ids: list[int] = []
            for text in slot.texts:
                result = found[text]
                if isinstance(result, Label):
                    slot.record.fail(slot.row_number, slot.column, text, result, slot.error_key)
                else:
                    ids.append(result)
            if len(ids) == len(slot.texts):
                multiple = bool(slot.column.field.setting("multiple"))
                slot.container[slot.column.field.key] = ids if multiple else ids[0]


def group_rows(rows: Iterator[Line], group_index: int | None) -> Iterator[list[Line]]:
    """The file's rows as records: one row each, or consecutive rows with the
    same non-blank value in the group column."""
    if group_index is None:
        for line in rows:
            yield [line]
        return
    current: list[Line] = []
    current_key: str | None = None
    for number, cells in rows:
        key = cell_text(cells[group_index]) or None
        if current and key is not None and key == current_key:
            current.append((number, cells))
            continue
        if current:
            yield current
        current, current_key = [(number, cells)], key
    if current:
        yield current


class BatchSizer:
    """How many records an import's next batch takes: always ``rows`` when
    batches are not sized by time; otherwise as many as the batches so far
    wrote in ``seconds`` of their transactions, from ``FEWEST`` (each batch
    has a cost of its own) to ``rows``. On SQLite
    a batch holds the one write lock from begin to commit, and every writer
    that arrives meanwhile waits for it: a fixed row count is a short wait
    for a narrow form and a long one for a wide form, or under load (the
    same 200 rows held the lock 8 ms alone and 45 ms beside 32 clients)."""

    FEWEST = 50  # records in the first timed batch, and at least in every one
    SMOOTHING = 0.5  # weight of the newest batch in the time per record

    def __init__(self, rows: int, seconds: float | None) -> None:
        self.most, self.seconds = rows, seconds
        self.size = rows if seconds is None else min(rows, self.FEWEST)
        self._per_record: float | None = None

    def took(self, records: int, seconds: float) -> None:
        """A batch of ``records`` held its transaction ``seconds``."""
        if self.seconds is None or records <= 0 or seconds <= 0:
            return
        latest = seconds / records
        known = self._per_record
        self._per_record = latest if known is None else known + self.SMOOTHING * (latest - known)
        self.size = min(self.most, max(self.FEWEST, int(self.seconds / self._per_record)))
