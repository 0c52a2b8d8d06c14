"""The dashboard and report pages (docs/ui.md, "Dashboards and reports"):

- ``/a/<app>/dashboards``: the dashboards the reader may open;
- ``/a/<app>/dashboards/<key>?period=this_year&owner=me``: the filter bar
  (values in the URL, so a view can be shared) and a 12-column grid of cards,
  each drawn by ECharts or as a table / number card, its error in the card;
- ``/a/<app>/reports/<key>``: one report full size, its table and export;
- ``/a/<app>/reports/<key>/drill?point=<json>&measure=...``: redirects to the
  list page filtered to the records behind the number clicked;
- ``/a/<app>/reports/<key>.xlsx``: the result as a workbook.

Thin: ``engine.reports`` decides (the REST API calls the same methods);
``runtime.web.reports_filters`` turns the URL into the filters' raw values and
draws the filter bar.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, request

from engine.core.errors import QueryError
from engine.core.i18n import Label
from engine.definitions.model import AppDef
from engine.reports.charts import CHART_TYPES
from engine.reports.views import ReportView
from runtime.api.report_json import presentation_json
from runtime.api.reports import dashboard_of, drill_target, export_response, report_of, reports
from runtime.errors import InvalidJSON
from runtime.jsonio import parse_json
from runtime.web.context import page, page_actor, render
from runtime.web.i18n import current_language, label_text
from runtime.web.navigation import app_context
from runtime.web.reports_filters import applied, canonical_args, filter_bar, raw_filters

bp = Blueprint("report_pages", __name__)


def _chart_summary(view: ReportView) -> str:
    """What an ``aria-label`` says of a chart: its title and size (the table is the full alternative)."""
    rows = len(view.result.rows)
    lang = current_language()
    title = label_text(view.report.label)
    return f"{title}：{rows} 组数据" if lang == "zh" else f"{title}: {rows} group{'s' if rows != 1 else ''}"


def _report_label(app: AppDef, key: str) -> Label | None:
    found = app.report(key)
    return found.label if found is not None else None


def _card(app_key: str, item_key: str, view: ReportView, query: str, dom_id: str) -> dict[str, Any]:
    """What a card (or the report page) draws of one ``ReportView``."""
    return {"id": dom_id, "key": item_key, "view": view, "shown": presentation_json(view.presentation),
            "summary": _chart_summary(view),
            "drill_url": f"/a/{app_key}/reports/{item_key}/drill?{query}" if view.drill else None}


@bp.get("/a/<app_key>/dashboards")
@page
def dashboards_page(app_key: str) -> Response:
    context = app_context(app_key)
    actor = page_actor(app_key)
    found = reports().dashboards(app_key, actor=actor)
    default = reports().default_dashboard(app_key, actor=actor)
    return render("reports/dashboards.html", dashboards=found, default=default.key if default else None,
                  **context)


@bp.get("/a/<app_key>/dashboards/<key>")
@page
def dashboard_page(app_key: str, key: str) -> Response:
    context = app_context(app_key)
    app = dashboard_of(app_key, key)
    dashboard = app.dashboard(key)
    assert dashboard is not None
    canonical = canonical_args(dashboard, request.args)
    if canonical is not None:  # a custom range or several picks: one parameter per filter in the URL
        return redirect(f"/a/{app_key}/dashboards/{key}" + (f"?{canonical}" if canonical else ""),
                        303)  # type: ignore[return-value]
    raw = raw_filters(dashboard, request.args)
    view = reports().dashboard(app_key, key, actor=page_actor(app_key), filters=raw, locale=current_language())
    query = urlencode({"dashboard": key, **raw})
    cards = []
    for index, item in enumerate(view.items):
        card: dict[str, Any] = {"item": item.item, "key": item.item.report, "error": item.error,
                                "report_url": f"/a/{app_key}/reports/{item.item.report}?{query}",
                                "title": item.item.title or _report_label(app, item.item.report)}
        if item.view is not None:
            card.update(_card(app_key, item.item.report, item.view, query, f"card-{index}"))
        cards.append(card)
    context["active_form"] = key  # the menu's entry of this dashboard
    return render("reports/dashboard.html", dashboard=dashboard, cards=cards,
                  bar=filter_bar(app, dashboard, raw), **context)


@bp.get("/a/<app_key>/reports/<key>")
@page
def report_page(app_key: str, key: str) -> Response:
    context = app_context(app_key)
    app = report_of(app_key, key)
    dashboard_key = request.args.get("dashboard") or None
    dashboard = app.dashboard(dashboard_key) if dashboard_key else None
    raw = raw_filters(dashboard, request.args) if dashboard is not None else {}
    view = reports().report(app_key, key, actor=page_actor(app_key), filters=raw,
                            dashboard=dashboard.key if dashboard else None, locale=current_language())
    query = urlencode({"dashboard": dashboard.key, **raw} if dashboard else {})
    table = CHART_TYPES.get("table").present(view.result, {}, current_language())
    back = f"/a/{app_key}/dashboards/{dashboard.key}?{urlencode(raw)}" if dashboard else None
    context["active_form"] = dashboard.key if dashboard else None  # the menu shows where the reader came from
    return render("reports/report.html", report=view.report, card=_card(app_key, key, view, query, "report-chart"),
                  table=presentation_json(table), dashboard=dashboard, query=query, back_url=back,
                  applied=applied(filter_bar(app, dashboard, raw)) if dashboard else [], **context)


@bp.get("/a/<app_key>/reports/<key>/drill")
@page
def drill_page(app_key: str, key: str) -> Response:
    app_context(app_key)
    text = request.args.get("point", "{}")
    try:
        point = parse_json(text, "point")
    except InvalidJSON as error:
        raise QueryError(Label("point：不是有效的 JSON", "point: not valid JSON"), "point") from error
    dashboard = request.args.get("dashboard") or None
    app = report_of(app_key, key)
    found = app.dashboard(dashboard) if dashboard else None
    raw = raw_filters(found, request.args) if found is not None else {}
    target = drill_target(app_key, key, point, request.args.get("measure") or None, dashboard, raw,
                          page_actor(app_key))
    return redirect(target["url"], 303)  # type: ignore[return-value]


@bp.get("/a/<app_key>/reports/<key>.xlsx")
@page
def export_page(app_key: str, key: str) -> Response:
    app_context(app_key)
    app = report_of(app_key, key)
    dashboard = request.args.get("dashboard") or None
    found = app.dashboard(dashboard) if dashboard else None
    raw = raw_filters(found, request.args) if found is not None else {}
    name, body = reports().export(app_key, key, actor=page_actor(app_key), dashboard=found.key if found else None,
                                  filters=raw, locale=current_language())
    return export_response(name, body)
