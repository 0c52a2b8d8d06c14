"""The OpenAPI description of the report endpoints (runtime/api/reports.py),
per app: each dashboard gets its own path with its global filters as query
parameters, so a client (and the fuzzer) sees exactly what it takes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.definitions.model import AppDef
from runtime.api.openapi_forms import ref

Errors = Callable[..., dict[str, Any]]
LABEL = {"type": "object", "required": ["zh", "en"], "properties": {"zh": {"type": "string"}, "en": {"type": "string"}}}
NULL_LABEL = {"anyOf": [LABEL, {"type": "null"}]}
TEXT = {"type": ["string", "null"]}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# How each global filter type's value is written in a URL (docs/reports.md).
FILTER_VALUES = {
    "date_range": "A range `2024-01-01..2024-12-31` (either end may be empty) or a preset: this_month, "
                  "last_month, this_quarter, last_quarter, this_year, last_year, last_30_days, last_12_months, all",
    "member": "User ids `3,7`, or `me`",
    "department": "A department id (with its sub-departments)",
    "select": "Option keys `won,lost`",
}


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


REPORT_SCHEMAS: dict[str, Any] = {
    "ReportDefinition": _object(
        ["key", "label", "form", "chart", "drill"], key={"type": "string"}, label=LABEL, description=NULL_LABEL,
        form={"type": "string"}, chart={"type": "object", "description": "type and the chart type's settings"},
        drill={"type": "boolean"}),
    "DashboardDefinition": _object(
        ["key", "label", "filters", "items"], key={"type": "string"}, label=LABEL, description=NULL_LABEL,
        icon=TEXT, roles={"type": "array", "items": {"type": "string"}},
        filters={"type": "array", "items": _object(
            ["key", "type", "label"], key={"type": "string"}, type={"type": "string"}, label=LABEL, default={},
            options_from=TEXT, reports={"type": "array", "items": {"type": "string"}})},
        items={"type": "array", "items": _object(
            ["report", "x", "y", "w", "h"], report={"type": "string"}, x={"type": "integer"},
            y={"type": "integer"}, w={"type": "integer"}, h={"type": "integer"}, title=NULL_LABEL)}),
    "ReportResult": _object(
        ["columns", "rows", "labels", "truncated"],
        columns={"type": "array", "items": _object(
            ["key", "role", "label", "type"], key={"type": "string"}, role={"type": "string"}, label=LABEL,
            type={"type": "string"}, format={"type": "object"}, field=TEXT, grain=TEXT)},
        rows={"type": "array", "items": {"type": "array"},
              "description": "One row per group, values in the columns' order: a dimension's raw value "
                             "(option key, id, a bucket's first day, null for blank), a measure's number"},
        labels={"type": "object", "additionalProperties": {"type": "array", "items": _object(
            ["value", "label"], value={}, label=LABEL)}, "description": "Per dimension: how each value is shown"},
        grouping={"type": ["array", "null"], "items": {"type": "integer"},
                  "description": "A pivot's rows: SQL GROUPING() bitmask (totals)"},
        truncated={"type": "boolean", "description": "More groups than the limit allowed"},
        cached={"type": "boolean"}, version={"type": "string"},
        computed_at={"type": ["string", "null"], "format": "date-time"}),
    "ReportView": _object(
        ["report", "result", "presentation", "drill"], report=ref("ReportDefinition"), result=ref("ReportResult"),
        presentation=_object(["kind", "data"], kind={"type": "string",
                                                     "description": "echarts (data: an ECharts option), table, "
                                                                    "pivot or number"},
                             data={"type": "object"}),
        drill={"type": "boolean"}),
    "DashboardView": _object(
        ["dashboard", "filters", "items"], dashboard=ref("DashboardDefinition"),
        filters={"type": "object", "additionalProperties": {"type": "string"}},
        items={"type": "array", "items": _object(
            ["report", "view", "error"], report={"type": "string"}, title=NULL_LABEL,
            view={"anyOf": [ref("ReportView"), {"type": "null"}]}, error=TEXT)}),
    "DrillTarget": _object(["form", "filter", "url"], form={"type": "string"},
                           filter={"type": "object", "description": "The filter language (docs/filters.md)"},
                           url={"type": "string", "description": "The list page showing these records"}),
}


def _op(errors: Errors, name: str, summary: str, answer: dict[str, Any], *statuses: int,
        **extra: Any) -> dict[str, Any]:
    return {"operationId": name, "summary": summary, "tags": ["reports"],
            "responses": {"200": {"description": summary, "content": {"application/json": {"schema": answer}}},
                          **errors(401, *statuses)}, **extra}


def _filter_params(app: AppDef, dashboard: str) -> list[dict[str, Any]]:
    found = app.dashboard(dashboard)
    return [{"name": f.key, "in": "query", "schema": {"type": "string"},
             "description": f"{f.label.en}: {FILTER_VALUES.get(f.type, f.type)}"}
            for f in (found.filters if found is not None else ())]


def report_paths(app_key: str, app: AppDef, errors: Errors) -> dict[str, Any]:
    """The report and dashboard paths of one app."""
    base = f"/api/v1/apps/{app_key}"
    paths: dict[str, Any] = {
        f"{base}/dashboards": {"get": _op(
            errors, f"{app_key}_dashboards", f"The dashboards of {app.label.en} open to me",
            _object(["dashboards", "default"], dashboards={"type": "array", "items": ref("DashboardDefinition")},
                    default=TEXT), 400, 404)},
        f"{base}/query": {"post": _op(
            errors, f"{app_key}_query", "Run an ad-hoc report query (docs/reports.md) within my data scope",
            _object(["result"], result=ref("ReportResult")), 400, 403, 404, 413, 415, 422,
            requestBody={"required": True, "content": {"application/json": {"schema": {
                "type": "object", "description": "The query: form, measures, dimensions, filter, having, order, "
                                                 "limit, top, compare, running, pivot"}}}})},
    }
    for dashboard in app.dashboards:
        paths[f"{base}/dashboards/{dashboard.key}"] = {"get": _op(
            errors, f"{app_key}_dashboard_{dashboard.key}", f"The {dashboard.label.en}: every report's result",
            ref("DashboardView"), 400, 403, 404, parameters=_filter_params(app, dashboard.key))}
    keys = [r.key for r in app.reports]
    if not keys:
        return paths
    by_key = [{"name": "key", "in": "path", "required": True, "schema": {"enum": keys}}]
    dashboard_param = [{"name": "dashboard", "in": "query", "schema": {"type": "string"},
                        "description": "Run as on this dashboard, with its filters as parameters"}]
    paths[f"{base}/reports/{{key}}"] = {"parameters": by_key, "get": _op(
        errors, f"{app_key}_report", "Run a report", ref("ReportView"), 400, 403, 404, parameters=dashboard_param)}
    paths[f"{base}/reports/{{key}}/drill"] = {"parameters": by_key, "post": _op(
        errors, f"{app_key}_report_drill", "The records behind one number of a report", ref("DrillTarget"),
        400, 403, 404, 413, 415, 422, requestBody={"required": True, "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": False, "properties": {
                "point": {"type": "object", "description": "Dimension key -> raw value, as in the result's rows"},
                "measure": TEXT, "dashboard": TEXT,
                "filters": {"type": "object", "additionalProperties": {"type": "string"}}}}}}})}
    paths[f"{base}/reports/{{key}}/export"] = {"parameters": by_key, "get": {
        "operationId": f"{app_key}_report_export", "summary": "A report's result as an xlsx file",
        "tags": ["reports"], "parameters": dashboard_param,
        "responses": {"200": {"description": "The workbook", "content": {XLSX: {"schema": {
            "type": "string", "format": "binary"}}}}, **errors(401, 400, 403, 404)}}}
    return paths
