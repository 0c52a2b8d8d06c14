"""A pivot's result arranged as a cross table (交叉表).

The compiler returns a pivot's groups with their subtotals and grand totals
in one result, each row marked by ``grouping`` (bit i set: dimension i is
totalled there, as SQL's GROUPING()). ``cross_table`` lays them out: the row
dimensions down the side (a subtotal row after each group of the first row
dimensions, the grand total last), the column dimensions across (their
total column last), one cell per measure. Totals are the database's, never
added up here: an average or a distinct count does not add up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.reports.formats import cell_text, jsonable, number
from engine.reports.model import Pivot, ReportResult, ResultColumn

TOTAL = ("合计", "Total")


@dataclass(frozen=True)
class Cell:
    text: str
    value: float | None
    point: dict[str, Any]  # the group's dimension values (totalled ones left out): for drill-down
    measure: str


@dataclass(frozen=True)
class Header:
    texts: tuple[str, ...]  # one per column dimension, then the measure's label when several
    total: bool


@dataclass(frozen=True)
class Row:
    texts: tuple[str, ...]  # one per row dimension ("" under a group already named above)
    total: bool  # a subtotal or the grand total
    cells: tuple[Cell | None, ...]


@dataclass(frozen=True)
class CrossTable:
    row_labels: tuple[str, ...]
    column_labels: tuple[str, ...]
    headers: tuple[Header, ...]
    rows: tuple[Row, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "row_labels": list(self.row_labels), "column_labels": list(self.column_labels),
            "headers": [{"texts": list(h.texts), "total": h.total} for h in self.headers],
            "rows": [{"texts": list(r.texts), "total": r.total,
                      "cells": [None if c is None else {"text": c.text, "value": c.value, "point": c.point,
                                                         "measure": c.measure} for c in r.cells]}
                     for r in self.rows],
        }


_TOTAL = object()


def cross_table(result: ReportResult, pivot: Pivot, locale: str) -> CrossTable:
    zh = locale.lower().startswith("zh")
    total_text = TOTAL[0] if zh else TOTAL[1]
    columns = {c.key: (i, c) for i, c in enumerate(result.columns)}
    dims = [c.key for c in result.columns if c.role == "dimension"]
    measures = [c for c in result.columns if c.role != "dimension"]
    grouping = result.grouping or tuple(0 for _ in result.rows)
    row_keys = [k for k in pivot.rows if k in columns]
    col_keys = [k for k in pivot.columns if k in columns]

    def key_of(row: tuple[Any, ...], bits: int, keys: list[str]) -> tuple[Any, ...]:
        return tuple(_TOTAL if bits >> dims.index(k) & 1 else row[columns[k][0]] for k in keys)

    cells: dict[tuple[tuple[Any, ...], tuple[Any, ...]], tuple[Any, ...]] = {}
    row_order: list[tuple[Any, ...]] = []
    col_order: list[tuple[Any, ...]] = []
    for row, bits in zip(result.rows, grouping, strict=True):
        rk, ck = key_of(row, bits, row_keys), key_of(row, bits, col_keys)
        cells[(rk, ck)] = row
        if rk not in row_order:
            row_order.append(rk)
        if ck not in col_order:
            col_order.append(ck)
    row_order = _with_totals_after_groups(row_order)
    col_order = sorted(col_order, key=lambda k: (k.count(_TOTAL) > 0 and all(v is _TOTAL for v in k),))

    def text(key: str, value: Any) -> str:
        return total_text if value is _TOTAL else cell_text(result, columns[key][1], value, locale)

    headers = tuple(Header(tuple(text(k, v) for k, v in zip(col_keys, ck, strict=True))
                           + ((m.label.text(locale),) if len(measures) > 1 else ()),
                           any(v is _TOTAL for v in ck))
                    for ck in col_order for m in measures)
    rows: list[Row] = []
    previous: tuple[Any, ...] | None = None
    for rk in row_order:
        texts = []
        for i, (k, v) in enumerate(zip(row_keys, rk, strict=True)):
            same_group = previous is not None and previous[: i + 1] == rk[: i + 1] and v is not _TOTAL
            texts.append("" if same_group else text(k, v))
        out: list[Cell | None] = []
        for ck in col_order:
            found = cells.get((rk, ck))
            for m in measures:
                out.append(None if found is None else _cell(result, found, m, columns, rk, ck, row_keys, col_keys,
                                                            locale))
        rows.append(Row(tuple(texts), any(v is _TOTAL for v in rk), tuple(out)))
        previous = rk
    return CrossTable(tuple(columns[k][1].label.text(locale) for k in row_keys),
                      tuple(columns[k][1].label.text(locale) for k in col_keys), headers, tuple(rows))


def _cell(result: ReportResult, row: tuple[Any, ...], measure: ResultColumn,
          columns: dict[str, tuple[int, ResultColumn]], rk: tuple[Any, ...], ck: tuple[Any, ...],
          row_keys: list[str], col_keys: list[str], locale: str) -> Cell:
    raw = row[columns[measure.key][0]]
    point = {k: jsonable(v) for k, v in [*zip(row_keys, rk, strict=True), *zip(col_keys, ck, strict=True)]
             if v is not _TOTAL}
    return Cell(cell_text(result, measure, raw, locale), number(raw), point, measure.key)


def _with_totals_after_groups(keys: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Detail rows in their order, each subtotal after the last row of its
    group, the grand total last."""
    details = [k for k in keys if _TOTAL not in k]
    totals = [k for k in keys if _TOTAL in k]
    out: list[tuple[Any, ...]] = []
    for i, key in enumerate(details):
        out.append(key)
        following = details[i + 1] if i + 1 < len(details) else None
        # close the groups that end here, innermost first
        for depth in range(len(key) - 1, 0, -1):
            if following is None or following[:depth] != key[:depth]:
                subtotal = key[:depth] + tuple(_TOTAL for _ in key[depth:])
                if subtotal in totals and subtotal not in out:
                    out.append(subtotal)
    grand = tuple(_TOTAL for _ in keys[0]) if keys else ()
    out += [k for k in totals if k not in out and k != grand]
    if grand in totals:
        out.append(grand)
    return out
