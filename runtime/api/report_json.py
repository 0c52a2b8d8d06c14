"""Reports, dashboards and their results as JSON, for the REST API and for the
pages (which put a presentation into the page as JSON for ``reports.js``).

A result's raw values keep their meaning (docs/reports.md): a dimension value
is what a filter on its field takes (an option key, a user, department or
record id, a bucket's first day as ISO text, null for blank). Labels are
keyed by values that JSON objects cannot key (numbers, dates, null), so they
travel as a list of ``{value, label}`` per dimension.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from engine.core.i18n import Label
from engine.definitions.report_files import DashboardDef, ReportDef
from engine.reports.base import Presentation
from engine.reports.model import OTHERS, ReportResult, ResultColumn
from engine.reports.views import ReportView


def label_json(label: Label | None) -> dict[str, str] | None:
    return None if label is None else {"zh": label.zh, "en": label.en}


def value_json(value: Any) -> Any:
    """A raw result value as JSON: dates as ISO text, decimals as numbers, "others" as its marker."""
    if value is OTHERS:
        return "__others__"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def column_json(column: ResultColumn) -> dict[str, Any]:
    return {"key": column.key, "role": column.role, "label": label_json(column.label), "type": column.type,
            "format": dict(column.format), "field": column.field, "grain": column.grain}


def result_json(result: ReportResult) -> dict[str, Any]:
    return {
        "columns": [column_json(c) for c in result.columns],
        "rows": [[value_json(v) for v in row] for row in result.rows],
        "labels": {dim: [{"value": value_json(v), "label": label_json(lab)} for v, lab in found.items()]
                   for dim, found in result.labels.items()},
        "grouping": list(result.grouping) if result.grouping is not None else None,
        "truncated": result.truncated,
        "cached": result.cached,
        "version": result.version,
        "computed_at": result.computed_at,
    }


def presentation_json(presentation: Presentation) -> dict[str, Any]:
    return {"kind": presentation.kind, "data": dict(presentation.data)}


def report_def_json(report: ReportDef) -> dict[str, Any]:
    return {"key": report.key, "label": label_json(report.label), "description": label_json(report.description),
            "form": report.query.form, "chart": dict(report.chart), "drill": bool(report.drill)}


def dashboard_def_json(dashboard: DashboardDef) -> dict[str, Any]:
    return {
        "key": dashboard.key, "label": label_json(dashboard.label), "description": label_json(dashboard.description),
        "icon": dashboard.icon, "roles": list(dashboard.roles),
        "filters": [{"key": f.key, "type": f.type, "label": label_json(f.label), "default": f.default,
                     "options_from": f.options_from, "reports": sorted(f.fields)} for f in dashboard.filters],
        "items": [{"report": i.report, "x": i.x, "y": i.y, "w": i.w, "h": i.h, "title": label_json(i.title)}
                  for i in dashboard.items],
    }


def report_view_json(view: ReportView) -> dict[str, Any]:
    """A ``ReportView``: the definition, the result and its presentation."""
    return {"report": report_def_json(view.report), "result": result_json(view.result),
            "presentation": presentation_json(view.presentation), "drill": bool(view.drill)}


def filters_json(raw: Mapping[str, str]) -> dict[str, str]:
    return {key: str(value) for key, value in raw.items()}
