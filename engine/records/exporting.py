"""Exporting records to CSV and Excel: ``export_records``.

The export reads the form's records a page at a time through
``RecordService.list`` (the same filter, sort, data scope and keyset cursor
as a list view) and streams them out, so a table of any size is written in
constant memory. Cells are the field types' ``export_value``; records and
people are written by their title or name (looked up once per page), so the
file reads well and imports back. In xlsx, numbers stay numbers (decimals
exact, with the field's number format) and dates stay dates.

Subform rows are extra rows: a record with three quote lines takes three
rows, each repeating the record's own columns, with one line's
``<subform>.<field>`` columns each. Importing the file with the record's
key as ``key_field`` (or ``group_by``) puts the lines back under one record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy.engine import Connection

from engine.core.errors import NotFoundError
from engine.core.i18n import Label
from engine.definitions.model import FieldDef, FormDef, ListView, SortKey
from engine.fields.base import FieldType, plain_json
from engine.records.access import ReadGuard
from engine.records.columns import system_field
from engine.records.compiled import CompiledForm
from engine.records.filters import SYSTEM_FIELDS
from engine.records.names import NAMERS, Namer
from engine.records.service import SYSTEM, Actor, RecordService
from engine.records.sheets import SheetWriter, write_sheet

PAGE_SIZE = 500
_PROBE = Decimal("1234.5")
_NUMBER_TEXT = re.compile(r"^(?P<prefix>[^\d,.]*)(?P<whole>[\d,]+)(?:\.(?P<places>\d+))?(?P<suffix>[^\d]*)$")


@dataclass
class _Column:
    """A column of the export: the field it shows and how to name the values it points at."""

    path: str
    header: str
    field: FieldDef
    ftype: FieldType
    subform: str | None
    names: Namer | None = None
    number_format: str | None = None
    probed: bool = False


def export_records(
    service: RecordService,
    form_key: str,
    target: str | Path | IO[bytes] | IO[str],
    *,
    format: str | None = None,
    view: str | ListView | None = None,
    filter: Mapping[str, Any] | None = None,
    columns: Sequence[str] | None = None,
    sort: Sequence[Mapping[str, Any] | str | SortKey] | None = None,
    search: str | None = None,
    locale: str = "zh",
    header: str = "label",
    actor: Actor = SYSTEM,
    page_size: int = PAGE_SIZE,
) -> int:
    """Write the form's records to ``target`` (CSV or xlsx, by ``format`` or
    the file name) and return how many records were written.

    ``view`` (a list view's key, or the view) gives the filter, sort and
    columns; ``filter`` narrows it further, ``columns`` and ``sort`` replace
    its own. Without a view and columns, every field is exported. Headers are
    labels in ``locale``, or field keys with ``header="key"``.

    Exporting is an action of its own (``PermissionDenied`` before anything
    is written); the actor's read scope and field rights apply to every page.
    The export is audited like a write: who, from where, how many records,
    and the query that chose them.
    """
    compiled, _ = service.form(form_key)
    form = compiled.form
    policy = actor.policy(service, form_key)
    policy.require("export")
    chosen_view = _view(form, view)
    if chosen_view is not None and chosen_view.filter:
        filter = {"and": [chosen_view.filter, filter]} if filter else chosen_view.filter
    if sort is None:
        sort = list(chosen_view.sort) if chosen_view is not None else ()
    names = list(columns or (chosen_view.columns if chosen_view is not None else ()) or _all_columns(form, compiled))
    hidden = policy.hidden_everywhere()  # columns the actor may see on no record are left out
    names = [name for name in names if name.split(".")[0] not in hidden]
    guard = policy.guard()  # a linked record the actor may not read is named by its id only
    out = [_column(service, compiled, path, locale, header, guard) for path in _expand(compiled, names)]
    wanted = sorted({c.path.split(".")[0] for c in out} - set(SYSTEM_FIELDS))
    subforms = list(dict.fromkeys(c.subform for c in out if c.subform))
    joiner = "、" if locale.lower().startswith("zh") else ", "
    with service.database.transaction() as conn:
        def page_after(after: str | None) -> dict[str, Any]:
            return service.list(form_key, filter=filter, sort=cast(Any, sort), search=search, limit=page_size,
                                after=after, fields=wanted, actor=actor, connection=conn)

        page = page_after(None)  # a bad filter or sort is refused here, before a file is begun
        with write_sheet(target, format=format, title=form.label.text(locale)) as sheet:
            sheet.formats = [None] * len(out)
            sheet.header([c.header for c in out])
            count = _write_pages(sheet, page, page_after, out, subforms, conn, locale, joiner)
        service.audit(conn, form, None, "export", actor, {
            "count": count, "format": sheet.kind, "view": chosen_view.key if chosen_view is not None else None,
            "filter": plain_json(filter), "search": search, "columns": [c.path for c in out],
        })
    return count


def _write_pages(sheet: SheetWriter, page: dict[str, Any], page_after: Callable[[str | None], dict[str, Any]],
                 out: list[_Column], subforms: list[str], conn: Connection, locale: str, joiner: str) -> int:
    """Write ``page`` and the pages after it; how many records were written."""
    count = 0
    while True:
        records: list[dict[str, Any]] = page["records"]
        named = _names_for_page(conn, out, records)
        for record in records:
            lines = max([1, *(len(record.get(s) or ()) for s in subforms)])
            for line in range(lines):
                cells = []
                for index, column in enumerate(out):
                    if column.subform is None:
                        value = record.get(column.path)
                    else:
                        rows = record.get(column.subform) or ()
                        value = rows[line].get(column.field.key) if line < len(rows) else None
                    cells.append(_cell(sheet.formats, index, column, value, named, locale, joiner))
                sheet.write(cells)
        count += len(records)
        if not page["next"]:
            return count
        page = page_after(page["next"])


def _view(form: FormDef, view: str | ListView | None) -> ListView | None:
    if view is None or isinstance(view, ListView):
        return view
    found = next((v for v in form.list_views if v.key == view), None)
    if found is None:
        known = ", ".join(v.key for v in form.list_views) or "-"
        raise NotFoundError(Label(f"{form.label.zh}没有列表视图 {view}（有：{known}）",
                                  f"{form.label.en} has no list view {view} (it has: {known})"))
    return found


def _all_columns(form: FormDef, compiled: CompiledForm) -> list[str]:
    return [f.key for f in form.fields if not compiled.types[f.key].layout]


def _expand(compiled: CompiledForm, names: Sequence[str]) -> list[str]:
    """Column names with each whole subform replaced by its fields' columns."""
    form = compiled.form
    paths: list[str] = []
    for name in names:
        f = form.field(name)
        if f is not None and f.fields:
            children = compiled.child_types.get(name, {})
            paths.extend(f"{name}.{child.key}" for child in f.fields if not children[child.key].layout)
        elif f is not None or name in SYSTEM_FIELDS or "." in name:
            paths.append(name)
        else:
            raise NotFoundError(Label(f"{form.label.zh}没有字段 {name}", f"{form.label.en} has no field {name}"))
    return paths


def _column(service: RecordService, compiled: CompiledForm, path: str, locale: str, header: str,
            guard: ReadGuard | None = None) -> _Column:
    form = compiled.form
    head, _, rest = path.partition(".")
    parent = form.field(head) or system_field(head)
    if parent is None or (rest and parent.child(rest) is None):
        raise NotFoundError(Label(f"{form.label.zh}没有字段 {path}", f"{form.label.en} has no field {path}"))
    f = parent.child(rest) if rest else parent
    assert f is not None
    title = path if header == "key" else (
        f"{parent.label.text(locale)}.{f.label.text(locale)}" if rest else f.label.text(locale))
    ftype = service.field_types.get(f.type)
    column = _Column(path, title, f, ftype, head if rest else None)
    lookup = next((found for found in compiled.lookups if found.key == path), None)
    if lookup is not None:
        # A lookup's value is the related record's field: shown the way that field shows it.
        relation = form.get_field(lookup.relation)
        target, _ = service.form(str(relation.setting("target")))
        shown = target.form.field(lookup.field)
        if shown is not None:
            column.field, column.ftype = shown, target.types[shown.key]
    namer = NAMERS.get(column.field.type)
    column.names = namer(service, column.field, guard) if namer else None
    return column



def _names_for_page(conn: Connection, out: list[_Column], records: list[dict[str, Any]]) -> dict[str, dict[int, Any]]:
    named: dict[str, dict[int, Any]] = {}
    for column in out:
        if column.names is None:
            continue
        ids: set[int] = set()
        for record in records:
            values = ([row.get(column.field.key) for row in record.get(column.subform) or ()]
                      if column.subform else [record.get(column.path)])
            for value in values:
                ids.update(value if isinstance(value, list) else [value] if value is not None else [])
        named[column.path] = column.names(conn, ids) if ids else {}
    return named


def _cell(formats: list[str | None], index: int, column: _Column, value: Any, named: dict[str, dict[int, Any]],
          locale: str, joiner: str) -> Any:
    if value is None:
        return None
    if column.names is not None:
        names = named.get(column.path, {})
        items = value if isinstance(value, list) else [value]
        shown = [names.get(int(i), i) for i in items]
        return joiner.join(str(s) for s in shown) if isinstance(value, list) else shown[0]
    cell = column.ftype.export_value(column.field, value, locale)
    if isinstance(cell, Decimal | int | float) and not isinstance(cell, bool) and not column.probed:
        column.probed = True
        formats[index] = column.number_format = _number_format(column)
    return cell


def _number_format(column: _Column) -> str | None:
    """The Excel number format that shows numbers the way the field displays
    them (``¥1,234.50``, ``12.50%``), read off the field's own display text."""
    try:
        text = column.ftype.display(column.field, _PROBE, "zh")
    except (TypeError, ValueError, ArithmeticError):
        return None
    match = _NUMBER_TEXT.match(text.strip())
    if match is None:
        return None
    whole = "#,##0" if "," in match.group("whole") else "0"
    places = len(match.group("places") or "")
    number = whole + ("." + "0" * places if places else "")
    prefix, suffix = match.group("prefix"), match.group("suffix")
    quoted_prefix = f'"{prefix}"' if prefix else ""
    quoted_suffix = suffix if suffix in ("", "%") else f'"{suffix}"'
    return f"{quoted_prefix}{number}{quoted_suffix}"
