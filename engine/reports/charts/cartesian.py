"""Charts on two axes: bar (stacked, horizontal), line, area, ranking, dual
axis and scatter. The categories are the ``x`` dimension's groups in the
result's order (select options in their order, buckets in time); a second
dimension (``series``) makes one series per value, stacked with ``stack``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from engine.core.i18n import Label
from engine.reports.base import ChartType, Presentation
from engine.reports.charts.common import (
    Problem,
    base_option,
    category,
    check_keys,
    color_of,
    index,
    item,
    label_text,
    percent_axis,
    pick_dimension,
    pick_values,
)
from engine.reports.formats import cell_text, jsonable, number
from engine.reports.model import OTHERS, ReportQuery, ReportResult, ResultColumn

_KEYS = {"type": "string"}
_KEY_LIST = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}


def _needs_dimension(query: ReportQuery) -> list[Problem]:
    if not query.dimensions:
        return [("type", Label("这种图表需要至少一个维度", "This chart needs at least one dimension"))]
    return []


def _axes(result: ReportResult, settings: Mapping[str, Any], locale: str
          ) -> tuple[ResultColumn | None, ResultColumn | None, list[str], list[Any]]:
    """The x dimension, the series dimension, the category names and the raw x values in order."""
    x = pick_dimension(result, settings, "x")
    series = pick_dimension(result, settings, "series") if settings.get("series") else None
    if series is None and not settings.get("series") and x is not None:
        others = [c for c in result.columns if c.role == "dimension" and c.key != x.key]
        series = others[0] if others and len(pick_values(result, settings)) == 1 else None
    names: list[str] = []
    raws: list[Any] = []
    if x is not None:
        for row in result.rows:
            raw = row[index(result, x.key)]
            if raw not in raws:
                raws.append(raw)
                names.append(category(result, row, x, locale))
    return x, series, names, raws


def _series(result: ReportResult, settings: Mapping[str, Any], locale: str, kind: str,
            x: ResultColumn | None, split: ResultColumn | None, raws: list[Any],
            measures: list[ResultColumn], extra: Mapping[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if x is None:
        return out
    xi = index(result, x.key)
    if split is None:
        for m in measures:
            by_x = {row[xi]: row for row in result.rows}
            data = [item(result, by_x[r], m, locale, **_color(x, r)) if r in by_x else None for r in raws]
            out.append({"name": label_text(m, locale), "type": kind, "data": data, **extra})
        return out
    si = index(result, split.key)
    groups: list[Any] = []
    for row in result.rows:
        if row[si] not in groups:
            groups.append(row[si])
    for m in measures:
        for g in groups:
            rows = {row[xi]: row for row in result.rows if row[si] == g}
            name = cell_text(result, split, g, locale)
            if len(measures) > 1:
                name = f"{label_text(m, locale)} · {name}"
            serie: dict[str, Any] = {"name": name, "type": kind, "data": [
                item(result, rows[r], m, locale) if r in rows else None for r in raws], **extra}
            color = color_of(split, g)
            if color:
                serie["itemStyle"] = {"color": color}
            if settings.get("stack", kind == "bar" and split is not None and settings.get("stack") is not False):
                serie["stack"] = m.key
            out.append(serie)
    return out


def _color(x: ResultColumn, raw: Any) -> dict[str, Any]:
    color = color_of(x, raw)
    return {"itemStyle": {"color": color}} if color else {}


class Cartesian(ChartType):
    """Bar, line and area: categories along x, one series per measure (or per value of ``series``)."""

    series_type: ClassVar[str]
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {"x": _KEYS, "y": _KEY_LIST, "series": _KEYS, "stack": {"type": "boolean"},
                       "horizontal": {"type": "boolean"}, "smooth": {"type": "boolean"},
                       "labels": {"type": "boolean"}},
    }

    def check(self, query: ReportQuery, settings: Mapping[str, Any]) -> list[Problem]:
        return _needs_dimension(query) + check_keys(query, settings, dimensions=("x", "series"), values=("y",))

    def series_extra(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if settings.get("labels"):
            extra["label"] = {"show": True}
        return extra

    def present(self, result: ReportResult, settings: Mapping[str, Any], locale: str) -> Presentation:
        x, split, names, raws = _axes(result, settings, locale)
        measures = pick_values(result, settings)
        series = _series(result, settings, locale, self.series_type, x, split, raws, measures,
                         self.series_extra(settings))
        category_axis: dict[str, Any] = {"type": "category", "data": names, "axisLabel": {"hideOverlap": True}}
        value_axis: dict[str, Any] = percent_axis(measures, {"type": "value"})
        horizontal = bool(settings.get("horizontal"))
        option = base_option()
        option.update({
            "tooltip": {"trigger": "axis"},
            "legend": {"show": len(series) > 1, "type": "scroll", "bottom": 0},
            "grid": {"left": 8, "right": 16, "top": 24, "bottom": 40 if len(series) > 1 else 16,
                     "containLabel": True},
            "xAxis": value_axis if horizontal else category_axis,
            "yAxis": category_axis if horizontal else value_axis,
            "series": series,
        })
        if horizontal:
            category_axis["inverse"] = True  # the first group on top, as read
        return Presentation("echarts", option)


class Bar(Cartesian):
    key = "bar"
    label = Label("柱状图", "Bar chart")
    description = Label("按类别比较数值；可堆叠、可横向", "Compare values by category; stacked or horizontal")
    series_type = "bar"


class Line(Cartesian):
    key = "line"
    label = Label("折线图", "Line chart")
    description = Label("数值随时间或顺序的变化", "How values move over time or an order")
    series_type = "line"

    def series_extra(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        return {**super().series_extra(settings), "smooth": bool(settings.get("smooth")), "connectNulls": False}


class Area(Line):
    key = "area"
    label = Label("面积图", "Area chart")
    description = Label("带填充的折线图，适合看累计与构成", "A filled line chart, for totals and their parts")

    def series_extra(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        return {**super().series_extra(settings), "areaStyle": {}}


class Ranking(ChartType):
    key = "ranking"
    label = Label("排行榜", "Ranking")
    description = Label("按一个度量从高到低排名的横向条形", "Horizontal bars ranked by one measure, highest first")
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {"x": _KEYS, "measure": _KEYS, "ascending": {"type": "boolean"}},
    }

    def check(self, query: ReportQuery, settings: Mapping[str, Any]) -> list[Problem]:
        return _needs_dimension(query) + check_keys(query, settings, dimensions=("x",), values=("measure",))

    def present(self, result: ReportResult, settings: Mapping[str, Any], locale: str) -> Presentation:
        x = pick_dimension(result, settings, "x")
        measure = pick_values(result, settings, "measure")[:1] or pick_values(result, {})[:1]
        option = base_option()
        if x is None or not measure:
            return Presentation("echarts", {**option, "series": []})
        m = measure[0]
        mi = index(result, m.key)
        xi = index(result, x.key)
        rows = sorted(result.rows, key=lambda r: (r[mi] is None, -(float(r[mi] or 0))))
        if settings.get("ascending"):
            rows.reverse()
        rows = [r for r in rows if r[xi] != OTHERS] + [r for r in rows if r[xi] == OTHERS]  # "others" is no rank
        names = [category(result, row, x, locale) if row[xi] == OTHERS else f"{rank}. {category(result, row, x, locale)}"
                 for rank, row in enumerate(rows, 1)]
        option.update({
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 8, "right": 48, "top": 8, "bottom": 8, "containLabel": True},
            "xAxis": percent_axis([m], {"type": "value"}),
            "yAxis": {"type": "category", "data": names, "inverse": True},
            "series": [{"name": label_text(m, locale), "type": "bar",
                        "label": {"show": True, "position": "right"},
                        # each bar's label is its value as the viewer reads it (money, percent)
                        "data": [{**(entry := item(result, row, m, locale)),
                                  "label": {"formatter": entry["formatted"]}} for row in rows]}],
        })
        return Presentation("echarts", option)


class DualAxis(ChartType):
    key = "dual_axis"
    label = Label("双轴图", "Dual axis")
    description = Label("左轴柱状、右轴折线：两种量级的度量放在一起",
                        "Bars on the left axis, lines on the right: two scales together")
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object", "additionalProperties": False, "required": ["left", "right"],
        "properties": {"x": _KEYS, "left": _KEY_LIST, "right": _KEY_LIST},
    }

    def check(self, query: ReportQuery, settings: Mapping[str, Any]) -> list[Problem]:
        return _needs_dimension(query) + check_keys(query, settings, dimensions=("x",), values=("left", "right"))

    def present(self, result: ReportResult, settings: Mapping[str, Any], locale: str) -> Presentation:
        x, _, names, raws = _axes(result, {"x": settings.get("x")} if settings.get("x") else {}, locale)
        left = pick_values(result, settings, "left")
        right = pick_values(result, settings, "right")
        series = (_series(result, settings, locale, "bar", x, None, raws, left, {"yAxisIndex": 0})
                  + _series(result, settings, locale, "line", x, None, raws, right, {"yAxisIndex": 1}))
        option = base_option()
        option.update({
            "tooltip": {"trigger": "axis"},
            "legend": {"type": "scroll", "bottom": 0},
            "grid": {"left": 8, "right": 8, "top": 24, "bottom": 40, "containLabel": True},
            "xAxis": {"type": "category", "data": names},
            "yAxis": [percent_axis(left, {"type": "value", "name": " / ".join(label_text(m, locale) for m in left)}),
                      percent_axis(right, {"type": "value", "name": " / ".join(label_text(m, locale) for m in right),
                                           "splitLine": {"show": False}})],
            "series": series,
        })
        return Presentation("echarts", option)


class Scatter(ChartType):
    key = "scatter"
    label = Label("散点图", "Scatter plot")
    description = Label("每个分组一个点：横轴一个度量、纵轴另一个", "One point per group: one measure across, another up")
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object", "additionalProperties": False, "required": ["x", "y"],
        "properties": {"x": _KEYS, "y": _KEYS, "size": _KEYS},
    }

    def check(self, query: ReportQuery, settings: Mapping[str, Any]) -> list[Problem]:
        return check_keys(query, settings, values=("x", "y", "size"))

    def present(self, result: ReportResult, settings: Mapping[str, Any], locale: str) -> Presentation:
        xs, ys = result.column(str(settings.get("x"))), result.column(str(settings.get("y")))
        option = base_option()
        if xs is None or ys is None:
            return Presentation("echarts", {**option, "series": []})
        dims = [c for c in result.columns if c.role == "dimension"]
        sizes = result.column(str(settings.get("size"))) if settings.get("size") else None
        biggest = max((abs(number(r[index(result, sizes.key)]) or 0.0) for r in result.rows), default=0.0) if sizes else 0.0
        data = []
        for row in result.rows:
            name = " · ".join(cell_text(result, d, row[index(result, d.key)], locale) for d in dims)
            x_item, y_item = item(result, row, xs, locale), item(result, row, ys, locale)
            data.append({"name": name, "value": [x_item["value"], y_item["value"]],
                         "formatted": f"{name}: {x_item['formatted']}, {y_item['formatted']}",
                         "point": {c.key: jsonable(row[index(result, c.key)]) for c in dims}, "measure": ys.key})
            if sizes is not None and biggest:
                # Area, not radius, should follow the measure: radius grows with its square root.
                share = abs(number(row[index(result, sizes.key)]) or 0.0) / biggest
                data[-1]["symbolSize"] = round(8 + 32 * share ** 0.5, 1)
        option.update({
            "grid": {"left": 8, "right": 16, "top": 24, "bottom": 16, "containLabel": True},
            "xAxis": {"type": "value", "name": label_text(xs, locale), "scale": True},
            "yAxis": {"type": "value", "name": label_text(ys, locale), "scale": True},
            "series": [{"type": "scatter", "data": data, "symbolSize": 12}],
        })
        return Presentation("echarts", option)
