"""Reports and dashboards over HTTP (docs/api.md, "Reports"):

- ``GET /apps/{app}/dashboards``: the dashboards the reader may open, and
  their default one;
- ``GET /apps/{app}/dashboards/{key}`` (one query parameter per global
  filter: ``period=this_year``, ``owner=me`` ...): every item's result and
  presentation, or the item's own error (one broken report never breaks the
  dashboard);
- ``GET /apps/{app}/reports/{key}`` (``dashboard`` and its filters): one
  report run;
- ``POST /apps/{app}/query``: an ad-hoc query (the report file's ``query``
  JSON), under the same checks and data scope as a report;
- ``POST /apps/{app}/reports/{key}/drill`` ``{point, measure, dashboard,
  filters}``: the list of records behind one number, as a form, a filter and
  the list page's URL;
- ``GET /apps/{app}/reports/{key}/export``: the result as an xlsx file.

Thin: ``engine.reports`` (``ReportEngine``) decides everything with the
reader's ``Actor``; the pages call the same methods.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, request

from engine.core.errors import NotFoundError, QueryError
from engine.core.i18n import Label
from engine.definitions.model import AppDef
from engine.records.actor import Actor
from engine.reports.service import ReportEngine
from runtime.api.params import known, refuse
from runtime.api.report_json import (
    dashboard_def_json,
    filters_json,
    label_json,
    report_view_json,
    result_json,
)
from runtime.auth import actor_for
from runtime.errors import request_locale
from runtime.jsonio import json_body, json_response
from runtime.services import current_services

bp = Blueprint("reports", __name__)

APP = "/apps/<app_key>"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DRILL_FIELDS = ("point", "measure", "dashboard", "filters")


def reports() -> ReportEngine:
    return current_services().reports


def app_of(app_key: str) -> AppDef:
    """The installed app ``app_key`` (404 when there is none)."""
    records = current_services().records
    if app_key not in records.app_keys():
        raise NotFoundError(Label(f"没有应用 {app_key}", f"No app {app_key}"))
    app: AppDef = records.app(app_key)
    return app


def report_of(app_key: str, key: str) -> AppDef:
    app = app_of(app_key)
    if app.report(key) is None:
        raise NotFoundError(Label(f"没有报表 {key}", f"No report {key}"))
    return app


def dashboard_of(app_key: str, key: str) -> AppDef:
    app = app_of(app_key)
    if app.dashboard(key) is None:
        raise NotFoundError(Label(f"没有看板 {key}", f"No dashboard {key}"))
    return app


def filter_args(app: AppDef, dashboard: str | None, args: Mapping[str, str], *,
                extra: tuple[str, ...] = ()) -> dict[str, str]:
    """The global filters' raw values among ``args`` (one parameter per
    filter key of ``dashboard``); any other parameter is refused by name."""
    found = app.dashboard(dashboard) if dashboard else None
    if dashboard and found is None:
        raise NotFoundError(Label(f"没有看板 {dashboard}", f"No dashboard {dashboard}"))
    keys = tuple(f.key for f in found.filters) if found is not None else ()
    unknown = sorted(k for k in args if k not in keys and k not in extra)
    if unknown:
        allowed = ", ".join((*extra, *keys))
        raise refuse(unknown[0], f"未知参数（可用：{allowed}）", f"unknown parameter (known: {allowed})")
    return {k: v for k, v in args.items() if k in keys}


def list_url(app_key: str, form: str, filter_json: Mapping[str, Any]) -> str:
    """The list page of ``form`` showing only the records of ``filter_json``."""
    text = json.dumps(filter_json, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"/a/{app_key}/{form}?filter={quote(text, safe='')}"


def drill_target(app_key: str, key: str, point: Any, measure: Any, dashboard: Any, filters: Any,
                 actor: Actor) -> dict[str, Any]:
    """``{form, filter, url}`` of the records behind ``point`` (bad input: a 400 naming it)."""
    app = report_of(app_key, key)
    if not isinstance(point, dict):
        raise QueryError(Label("point：应为对象（维度键 → 值）", "point: must be an object (dimension key -> value)"),
                         "point")
    if measure is not None and not isinstance(measure, str):
        raise QueryError(Label("measure：应为度量键", "measure: must be a measure key"), "measure")
    if dashboard is not None and not isinstance(dashboard, str):
        raise QueryError(Label("dashboard：应为看板键", "dashboard: must be a dashboard key"), "dashboard")
    if not isinstance(filters, dict) or any(not isinstance(v, str) for v in filters.values()):
        raise QueryError(Label("filters：应为对象（筛选键 → 文本）", "filters: must be an object (filter key -> text)"),
                         "filters")
    raw = filter_args(app, dashboard, filters)
    target = reports().drill(app_key, key, point, actor=actor, measure=measure, dashboard=dashboard, filters=raw)
    return {"form": target.form, "filter": target.filter, "url": list_url(app_key, target.form, target.filter)}


def export_response(name: str, body: bytes) -> Response:
    response = Response(body, mimetype=XLSX)
    # An ASCII name for old clients, the real (often Chinese) one for the rest (RFC 6266).
    plain = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name) or "report.xlsx"
    response.headers["Content-Disposition"] = f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}"
    return response


@bp.get(f"{APP}/dashboards")
def list_dashboards(app_key: str) -> Response:
    known(())
    app_of(app_key)
    actor = actor_for(app_key)
    found = reports().dashboards(app_key, actor=actor)
    default = reports().default_dashboard(app_key, actor=actor)
    return json_response({"dashboards": [dashboard_def_json(d) for d in found],
                          "default": default.key if default is not None else None})


@bp.get(f"{APP}/dashboards/<key>")
def get_dashboard(app_key: str, key: str) -> Response:
    app = dashboard_of(app_key, key)
    raw = filter_args(app, key, request.args)
    view = reports().dashboard(app_key, key, actor=actor_for(app_key), filters=raw, locale=request_locale())
    items = []
    for item in view.items:
        items.append({"report": item.item.report, "title": label_json(item.item.title),
                      "view": report_view_json(item.view) if item.view is not None else None,
                      "error": item.error.text(request_locale()) if item.error is not None else None})
    return json_response({"dashboard": dashboard_def_json(view.dashboard), "filters": filters_json(view.filters.raw),
                          "items": items})


@bp.get(f"{APP}/reports/<key>")
def get_report(app_key: str, key: str) -> Response:
    app = report_of(app_key, key)
    dashboard = request.args.get("dashboard") or None
    raw = filter_args(app, dashboard, request.args, extra=("dashboard",))
    view = reports().report(app_key, key, actor=actor_for(app_key), filters=raw, dashboard=dashboard,
                            locale=request_locale())
    return json_response(report_view_json(view))


@bp.post(f"{APP}/query")
def run_query(app_key: str) -> Response:
    known(())
    app_of(app_key)
    result = reports().query(app_key, json_body(), actor=actor_for(app_key), locale=request_locale())
    return json_response({"result": result_json(result)})


@bp.post(f"{APP}/reports/<key>/drill")
def drill(app_key: str, key: str) -> Response:
    known(())
    body = json_body()
    extra = sorted(set(body) - set(DRILL_FIELDS))
    if extra:
        raise QueryError(Label(f"{extra[0]}：未知字段（可用：{', '.join(DRILL_FIELDS)}）",
                               f"{extra[0]}: unknown field (known: {', '.join(DRILL_FIELDS)})"), extra[0])
    return json_response(drill_target(app_key, key, body.get("point", {}), body.get("measure"),
                                      body.get("dashboard"), body.get("filters", {}), actor_for(app_key)))


@bp.get(f"{APP}/reports/<key>/export")
def export(app_key: str, key: str) -> Response:
    app = report_of(app_key, key)
    dashboard = request.args.get("dashboard") or None
    raw = filter_args(app, dashboard, request.args, extra=("dashboard",))
    name, body = reports().export(app_key, key, actor=actor_for(app_key), dashboard=dashboard, filters=raw,
                                  locale=request_locale())
    return export_response(name, body)
