"""The chart types (engine/reports/charts), number formats, the cross table
and the xlsx export, over results built by hand: every registered type
presents a result, checks its settings against the query, and carries each
point's group for drill-down."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook

from engine.core.i18n import Label, label
from engine.reports.charts import CHART_TYPES
from engine.reports.charts.round import province_name
from engine.reports.export import result_xlsx
from engine.reports.formats import compact_number, format_number, format_value
from engine.reports.model import OTHERS, Pivot, ReportResult, ResultColumn, parse_query
from engine.reports.pivot import cross_table

MONTH = ResultColumn("month", "dimension", label({"zh": "月份", "en": "Month"}), "date", grain="month")
STAGE = ResultColumn("stage", "dimension", label({"zh": "阶段", "en": "Stage"}), "select",
                     format={"colors": {"won": "#52c41a"}})
AMOUNT = ResultColumn("amount", "measure", label({"zh": "金额", "en": "Amount"}), "money",
                      format={"currency": "CNY", "precision": 2})
COUNT = ResultColumn("count", "measure", label({"zh": "数量", "en": "Count"}), "number")
RATE = ResultColumn("win_rate", "measure", label({"zh": "赢率", "en": "Win rate"}), "number",
                    format={"percent": True, "precision": 1})
YOY = ResultColumn("amount_yoy_change", "compare", label({"zh": "同比", "en": "YoY"}), "number",
                   format={"percent": True})
JAN, FEB = dt.date(2024, 1, 1), dt.date(2024, 2, 1)
LABELS: dict[str, dict[Any, Label]] = {
    "month": {JAN: Label("2024年1月", "Jan 2024"), FEB: Label("2024年2月", "Feb 2024")},
    "stage": {"won": Label("赢单", "Won"), "lost": Label("输单", "Lost")},
}
RESULT = ReportResult(
    (MONTH, STAGE, AMOUNT, COUNT),
    ((JAN, "won", Decimal("1200.50"), 3), (JAN, "lost", Decimal("300"), 1), (FEB, "won", Decimal("99999"), 5)),
    LABELS,
)
QUERY = parse_query({"form": "opportunity",
                     "measures": [{"key": "amount", "agg": "sum", "field": "amount"}, {"key": "count", "agg": "count"}],
                     "dimensions": [{"key": "month", "field": "close_date", "grain": "month"},
                                    {"key": "stage", "field": "stage"}]})
ONE_DIM = ReportResult((STAGE, AMOUNT), (("won", Decimal("1000")), ("lost", Decimal("250")), (None, None)), LABELS)
ONE_QUERY = parse_query({"form": "opportunity", "measures": [{"key": "amount", "agg": "sum", "field": "amount"}],
                         "dimensions": [{"key": "stage", "field": "stage"}]})

SETTINGS: dict[str, dict[str, Any]] = {
    "table": {}, "pivot": {"rows": ["month"], "columns": ["stage"]}, "number": {"measure": "amount"},
    "bar": {"x": "month", "y": ["amount"], "series": "stage", "stack": True}, "line": {"x": "month"},
    "area": {"x": "month", "y": "count"}, "pie": {"donut": True}, "funnel": {}, "scatter": {"x": "amount", "y": "count"},
    "dual_axis": {"x": "month", "left": ["amount"], "right": ["count"]}, "gauge": {"measure": "amount", "max": 5000},
    "ranking": {"measure": "amount"}, "map": {"measure": "amount"},
}


def test_every_registered_type_has_settings_here() -> None:
    assert set(SETTINGS) == {t.key for t in CHART_TYPES.all()}


@pytest.mark.parametrize("key", sorted(SETTINGS))
def test_each_type_presents_json_with_drillable_points(key: str) -> None:
    chart = CHART_TYPES.get(key)
    result = ONE_DIM if key in ("pie", "funnel", "ranking") else RESULT
    presentation = chart.present(result, SETTINGS[key], "zh")
    text = json.dumps(presentation.data, ensure_ascii=False)  # JSON all the way (no functions, no Decimals)
    assert presentation.kind in ("echarts", "table", "pivot", "number")
    if key in ("bar", "line", "area", "pie", "funnel", "ranking", "dual_axis", "scatter"):
        assert '"point"' in text and '"measure"' in text
    if key != "map":
        assert json.loads(text)


def test_stacked_bar_has_one_series_per_stage_with_its_color_and_gaps() -> None:
    option = CHART_TYPES.get("bar").present(RESULT, SETTINGS["bar"], "zh").data
    assert option["xAxis"]["data"] == ["2024年1月", "2024年2月"]
    names = [s["name"] for s in option["series"]]
    assert names == ["赢单", "输单"]
    won, lost = option["series"]
    assert won["stack"] == "amount" and won["itemStyle"] == {"color": "#52c41a"}
    assert [d["value"] for d in won["data"]] == [1200.5, 99999.0]
    assert lost["data"][1] is None  # no lost deal in February: a gap, not a zero
    assert won["data"][0]["point"] == {"month": "2024-01-01", "stage": "won"}
    assert won["data"][0]["formatted"] == "¥1,200.50"


def test_horizontal_bar_swaps_the_axes() -> None:
    option = CHART_TYPES.get("bar").present(RESULT, {"horizontal": True, "series": "stage"}, "en").data
    assert option["yAxis"]["type"] == "category" and option["xAxis"]["type"] == "value"
    assert option["yAxis"]["data"] == ["Jan 2024", "Feb 2024"]


def test_ranking_sorts_highest_first_and_numbers_the_ranks() -> None:
    option = CHART_TYPES.get("ranking").present(ONE_DIM, {}, "en").data
    assert option["yAxis"]["data"] == ["1. Won", "2. Lost", "3. —"]


def test_pie_and_funnel_name_slices_by_option_labels() -> None:
    pie = CHART_TYPES.get("pie").present(ONE_DIM, {"donut": True}, "en").data["series"][0]
    assert [d["name"] for d in pie["data"]] == ["Won", "Lost", "—"] and pie["radius"] == ["40%", "70%"]
    funnel = CHART_TYPES.get("funnel").present(ONE_DIM, {}, "zh").data["series"][0]
    assert funnel["sort"] == "none" and funnel["data"][0]["point"] == {"stage": "won"}


def test_number_card_compares_with_the_period_before_and_a_target() -> None:
    result = ReportResult((MONTH, AMOUNT, YOY), ((JAN, Decimal("100"), Decimal("-0.1")),
                                                 (FEB, Decimal("250"), Decimal("0.25"))), LABELS)
    card = CHART_TYPES.get("number").present(result, {"measure": "amount", "compare": "amount_yoy_change",
                                                      "target": 1000}, "zh").data
    assert card["text"] == "¥250.00" and card["compare"]["text"] == "25.0%"
    assert card["compare"]["direction"] == "up" and card["compare"]["good"] is True
    assert card["target"]["progress"] == 0.25 and card["target"]["progress_text"] == "25%"


def test_gauge_and_map() -> None:
    gauge = CHART_TYPES.get("gauge").present(ONE_DIM, {"max": 5000}, "zh").data["series"][0]
    assert gauge["max"] == 5000 and gauge["data"][0]["value"] == 1000.0
    provinces = ResultColumn("province", "dimension", label("省"), "text")
    result = ReportResult((provinces, AMOUNT), (("广东省", Decimal(5)), ("内蒙古自治区", Decimal(2)),
                                                ("北京市", Decimal(1)), (None, Decimal(9))))
    series = CHART_TYPES.get("map").present(result, {}, "zh").data["series"][0]
    assert [d["name"] for d in series["data"]] == ["广东", "内蒙古", "北京"]
    assert province_name("新疆维吾尔自治区") == "新疆" and province_name("香港特别行政区") == "香港"


def test_checks_name_what_the_query_lacks() -> None:
    assert CHART_TYPES.get("bar").check(QUERY, {"x": "month", "y": ["amount"]}) == []
    problems = CHART_TYPES.get("bar").check(QUERY, {"x": "week", "y": ["amount", "profit"]})
    assert [p for p, _ in problems] == ["x", "y[1]"]
    assert "profit" in problems[1][1].en
    assert CHART_TYPES.get("pie").check(QUERY, {})[0][0] == "type"  # two dimensions
    assert CHART_TYPES.get("pie").check(ONE_QUERY, {}) == []
    assert CHART_TYPES.get("pivot").check(QUERY, {})[0][0] == "type"  # no pivot in the query
    assert CHART_TYPES.get("map").check(ONE_QUERY, {})[0][0] == "dimension"
    assert CHART_TYPES.get("dual_axis").check(QUERY, {"left": ["amount"], "right": ["count"]}) == []


def test_formats_follow_the_column_and_the_locale() -> None:
    assert format_number(Decimal("1234567.891"), AMOUNT, "zh") == "¥1,234,567.89"
    assert format_number(Decimal("0.4567"), RATE, "en") == "45.7%"
    assert format_number(Decimal("12.5"), COUNT, "en") == "12.50"  # an average keeps its fraction
    assert format_number(None, COUNT, "en") == "—"
    assert compact_number(Decimal(123456), "zh") == "12.3万" and compact_number(Decimal(123456), "en") == "123.5K"
    assert compact_number(Decimal(250_000_000), "zh") == "2.5亿"
    assert format_number(Decimal(123456), AMOUNT, "zh", compact=True) == "¥12.3万"
    assert format_value(OTHERS, STAGE, "zh") == "其他" and format_value("won", STAGE, "en", LABELS["stage"]) == "Won"


PIVOT_RESULT = ReportResult(
    (MONTH, STAGE, AMOUNT),
    ((JAN, "won", Decimal(10)), (JAN, "lost", Decimal(5)), (JAN, None, Decimal(15)),
     (FEB, "won", Decimal(7)), (FEB, None, Decimal(7)),
     (None, "won", Decimal(17)), (None, "lost", Decimal(5)), (None, None, Decimal(22))),
    LABELS, grouping=(0, 0, 0b10, 0, 0b10, 0b01, 0b01, 0b11),
)


def test_cross_table_lays_out_totals_from_the_database() -> None:
    table = cross_table(PIVOT_RESULT, Pivot(("month",), ("stage",)), "zh")
    assert [h.texts for h in table.headers] == [("赢单",), ("输单",), ("合计",)]
    assert [r.texts for r in table.rows] == [("2024年1月",), ("2024年2月",), ("合计",)]
    assert [[c.text if c else None for c in r.cells] for r in table.rows] == [
        ["¥10.00", "¥5.00", "¥15.00"], ["¥7.00", None, "¥7.00"], ["¥17.00", "¥5.00", "¥22.00"]]
    assert table.rows[-1].total and table.headers[-1].total
    assert table.rows[0].cells[0].point == {"month": "2024-01-01", "stage": "won"}
    assert table.rows[-1].cells[0].point == {"stage": "won"}  # a total drills down by its other dimension only


def test_xlsx_export_keeps_numbers_as_numbers() -> None:
    body = result_xlsx(RESULT, title="赢单/月", locale="zh")
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("月份", "阶段", "金额", "数量")
    assert rows[1] == ("2024年1月", "赢单", 1200.5, 3)
    assert sheet["C2"].number_format == "#,##0.00" and sheet.freeze_panes == "A2"
    pivot = load_workbook(io.BytesIO(result_xlsx(PIVOT_RESULT, title="p", locale="en",
                                                 pivot=Pivot(("month",), ("stage",))))).active
    assert pivot is not None
    assert list(pivot.iter_rows(values_only=True))[-1] == ("Total", 17, 5, 22)
