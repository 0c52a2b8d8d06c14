"""What the import wizard's steps show, from the engine's preview and jobs:
the mapping table, the options as the reader chose them, a job's report a
page at a time. No request handling here (``import_wizard`` does that)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from engine.records.columns import ImportableField
from engine.records.import_jobs import ImportJob
from engine.records.import_preview import ImportPreview
from engine.records.importing import ON_DUPLICATE, ON_ERROR, ImportOptions
from runtime.web.i18n import N_, current_language, gettext

SAMPLES = 3  # sample values shown per column
FAILURES_PER_PAGE = 50
DEFAULT_ON_ERROR = "skip"  # the wizard's default: bad rows are reported and left out, the rest imported

DUPLICATE_WORDS = {
    "error": N_("Report the row as failed (“already exists”)"),
    "skip": N_("Skip the row and leave the record as it is"),
    "update": N_("Update the record (rows with a new key fail)"),
    "upsert": N_("Update the record, create the ones not there yet"),
}
ERROR_WORDS = {
    "skip": N_("Leave the bad rows out and import the rest"),
    "abort": N_("Stop at the first bad batch (batches already written stay)"),
}
STATUS_WORDS = {
    "queued": N_("Waiting to start"),
    "running": N_("Running"),
    "done": N_("Finished"),
    "failed": N_("Failed"),
    "cancelled": N_("Cancelled"),
}
COUNT_WORDS = {
    "created": N_("New records"),
    "updated": N_("Updated records"),
    "unchanged": N_("Unchanged records"),
    "skipped": N_("Skipped records"),
    "failed": N_("Failed records"),
    "not_written": N_("Records not written"),
}
DRY_COUNT_WORDS = {
    "created": N_("Would be created"),
    "updated": N_("Would be updated"),
    "unchanged": N_("Would stay unchanged"),
    "skipped": N_("Would be skipped"),
    "failed": N_("Would fail"),
    "not_written": N_("Would not be written"),
}
assert set(DUPLICATE_WORDS) == set(ON_DUPLICATE) and set(ERROR_WORDS) == set(ON_ERROR)


@dataclass(frozen=True)
class Column:
    """One column of the file in the mapping table."""

    index: int
    header: str
    samples: list[str]
    chosen: str | None  # the field path it fills, None: not imported
    reason: str | None  # why the engine left it out, when it did


@dataclass
class Choices:
    """The reader's set-up of an import, as the mapping step's form holds it."""

    sheet: str | int | None = None
    mapping: dict[str, str | None] | None = None  # column header -> field path; None: the proposal
    key_field: str | None = None
    on_duplicate: str = "error"
    on_error: str = DEFAULT_ON_ERROR
    problems: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def of_job(cls, job: ImportJob) -> Choices:
        """A job's set-up, to change it and try again."""
        options = job.options
        return cls(sheet=options.get("sheet"), mapping=dict(options["mapping"]) if options.get("mapping") else None,
                   key_field=options.get("key_field"), on_duplicate=options.get("on_duplicate") or "error",
                   on_error=options.get("on_error") or DEFAULT_ON_ERROR)

    @classmethod
    def of_form(cls, form: MultiDict[str, str], header: list[str], paths: set[str]) -> Choices:
        """The posted form; choices that are not on offer are problems, not guesses."""
        problems: dict[str, list[str]] = {}
        mapping: dict[str, str | None] = {}
        for index, name in enumerate(header):
            path = form.get(f"map-{index}", "").strip() or None
            if not name:
                continue  # a column without a header cannot be named in a mapping
            if path is not None and path not in paths:
                problems.setdefault("mapping", []).append(
                    gettext("The column %(column)s names no field of this form (%(field)s).", column=name, field=path))
                path = None
            mapping[name] = path
        key = form.get("key_field", "").strip() or None
        duplicate = form.get("on_duplicate", "error")
        on_error = form.get("on_error", DEFAULT_ON_ERROR)
        sheet = form.get("sheet") or None
        return cls(sheet=sheet, mapping=mapping, key_field=key if key in paths else None,
                   on_duplicate=duplicate if duplicate in ON_DUPLICATE else "error",
                   on_error=on_error if on_error in ON_ERROR else DEFAULT_ON_ERROR, problems=problems)

    def options(self, *, dry_run: bool) -> ImportOptions:
        return ImportOptions(sheet=self.sheet, mapping=self.mapping, key_field=self.key_field,
                             on_duplicate=self.on_duplicate if self.key_field else None,
                             on_error=self.on_error, dry_run=dry_run)

    def preview_options(self) -> ImportOptions:
        """What to preview with: the sheet alone (the reader's mapping may be what is wrong)."""
        return ImportOptions(sheet=self.sheet)


def columns(preview: ImportPreview, choices: Choices) -> list[Column]:
    language = current_language()
    reasons = {c.column: c.reason.text(language) for c in preview.unmapped}
    found = []
    for index, header in enumerate(preview.header):
        samples = [cells[index] for _n, cells in preview.rows if index < len(cells) and cells[index] != ""]
        chosen = preview.mapping.get(header) if choices.mapping is None else choices.mapping.get(header)
        found.append(Column(index, header, samples[:SAMPLES], chosen if header else None,
                            None if chosen else reasons.get(header)))
    return found


def key_fields(fields: list[ImportableField]) -> list[ImportableField]:
    """The fields that can say "this row is that record": the form's own, not a subform's."""
    return [f for f in fields if "." not in f.path]


@dataclass(frozen=True)
class FailurePage:
    """One page of a job's failed rows, in the reader's language."""

    rows: list[dict[str, Any]]
    page: int
    pages: int
    total: int


def failure_page(job: ImportJob, labels: Mapping[str, Any], page: int) -> FailurePage | None:
    report = job.import_report()
    if report is None:
        return None
    language = current_language()
    total = len(report.failures)
    pages = max(1, math.ceil(total / FAILURES_PER_PAGE))
    page = min(max(page, 1), pages)
    start = (page - 1) * FAILURES_PER_PAGE
    rows = [{"row": f.row_number, "column": f.column, "field": labels.get(f.field or "") or f.field,
             "value": f.as_dict(language)["value"], "message": f.message.text(language)}
            for f in report.failures[start:start + FAILURES_PER_PAGE]]
    return FailurePage(rows, page, pages, total)


def job_counts(job: ImportJob) -> list[tuple[str, str, int]]:
    """(key, words, number) of what the job did (or, dry, would do), the zeros left out."""
    words = DRY_COUNT_WORDS if job.dry_run else COUNT_WORDS
    report = job.import_report()
    counts = report.totals() if report is not None else dict(job.counts)
    return [(key, words[key], int(counts.get(key) or 0)) for key in words if counts.get(key)]


def percent(job: ImportJob) -> int:
    if job.finished and job.status == "done":
        return 100
    if not job.total_rows:
        return 0
    return min(100, job.processed_rows * 100 // job.total_rows)
