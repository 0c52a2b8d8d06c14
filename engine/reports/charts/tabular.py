"""Presentations drawn as HTML by the page: the table, the pivot (a cross
table with subtotals) and the number card (a value with its comparison and
target)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from engine.core.i18n import Label
from engine.reports.base import ChartType, Presentation
from engine.reports.charts.common import Problem, check_keys, index, label_text, pick_values, point
from engine.reports.formats import cell_text, format_number, number
from engine.reports.model import Pivot, ReportQuery, ReportResult, ResultColumn
from engine.reports.pivot import cross_table

_KEYS = {"type": "string"}


class Table(ChartType):
    key = "table"
    label = Label("表格", "Table")
    description = Label("分组与度量逐行列出，数字右对齐", "Groups and measures row by row, numbers right-aligned")
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {"columns": {"type": "array", "items": {"type": "string"}}},
    }

    def check(self, query: ReportQuery, settings: Mapping[str, Any]) -> list[Problem]:
        known = [d.key for d in query.dimensions]
        problems = check_keys(query, {"columns": [c for c in settings.get("columns", ()) if c not in known]},
                              values=("columns",))
        return problems

    def present(self, result: ReportResult, settings: Mapping[str, Any], locale: str) -> Presentation:
        keys = settings.get("columns")
        shown = [c for c in result.columns if keys is None or c.key in keys]
        rows = [{"cells": [{"text": cell_text(result, c, row[index(result, c.key)], locale),
                            "value": number(row[index(result, c.key)]) if c.role != "dimension" else None,
                            "measure": c.key if c.role != "dimension" else None} for c in shown],
                 "point": point(result, row)} for row in result.rows]
        return Presentation("table", {
            "columns": [{"key": c.key, "label": label_text(c, locale), "role": c.role,
                         "align": "start" if c.role == "dimension" else "end"} for c in shown],
            "rows": rows, "truncated": result.truncated,
        })


class PivotTable(ChartType):
    key = "pivot"
    label = Label("交叉表", "Pivot table")
    description = Label("行维度 × 列维度的交叉表，带小计与总计",
                        "Row dimensions across column dimensions, with subtotals and grand totals")
    settings_schema: ClassVar[Mapping[str, Any]] = {"type": "object", "additionalProperties": False,
                                                    "properties": {}}

    def check(self, query: ReportQuery, settings: Mapping[str, Any]) -> list[Problem]:
        if query.pivot is None:
            return [("type", Label("交叉表需要查询中的 pivot（行、列维度）",
                                   "A pivot table needs the query's pivot (row and column dimensions)"))]
        return []

    def present(self, result: ReportResult, settings: Mapping[str, Any], locale: str) -> Presentation:
        dims = [c.key for c in result.columns if c.role == "dimension"]
        pivot = Pivot(tuple(settings.get("rows", dims[:1])), tuple(settings.get("columns", dims[1:])))
        return Presentation("pivot", cross_table(result, pivot, locale).as_json())


class Number(ChartType):
    key = "number"
    label = Label("数字卡片", "Number card")
    description = Label("一个关键数字，可与上期比较（同比、环比）或与目标比较",
                        "One key number, compared with the period before (yoy, pop) or with a target")
    settings_schema: ClassVar[Mapping[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {"measure": _KEYS, "compare": _KEYS, "target": {"type": "number"},
                       "higher_is_better": {"type": "boolean"}},
    }

    def check(self, query: ReportQuery, settings: Mapping[str, Any]) -> list[Problem]:
        return check_keys(query, settings, values=("measure", "compare"))

    def present(self, result: ReportResult, settings: Mapping[str, Any], locale: str) -> Presentation:
        measure = (pick_values(result, settings, "measure") or pick_values(result, {}))[:1]
        if not measure:
            return Presentation("number", {"label": "", "text": "—", "value": None})
        m = measure[0]
        # A card over a date dimension shows the latest period.
        row = result.rows[-1] if result.rows else None
        raw = row[index(result, m.key)] if row is not None else None
        full = cell_text(result, m, raw, locale)
        # A card is narrow: a long amount reads short (¥1,257.3万), the full figure beside it.
        text = format_number(raw, m, locale, compact=True) if len(full) > 12 else full
        data: dict[str, Any] = {"label": label_text(m, locale), "text": text, "full": full,
                                "value": number(raw), "measure": m.key,
                                "point": point(result, row) if row is not None else {}}
        better_up = settings.get("higher_is_better", True)
        compare = result.column(str(settings["compare"])) if settings.get("compare") else None
        if compare is not None and row is not None:
            change = number(row[index(result, compare.key)])
            data["compare"] = _compare(result, compare, row[index(result, compare.key)], change, better_up, locale)
        target = settings.get("target")
        if target is not None:
            value = number(raw) or 0.0
            data["target"] = {"text": format_number(target, m, locale), "value": float(target),
                              "progress": round(value / float(target), 4) if target else None,
                              "progress_text": f"{value / float(target) * 100:.0f}%" if target else "—"}
        return Presentation("number", data)


def _compare(result: ReportResult, column: ResultColumn, raw: Any, change: float | None, better_up: bool,
             locale: str) -> dict[str, Any]:
    direction = "flat" if not change else ("up" if change > 0 else "down")
    good = None if direction == "flat" else (direction == "up") == better_up
    return {"label": label_text(column, locale), "text": cell_text(result, column, raw, locale),
            "value": change, "direction": direction, "good": good}
