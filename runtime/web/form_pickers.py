"""What the form's widgets ask the server while the reader fills it in.

- ``GET /a/<app>/<form>/pick/<field>?q=``: choices for a relation, member or
  department input (``field`` is a key, or ``subform.child``), as JSON
  ``{"options": [{"value", "text"}]}``. A relation searches its target form
  through the record service with the reader's ``Actor``: only records in
  their data scope, found by the form's full-text search.
- ``POST /a/<app>/<form>/upload/<field>``: one file (multipart ``file``) for
  an attachment, image or signature input, checked against the field's own
  limits (type, size) before it is stored, then by the storage
  (``engine.store.uploads``: content against name, size, no programs).
  Answers ``{"file": metadata, "url"}``; a refusal is a 400 with the reason.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, request

from engine.core.errors import NotFoundError, ValidationError
from engine.core.i18n import Label
from engine.definitions.model import FieldDef
from engine.store.uploads import accept_upload
from runtime.api.files import NO_FILE, file_json
from runtime.api.records import form_service
from runtime.jsonio import json_response
from runtime.web.context import identity, page, page_actor, services
from runtime.web.forms import FORM
from runtime.web.record_names import title_text

bp = Blueprint("form_pickers", __name__)

PICK_LIMIT = 20
PICKERS = ("relation", "member", "department")
FILES = ("attachment", "image", "signature")


def _field(form_key: str, app_key: str, path: str, kinds: tuple[str, ...]) -> FieldDef:
    _, compiled = form_service(app_key, form_key)
    root, _, child = path.partition(".")
    f = compiled.form.field(root)
    if f is not None and child:
        f = f.child(child)
    if f is None or f.type not in kinds:
        raise NotFoundError(Label(f"表单 {form_key} 没有可选择的字段 {path}",
                                  f"Form {form_key} has no field {path} to pick for"))
    return f


@bp.get(f"{FORM}/pick/<path>")
@page
def pick(app_key: str, form_key: str, path: str) -> Response:
    f = _field(form_key, app_key, path, PICKERS)
    query = (request.args.get("q") or "").strip()[:100]
    if f.type == "relation":
        options = _records(app_key, str(f.setting("target")), query)
    else:
        org = services().org
        options = matching(org.list_users(active=True) if f.type == "member" else org.list_departments(), query)
    return json_response({"options": options})


def matching(items: Iterable[Any], query: str) -> list[dict[str, Any]]:
    """The people or departments whose name (or login) holds ``query``, as picker options
    (the approval dialogs' people pickers answer with these too)."""
    wanted = query.lower()
    options = [{"value": item.id, "text": item.name} for item in items
               if not wanted or wanted in item.name.lower() or wanted in str(getattr(item, "login", "")).lower()]
    return options[:PICK_LIMIT]


def _records(app_key: str, target: str, query: str) -> list[dict[str, Any]]:
    service, compiled = form_service(app_key, target)
    title = compiled.form.title_field
    page_ = service.list(target, search=query or None, fields=[title] if title else [], limit=PICK_LIMIT,
                         sort=[{"field": "updated_at", "desc": True}], actor=page_actor(app_key))
    return [{"value": r["id"], "text": title_text(compiled, r)} for r in page_["records"]]


@bp.post(f"{FORM}/upload/<path>")
@page
def upload(app_key: str, form_key: str, path: str) -> Response:
    f = _field(form_key, app_key, path, FILES)
    _, compiled = form_service(app_key, form_key)
    root = compiled.form.get_field(path.split(".")[0])
    ftype = compiled.types[root.key] if root.key == f.key else compiled.child_types[root.key][f.key]
    upload_ = request.files.get("file") if request.mimetype == "multipart/form-data" else None
    if upload_ is None:
        raise ValidationError(NO_FILE, field_errors={"file": [NO_FILE]})
    name = upload_.filename or "file"
    stream = upload_.stream
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    # The field's own limits first: nothing it would refuse is stored.
    claimed = {"id": "new", "name": name, "size": size, "sha256": None,
               "content_type": mimetypes.guess_type(name)[0] or "application/octet-stream"}
    problems = ftype.validate(f, ftype.coerce(f, claimed))
    if problems:
        raise ValidationError(problems[0], field_errors={"file": problems})
    info = accept_upload(services().files, stream, name, upload_.mimetype or None, created_by=identity().user_id)
    meta = file_json(info)
    problems = ftype.validate(f, ftype.coerce(f, meta))
    if problems:  # what the content turned out to be (a "photo" that is not an image)
        raise ValidationError(problems[0], field_errors={"file": problems})
    return json_response({"file": meta, "url": f"/api/v1/files/{info.id}"}, 201)
