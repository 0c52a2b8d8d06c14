"""Imports in the background, for the import wizard (``engine.records.import_jobs``).

- ``POST /apps/{app}/forms/{form}/imports/preview``: form data with the file
  in ``file`` (stored, and named in the answer's ``file.id``) or the id of a
  file already stored in ``file_id``, and optionally ``options`` (JSON:
  ``sheet``, ``mapping`` ...). Answers the sheets, header, first rows and the
  proposed mapping.
- ``POST /apps/{app}/forms/{form}/imports``: the same fields; starts the job
  and answers 202 with it (``Location``: the job).
- ``GET /imports/{id}``: status, progress, counts, and the report once done.
- ``POST /imports/{id}/cancel``: the import stops after its current batch.
- ``GET /imports/{id}/failed-rows?format=xlsx|csv``: the rows that failed,
  with an error column in the reader's language.

Starting and previewing need the form's import right; a job is seen only by
the user who started it and by those who manage its app (404 for others).
"""

from __future__ import annotations

import tempfile

from flask import Blueprint, Response, request, send_file

from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.records import Actor
from engine.records.importing import ImportOptions
from runtime.api.exchange import FORM, FORMATS, file_errors, import_options
from runtime.api.files import file_json
from runtime.api.records import form_service
from runtime.auth import actor_for, authenticate_request
from runtime.errors import UnsupportedMediaType, request_locale
from runtime.jsonio import json_response
from runtime.services import current_services

bp = Blueprint("imports", __name__)

MAX_JOB_ID = 2**31 - 1
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
_NO_FILE = Label("请上传文件（file 字段）或给出已上传文件的 file_id",
                 "Upload a file (the field file) or give the file_id of one already uploaded")


def _file_and_options(app_key: str, form_key: str) -> tuple[str, ImportOptions, Actor]:
    """The stored file's id (storing an uploaded one), the options and the
    actor: 404 for an unknown form, 403 without the import right, before
    anything is stored."""
    service, _ = form_service(app_key, form_key)
    if request.mimetype not in FORM_TYPES:
        raise UnsupportedMediaType(Label("需要 multipart/form-data（文件在 file 字段）",
                                         "This takes multipart/form-data (the file in the field file)"),
                                   details={"content_type": request.mimetype or None})
    actor = actor_for(app_key, source="import")
    actor.policy(service, form_key).require("import")
    options = import_options()
    upload = request.files.get("file")
    jobs = current_services().imports
    if upload is not None and upload.filename:
        return jobs.store_file(upload.stream, upload.filename, actor=actor).id, options, actor
    file_id = request.form.get("file_id", "").strip()
    if not file_id:
        raise ValidationError(_NO_FILE, field_errors={"file": [_NO_FILE]})
    return file_id, options, actor


@bp.post(f"{FORM}/imports/preview")
def preview(app_key: str, form_key: str) -> Response:
    file_id, options, actor = _file_and_options(app_key, form_key)
    jobs = current_services().imports
    with file_errors():
        found = jobs.preview(app_key, form_key, file_id, options, actor=actor)
    info = jobs.file(file_id, actor=actor)
    return json_response({"file": file_json(info), **found.as_dict(request_locale())})


@bp.post(f"{FORM}/imports")
def start(app_key: str, form_key: str) -> Response:
    file_id, options, actor = _file_and_options(app_key, form_key)
    with file_errors():
        job = current_services().imports.start(app_key, form_key, file_id, options, actor=actor)
    return json_response(job.as_dict(request_locale()), 202, {"Location": f"/api/v1/imports/{job.id}"})


def _actor(job_id: int) -> Actor:
    """The reader as an actor of the job's app (404 when there is no such job)."""
    authenticate_request()
    # Ids past the column's range are no job's: not a query the database would refuse.
    return actor_for(current_services().imports.app_of(min(job_id, MAX_JOB_ID + 1)), source="import")


@bp.get("/imports/<int:job_id>")
def get_job(job_id: int) -> Response:
    job = current_services().imports.get(job_id, actor=_actor(job_id))
    return json_response(job.as_dict(request_locale()))


@bp.post("/imports/<int:job_id>/cancel")
def cancel(job_id: int) -> Response:
    job = current_services().imports.cancel(job_id, actor=_actor(job_id))
    return json_response(job.as_dict(request_locale()))


@bp.get("/imports/<int:job_id>/failed-rows")
def failed_rows(job_id: int) -> Response:
    chosen = request.args.get("format", "xlsx").lower()
    if chosen not in FORMATS:
        message = Label("format 应为 xlsx 或 csv", "format must be xlsx or csv")
        raise ValidationError(message, field_errors={"format": [message]})
    actor = _actor(job_id)
    # The reader's language: as asked for, else the one they chose for themselves.
    locale = request_locale() if request.accept_languages else authenticate_request().principal.locale
    target = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 (send_file closes it)
    current_services().imports.write_failed_rows(job_id, target, actor=actor, format=chosen, locale=locale)
    target.seek(0)
    return send_file(target, mimetype=FORMATS[chosen], as_attachment=True,
                     download_name=f"import-{job_id}-failed-rows.{chosen}")
