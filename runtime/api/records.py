"""Records over HTTP: list, create, get, patch, delete (DESIGN §12).

Every call goes through the app's ``RecordService`` with the request's
``Actor`` (user, address, request id, roles), so the permission checks, the
validation, the audit log and the events are the engine's own: this module
only reads HTTP and writes JSON.

- ``GET  /apps/{app}/forms/{form}/records``: ``filter`` (JSON), ``sort``
  (``-amount,name``), ``limit``, ``after`` (cursor), ``fields``, ``search``,
  ``view`` (a list view's filter, sort and columns), ``count=true``;
- ``POST /apps/{app}/forms/{form}/records``: a record from a JSON object (201);
- ``GET | PATCH | DELETE /apps/{app}/forms/{form}/records/{id}``: PATCH needs
  the ``version`` it read (in the body or ``If-Match``), a stale one is 409.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, current_app, request

from engine.core.errors import NotFoundError, ValidationError
from engine.core.i18n import Label
from engine.definitions.model import ListView
from engine.records import RecordService
from engine.records.compiled import CompiledForm
from engine.records.filters import QueryError
from engine.records.query import MAX_LIMIT
from runtime.api.record_json import RecordJSON
from runtime.auth import actor_for
from runtime.errors import InvalidJSON
from runtime.jsonio import json_body, json_response, parse_json
from runtime.services import current_services

bp = Blueprint("records", __name__)

RECORDS = "/apps/<app_key>/forms/<form_key>/records"
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL: a larger one names nothing
LIST_PARAMETERS = frozenset({"filter", "sort", "limit", "after", "fields", "search", "view", "count"})
_encoders: weakref.WeakKeyDictionary[RecordService, dict[str, RecordJSON]] = weakref.WeakKeyDictionary()


def form_service(app_key: str, form_key: str) -> tuple[RecordService, CompiledForm]:
    """The app's record service and the compiled form (404 for an unknown app or form)."""
    service = current_services().records.get(app_key)
    compiled, _ = service.form(form_key)
    return service, compiled


def record_json(service: RecordService, form_key: str) -> RecordJSON:
    per_form = _encoders.get(service)
    if per_form is None:
        per_form = _encoders[service] = {}
    found = per_form.get(form_key)
    if found is None:
        found = per_form[form_key] = RecordJSON(service.form(form_key)[0])
    return found


def check_id(compiled: CompiledForm, record_id: int) -> None:
    if record_id > MAX_ID:
        form = compiled.form
        raise NotFoundError(Label(f"{form.label.zh} #{record_id} 不存在", f"{form.label.en} #{record_id} does not exist"),
                            details={"form": form.key, "record": record_id})


# --- list parameters ------------------------------------------------------------------

def _bad(path: str, zh: str, en: str) -> QueryError:
    return QueryError(Label(f"参数 {path}：{zh}", f"Parameter {path}: {en}"), path)


def comma_list(name: str) -> list[str] | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    return [item.strip() for item in raw.split(",") if item.strip()]


def check_parameters(known: frozenset[str]) -> None:
    """Refuse a query parameter the endpoint does not take (a typo would
    otherwise be silently ignored); ``_``-prefixed ones (cache busters) pass."""
    unknown = sorted(k for k in request.args if k not in known and not k.startswith("_"))
    if unknown:
        names = ", ".join(sorted(known))
        raise _bad(unknown[0], f"未知参数（可用：{names}）", f"unknown parameter (known: {names})")


def filter_parameter() -> dict[str, Any] | None:
    """``filter``: a filter-language JSON object, or None."""
    raw = request.args.get("filter")
    if raw is None or not raw.strip():
        return None
    try:
        spec = parse_json(raw, "filter")
    except InvalidJSON:
        raise _bad("filter", "不是有效的 JSON", "is not valid JSON") from None
    if not isinstance(spec, dict):
        raise _bad("filter", "应为 JSON 对象，如 {\"field\": \"amount\", \"op\": \"gt\", \"value\": 100}",
                   "must be a JSON object like {\"field\": \"amount\", \"op\": \"gt\", \"value\": 100}")
    return spec


def search_parameter() -> str | None:
    search = request.args.get("search")
    return search if search and search.strip() else None


