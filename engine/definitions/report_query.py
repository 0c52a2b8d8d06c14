"""The report query and its result: the shapes every part of the report
engine shares.

A query is JSON in the spirit of Cube (docs/reports.md has the reference)::

    {"form": "opportunity",
     "measures": [{"key": "count", "agg": "count"},
                  {"key": "amount", "agg": "sum", "field": "amount"},
                  {"key": "won", "agg": "count", "filter": {"field": "stage", "op": "eq", "value": "won"}},
                  {"key": "win_rate", "formula": "won / count", "format": {"percent": true}}],
     "dimensions": [{"key": "month", "field": "close_date", "grain": "month"},
                    {"key": "stage", "field": "stage"}],
     "filter": {"field": "stage", "op": "ne", "value": "lost"},
     "having": {"field": "amount", "op": "gt", "value": 1000},
     "order": [{"key": "month"}, {"key": "amount", "desc": true}],
     "limit": 100,
     "top": {"dimension": "customer", "n": 10, "by": "amount", "others": true},
     "compare": [{"measure": "amount", "kind": "yoy", "dimension": "month"}],
     "running": [{"measure": "amount", "dimension": "month"}],
     "pivot": {"rows": ["month"], "columns": ["stage"], "totals": true}}

``parse_query`` turns the JSON into a ``ReportQuery`` (shape only: a wrong
shape is a ``QueryError`` naming its path); whether the fields exist, fit
their aggregation and may be seen by the viewer is the compiler's check
(``engine.reports.query.check_query``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from engine.core.errors import QueryError, at, query_error
from engine.core.i18n import Label, label

AREA = Label("报表查询", "Report query")
COMPARE_KINDS = ("yoy", "pop")  # 同比 (year over year), 环比 (period over period)


@dataclass(frozen=True)
class Measure:
    """An aggregate (``agg`` over ``field``; ``count`` needs no field), only
    over the rows meeting ``filter`` when given (conditional aggregation:
    "won count"), or a ``formula`` over other measures' keys ("won / count")."""

    key: str
    agg: str | None = None  # a key of engine.reports.measures.AGGREGATIONS
    field: str | None = None  # a field path (amount, customer.industry)
    filter: Mapping[str, Any] | None = None  # the filter language
    formula: str | None = None
    label: Label | None = None
    format: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # {"percent": true, "precision": 1, "currency": "CNY"}


@dataclass(frozen=True)
class Dimension:
    """Rows are grouped by ``field`` (a path: stage, owner, customer.industry,
    address.province); a date or datetime field by ``grain``."""

    key: str
    field: str
    grain: str | None = None  # a key of engine.reports.dates.GRAINS
    label: Label | None = None


@dataclass(frozen=True)
class Order:
    key: str  # a dimension's or a measure's key
    desc: bool = False


@dataclass(frozen=True)
class Top:
    """Keep the ``n`` values of ``dimension`` with the most ``by``; the rest
    are summed into one "others" group when ``others``."""

    dimension: str
    n: int
    by: str
    others: bool = True


@dataclass(frozen=True)
class Compare:
    """Adds ``<measure>_<kind>`` (the value in the period before: a year
    before for ``yoy``, one period before for ``pop``) and
    ``<measure>_<kind>_change`` ((now - before) / before) along the date
    dimension ``dimension``."""

    measure: str
    kind: str  # yoy | pop
    dimension: str


@dataclass(frozen=True)
class Running:
    """Adds ``<measure>_running``: the measure summed along ``dimension`` (in
    its order), per group of the other dimensions."""

    measure: str
    dimension: str


