"""Spreadsheet files as rows of cells: reading CSV and Excel for imports,
writing them for exports and for the failed rows of an import.

Both directions stream: CSV through the ``csv`` module, Excel through
openpyxl's read-only and write-only modes, so a file of any size is read and
written in constant memory. Rows are numbered the way a spreadsheet shows
them: the header is row 1, the first data row is row 2.

CSV is UTF-8, with or without a byte order mark (written with one, so Excel
opens it in the right encoding). The delimiter is the one of ``, ; tab |``
that the header line uses most, unless given.

Files written are inert (CWE-1236, formula injection): an xlsx text cell is
always a string, never a formula, and a CSV text cell that a spreadsheet
would take for a formula (it begins with ``= + - @``, tab or carriage
return) gets a ``'`` in front, as OWASP's CSV-injection page recommends.
Reading a CSV file takes that ``'`` off again (``restored``), so an export
imports back to the values it was made from, a value that itself begins
with ``'`` included.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, cast

from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.records.csv_cells import ESCAPE, first_line_not_utf8, neutralized, restored

Source = str | Path | IO[bytes] | IO[str]
FORMATS = ("csv", "xlsx")
SUFFIXES = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}
DELIMITERS = (",", ";", "\t", "|")
ZIP_MAGIC = b"PK\x03\x04"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
TIME_FORMAT = "hh:mm:ss"


class FileRefused(ValidationError):
    """The file cannot be read as a sheet (unknown format, no header ...)."""

    code = "file_refused"


@dataclass
class Sheet:
    """An open sheet: its header cells and its data rows as
    ``(row number, cells)``, cells padded or cut to the header's length.
    Wholly blank rows are skipped (their numbers are not reused)."""

    header: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    text_cells: bool = False  # every cell is a str (CSV), never None
    sheet_names: list[str] = field(default_factory=list)  # an xlsx file's worksheets


def detect_format(source: Source, format: str | None = None) -> str:
    """``csv`` or ``xlsx``: as given, else by the file name's extension, else
    by the first bytes (an xlsx file is a zip archive)."""
    if format:
        chosen = "csv" if format.lower() in ("csv", "tsv", "txt") else format.lower()
        if chosen not in FORMATS:
            raise FileRefused(Label(f"不支持的文件格式 {format}（支持 csv、xlsx）",
                                    f"Unsupported file format {format} (csv and xlsx are)"))
        return chosen
    name = source if isinstance(source, str | Path) else getattr(source, "name", None)
    if isinstance(name, str | Path):
        suffix = Path(name).suffix.lower()
        if suffix in SUFFIXES:
            return SUFFIXES[suffix]
        if suffix == ".xls":
            raise FileRefused(Label("不支持旧版 .xls 文件，请另存为 .xlsx",
                                    "Old .xls files are not supported; save the file as .xlsx"))
    if not isinstance(source, str | Path) and source.seekable() and not isinstance(source, io.TextIOBase):
        start = source.tell()
        magic = source.read(4)
        source.seek(start)
        return "xlsx" if magic == ZIP_MAGIC else "csv"
    return "csv"


@contextmanager
def open_sheet(
    source: Source, *, format: str | None = None, sheet: str | int | None = None,
    delimiter: str | None = None,
) -> Iterator[Sheet]:
    """The header and rows of a CSV file or of one worksheet (by name or
    0-based index; the first by default) of an xlsx file."""
    kind = detect_format(source, format)
    if kind == "xlsx":
        with _open_xlsx(source, sheet) as opened:
            yield opened
    else:
        with _open_csv(source, delimiter) as opened:
            yield opened


@contextmanager
def _open_csv(source: Source, delimiter: str | None) -> Iterator[Sheet]:
    _check_utf8(source)
    with _text_stream(source) as stream:
        try:
            first = stream.readline()
        except UnicodeDecodeError as exc:
            raise _not_utf8(1) from exc
        if first.startswith("\ufeff"):
            first = first[1:]
        if delimiter is None:
            delimiter = max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","
        lines = _chain_first(first, stream)
        try:
            reader = csv.reader(lines, delimiter=delimiter)
            header = next(reader, None)
            if header is None:
                raise _no_header()
            yield Sheet([restored(h).strip() for h in header],
                        _numbered(_restored_rows(reader), len(header), ""), text_cells=True)
        finally:
            lines.close()


def _restored_rows(rows: Iterator[list[str]]) -> Iterator[list[str]]:
    for row in rows:
        # The common case, no cell neutralized, costs one scan of the first characters.
        if any(cell[:1] == ESCAPE for cell in row):
            row = [restored(cell) for cell in row]
        yield row


def _chain_first(first: str, stream: IO[str]) -> Generator[str, None, None]:
    yield first
    number = 1
    try:
        # Not ``yield from``: closing this generator would close the stream too.
        for line in stream:
            number += 1
            yield line
    except UnicodeDecodeError as exc:
        # Decoded a block at a time: the bad byte is on this line or a later one.
        raise _not_utf8(number + 1) from exc


def _check_utf8(source: Source) -> None:
    """Refuse a file that is not UTF-8 before any of it is imported (rows are
    written batch by batch, so a bad byte found later would stop the import
    half-way). Streams that cannot be rewound are checked as they are read."""
    if isinstance(source, str | Path):
        with open(source, "rb") as raw:
            bad = first_line_not_utf8(raw)
    elif not isinstance(source, io.TextIOBase) and source.seekable():
        start = source.tell()
        bad = first_line_not_utf8(cast(IO[bytes], source))
        source.seek(start)
    else:
        return
    if bad is not None:
        raise _not_utf8(bad, exact=True)


def _not_utf8(line: int, *, exact: bool = False) -> FileRefused:
    if exact:
        return FileRefused(Label(f"文件第 {line} 行不是 UTF-8 编码的文本：请另存为“CSV UTF-8”或 .xlsx",
                                 f"Line {line} of the file is not UTF-8 text: save it as CSV UTF-8 or as .xlsx"))
    return FileRefused(Label(f"文件不是 UTF-8 编码的文本（第 {line} 行或之后）：请另存为“CSV UTF-8”或 .xlsx",
                             f"The file is not UTF-8 text (at line {line} or after): save it as CSV UTF-8 "
                             "or as .xlsx"))


@contextmanager
def _text_stream(source: Source) -> Iterator[IO[str]]:
    if isinstance(source, str | Path):
        with open(source, encoding="utf-8-sig", newline="") as stream:
            yield stream
        return
    if isinstance(source, io.TextIOBase):
        yield cast(IO[str], source)
        return
    wrapper = io.TextIOWrapper(cast(IO[bytes], source), encoding="utf-8-sig", newline="")
    try:
        yield wrapper
    finally:
        wrapper.detach()  # the caller owns the binary stream


def _numbered(rows: Iterator[Sequence[Any]], width: int, fill: Any = None) -> Iterator[tuple[int, list[Any]]]:
    for number, row in enumerate(rows, start=2):
        cells = row if type(row) is list and len(row) == width else list(row[:width])
        if len(cells) < width:
            cells.extend([fill] * (width - len(cells)))
        # any() is the fast test; a row it calls blank may still hold a 0 or a False.
        if not any(cells) and all(is_blank_cell(cell) for cell in cells):
            continue
        yield number, cells


@contextmanager
def _open_xlsx(source: Source, sheet: str | int | None) -> Iterator[Sheet]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)  # type: ignore[arg-type]
    except Exception as exc:  # openpyxl raises zip, XML and key errors alike
        raise FileRefused(Label(f"无法读取 Excel 文件：{exc}", f"Cannot read the Excel file: {exc}")) from exc
    try:
        if sheet is None:
            worksheet = workbook.worksheets[0]
        elif isinstance(sheet, int) and 0 <= sheet < len(workbook.worksheets):
            worksheet = workbook.worksheets[sheet]
        elif isinstance(sheet, str) and sheet in workbook.sheetnames:
            worksheet = workbook[sheet]
        else:
            names = "、".join(workbook.sheetnames)
            raise FileRefused(Label(f"没有工作表 {sheet}（有：{names}）",
                                    f"There is no sheet {sheet} (there are: {names})"))
        rows = cast(Iterator[tuple[Any, ...]], worksheet.iter_rows(values_only=True))
        header = next(rows, None)
        if header is None:
            raise _no_header()
        names_in_header = [("" if h is None else str(h)).strip() for h in header]
        while names_in_header and not names_in_header[-1]:
            names_in_header.pop()  # Excel often reports trailing blank columns
        yield Sheet(names_in_header, _numbered(rows, len(names_in_header)), sheet_names=list(workbook.sheetnames))
    finally:
        workbook.close()


def _no_header() -> FileRefused:
    return FileRefused(Label("文件是空的：第 1 行应为列标题", "The file is empty: row 1 should hold the column headers"))


# --- writing -----------------------------------------------------------------------
class SheetWriter:
    """Rows written to a CSV file or to one worksheet of an xlsx file.

    ``formats`` gives each column's Excel number format (``None``: by the
    value: dates and times get a date format, everything else none).
    Numbers (``Decimal`` included) are written as numbers, never as text.
    """

    def __init__(self, kind: str, stream: Any, formats: Sequence[str | None] = ()) -> None:
        self.kind = kind
        self.formats = list(formats)
        self.count = 0
        if kind == "xlsx":
            self._sheet = stream
            self._csv = None
        else:
            self._sheet = None
            self._csv = csv.writer(stream)

    def header(self, names: Sequence[str]) -> None:
        if self._sheet is None:
            assert self._csv is not None
            self._csv.writerow([neutralized(name) for name in names])
            return
        from openpyxl.styles import Font

        bold = Font(bold=True)
        cells = []
        for index, name in enumerate(names):
            cell = _text_cell(self._sheet, name)
            cell.font = bold
            cells.append(cell)
            letter = _column_letter(index)
            self._sheet.column_dimensions[letter].width = min(max(len(name) * 2 + 2, 10), 40)
        self._sheet.append(cells)

    def write(self, cells: Sequence[Any]) -> None:
        self.count += 1
        if self._sheet is None:
            assert self._csv is not None
            self._csv.writerow([neutralized(cell) if isinstance(cell, str) else csv_text(cell) for cell in cells])
            return
        self._sheet.append([self._cell(index, cell) for index, cell in enumerate(cells)])

    def _cell(self, index: int, value: Any) -> Any:
        if isinstance(value, str):
            if _XLSX_ILLEGAL.search(value):
                # Text fields accept control characters; an xlsx cell cannot hold them.
                value = _XLSX_ILLEGAL.sub("", value)
            # openpyxl takes a str beginning with = for a formula: say it is a string.
            return _text_cell(self._sheet, value) if value[:1] == "=" else value
        number_format = self.formats[index] if index < len(self.formats) else None
        if number_format is None:
            if isinstance(value, dt.datetime):
                number_format = DATETIME_FORMAT
            elif isinstance(value, dt.date):
                number_format = DATE_FORMAT
            elif isinstance(value, dt.time):
                number_format = TIME_FORMAT
            else:
                return value
        elif not isinstance(value, int | float | Decimal | dt.date | dt.time):
            return value
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(self._sheet, value=value)
        cell.number_format = number_format
        return cell


_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _text_cell(sheet: Any, text: str) -> Any:
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    return cell


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return str(get_column_letter(index + 1))


@contextmanager
def write_sheet(
    target: Source, *, format: str | None = None, title: str = "Sheet1",
    formats: Sequence[str | None] = (), bom: bool = True,
) -> Iterator[SheetWriter]:
    """A writer for ``target`` (a path or a file object), saved when the block ends.
    A path's extension must name the format (and agree with ``format``)."""
    kind = writing_format(target, format)
    if kind == "xlsx":
        import openpyxl

        workbook = openpyxl.Workbook(write_only=True)
        worksheet = workbook.create_sheet(title=_sheet_title(title))
        worksheet.freeze_panes = "A2"
        yield SheetWriter("xlsx", worksheet, formats)
        workbook.save(target)  # type: ignore[arg-type]
        return
    encoding = "utf-8-sig" if bom else "utf-8"
    if isinstance(target, str | Path):
        with open(target, "w", encoding=encoding, newline="") as stream:
            yield SheetWriter("csv", stream, formats)
        return
    if isinstance(target, io.TextIOBase):
        yield SheetWriter("csv", target, formats)
        return
    wrapper = io.TextIOWrapper(cast(IO[bytes], target), encoding=encoding, newline="")
    try:
        yield SheetWriter("csv", wrapper, formats)
        wrapper.flush()
    finally:
        wrapper.detach()


