"""The import wizard, ``/a/<app>/<form>/import``: upload a CSV or xlsx file,
map its columns to the form's fields, choose what happens to duplicates and
bad rows, try it (a dry run: the per-row report, nothing written), then run
it with a progress bar, and download the rows that failed.

The engine's ``ImportJobs`` does the work (the REST API's ``imports`` calls
the same service). Nothing lives in the session: the stored file's id is in
the mapping step's address, and a run is a job whose page can be reloaded,
left and come back to (the upload step lists the reader's recent jobs).
"""

from __future__ import annotations

import dataclasses
import tempfile
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, request, send_file

from engine.core.errors import ConflictError, ValidationError
from engine.records import Actor
from engine.records.columns import importable_fields
from engine.records.import_jobs import ImportJob, options_of
from runtime.api.exchange import FORMATS, file_errors
from runtime.api.records import form_service
from runtime.web.context import page, page_actor, render, services
from runtime.web.i18n import current_language, format_number, gettext
from runtime.web.import_wizard_steps import (
    DUPLICATE_WORDS,
    ERROR_WORDS,
    STATUS_WORDS,
    Choices,
    columns,
    failure_page,
    job_counts,
    key_fields,
    percent,
)
from runtime.web.navigation import app_context, form_url

bp = Blueprint("imports_page", __name__)

WIZARD = "/a/<app_key>/<form_key>/import"
JOB = f"{WIZARD}/jobs/<int:job_id>"
RECENT = 10


def _setup(app_key: str, form_key: str) -> tuple[dict[str, Any], Any, Actor]:
    """The layout's context, the form and the reader: 404 for an unknown form,
    403 (the error page) without the form's import right."""
    context = app_context(app_key, form_key)
    service, compiled = form_service(app_key, form_key)
    actor = page_actor(app_key)
    actor.policy(service, form_key).require("import")
    return context, compiled.form, actor


def _wizard_url(app_key: str, form_key: str) -> str:
    return f"/a/{app_key}/{form_key}/import"


def _problem(error: ValidationError, name: str = "file") -> dict[str, list[str]]:
    language = current_language()
    found = [m.text(language) for m in (error.field_errors or {}).get(name, [])]
    return {name: found or [error.text(language)]}


# --- step 1: upload -------------------------------------------------------------------
def _upload_step(app_key: str, form_key: str, *, problems: dict[str, list[str]] | None = None,
                 status: int = 200) -> Response:
    context, form, actor = _setup(app_key, form_key)
    jobs = [j for j in services().imports.recent(app_key, actor=actor, limit=50) if j.form == form_key]
    return render("imports/upload.html", status=status, **context, form=form, step=1,
                  problems=problems or {}, jobs=jobs[:RECENT], status_words=STATUS_WORDS,
                  max_bytes=services().files.max_size, list_url=form_url(app_key, form_key),
                  wizard_url=_wizard_url(app_key, form_key))


@bp.get(WIZARD)
@page
def upload_page(app_key: str, form_key: str) -> Response:
    if request.args.get("too_large"):
        size = format_number(round(services().files.max_size / 1048576, 1))
        return _upload_step(app_key, form_key, problems={"file": [gettext(
            "The file is larger than %(size)s MB, the most an import takes: split it into smaller files "
            "and import them one after the other.", size=size)]})
    return _upload_step(app_key, form_key)


