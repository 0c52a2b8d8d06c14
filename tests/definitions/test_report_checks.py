"""The report engine's checks of a package's reports and dashboards
(engine.reports.checks), run by qiqiao app validate and install: the query
through check_query, the chart through its type, alerts, and each
dashboard's reports, global filters and roles — file and path in every
message."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from click.testing import CliRunner
from report_package import BOARD, BY_STAGE, WON, dashboard, report, write_report_package

from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions import load_package
from engine.definitions.model import AppDef, FieldDef
from engine.fields import FIELD_TYPES
from engine.reports.base import ChartType, GlobalFilter, Presentation
from engine.reports.checks import ReportParts, check_reports
from engine.reports.model import ReportQuery, ReportResult
from runtime.cli import main
from templates_lib.crm import PACKAGE_PATH

Problem = tuple[str, str, str]


class Chart(ChartType):
    """A chart type as a plugin would register one: its settings' schema and check."""

    label = description = Label("图", "Chart")
    settings_schema: ClassVar[Mapping[str, Any]] = {"type": "object"}

    def check(self, query: ReportQuery, settings: Mapping[str, Any]) -> list[tuple[str, Label]]:
        if self.key == "pie" and len(query.dimensions) != 1:
            return [("", Label("饼图需要一个维度", "a pie needs one dimension"))]
        return []

    def present(self, result: ReportResult, settings: Mapping[str, Any], locale: str) -> Presentation:
        return Presentation("table", {})


class Filter(GlobalFilter):
    label = description = Label("筛选", "Filter")
    types: ClassVar[tuple[str, ...]] = ()

    def accepts(self, field: FieldDef) -> bool:
        return field.type in self.types

    def parse(self, raw: str, path: str) -> Any:
        return raw

    def condition(self, field_path: str, value: Any, *, today: dt.date) -> Mapping[str, Any] | None:
        return None


def query_check(query: ReportQuery, app: AppDef, field_types: Any, *, path: str) -> list[tuple[str, Label]]:
    """Stands in for the compiler's check_query: a dimension's field (its first step) must be one of the form's."""
    form = app.form(query.form)
    return [(f"{path}.dimensions[{i}].field", Label(f"没有字段 {d.field}", f"no field {d.field}"))
            for i, d in enumerate(query.dimensions) if form is None or form.field(d.field.split(".")[0]) is None]


def _registry(name: str, base: type, entries: dict[str, dict[str, Any]]) -> Registry[Any]:
    found: Registry[Any] = Registry(name)
    for key, attributes in entries.items():
        found.register(type(key, (base,), {"key": key, **attributes})())
    return found


PARTS = ReportParts(
    query_check,
    _registry("chart type", Chart, {k: {} for k in ("table", "pie", "bar", "line", "funnel", "ranking", "number",
                                                   "gauge", "dual_axis")}),
    _registry("global filter type", Filter, {"date_range": {"types": ("date", "datetime")},
                                             "member": {"types": ("member",)},
                                             "department": {"types": ("member", "department")},
                                             "select": {"types": ("select",)}}),
)


def problems(tmp_path: Path, reports: list[dict[str, Any]] | None = None,
             dashboards: list[dict[str, Any]] | None = None) -> list[Problem]:
    app = load_package(write_report_package(tmp_path / "shop", reports, dashboards), FIELD_TYPES)
    return [(i.file, i.json_path, i.message.en) for i in check_reports(app, FIELD_TYPES, parts=PARTS)]


def test_the_crm_reports_and_dashboards_pass() -> None:
    app = load_package(PACKAGE_PATH, FIELD_TYPES)
    assert len(app.reports) == 16 and [d.key for d in app.dashboards] == ["collections", "sales", "service"]
    assert [i.text() for i in check_reports(app, FIELD_TYPES, parts=PARTS)] == []


def test_a_good_package_has_no_problem(tmp_path: Path) -> None:
    assert problems(tmp_path) == []


def test_the_query_is_checked_against_the_form(tmp_path: Path) -> None:
    query = {**WON["query"], "dimensions": [{"key": "month", "field": "closed_in", "grain": "month"}]}
    found = problems(tmp_path, [report(query=query), BY_STAGE])
    assert found == [("reports/won.yaml", "query.dimensions[0].field", "no field closed_in")]


