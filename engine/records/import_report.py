"""What an import did, row by row: ``ImportReport``.

Row numbers are the ones a spreadsheet shows: the header is row 1, so the
first data row is row 2. Every row the import read is counted once as
created, updated, unchanged, skipped, failed or not written, and every failure names
the row, the column, the value and the reason in both languages. The rows
that failed can be written back out with an extra error column, to be fixed
and imported again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from engine.core.i18n import Label, label
from engine.records.columns import IgnoredColumn
from engine.records.sheets import csv_text, write_sheet

ERROR_COLUMN = Label("错误原因", "error")


@dataclass(frozen=True)
class RowFailure:
    """One problem with one row. ``column`` is the header of the column at
    fault (None when the problem is the row's, or a field no column fills);
    ``field`` the field path; ``value`` the cell as read."""

    row_number: int
    column: str | None
    field: str | None
    value: Any
    message: Label

    def as_dict(self, locale: str = "en") -> dict[str, Any]:
        return {
            "row": self.row_number, "column": self.column, "field": self.field,
            "value": None if self.value is None else csv_text(self.value),
            "message": self.message.text(locale),
        }

    def describe(self, locale: str = "en") -> str:
        zh = locale.lower().startswith("zh")
        where = f"第 {self.row_number} 行" if zh else f"row {self.row_number}"
        if self.column:
            where += f"，{self.column}" if zh else f", {self.column}"
        if self.value is not None and csv_text(self.value) != "":
            where += f"“{csv_text(self.value)}”" if zh else f" \"{csv_text(self.value)}\""
        return f"{where}：{self.message.zh}" if zh else f"{where}: {self.message.en}"


@dataclass
class ImportReport:
    """The outcome of ``import_file``.

    ``rows`` counts the data rows read and ``records`` the records they make
    (several rows make one record when they carry its subform rows);
    ``created + updated + unchanged + skipped + failed + not_written ==
    records``. ``unchanged`` counts records a row would update with the
    values they already hold (no new version, no audit entry).
    ``not_written`` counts good records left out because their batch failed
    under ``on_error="abort"``; ``stopped_at_row`` is where such a run stopped
    (for a dry run: where a real run would stop).
    """

    form: str
    form_label: Label
    header: list[str]
    dry_run: bool = False
    rows: int = 0
    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    not_written: int = 0
    failures: list[RowFailure] = field(default_factory=list)
    ignored_columns: list[IgnoredColumn] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    warnings: list[Label] = field(default_factory=list)
    stopped_at_row: int | None = None
    cancelled: bool = False  # stopped by its ``progress`` callback (a cancelled job)
    created_ids: list[int] = field(default_factory=list)
    failed_rows: list[tuple[int, list[Any]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def failures_by_row(self) -> dict[int, list[RowFailure]]:
        grouped: dict[int, list[RowFailure]] = {}
        for failure in self.failures:
            grouped.setdefault(failure.row_number, []).append(failure)
        return grouped

    def totals(self) -> dict[str, int]:
        return {
            "rows": self.rows, "records": self.records, "created": self.created,
            "updated": self.updated, "unchanged": self.unchanged, "skipped": self.skipped, "failed": self.failed,
            "not_written": self.not_written,
        }

    def as_dict(self, locale: str = "en") -> dict[str, Any]:
        """The report as JSON data (the API's and the CLI's ``--json``)."""
        return {
            "form": self.form,
            "dry_run": self.dry_run,
            "totals": self.totals(),
            "stopped_at_row": self.stopped_at_row,
            "cancelled": self.cancelled,
            "mapping": dict(self.mapping),
            "ignored_columns": [{"column": c.column, "reason": c.reason.text(locale)}
                                for c in self.ignored_columns],
            "warnings": [w.text(locale) for w in self.warnings],
            "failures": [f.as_dict(locale) for f in self.failures],
        }

    def describe(self, locale: str = "en", *, limit: int = 50) -> str:
        """The report as text for a person: totals, ignored columns, and the
        first ``limit`` failures."""
        zh = locale.lower().startswith("zh")
        name = self.form_label.text(locale)
        lines = []
        if zh:
            head = "试导入（未写入任何数据）" if self.dry_run else "导入"
            lines.append(f"{head}{name}：读取 {self.rows:,} 行（{self.records:,} 条记录），新建 {self.created:,}，"
                         f"更新 {self.updated:,}"
                         + (f"，未变 {self.unchanged:,}" if self.unchanged else "")
                         + f"，跳过 {self.skipped:,}，失败 {self.failed:,}"
                         + (f"，未写入 {self.not_written:,}" if self.not_written else "") + "。")
        else:
            head = "Dry run (nothing written) of the import" if self.dry_run else "Import"
            lines.append(f"{head} into {name}: {self.rows:,} rows read ({self.records:,} records), "
                         f"{self.created:,} created, {self.updated:,} updated"
                         + (f", {self.unchanged:,} unchanged" if self.unchanged else "")
                         + f", {self.skipped:,} skipped, "
                         f"{self.failed:,} failed"
                         + (f", {self.not_written:,} not written" if self.not_written else "") + ".")
        if self.stopped_at_row is not None:
            row = self.stopped_at_row
            if self.dry_run:
                lines.append(f"正式导入会在第 {row} 行所在的批次停止：该批次有错误，不会写入，之后的行也不会读取。" if zh
                             else f"A real import would stop at the batch starting at row {row}: it has "
                                  "errors, so none of its rows would be written and later rows not read.")
            else:
                lines.append(f"导入在第 {row} 行所在的批次停止：该批次有错误，未写入；之后的行未读取。" if zh
                             else f"The import stopped at the batch starting at row {row}: it has errors, "
                                  "so none of its rows were written, and later rows were not read.")
        if self.cancelled:
            lines.append("导入已取消：之前的批次已写入，之后的行未读取。" if zh
                         else "The import was cancelled: the batches before were written, later rows not read.")
        for warning in self.warnings:
            lines.append(("注意：" if zh else "Note: ") + warning.text(locale))
        if self.ignored_columns:
            lines.append("未导入的列：" if zh else "Columns not imported:")
            lines.extend(f"  {c.column}：{c.reason.zh}" if zh else f"  {c.column}: {c.reason.en}"
                         for c in self.ignored_columns)
        if self.failures:
            lines.append("失败的行：" if zh else "Rows that failed:")
            lines.extend(f"  {failure.describe(locale)}" for failure in self.failures[:limit])
            if len(self.failures) > limit:
                more = len(self.failures) - limit
                lines.append(f"  ……另有 {more:,} 处错误" if zh else f"  … and {more:,} more")
        return "\n".join(lines)

    def write_failed_rows(
        self, target: str | Path | IO[bytes] | IO[str], *, format: str | None = None,
        locale: str = "en",
    ) -> int:
        """Write the rows that failed, as read, with an extra error column, to
        a CSV or xlsx file that can be fixed and imported again. Returns the
        number of rows written. (Under ``on_error="abort"`` the good rows of
        the stopped batch are not in it: fix the source file instead.)"""
        by_row = self.failures_by_row()
        with write_sheet(target, format=format, title=self.form_label.text(locale)) as sheet:
            sheet.header([*self.header, ERROR_COLUMN.text(locale)])
            for number, cells in self.failed_rows:
                messages = [f.describe(locale) for f in by_row.get(number, [])]
                sheet.write([*cells, "；".join(messages) if locale.startswith("zh") else "; ".join(messages)])
            return sheet.count


    # --- kept in the database (an import job's report) -------------------------------
    def stored(self) -> dict[str, Any]:
        """The report as JSON to keep (both languages, the failed rows' cells
        as read), from which ``from_stored`` makes it again."""
        return cast("dict[str, Any]", _without_nul({
            "form": self.form, "form_label": self.form_label.as_dict(), "header": self.header,
            "dry_run": self.dry_run, "totals": self.totals(), "stopped_at_row": self.stopped_at_row,
            "cancelled": self.cancelled, "mapping": self.mapping,
            "ignored_columns": [[c.column, c.reason.as_dict()] for c in self.ignored_columns],
            "warnings": [w.as_dict() for w in self.warnings],
            "failures": [[f.row_number, f.column, f.field, None if f.value is None else _json_cell(f.value),
                          f.message.as_dict()] for f in self.failures],
            "failed_rows": [[number, [_json_cell(c) for c in cells]] for number, cells in self.failed_rows],
        }))

    @classmethod
    def from_stored(cls, data: dict[str, Any]) -> ImportReport:
        report = cls(str(data["form"]), label(data["form_label"]), list(data["header"]),
                     dry_run=bool(data["dry_run"]), stopped_at_row=data.get("stopped_at_row"),
                     cancelled=bool(data.get("cancelled")), mapping=dict(data.get("mapping") or {}))
        for name, value in data["totals"].items():
            setattr(report, name, int(value))
        report.ignored_columns = [IgnoredColumn(c, label(r)) for c, r in data.get("ignored_columns", [])]
        report.warnings = [label(w) for w in data.get("warnings", [])]
        report.failures = [RowFailure(n, c, f, v, label(m)) for n, c, f, v, m in data.get("failures", [])]
        report.failed_rows = [(int(n), list(cells)) for n, cells in data.get("failed_rows", [])]
        return report


def _json_cell(value: Any) -> Any:
    """A cell as JSON keeps it: text, whole and float numbers and booleans as
    they are; dates and decimals as the text that imports back to them."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return csv_text(value)


def _without_nul(data: Any) -> Any:
    """``data`` without NUL characters in its texts, which PostgreSQL's JSON refuses."""
    if isinstance(data, str):
        return data.replace("\x00", "")
    if isinstance(data, list):
        return [_without_nul(item) for item in data]
    if isinstance(data, dict):
        return {_without_nul(k): _without_nul(v) for k, v in data.items()}
    return data