def list_arguments(compiled: CompiledForm, known: frozenset[str] = LIST_PARAMETERS) -> dict[str, Any]:
    """``RecordService.list`` arguments from the query string (``QueryError``, 400, when wrong)."""
    check_parameters(known)
    view = view_parameter(compiled)
    filter_spec = filter_parameter()
    if view is not None and view.filter:
        filter_spec = {"and": [dict(view.filter), filter_spec]} if filter_spec else dict(view.filter)
    sort: list[Any] = comma_list("sort") or []
    if not sort and view is not None:
        sort = [{"field": s.field, "desc": s.desc} for s in view.sort]
    fields = comma_list("fields")
    if fields is None and view is not None and view.columns:
        fields = list(view.columns)
    default_limit = view.page_size if view is not None else 50
    raw_limit = request.args.get("limit", str(default_limit))
    try:
        limit = int(raw_limit)
    except ValueError:
        raise _bad("limit", f"应为 1 到 {MAX_LIMIT} 的整数", f"must be a whole number from 1 to {MAX_LIMIT}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise _bad("limit", f"应为 1 到 {MAX_LIMIT} 的整数", f"must be a whole number from 1 to {MAX_LIMIT}")
    return {"filter": filter_spec, "sort": sort, "limit": limit, "after": request.args.get("after") or None,
            "fields": fields, "search": search_parameter()}


def view_parameter(compiled: CompiledForm) -> ListView | None:
    key = request.args.get("view")
    if not key:
        return None
    form = compiled.form
    found = next((v for v in form.list_views if v.key == key), None)
    if found is None:
        known = ", ".join(v.key for v in form.list_views) or "-"
        raise _bad("view", f"{form.label.zh}没有列表视图 {key}（有：{known}）",
                   f"{form.label.en} has no list view {key} (it has: {known})")
    return found


def _flag(name: str) -> bool:
    value = request.args.get(name, "")
    if value.lower() in ("", "0", "false", "no"):
        return False
    if value.lower() in ("1", "true", "yes"):
        return True
    raise _bad(name, "应为 true 或 false", "must be true or false")


# --- endpoints ------------------------------------------------------------------------

@bp.get(RECORDS)
def list_records(app_key: str, form_key: str) -> Response:
    service, compiled = form_service(app_key, form_key)
    arguments = list_arguments(compiled)
    counting = _flag("count")
    actor = actor_for(app_key)
    page = service.list(form_key, actor=actor, **arguments)
    body: dict[str, Any] = {"records": record_json(service, form_key).encode_all(page["records"]),
                            "next": page["next"]}
    if counting:
        cap = int(current_app.config.get("COUNT_CAP", 10_000))
        total, exact = service.count(form_key, filter=arguments["filter"], search=arguments["search"],
                                     cap=cap, actor=actor)
        body["count"] = total
        body["count_exact"] = exact
    return json_response(body)


@bp.post(RECORDS)
def create_record(app_key: str, form_key: str) -> Response:
    service, _ = form_service(app_key, form_key)
    values = json_body()
    record = service.create(form_key, values, actor=actor_for(app_key))
    location = f"{request.script_root}/api/v1/apps/{app_key}/forms/{form_key}/records/{record['id']}"
    return json_response(record_json(service, form_key).encode(dict(record)), 201,
                         {"Location": location, "ETag": etag(record)})


@bp.get(f"{RECORDS}/<int:record_id>")
def get_record(app_key: str, form_key: str, record_id: int) -> Response:
    service, compiled = form_service(app_key, form_key)
    check_id(compiled, record_id)
    record = service.get(form_key, record_id, actor=actor_for(app_key))
    return json_response(record_json(service, form_key).encode(dict(record)), headers={"ETag": etag(record)})


@bp.patch(f"{RECORDS}/<int:record_id>")
def update_record(app_key: str, form_key: str, record_id: int) -> Response:
    service, compiled = form_service(app_key, form_key)
    check_id(compiled, record_id)
    changes = json_body()
    version = required_version(changes)
    changes.pop("version", None)
    record = service.update(form_key, record_id, changes, version=version, actor=actor_for(app_key))
    return json_response(record_json(service, form_key).encode(dict(record)), headers={"ETag": etag(record)})


@bp.delete(f"{RECORDS}/<int:record_id>")
def delete_record(app_key: str, form_key: str, record_id: int) -> Response:
    service, compiled = form_service(app_key, form_key)
    check_id(compiled, record_id)
    raw = request.args.get("version")
    version = _version_value(raw, "version") if raw is not None else if_match_version()
    service.delete(form_key, record_id, version=version, actor=actor_for(app_key))
    return Response(status=204)


# --- versions ---------------------------------------------------------------------------

def etag(record: Mapping[str, Any]) -> str:
    return f'"{record.get("version")}"'


def _version_value(raw: Any, path: str) -> int:
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_ID:
        raise ValidationError(Label("版本号应为正整数", "The version must be a positive whole number"),
                              field_errors={path: [Label("版本号应为正整数", "The version must be a positive whole number")]})
    return raw


def if_match_version() -> int | None:
    header = request.headers.get("If-Match")
    if not header:
        return None
    value = header.strip()
    if value.startswith("W/"):
        value = value[2:]
    return _version_value(value.strip('"'), "If-Match")


def required_version(body: Mapping[str, Any]) -> int:
    """The version a change was made against: ``version`` in the body or
    ``If-Match``; both may be given only when they agree."""
    version = if_match_version()
    if "version" in body and body["version"] is not None:
        given = _version_value(body["version"], "version")
        if version is not None and version != given:
            message = Label(f"请求体中的 version {given} 与 If-Match 的 {version} 不一致，请只给一个",
                            f"The body's version {given} and If-Match {version} disagree; give one of them")
            raise ValidationError(message, field_errors={"version": [message]})
        return given
    if version is None:
        message = Label("请提供读取时的版本号（请求体中的 version 或 If-Match 头），以免覆盖他人的修改",
                        "Give the version you read (version in the body or an If-Match header), "
                        "so no one else's change is overwritten")
        raise ValidationError(message, field_errors={"version": [message]})
    return version
