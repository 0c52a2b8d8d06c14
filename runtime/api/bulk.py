"""Many records in one request, all or nothing.

- ``POST  .../records/bulk`` ``{"records": [{...}, ...]}``: ``create_many``
  (every check of a single create; one bad row and nothing is written, the
  error lists every bad row: ``details.rows["3"].amount``); 201 with the ids.
- ``PATCH .../records/bulk`` ``{"records": [{"id": 7, "version": 3, ...}, ...]}``:
  each row updated as by ``PATCH .../records/7``, all in one transaction;
  any failure rolls every row back and the error lists each failed row.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app

from engine.core.errors import ConflictError, NotFoundError, QiqiaoError, ValidationError
from engine.core.i18n import Label
from engine.records.bulk_writes import update_each
from runtime.api.records import MAX_ID, RECORDS, form_service, record_json
from runtime.auth import actor_for
from runtime.errors import HttpError, Unprocessable, status_of
from runtime.jsonio import json_body, json_response

bp = Blueprint("bulk", __name__)


class RowsFailed(HttpError):
    """Some rows of a bulk update failed; nothing was written. The status is
    409 when every failure is a stale version, 404 when every one is a missing
    record, else 400."""

    def __init__(self, row_errors: dict[int, QiqiaoError], total: int) -> None:
        statuses = {status_of(e) for e in row_errors.values()}
        # Every row stale (409) or every row gone (404) is said so; anything else is 400.
        self.status = statuses.pop() if len(statuses) == 1 and statuses <= {404, 409} else 400
        self.code = {409: "conflict", 404: "not_found"}.get(self.status, "rows_invalid")
        self.row_errors = row_errors
        count = len(row_errors)
        super().__init__(Label(f"{count} 行未能更新，未写入任何记录（共 {total} 行）",
                               f"{count} row(s) could not be updated; nothing was written ({total} rows)"))

    def as_dict(self, locale: str = "en") -> dict[str, Any]:
        body = super().as_dict(locale)
        rows: dict[str, Any] = {}
        for index, error in sorted(self.row_errors.items()):
            if isinstance(error, ValidationError):
                rows[str(index)] = error.as_dict(locale)["details"]
            else:
                rows[str(index)] = {"_record": [error.text(locale)]}
        body["details"] = {"rows": rows}
        return body


def _rows(body: dict[str, Any]) -> list[Any]:
    rows = body.get("records")
    limit = int(current_app.config.get("BULK_LIMIT", 1000))
    if not isinstance(rows, list):
        raise Unprocessable(Label("请求体应为 {\"records\": [...]}", "The body must be {\"records\": [...]}"))
    if len(rows) > limit:
        raise Unprocessable(Label(f"一次最多 {limit} 条记录", f"At most {limit} records per request"),
                            details={"limit": limit, "given": len(rows)})
    return rows


@bp.post(f"{RECORDS}/bulk")
def create_records(app_key: str, form_key: str) -> Response:
    service, _ = form_service(app_key, form_key)
    rows = _rows(json_body())
    bad = [i for i, row in enumerate(rows) if not isinstance(row, dict)]
    if bad:
        raise Unprocessable(Label("每条记录应为 JSON 对象", "Each record must be a JSON object"),
                            details={"rows": bad[:100]})
    ids = service.create_many(form_key, rows, actor=actor_for(app_key))
    return json_response({"ids": ids, "count": len(ids)}, 201)


def _target(row: Any) -> tuple[int, int, dict[str, Any]] | QiqiaoError:
    """``(id, version, changes)`` of a bulk update row, or what is wrong with it."""
    if not isinstance(row, dict):
        return ValidationError(Label("应为 JSON 对象", "Must be a JSON object"),
                               field_errors={"_record": [Label("应为 JSON 对象", "Must be a JSON object")]})
    problems: dict[str, list[Label]] = {}
    record_id, version = _positive(row.get("id")), _positive(row.get("version"))
    if record_id is None:
        problems["id"] = [Label("需要记录的 id（正整数）", "The record's id (a positive whole number) is required")]
    if version is None:
        problems["version"] = [Label("需要读取时的版本号（正整数）", "The version you read (a positive whole number) is required")]
    if record_id is None or version is None:
        return ValidationError(Label("缺少 id 或 version", "id or version is missing"), field_errors=problems)
    changes = {k: v for k, v in row.items() if k not in ("id", "version")}
    return record_id, version, changes


def _positive(value: Any) -> int | None:
    """``value`` when it is a whole number an id or version can be, else None."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        return None
    return value


@bp.patch(f"{RECORDS}/bulk")
def update_records(app_key: str, form_key: str) -> Response:
    service, _ = form_service(app_key, form_key)
    rows = _rows(json_body())
    # A savepoint per row; any failure rolls every row back (a refused
    # permission is the whole request's 403).
    updated, failures = update_each(service, form_key, [_target(row) for row in rows],
                                    actor=actor_for(app_key), all_or_nothing=True,
                                    catch=(ValidationError, ConflictError, NotFoundError))
    if failures:
        raise RowsFailed(failures, len(rows))
    encoder = record_json(service, form_key)
    return json_response({"records": [encoder.encode(dict(r)) for r in updated], "count": len(updated)})
