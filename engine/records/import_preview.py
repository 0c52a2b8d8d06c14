"""What an import would do with a file, before it runs: ``preview_import``.

The import wizard shows a file's worksheets, its header row and first rows,
and which field each column would fill — proposed by the importer's own
column plan (``engine.records.columns``: a field's key or its label in
either language, ignoring case, spaces and punctuation; ``明细.数量`` for a
subform's field), so what the preview proposes is exactly what the import
does. The user edits the proposal and passes it back as
``ImportOptions.mapping``; ``fields`` lists what a column may be mapped to.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from engine.core.i18n import Label
from engine.records.actor import Actor
from engine.records.columns import IgnoredColumn, ImportableField, importable_fields, unnamed_column
from engine.records.importing import IMPORTER, ImportOptions, prepared_import
from engine.records.service import RecordService
from engine.records.sheets import cell_text, detect_format

SAMPLE_ROWS = 20


@dataclass
class ImportPreview:
    """A file as an import would see it. ``mapping`` is column header ->
    field path for the columns that fill a field; ``unmapped`` the others,
    each with the reason; ``rows`` the first data rows as ``(row number,
    cells as text)``."""

    format: str
    sheets: list[str]
    sheet: str | int | None
    header: list[str]
    rows: list[tuple[int, list[str]]]
    mapping: dict[str, str]
    unmapped: list[IgnoredColumn]
    fields: list[ImportableField]
    warnings: list[Label] = field(default_factory=list)

    def as_dict(self, locale: str = "en") -> dict[str, Any]:
        by_path = {f.path: f for f in self.fields}
        reasons = {c.column: c.reason.text(locale) for c in self.unmapped}
        columns = []
        for index, header in enumerate(self.header):
            path = self.mapping.get(header)
            target = by_path.get(path) if path else None
            columns.append({"index": index, "column": header, "field": path,
                            "label": target.label.text(locale) if target else None,
                            "reason": None if path else reasons.get(header or unnamed_column(index))})
        return {
            "format": self.format, "sheets": self.sheets, "sheet": self.sheet, "header": self.header,
            "rows": [{"row": number, "cells": cells} for number, cells in self.rows],
            "mapping": dict(self.mapping), "columns": columns,
            "unmapped": [{"column": c.column, "reason": c.reason.text(locale)} for c in self.unmapped],
            "fields": [{"path": f.path, "label": f.label.text(locale), "type": f.type, "required": f.required}
                       for f in self.fields],
            "warnings": [w.text(locale) for w in self.warnings],
        }


def preview_import(
    service: RecordService,
    form_key: str,
    source: str | Path | IO[bytes] | IO[str],
    options: ImportOptions | None = None,
    *,
    actor: Actor = IMPORTER,
    sample: int = SAMPLE_ROWS,
) -> ImportPreview:
    """The worksheets, header, first ``sample`` rows and proposed mapping of
    ``source`` for an import into ``form_key`` with ``options`` (its
    ``mapping`` comes first, as in the import). Needs the import right, and
    raises for a bad file or set-up exactly as ``import_file`` would."""
    chosen = options or ImportOptions()
    kind = detect_format(source, chosen.format)
    with prepared_import(service, form_key, source, chosen, actor=actor) as (sheet, report):
        rows = [(number, [cell_text(c) for c in cells]) for number, cells in itertools.islice(sheet.rows, sample)]
        names = list(sheet.sheet_names)
    compiled, _ = service.form(form_key)
    shown: str | int | None = chosen.sheet
    if kind == "xlsx" and names:
        shown = names[chosen.sheet] if isinstance(chosen.sheet, int) else chosen.sheet or names[0]
    return ImportPreview(kind, names, shown, report.header, rows, dict(report.mapping),
                         list(report.ignored_columns), importable_fields(compiled.form, service.field_types),
                         list(report.warnings))

