"""Files over HTTP: upload once, then name the file in a record's value.

- ``POST /files`` (multipart, the file in ``file``): checked by type and
  size (``engine.store.uploads``) and stored content-addressed; answers 201
  with its metadata — put it (or at least its ``id`` and ``name``) in an
  attachment, image or signature value.
- ``GET /files/{id}``: the file, for whoever uploaded it (and admins) —
  before it is attached to anything.
- ``GET /apps/{app}/forms/{form}/records/{id}/files/{file}``: the file, for
  whoever may read that record and see the field that holds it.

Everyone else gets 404, whether the file exists or not. Downloads carry the
stored type and ``Content-Disposition`` (``inline`` for pictures a browser
shows safely, ``attachment`` for everything else, with the file's name),
and a sandboxing ``Content-Security-Policy``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request, send_file

from engine.core.errors import NotFoundError, ValidationError
from engine.core.i18n import Label
from engine.records.file_refs import file_references
from engine.store.files import FileInfo
from engine.store.uploads import accept_upload
from runtime.api.records import RECORDS, check_id, form_service
from runtime.auth import actor_for, authenticate_request
from runtime.jsonio import json_response
from runtime.services import current_services

bp = Blueprint("files", __name__)

INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
DOWNLOAD_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
MAX_FILE_ID = 36
NO_FILE = Label("请在 multipart 表单的 file 字段中上传文件", "Upload the file in the multipart field \"file\"")


def file_json(info: FileInfo) -> dict[str, Any]:
    return {"id": info.id, "name": info.name, "size": info.size, "content_type": info.content_type,
            "sha256": info.sha256}


def _missing(file_id: str) -> NotFoundError:
    return NotFoundError(Label(f"文件 {file_id[:MAX_FILE_ID]} 不存在", f"There is no file {file_id[:MAX_FILE_ID]}"),
                         details={"file": file_id[:MAX_FILE_ID]})


@bp.post("/files")
def upload_file() -> Response:
    identity = authenticate_request()
    upload = request.files.get("file") if request.mimetype == "multipart/form-data" else None
    if upload is None:
        raise ValidationError(NO_FILE, field_errors={"file": [NO_FILE]})
    info = accept_upload(current_services().files, upload.stream, upload.filename or "file",
                         upload.mimetype or None, created_by=identity.user_id)
    return json_response(file_json(info), 201, {"Location": f"/api/v1/files/{info.id}"})


def stored_file(file_id: str) -> FileInfo:
    if len(file_id) > MAX_FILE_ID:
        raise _missing(file_id)
    try:
        return current_services().files.info(file_id)
    except NotFoundError:
        raise _missing(file_id) from None


def send_stored(info: FileInfo) -> Response:
    response = send_file(current_services().files.open(info.id), mimetype=info.content_type,
                         as_attachment=info.content_type not in INLINE_TYPES, download_name=info.name,
                         conditional=False, etag=False, max_age=0)
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    return response


@bp.get("/files/<file_id>")
def download_own_file(file_id: str) -> Response:
    identity = authenticate_request()
    info = stored_file(file_id)
    if info.created_by != identity.user_id and not identity.principal.is_admin:
        raise _missing(file_id)  # someone else's upload is not theirs to learn of
    return send_stored(info)


@bp.get(f"{RECORDS}/<int:record_id>/files/<file_id>")
def download_record_file(app_key: str, form_key: str, record_id: int, file_id: str) -> Response:
    service, compiled = form_service(app_key, form_key)
    check_id(compiled, record_id)
    # A record they may not read is 404, and the record as read holds only the fields they may see.
    record = service.get(form_key, record_id, actor=actor_for(app_key))
    held = {str(item["id"]) for _, _, kind, value in file_references(compiled, record, set(record))
            for item in kind.files_in(value)}
    if file_id not in held:
        raise _missing(file_id)
    return send_stored(stored_file(file_id))