@bp.before_request
def refuse_what_is_too_large() -> Response | None:
    """A file over the size limit is refused before a byte of it is read
    (reading the form would fail with a bare 413 page): back to the upload
    step, which says why in the reader's language."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if request.method == "POST" and request.endpoint == "imports_page.upload" and limit \
            and (request.content_length or 0) > int(limit):
        return redirect(f"{request.path}?too_large=1", 303)  # type: ignore[return-value]
    return None


@bp.post(WIZARD)
@page
def upload(app_key: str, form_key: str) -> Response:
    """Keep the file and read its first rows now, so a file that cannot be
    imported is said at the file input, not a step later."""
    _context, _form, actor = _setup(app_key, form_key)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _upload_step(app_key, form_key, status=422,
                            problems={"file": [gettext("Choose a CSV or xlsx file to import.")]})
    jobs = services().imports
    try:
        with file_errors():
            stored = jobs.store_file(upload.stream, upload.filename, actor=actor)
            jobs.preview(app_key, form_key, stored.id, actor=actor)
    except ValidationError as error:
        return _upload_step(app_key, form_key, problems=_problem(error), status=422)
    return redirect(f"{_wizard_url(app_key, form_key)}/file/{stored.id}", 303)  # type: ignore[return-value]


# --- step 2: mapping and options ------------------------------------------------------
def _mapping_step(app_key: str, form_key: str, file_id: str, choices: Choices, *,
                  error: str | None = None, status: int = 200) -> Response:
    context, form, actor = _setup(app_key, form_key)
    jobs = services().imports
    info = jobs.file(file_id, actor=actor)
    try:
        with file_errors():
            preview = jobs.preview(app_key, form_key, file_id, choices.preview_options(), actor=actor)
    except ValidationError as problem:
        if choices.sheet is None:
            raise
        # A sheet that is not in the workbook: the first one, and why.
        error, choices = problem.text(current_language()), dataclasses.replace(choices, sheet=None)
        preview = jobs.preview(app_key, form_key, file_id, choices.preview_options(), actor=actor)
    return render("imports/mapping.html", status=status, **context, form=form, step=2, file=info,
                  preview=preview, columns=columns(preview, choices), choices=choices,
                  key_fields=key_fields(preview.fields), duplicate_words=DUPLICATE_WORDS,
                  error_words=ERROR_WORDS, error=error, wizard_url=_wizard_url(app_key, form_key))


@bp.get(f"{WIZARD}/file/<file_id>")
@page
def mapping_page(app_key: str, form_key: str, file_id: str) -> Response:
    """The proposed mapping; ``?sheet=`` another worksheet; ``?job=`` the set-up of an earlier try."""
    choices = Choices(sheet=request.args.get("sheet") or None)
    raw = request.args.get("job", "")
    if raw.isascii() and raw.isdigit() and len(raw) < 10:
        job = _job(app_key, form_key, int(raw))
        if job.file_id == file_id:
            choices = Choices.of_job(job)
    return _mapping_step(app_key, form_key, file_id, choices)


@bp.post(f"{WIZARD}/file/<file_id>")
@page
def start(app_key: str, form_key: str, file_id: str) -> Response:
    """Start a dry run (``action=dry_run``) or the import itself, then follow it on its page."""
    _context, _form, actor = _setup(app_key, form_key)
    jobs = services().imports
    preview = jobs.preview(app_key, form_key, file_id, Choices(sheet=request.form.get("sheet") or None)
                           .preview_options(), actor=actor)
    choices = Choices.of_form(request.form, preview.header, {f.path for f in preview.fields})
    if choices.mapping is not None and not any(choices.mapping.values()):
        choices.problems.setdefault("mapping", []).insert(
            0, gettext("Choose a field for at least one column: nothing would be imported."))
    if choices.problems:
        return _mapping_step(app_key, form_key, file_id, choices, status=422)
    options = choices.options(dry_run=request.form.get("action") != "run")
    try:
        with file_errors():
            job = jobs.start(app_key, form_key, file_id, options, actor=actor)
    except ValidationError as error:
        return _mapping_step(app_key, form_key, file_id, choices, error=error.text(current_language()),
                             status=422)
    return redirect(f"{_wizard_url(app_key, form_key)}/jobs/{job.id}", 303)  # type: ignore[return-value]


# --- steps 3 and 4: a job, its progress and its report --------------------------------
def _job(app_key: str, form_key: str, job_id: int) -> ImportJob:
    """The job, if the reader may see it and it imports into this form (404 otherwise)."""
    app_context(app_key, form_key)
    job: ImportJob = services().imports.get(min(job_id, 2**31), actor=page_actor(app_key))
    if job.app != app_key or job.form != form_key:
        abort(404)
    return job


def _job_context(app_key: str, form_key: str, job: ImportJob) -> dict[str, Any]:
    service, compiled = form_service(app_key, form_key)
    labels = {f.path: f.label for f in importable_fields(compiled.form, service.field_types)}
    raw = request.args.get("page", "1")
    number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1
    return {"job": job, "form": compiled.form, "percent": percent(job), "counts": job_counts(job),
            "failures": failure_page(job, labels, number), "status_words": STATUS_WORDS,
            "wizard_url": _wizard_url(app_key, form_key), "job_url": f"{_wizard_url(app_key, form_key)}/jobs/{job.id}",
            "list_url": form_url(app_key, form_key), "step": 3 if job.dry_run else 4}


@bp.get(JOB)
@page
def job_page(app_key: str, form_key: str, job_id: int) -> Response:
    context = app_context(app_key, form_key)
    job = _job(app_key, form_key, job_id)
    return render("imports/job.html", **context, **_job_context(app_key, form_key, job))


@bp.get(f"{JOB}/progress")
@page
def progress(app_key: str, form_key: str, job_id: int) -> Response:
    """The progress bar (htmx polls it); once the job is over, the whole page
    is loaded again to show the report."""
    job = _job(app_key, form_key, job_id)
    response = render("imports/_progress.html", **_job_context(app_key, form_key, job))
    if job.finished:
        response.headers["HX-Refresh"] = "true"
    return response


@bp.post(f"{JOB}/cancel")
@page
def cancel(app_key: str, form_key: str, job_id: int) -> Response:
    _job(app_key, form_key, job_id)
    try:
        services().imports.cancel(job_id, actor=page_actor(app_key))
    except ConflictError as error:  # it ended meanwhile: its page shows how
        flash(error.text(current_language()), "error")
    return redirect(f"{_wizard_url(app_key, form_key)}/jobs/{job_id}", 303)  # type: ignore[return-value]


@bp.post(f"{JOB}/run")
@page
def run(app_key: str, form_key: str, job_id: int) -> Response:
    """Import for real what a dry run tried, with the same file and set-up."""
    _context, _form, actor = _setup(app_key, form_key)
    tried = _job(app_key, form_key, job_id)
    options = dataclasses.replace(options_of(tried.options), dry_run=False)
    try:
        with file_errors():
            job = services().imports.start(app_key, form_key, tried.file_id, options, actor=actor)
    except ValidationError as error:  # the file is gone, or the form changed since
        flash(error.text(current_language()), "error")
        return redirect(f"{_wizard_url(app_key, form_key)}/jobs/{job_id}", 303)  # type: ignore[return-value]
    return redirect(f"{_wizard_url(app_key, form_key)}/jobs/{job.id}", 303)  # type: ignore[return-value]


@bp.get(f"{JOB}/failed-rows.<extension>")
@page
def failed_rows(app_key: str, form_key: str, job_id: int, extension: str) -> Response:
    """The failed rows in the file's own columns plus the reason, in the reader's language."""
    if extension not in FORMATS:
        abort(404)
    _job(app_key, form_key, job_id)
    target = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (send_file closes it)
    services().imports.write_failed_rows(job_id, target, actor=page_actor(app_key), format=extension,
                                         locale=current_language())
    target.seek(0)
    return send_file(target, mimetype=FORMATS[extension], as_attachment=True,
                     download_name=f"{form_key}-import-{job_id}-failed-rows.{extension}")
