"""Import and export over HTTP, through the engine's own import and export.

- ``POST .../import``: ``multipart/form-data`` with ``file`` (CSV or xlsx)
  and optionally ``options``, a JSON object of ``ImportOptions`` (``mapping``,
  ``key_field``, ``on_duplicate``, ``on_error``, ``dry_run`` ...; see
  docs/import-export.md). The answer is the import report (200), whatever
  the rows' fate: failures are listed per row, not raised.
- ``GET .../export?format=xlsx|csv``: the form's records as a file, with
  the list parameters ``view``, ``filter``, ``fields`` (the columns),
  ``sort``, ``search``, and ``header=label|key``.
"""

from __future__ import annotations

import dataclasses
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Response, request, send_file
from openpyxl.utils.exceptions import InvalidFileException

from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.definitions.model import ListView
from engine.records import Actor, RecordService
from engine.records.exporting import export_records
from engine.records.importing import ImportOptions, import_file
from engine.records.sheets import FileRefused
from runtime.api.records import (
    check_parameters,
    comma_list,
    filter_parameter,
    form_service,
    search_parameter,
    view_parameter,
)
from runtime.auth import actor_for
from runtime.errors import Unprocessable, UnsupportedMediaType, request_locale
from runtime.jsonio import json_response, parse_json

bp = Blueprint("exchange", __name__)

FORM = "/apps/<app_key>/forms/<form_key>"
EXPORT_PARAMETERS = frozenset({"format", "header", "view", "filter", "fields", "sort", "search"})

# Flask adds "; charset=utf-8" to a text/* type itself: given here too, it was sent twice.
FORMATS = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "csv": "text/csv"}
_OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "format": (str,), "sheet": (str, int), "delimiter": (str,), "mapping": (dict,),
    "relation_match": (dict,), "value_map": (dict,), "key_field": (str,), "on_duplicate": (str,),
    "group_by": (str,), "batch_size": (int,), "on_error": (str,), "dry_run": (bool,),
}


def _bad_option(name: str, zh: str, en: str) -> ValidationError:
    message = Label(f"导入选项 {name}：{zh}", f"Import option {name}: {en}")
    return ValidationError(message, field_errors={f"options.{name}": [message]})


def import_options() -> ImportOptions:
    raw = request.form.get("options")
    if raw is None or not raw.strip():
        return ImportOptions()
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise Unprocessable(Label("options 应为 JSON 对象", "options must be a JSON object"))
    chosen: dict[str, Any] = {}
    for name, value in data.items():
        kinds = _OPTION_TYPES.get(name)
        if kinds is None:
            known = ", ".join(sorted(_OPTION_TYPES))
            raise _bad_option(name, f"未知选项（可用：{known}）", f"unknown option (known: {known})")
        if value is None:
            continue
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise _bad_option(name, "类型不对", f"must be {' or '.join(k.__name__ for k in kinds)}")
        chosen[name] = value
    return dataclasses.replace(ImportOptions(), **chosen)


@bp.post(f"{FORM}/import")
def import_records(app_key: str, form_key: str) -> Response:
    service, _ = form_service(app_key, form_key)
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType(
            Label("导入需要 multipart/form-data，文件放在 file 字段",
                  "An import takes multipart/form-data with the file in the field file"),
            details={"content_type": request.mimetype or None})
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        message = Label("请上传文件（file 字段）", "Upload a file (the field file)")
        raise ValidationError(message, field_errors={"file": [message]})
    options = import_options()
    actor = actor_for(app_key, source="import")  # the engine checks the import action
    if options.format is None:
        suffix = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
        if suffix in ("csv", "tsv", "txt", "xlsx", "xls"):
            options = dataclasses.replace(options, format="csv" if suffix in ("tsv", "txt") else suffix)
    with file_errors():
        report = import_file(service, form_key, upload.stream, options, actor=actor)
    return json_response(report.as_dict(request_locale()))


@contextmanager
def file_errors() -> Iterator[None]:
    """A file the engine cannot read is the request's field ``file`` at fault."""
    try:
        yield
    except FileRefused as exc:
        if exc.field_errors:
            raise
        # The engine names no form field; over HTTP the file is the field ``file``.
        raise FileRefused(exc.message, field_errors={"file": [exc.message]}) from exc
    except (UnicodeError, zipfile.BadZipFile, InvalidFileException) as exc:
        # A file that is neither UTF-8 text nor a workbook (a picture, say).
        raise FileRefused(
            Label("无法读取文件：应为 UTF-8 编码的 CSV 或 xlsx 工作簿",
                  "The file cannot be read: it must be UTF-8 CSV or an xlsx workbook"),
            field_errors={"file": [Label("不是 CSV 或 xlsx 文件", "Not a CSV or xlsx file")]},
        ) from exc


@bp.get(f"{FORM}/export")
def export(app_key: str, form_key: str) -> Response:
    service, compiled = form_service(app_key, form_key)
    chosen = request.args.get("format", "xlsx").lower()
    if chosen not in FORMATS:
        message = Label("format 应为 xlsx 或 csv", "format must be xlsx or csv")
        raise ValidationError(message, field_errors={"format": [message]})
    header = request.args.get("header", "label")
    if header not in ("label", "key"):
        message = Label("header 应为 label 或 key", "header must be label or key")
        raise ValidationError(message, field_errors={"header": [message]})
    check_parameters(EXPORT_PARAMETERS)
    return send_export(service, app_key, form_key, chosen, view=view_parameter(compiled),
                       filter=filter_parameter(), columns=comma_list("fields") or None,
                       sort=comma_list("sort") or None, search=search_parameter(), header=header,
                       actor=actor_for(app_key, source="export"))


def send_export(service: RecordService, app_key: str, form_key: str, chosen: str, *, view: ListView | None,
                filter: dict[str, Any] | None, columns: list[str] | None, sort: list[str] | None,
                search: str | None, header: str, actor: Actor) -> Response:
    """The records as an xlsx or csv download (the API's export and the list page's)."""
    # The engine checks the export action and the query before a file is begun, and audits.
    # Spooled: small files stay in memory, large ones go to disk; send_file closes it.
    target = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    export_records(
        service, form_key, target, format=chosen, view=view, filter=filter, columns=columns, sort=sort,
        search=search, locale=request_locale(), header=header, actor=actor,
    )
    target.seek(0)
    return send_file(target, mimetype=FORMATS[chosen], as_attachment=True,
                     download_name=f"{app_key}-{form_key}.{chosen}")