def test_the_chart_is_checked_by_its_type(tmp_path: Path) -> None:
    found = problems(tmp_path, [report(chart={"type": "tabel"}), {**BY_STAGE, "chart": {"type": "pie"}},
                                report(key="c", chart={"type": "pie", "donut": True}, alerts=[],
                                       query={"form": "deal", "measures": [{"key": "n", "agg": "count"}]})])
    assert sorted(found) == [("reports/c.yaml", "chart", "a pie needs one dimension"),
                     ("reports/won.yaml", "chart.type", "there is no chart type 'tabel' — did you mean 'table'?")]


def test_alerts_name_a_measure_and_are_sent_as_notify_sends(tmp_path: Path) -> None:
    alerts = [{"key": "a", "measure": "amout", "op": "lt", "value": 1, "notify": {"to": ["owner"], "title": "t",
                                                                                  "text": "x"}},
              {"key": "b", "measure": "amount", "op": "lt", "value": 1, "notify": {"to": [{"role": "boss"}],
                                                                                   "title": "t"}},
              {"key": "c", "measure": "amount", "op": "lt", "value": 1,
               "notify": {"to": [{"role": "seler"}], "title": "t", "text": "x", "channels": ["fax"]}}]
    found = problems(tmp_path, [report(alerts=alerts), BY_STAGE])
    paths = {p: m for _, p, m in found}
    assert paths["alerts[0].measure"] == "the report has no measure 'amout' — did you mean 'amount'?"
    assert "alerts[1].notify" in paths and "text" in paths["alerts[1].notify"]
    assert paths["alerts[2].notify.to[0].role"] == "the package has no role 'seler' (roles.yaml) — did you mean 'seller'?"
    assert "alerts[2].notify.channels[0]" in paths


def test_a_dashboard_names_reports_filters_fields_and_roles_that_exist(tmp_path: Path) -> None:
    filters = [{"key": "period", "type": "date_rang", "fields": {"won": "closed_on"}},
               {"key": "who", "type": "member", "fields": {"won": "amount", "by_stage": "owner", "nope": "owner"}},
               {"key": "stage", "type": "select", "fields": {"by_stage": "stag"}}]
    board = dashboard(items=[*BOARD["items"][:1], {"report": "by_stag", "x": 6}], filters=filters,
                      roles=["seller", "boss"])
    found = problems(tmp_path, None, [board])
    assert sorted((p, m) for _, p, m in found) == [
        ("filters[0].type", "there is no global filter type 'date_rang' — did you mean 'date_range'?"),
        ("filters[1].fields.by_stage", "the report 'by_stage' is not on this dashboard"),
        ("filters[1].fields.nope", "there is no report 'nope'"),
        ("filters[1].fields.won", "a member filter cannot apply to the field 'amount' (money)"),
        ("filters[2].fields.by_stage", "form 'deal' has no field 'stag' — did you mean 'stage'?"),
        ("filters[2].fields.by_stage", "the report 'by_stage' is not on this dashboard"),
        ("items[1].report", "there is no report 'by_stag' — did you mean 'by_stage'?"),
        ("roles[1]", "the package has no role 'boss' (roles.yaml)"),
    ]


def test_qiqiao_app_validate_reports_report_problems(tmp_path: Path) -> None:
    alerts = [{**WON["alerts"][0], "measure": "amout"}]
    root = write_report_package(tmp_path / "shop", [report(alerts=alerts), BY_STAGE])
    result = CliRunner().invoke(main, ["app", "validate", str(root), "--locale", "en"])
    assert result.exit_code == 1
    assert "reports/won.yaml: alerts[0].measure: the report has no measure 'amout'" in result.output
    good = CliRunner().invoke(main, ["app", "validate", str(PACKAGE_PATH)])
    assert good.exit_code == 0 and "16 reports, 3 dashboards — OK" in good.output


def test_the_crm_charts_fit_the_chart_types() -> None:
    from engine.reports.charts import CHART_TYPES

    app = load_package(PACKAGE_PATH, FIELD_TYPES)
    charts_only = ReportParts(None, CHART_TYPES, None)
    assert [i.text() for i in check_reports(app, FIELD_TYPES, parts=charts_only)] == []
    broken = replace(app, reports=tuple(replace(r, chart={**r.chart, "stak": True}) if r.key == "tickets_by_status"
                                        else r for r in app.reports))
    assert [(i.file, i.json_path) for i in check_reports(broken, FIELD_TYPES, parts=charts_only)] == [
        ("reports/tickets_by_status.yaml", "chart.stak")]
