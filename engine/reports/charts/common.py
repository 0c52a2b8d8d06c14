"""What every chart type shares: the result's dimensions and measures, the
keys its settings name checked against the query, and data points that
carry their group (``point``) and measure so a click drills down.

Every option is JSON (no functions): each data item carries ``formatted``,
its value as text in the viewer's language, for the page's tooltips and
labels (runtime/static/reports.js reads it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.core.i18n import Label
from engine.reports.formats import cell_text, is_percent, jsonable, number
from engine.reports.model import ReportQuery, ReportResult, ResultColumn

Problem = tuple[str, Label]
# Measures and comparisons a chart can plot: what is not a dimension.
VALUE_ROLES = ("measure", "compare", "running")


def value_keys(query: ReportQuery) -> list[str]:
    """The keys of the values a query's result has: its measures, their comparisons and running totals."""
    keys = [m.key for m in query.measures]
    for c in query.compare:
        keys += [f"{c.measure}_{c.kind}", f"{c.measure}_{c.kind}_change"]
    keys += [f"{r.measure}_running" for r in query.running]
    return keys


def check_keys(query: ReportQuery, settings: Mapping[str, Any], *, dimensions: Sequence[str] = (),
               values: Sequence[str] = ()) -> list[Problem]:
    """Problems of settings naming a dimension (``dimensions``) or a value
    (``values``) the query does not have; a setting may be a key or a list of keys."""
    problems: list[Problem] = []
    known_dims = [d.key for d in query.dimensions]
    known_values = value_keys(query)
    for name, known, what in ((n, known_dims, Label("维度", "dimension")) for n in dimensions):
        problems += _check(settings, name, known, what)
    for name in values:
        problems += _check(settings, name, known_values, Label("度量", "measure"))
    return problems


def _check(settings: Mapping[str, Any], name: str, known: list[str], what: Label) -> list[Problem]:
    given = settings.get(name)
    if given is None:
        return []
    keys = given if isinstance(given, list) else [given]
    return [(f"{name}" if not isinstance(given, list) else f"{name}[{i}]",
             Label(f"查询没有{what.zh} {key}（可用：{', '.join(known) or '-'}）",
                   f"The query has no {what.en} {key} (known: {', '.join(known) or '-'})"))
            for i, key in enumerate(keys) if key not in known]


def dimensions(result: ReportResult) -> list[ResultColumn]:
    return [c for c in result.columns if c.role == "dimension"]


def values(result: ReportResult) -> list[ResultColumn]:
    return [c for c in result.columns if c.role in VALUE_ROLES]


def index(result: ReportResult, key: str) -> int:
    return next(i for i, c in enumerate(result.columns) if c.key == key)


def pick_dimension(result: ReportResult, settings: Mapping[str, Any], name: str = "x",
                   position: int = 0) -> ResultColumn | None:
    key = settings.get(name)
    if key is not None:
        return result.column(str(key))
    found = dimensions(result)
    return found[position] if len(found) > position else None


def pick_values(result: ReportResult, settings: Mapping[str, Any], name: str = "y") -> list[ResultColumn]:
    keys = settings.get(name)
    if keys is None:
        measures = [c for c in result.columns if c.role == "measure"]
        return measures
    keys = keys if isinstance(keys, list) else [keys]
    return [c for k in keys if (c := result.column(str(k))) is not None]


def label_text(column: ResultColumn, locale: str) -> str:
    return column.label.text(locale)


def point(result: ReportResult, row: Sequence[Any]) -> dict[str, Any]:
    """The group of ``row``: each dimension's raw value, as JSON."""
    return {c.key: jsonable(row[i]) for i, c in enumerate(result.columns) if c.role == "dimension"}


def item(result: ReportResult, row: Sequence[Any], column: ResultColumn, locale: str,
         **extra: Any) -> dict[str, Any]:
    """One data point: its value, the value as text, its group and measure.
    A percent (kept as a fraction) is plotted in percent, so an axis reads
    ``{value}%`` (see ``percent_axis``)."""
    raw = row[index(result, column.key)]
    value = number(raw)
    if value is not None and is_percent(column):
        value = round(value * 100, 6)
    return {"value": value, "formatted": cell_text(result, column, raw, locale),
            "point": point(result, row), "measure": column.key, **extra}


def percent_axis(columns: Sequence[ResultColumn], axis: dict[str, Any]) -> dict[str, Any]:
    """``axis`` reading "40%" when every column on it is a percent."""
    if columns and all(is_percent(c) for c in columns):
        axis["axisLabel"] = {**axis.get("axisLabel", {}), "formatter": "{value}%"}
    return axis


def category(result: ReportResult, row: Sequence[Any], column: ResultColumn, locale: str) -> str:
    return cell_text(result, column, row[index(result, column.key)], locale)


def color_of(column: ResultColumn, value: Any) -> str | None:
    """A select option's color, when the result says it (``format.colors``)."""
    colors = column.format.get("colors")
    return colors.get(value) if isinstance(colors, Mapping) else None


def base_option(title: str | None = None) -> dict[str, Any]:
    option: dict[str, Any] = {"tooltip": {"trigger": "item"}, "aria": {"enabled": True}}
    if title:
        option["aria"]["label"] = {"description": title}
    return option
