"""Report and dashboard files: read from reports/ and dashboards/, checked
with file and path in every message (the query's shape, its form, the grid,
filter keys, a select filter's options), and named by the menu's
``{dashboard: key}`` items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from report_package import BOARD, BY_STAGE, WON, dashboard, report, write_report_package

from engine.definitions import load_package, validate_package
from engine.definitions.report_files import DashboardDef, ReportDef
from engine.fields import FIELD_TYPES

Problem = tuple[str, str, str]


def problems(tmp_path: Path, reports: list[dict[str, Any]] | None = None,
             dashboards: list[dict[str, Any]] | None = None, **options: Any) -> list[Problem]:
    root = write_report_package(tmp_path / "shop", reports, dashboards, **options)
    return [(i.file, i.json_path, i.message.en) for i in validate_package(root, FIELD_TYPES)]


def test_the_loader_reads_reports_and_dashboards_into_the_app(tmp_path: Path) -> None:
    app = load_package(write_report_package(tmp_path / "shop"), FIELD_TYPES)
    won, board = app.report("won"), app.dashboard("board")
    assert won is not None and board is not None and app.report("nope") is None
    assert [r.key for r in app.reports] == ["by_stage", "won"] and [d.key for d in app.dashboards] == ["board"]
    assert won.file == "reports/won.yaml" and won.form == "deal" and won.version == 0
    assert won.query.dimension("month") is not None and won.query.dimension("month").grain == "month"  # type: ignore[union-attr]
    assert won.alerts[0].every == "1d" and won.alerts[0].notify["to"] == [{"role": "seller"}]
    assert board.roles == ("seller",) and board.filters[1].options_from == "deal.stage"
    assert [(i.report, i.x, i.w) for i in board.items] == [("won", 0, 6), ("by_stage", 6, 6)]
    assert ReportDef.from_dict(won.to_dict(), file=won.file) == won
    assert DashboardDef.from_dict(board.to_dict(), file=board.file) == board


def test_the_schema_is_checked_with_paths(tmp_path: Path) -> None:
    found = problems(tmp_path, [report(query=None), report(key="b", chart={"stack": True}),
                                report(key="c", alerts=[{"key": "x", "measure": "amount", "op": "about",
                                                         "value": 1, "every": "soon", "notify": {}}])],
                     [dashboard(items=[{"report": "won", "x": 12}], filters=[{"key": "p", "type": "member"}])],
                     menus=None)
    paths = {(f, p) for f, p, _ in found}
    assert ("reports/won.yaml", "query") in paths
    assert ("reports/b.yaml", "chart") in paths
    assert {("reports/c.yaml", "alerts[0].op"), ("reports/c.yaml", "alerts[0].every")} <= paths
    assert {("dashboards/board.yaml", "items[0].x"), ("dashboards/board.yaml", "filters[0]")} <= paths


def test_the_query_shape_and_form_are_checked(tmp_path: Path) -> None:
    bad_measure = report(query={"form": "deal", "measures": [{"key": "n", "agg": "count", "formula": "1"}]})
    unknown_key = report(key="b", query={**WON["query"], "sort": ["month"]})
    no_form = report(key="c", query={**WON["query"], "form": "dael"})
    twice = report(key="d", alerts=[*WON["alerts"], *WON["alerts"]])
    found = problems(tmp_path, [bad_measure, unknown_key, no_form, twice, BY_STAGE])
    by_file = {f: (p, m) for f, p, m in found}
    assert by_file["reports/won.yaml"][0] == "query.measures[0]"
    assert "either agg" in by_file["reports/won.yaml"][1]
    assert by_file["reports/b.yaml"][0] == "query.sort" and "Unknown key sort" in by_file["reports/b.yaml"][1]
    assert by_file["reports/c.yaml"] == ("query.form", "there is no form 'dael' — did you mean 'deal'?")
    assert by_file["reports/d.yaml"] == ("alerts[1].key", "the alert 'low' is already defined at alerts[0].key")


def test_a_report_key_is_defined_once(tmp_path: Path) -> None:
    found = problems(tmp_path, [WON, BY_STAGE], raw={"reports/copy.yaml": "schema_version: 1\nkey: won\nlabel: W\n"
                                                     "query: {form: deal, measures: [{key: n, agg: count}]}\n"})
    assert ("reports/won.yaml", "key", "report 'won' is already defined in reports/copy.yaml") in found


def test_the_grid_filters_and_options_are_checked(tmp_path: Path) -> None:
    items = [{"report": "won", "x": 0, "y": 0, "w": 8, "h": 4}, {"report": "by_stage", "x": 6, "y": 2, "w": 6},
             {"report": "won", "x": 10, "y": 9, "w": 3}]
    filters = [*BOARD["filters"], {"key": "period", "type": "member", "fields": {"won": "owner"}},
               {"key": "kind", "type": "select", "options_from": "deal.name", "fields": {"by_stage": "name"}},
               {"key": "other", "type": "select", "options_from": "deal.stag", "fields": {"by_stage": "stage"}}]
    found = problems(tmp_path, None, [dashboard(items=items, filters=filters)])
    assert sorted((p, m) for _, p, m in found) == [
        ("filters[2].key", "the filter 'period' is already defined at filters[0]"),
        ("filters[3].options_from", "'deal.name' is not a select field (text)"),
        ("filters[4].options_from", "form 'deal' has no field 'stag' — did you mean 'stage'?"),
        ("items[1]", "overlaps items[0]"),
        ("items[2].w", "x + w = 13 is beyond the grid's 12 columns"),
    ]


def test_a_menu_names_dashboards_of_the_package(tmp_path: Path) -> None:
    menus = {"schema_version": 1, "groups": [{"key": "main", "label": "Main", "items": [
        {"dashboard": "board"}, {"dashboard": "bord"}, {"dashboard": "broken"}]}]}
    broken = dashboard(key="broken", items=[{"report": "won", "w": 13}])
    found = problems(tmp_path, None, [BOARD, broken], menus=menus)
    assert sorted(found) == [
        ("dashboards/broken.yaml", "items[0].w", "13 is more than the maximum of 12"),
        ("menus.yaml", "groups[0].items[1].dashboard", "dashboard 'bord' does not exist — did you mean 'board'?"),
    ]
