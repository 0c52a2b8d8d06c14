"""The chart-type registry (``CHART_TYPES``): each type turns a report's
result into what the page draws — an ECharts option, or a table, a pivot or
a number card (``engine.reports.base.Presentation``). docs/reports.md
documents every one; a test fails when a registered type is not."""

from __future__ import annotations

from engine.core.registry import Registry
from engine.reports.base import ChartType
from engine.reports.charts.cartesian import Area, Bar, DualAxis, Line, Ranking, Scatter
from engine.reports.charts.round import Funnel, Gauge, Pie, ProvinceMap
from engine.reports.charts.tabular import Number, PivotTable, Table


def build_chart_types() -> Registry[ChartType]:
    registry: Registry[ChartType] = Registry("chart type")
    registry.register_all([Table(), PivotTable(), Number(), Bar(), Line(), Area(), Pie(), Funnel(), Scatter(),
                           DualAxis(), Gauge(), Ranking(), ProvinceMap()])
    return registry


CHART_TYPES = build_chart_types()

__all__ = ["CHART_TYPES", "build_chart_types"]