@dataclass(frozen=True)
class Pivot:
    """A cross table (交叉表): ``rows`` and ``columns`` are dimension keys;
    with ``totals`` the result also has the subtotals and grand totals,
    computed in the same statement (not added up in Python: an average or a
    distinct count does not add up)."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    totals: bool = True


@dataclass(frozen=True)
class ReportQuery:
    form: str
    measures: tuple[Measure, ...]
    dimensions: tuple[Dimension, ...] = ()
    filter: Mapping[str, Any] | None = None
    having: Mapping[str, Any] | None = None  # the filter language over measure keys
    order: tuple[Order, ...] = ()
    limit: int | None = None
    top: Top | None = None
    compare: tuple[Compare, ...] = ()
    running: tuple[Running, ...] = ()
    pivot: Pivot | None = None

    def dimension(self, key: str) -> Dimension | None:
        return next((d for d in self.dimensions if d.key == key), None)

    def measure(self, key: str) -> Measure | None:
        return next((m for m in self.measures if m.key == key), None)

    def with_filter(self, extra: Mapping[str, Any] | None) -> ReportQuery:
        """This query with ``extra`` and-ed to its row filter (global filters, drill-down)."""
        if not extra:
            return self
        merged = {"and": [self.filter, extra]} if self.filter else dict(extra)
        return replace(self, filter=merged)

    def to_dict(self) -> dict[str, Any]:
        return _query_dict(self)


# --- the result ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ResultColumn:
    """A column of a result. ``role``: dimension | measure | compare |
    running. ``type`` is the field type of its values (a formula measure's
    or a count's is ``number``); ``format`` the number format (from the
    field, overridden by the measure's ``format``); ``field`` the path it
    came from (dimensions and field measures)."""

    key: str
    role: str
    label: Label
    type: str
    format: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    field: str | None = None
    grain: str | None = None


@dataclass(frozen=True)
class ReportResult:
    """Rows of raw values, one per group, in the query's order.

    A dimension's value is what a filter on its field takes: an option key,
    a user, department or record id, a bucket's first day (``dt.date``) for
    a grain, None for blank; ``labels[key][value]`` is how it is shown (a
    ``Label``). The "others" group of ``top`` has the value ``OTHERS``. A
    pivot's result has ``grouping``: per row, a bitmask of its dimensions
    that are totals (bit i = dimension i, as SQL's GROUPING()).
    """

    columns: tuple[ResultColumn, ...]
    rows: tuple[tuple[Any, ...], ...]
    labels: Mapping[str, Mapping[Any, Label]] = dataclasses.field(default_factory=dict)
    grouping: tuple[int, ...] | None = None
    truncated: bool = False  # more groups than the limit allowed
    version: str = ""  # the data version it was computed at (engine.reports.cache)
    cached: bool = False
    computed_at: dt.datetime | None = None

    def column(self, key: str) -> ResultColumn | None:
        return next((c for c in self.columns if c.key == key), None)

    def values(self, key: str) -> list[Any]:
        index = next(i for i, c in enumerate(self.columns) if c.key == key)
        return [row[index] for row in self.rows]

    def records(self) -> list[dict[str, Any]]:
        keys = [c.key for c in self.columns]
        return [dict(zip(keys, row, strict=True)) for row in self.rows]


OTHERS = "__others__"


# --- JSON -> ReportQuery (shape only) ------------------------------------------------------

def parse_query(data: Any, path: str = "query") -> ReportQuery:
    """The query ``data`` describes; a wrong shape is a ``QueryError`` at its path."""
    item = _mapping(data, path)
    _only(item, path, {"form", "measures", "dimensions", "filter", "having", "order", "limit",
                       "top", "compare", "running", "pivot"})
    form = _text(item.get("form"), at(path, "form"))
    measures = tuple(_measure(m, f"{path}.measures[{i}]") for i, m in enumerate(_list(item.get("measures"), at(path, "measures"))))
    if not measures:
        raise query_error(AREA, at(path, "measures"), Label("至少需要一个度量", "At least one measure is needed"))
    dimensions = tuple(_dimension(d, f"{path}.dimensions[{i}]")
                       for i, d in enumerate(_list(item.get("dimensions", []), at(path, "dimensions"))))
    keys = [m.key for m in measures] + [d.key for d in dimensions]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise query_error(AREA, path, Label(f"键 {', '.join(repeated)} 重复", f"Key {', '.join(repeated)} is used twice"))
    return ReportQuery(
        form=form, measures=measures, dimensions=dimensions,
        filter=_optional_mapping(item.get("filter"), at(path, "filter")),
        having=_optional_mapping(item.get("having"), at(path, "having")),
        order=tuple(_order(o, f"{path}.order[{i}]") for i, o in enumerate(_list(item.get("order", []), at(path, "order")))),
        limit=_optional_int(item.get("limit"), at(path, "limit")),
        top=_top(item["top"], at(path, "top")) if item.get("top") is not None else None,
        compare=tuple(_compare(c, f"{path}.compare[{i}]")
                      for i, c in enumerate(_list(item.get("compare", []), at(path, "compare")))),
        running=tuple(_running(r, f"{path}.running[{i}]")
                      for i, r in enumerate(_list(item.get("running", []), at(path, "running")))),
        pivot=_pivot(item["pivot"], at(path, "pivot")) if item.get("pivot") is not None else None,
    )


def _measure(data: Any, path: str) -> Measure:
    item = _mapping(data, path)
    _only(item, path, {"key", "agg", "field", "filter", "formula", "label", "format"})
    agg, formula = item.get("agg"), item.get("formula")
    if (agg is None) == (formula is None):
        raise query_error(AREA, path, Label("度量需要 agg（聚合）或 formula（公式）之一",
                                            "A measure needs either agg (an aggregation) or formula"))
    return Measure(
        key=_key(item.get("key"), at(path, "key")),
        agg=_text(agg, at(path, "agg")) if agg is not None else None,
        field=_text(item["field"], at(path, "field")) if item.get("field") is not None else None,
        filter=_optional_mapping(item.get("filter"), at(path, "filter")),
        formula=_text(formula, at(path, "formula")) if formula is not None else None,
        label=_label(item.get("label"), at(path, "label")),
        format=_optional_mapping(item.get("format"), at(path, "format")) or {},
    )


def _dimension(data: Any, path: str) -> Dimension:
    item = _mapping(data, path)
    _only(item, path, {"key", "field", "grain", "label"})
    field_path = _text(item.get("field"), at(path, "field"))
    return Dimension(
        key=_key(item.get("key", field_path.replace(".", "_")), at(path, "key")),
        field=field_path,
        grain=_text(item["grain"], at(path, "grain")) if item.get("grain") is not None else None,
        label=_label(item.get("label"), at(path, "label")),
    )


def _order(data: Any, path: str) -> Order:
    if isinstance(data, str):  # "-amount" is descending, like a list's sort
        return Order(data.lstrip("-"), data.startswith("-"))
    item = _mapping(data, path)
    _only(item, path, {"key", "desc"})
    return Order(_text(item.get("key"), at(path, "key")), _bool(item.get("desc", False), at(path, "desc")))


def _top(data: Any, path: str) -> Top:
    item = _mapping(data, path)
    _only(item, path, {"dimension", "n", "by", "others"})
    n = _optional_int(item.get("n"), at(path, "n"))
    if n is None:
        raise query_error(AREA, at(path, "n"), Label("需要一个正整数", "A positive whole number is needed"))
    return Top(_text(item.get("dimension"), at(path, "dimension")), n, _text(item.get("by"), at(path, "by")),
               _bool(item.get("others", True), at(path, "others")))


def _compare(data: Any, path: str) -> Compare:
    item = _mapping(data, path)
    _only(item, path, {"measure", "kind", "dimension"})
    kind = _text(item.get("kind"), at(path, "kind"))
    if kind not in COMPARE_KINDS:
        raise query_error(AREA, at(path, "kind"), Label(f"比较方式 {kind} 未知（可用：yoy 同比、pop 环比）",
                                                         f"Unknown comparison {kind} (known: yoy, pop)"))
    return Compare(_text(item.get("measure"), at(path, "measure")), kind,
                   _text(item.get("dimension"), at(path, "dimension")))


def _running(data: Any, path: str) -> Running:
    item = _mapping(data, path)
    _only(item, path, {"measure", "dimension"})
    return Running(_text(item.get("measure"), at(path, "measure")), _text(item.get("dimension"), at(path, "dimension")))


def _pivot(data: Any, path: str) -> Pivot:
    item = _mapping(data, path)
    _only(item, path, {"rows", "columns", "totals"})
    rows = tuple(_text(k, f"{path}.rows[{i}]") for i, k in enumerate(_list(item.get("rows", []), at(path, "rows"))))
    columns = tuple(_text(k, f"{path}.columns[{i}]")
                    for i, k in enumerate(_list(item.get("columns", []), at(path, "columns"))))
    return Pivot(rows, columns, _bool(item.get("totals", True), at(path, "totals")))


def _query_dict(query: ReportQuery) -> dict[str, Any]:
    def measure(m: Measure) -> dict[str, Any]:
        out: dict[str, Any] = {"key": m.key}
        for name in ("agg", "field", "filter", "formula"):
            if getattr(m, name) is not None:
                out[name] = getattr(m, name)
        if m.label is not None:
            out["label"] = m.label.as_dict()
        if m.format:
            out["format"] = dict(m.format)
        return out

    def dimension(d: Dimension) -> dict[str, Any]:
        out: dict[str, Any] = {"key": d.key, "field": d.field}
        if d.grain is not None:
            out["grain"] = d.grain
        if d.label is not None:
            out["label"] = d.label.as_dict()
        return out

    out: dict[str, Any] = {"form": query.form, "measures": [measure(m) for m in query.measures]}
    if query.dimensions:
        out["dimensions"] = [dimension(d) for d in query.dimensions]
    for name in ("filter", "having", "limit"):
        if getattr(query, name) is not None:
            out[name] = getattr(query, name)
    if query.order:
        out["order"] = [{"key": o.key, "desc": o.desc} for o in query.order]
    if query.top is not None:
        t = query.top
        out["top"] = {"dimension": t.dimension, "n": t.n, "by": t.by, "others": t.others}
    if query.compare:
        out["compare"] = [{"measure": c.measure, "kind": c.kind, "dimension": c.dimension} for c in query.compare]
    if query.running:
        out["running"] = [{"measure": r.measure, "dimension": r.dimension} for r in query.running]
    if query.pivot is not None:
        p = query.pivot
        out["pivot"] = {"rows": list(p.rows), "columns": list(p.columns), "totals": p.totals}
    return out


# --- small shape checks ---------------------------------------------------------------------

def _mapping(data: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise query_error(AREA, path, Label("需要一个对象", "An object is needed"))
    return data


def _optional_mapping(data: Any, path: str) -> Mapping[str, Any] | None:
    return None if data is None else _mapping(data, path)


def _list(data: Any, path: str) -> Sequence[Any]:
    if not isinstance(data, list | tuple):
        raise query_error(AREA, path, Label("需要一个列表", "A list is needed"))
    return data


def _text(data: Any, path: str) -> str:
    if not isinstance(data, str) or not data.strip():
        raise query_error(AREA, path, Label("需要一个非空的文本", "A non-empty text is needed"))
    return data.strip()


def _key(data: Any, path: str) -> str:
    text = _text(data, path)
    if not text.replace("_", "a").isalnum() or not text[0].isalpha() or len(text) > 50:
        raise query_error(AREA, path, Label(f"键 {text} 无效（字母开头，只含字母、数字和下划线，最长 50）",
                                            f"Invalid key {text} (a letter first, then letters, digits "
                                            "or underscores, at most 50)"))
    return text


def _bool(data: Any, path: str) -> bool:
    if not isinstance(data, bool):
        raise query_error(AREA, path, Label("需要 true 或 false", "true or false is needed"))
    return data


def _optional_int(data: Any, path: str) -> int | None:
    if data is None:
        return None
    if isinstance(data, bool) or not isinstance(data, int) or data < 1:
        raise query_error(AREA, path, Label("需要一个正整数", "A positive whole number is needed"))
    return data


def _label(data: Any, path: str) -> Label | None:
    if data is None:
        return None
    if not isinstance(data, str | Mapping):
        raise query_error(AREA, path, Label("需要文本或 {zh, en}", "A text or {zh, en} is needed"))
    return label(data)


def _only(item: Mapping[str, Any], path: str, known: set[str]) -> None:
    unknown = sorted(set(item) - known)
    if unknown:
        raise query_error(AREA, at(path, unknown[0]), Label(
            f"未知的键 {unknown[0]}（可用：{', '.join(sorted(known))}）",
            f"Unknown key {unknown[0]} (known: {', '.join(sorted(known))})"))


__all__ = ["AREA", "COMPARE_KINDS", "OTHERS", "Compare", "Dimension", "Measure", "Order", "Pivot",
           "QueryError", "ReportQuery", "ReportResult", "ResultColumn", "Running", "Top", "parse_query"]