def writing_format(target: Source, format: str | None = None) -> str:
    """The format a file written to ``target`` takes: ``format`` for a file
    object (CSV by default); for a path, the one its extension names, which
    ``format`` must agree with. ``report.pdf`` is refused, not filled with CSV."""
    chosen = detect_format(target, format) if format else None
    if not isinstance(target, str | Path):
        return chosen or "csv"
    suffix = Path(target).suffix.lower()
    by_name = SUFFIXES.get(suffix)
    if by_name is None:
        raise FileRefused(Label(
            f"无法按 {Path(target).name} 确定文件格式：文件名应以 .csv 或 .xlsx 结尾",
            f"Cannot tell the format of {Path(target).name}: the file name must end in .csv or .xlsx"))
    if chosen is not None and chosen != by_name:
        raise FileRefused(Label(f"格式 {format} 与文件名 {Path(target).name} 不符",
                                f"The format {format} does not agree with the file name {Path(target).name}"))
    return by_name


def _sheet_title(title: str) -> str:
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in title).strip("'")
    return (cleaned or "Sheet1")[:31]


def csv_text(value: Any) -> str:
    """A cell as CSV text that reads back to the same value: decimals in
    plain notation, dates in ISO 8601."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def cell_text(value: Any) -> str:
    """A read cell as the text a person typed (``12`` rather than ``12.0``)."""
    if isinstance(value, str):
        return value.strip()
    return csv_text(value)


def is_blank_cell(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
