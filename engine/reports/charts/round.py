"""Charts of one dimension's shares and single values: pie (donut), funnel,
gauge and the map of China by province."""

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
    pick_dimension,
    pick_values,
)
from engine.reports.formats import cell_text, number
from engine.reports.model import ReportQuery, ReportResult

_KEYS = {"type": "string"}


def _one_dimension(query: ReportQuery, settings: Mapping[str, Any]) -> list[Problem]:
    if len(query.dimensions) != 1:
        return [("type", Label("这种图表需要恰好一个维度", "This chart needs exactly one dimension"))]
    return check_keys(query, settings, values=("measure",))


def _slices(result: ReportResult, settings: Mapping[str, Any], locale: str) -> tuple[str, list[dict[str, Any]]]:
    dim = pick_dimension(result, settings, "x")
    measure = pick_values(result, settings, "measure")[:1] or pick_values(result, {})[:1]
    if dim is None or not measure:
        return "", []
    m = measure[0]
    data = []
    for row in result.rows:
        raw = row[index(result, dim.key)]
        entry = item(result, row, m, locale, name=category(result, row, dim, locale))
        color = color_of(dim, raw)
        if color:
            entry["itemStyle"] = {"color": color}
        data.append(entry)
    return label_text(m, locale), data


class Pie(ChartType):
    key = "pie"
    label = Label("饼图", "Pie chart")
    description = Label("一个维度各部分的占比；donut 为环形", "Each part's share of one dimension; donut for a ring")
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {"measure": _KEYS, "donut": {"type": "boolean"}},
    }

    def check(self, query: ReportQuery, settings: Mapping[str, Any]) -> list[Problem]:
        return _one_dimension(query, settings)

    def present(self, result: ReportResult, settings: Mapping[str, Any], locale: str) -> Presentation:
        name, data = _slices(result, settings, locale)
        option = base_option()
        option.update({
            "legend": {"type": "scroll", "bottom": 0},
            "series": [{"name": name, "type": "pie", "data": data, "top": 0, "bottom": 32,
                        "radius": ["40%", "70%"] if settings.get("donut") else "70%",
                        "label": {"formatter": "{b}: {d}%"}}],
        })
        return Presentation("echarts", option)


class Funnel(ChartType):
    key = "funnel"
    label = Label("漏斗图", "Funnel")
    description = Label("按阶段顺序逐层收窄，如销售漏斗", "Stages in order, narrowing: the sales pipeline")
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object", "additionalProperties": False, "properties": {"measure": _KEYS},
    }

    def check(self, query: ReportQuery, settings: Mapping[str, Any]) -> list[Problem]:
        return _one_dimension(query, settings)

    def present(self, result: ReportResult, settings: Mapping[str, Any], locale: str) -> Presentation:
        name, data = _slices(result, settings, locale)
        option = base_option()
        option.update({
            "legend": {"type": "scroll", "bottom": 0},
            "series": [{"name": name, "type": "funnel", "sort": "none", "data": data, "top": 8, "bottom": 32,
                        "left": "10%", "width": "80%", "minSize": "10%", "label": {"position": "inside"}}],
        })
        return Presentation("echarts", option)


class Gauge(ChartType):
    key = "gauge"
    label = Label("仪表盘", "Gauge")
    description = Label("一个数值在 0 到上限（或目标）之间的位置", "One value between 0 and a maximum (or target)")
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {"measure": _KEYS, "max": {"type": "number", "exclusiveMinimum": 0},
                       "target": {"type": "number", "exclusiveMinimum": 0}},
    }

    def check(self, query: ReportQuery, settings: Mapping[str, Any]) -> list[Problem]:
        return check_keys(query, settings, values=("measure",))

    def present(self, result: ReportResult, settings: Mapping[str, Any], locale: str) -> Presentation:
        measure = (pick_values(result, settings, "measure") or pick_values(result, {}))[:1]
        option = base_option()
        if not measure or not result.rows:
            return Presentation("echarts", {**option, "series": [{"type": "gauge", "data": []}]})
        m = measure[0]
        row = result.rows[0]
        value = number(row[index(result, m.key)]) or 0.0
        percent = bool(m.format.get("percent")) or m.type == "percent"
        top = settings.get("max") or settings.get("target") or (1.0 if percent else max(value * 1.25, 1.0))
        option.update({"series": [{
            "type": "gauge", "min": 0, "max": top, "progress": {"show": True},
            "detail": {"formatter": cell_text(result, m, row[index(result, m.key)], locale).replace("{", "")},
            "data": [{**item(result, row, m, locale), "name": label_text(m, locale)}],
        }]})
        return Presentation("echarts", option)


# The map's provinces are named short (广东, 内蒙古, 新疆); the address field stores full names.
_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")


def province_name(text: str) -> str:
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


class ProvinceMap(ChartType):
    key = "map"
    label = Label("地图", "Map")
    description = Label("按省份着色的中国地图（地址字段的省）", "China colored by province (an address field's province)")
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {"dimension": _KEYS, "measure": _KEYS},
    }

    def check(self, query: ReportQuery, settings: Mapping[str, Any]) -> list[Problem]:
        problems = check_keys(query, settings, dimensions=("dimension",), values=("measure",))
        key = settings.get("dimension")
        dim = query.dimension(str(key)) if key else (query.dimensions[0] if query.dimensions else None)
        if dim is None or not dim.field.endswith(".province"):
            problems.append(("dimension", Label("地图需要一个地址的省份维度（如 address.province）",
                                                "A map needs an address's province as its dimension "
                                                "(like address.province)")))
        return problems

    def present(self, result: ReportResult, settings: Mapping[str, Any], locale: str) -> Presentation:
        dim = pick_dimension(result, settings, "dimension")
        measure = (pick_values(result, settings, "measure") or pick_values(result, {}))[:1]
        option = base_option()
        data: list[dict[str, Any]] = []
        if dim is not None and measure:
            m = measure[0]
            for row in result.rows:
                raw = row[index(result, dim.key)]
                if raw is None:
                    continue
                data.append(item(result, row, m, locale, name=province_name(str(raw))))
        values = [d["value"] for d in data if d["value"] is not None]
        option.update({
            "visualMap": {"min": 0, "max": max(values) if values else 1, "calculable": True, "left": 0, "bottom": 0,
                          "inRange": {"color": ["#e6f4ff", "#1677ff"]}},
            "series": [{"type": "map", "map": "china", "roam": False, "data": data,
                        "name": label_text(measure[0], locale) if measure else ""}],
        })
        return Presentation("echarts", option)
