"""A report's result as an Excel workbook: the header in the viewer's
language, dimensions by their labels, numbers as numbers with an Excel
number format (money, percent, precision), a frozen header; a pivot as its
cross table."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from engine.reports.formats import cell_text, decimal, is_percent, precision
from engine.reports.model import Pivot, ReportResult, ResultColumn
from engine.reports.pivot import cross_table

_BOLD = Font(bold=True)


def number_format(column: ResultColumn) -> str:
    places = precision(column)
    fraction = "." + "0" * places if places else ""
    if is_percent(column):
        return f"0{fraction}%"
    if column.type == "money":
        return f"#,##0{fraction}"
    return f"#,##0{fraction}" if places else "#,##0"


def result_xlsx(result: ReportResult, *, title: str, locale: str, pivot: Pivot | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = (title or "Report")[:31].translate({ord(c): "_" for c in "[]:*?/\\"})
    if pivot is not None and result.grouping is not None:
        _pivot(sheet, result, pivot, locale)
    else:
        _table(sheet, result, locale)
    sheet.freeze_panes = "A2"
    widths: dict[int, int] = {}
    for row in sheet.iter_rows():
        for cell in row:
            text = str(cell.value) if cell.value is not None else ""
            wide = min(60, sum(2 if ord(ch) > 255 else 1 for ch in text) + 2)  # CJK reads twice as wide
            index = int(cell.column or 1)
            widths[index] = max(widths.get(index, 8), wide)
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _table(sheet: Any, result: ReportResult, locale: str) -> None:
    sheet.append([c.label.text(locale) for c in result.columns])
    for cell in sheet[1]:
        cell.font = _BOLD
    for row in result.rows:
        sheet.append([_value(result, c, v, locale) for c, v in zip(result.columns, row, strict=True)])
        for cell, column in zip(sheet[sheet.max_row], result.columns, strict=True):
            if column.role != "dimension":
                cell.number_format = number_format(column)


def _value(result: ReportResult, column: ResultColumn, value: Any, locale: str) -> Any:
    if column.role == "dimension":
        return cell_text(result, column, value, locale)
    found = decimal(value)
    return None if found is None else float(found)


def _pivot(sheet: Any, result: ReportResult, pivot: Pivot, locale: str) -> None:
    table = cross_table(result, pivot, locale)
    measures = [c for c in result.columns if c.role != "dimension"]
    depth = max((len(h.texts) for h in table.headers), default=0)
    for level in range(max(depth, 1)):
        first = list(table.row_labels) if level == depth - 1 or depth == 0 else ["" for _ in table.row_labels]
        sheet.append(first + [h.texts[level] if level < len(h.texts) else "" for h in table.headers])
        for cell in sheet[sheet.max_row]:
            cell.font = _BOLD
    for row in table.rows:
        values = [c.value if c is not None else None for c in row.cells]
        sheet.append(list(row.texts) + values)
        for i, cell in enumerate(sheet[sheet.max_row][len(row.texts):]):
            cell.number_format = number_format(measures[i % len(measures)])
            if row.total:
                cell.font = _BOLD
