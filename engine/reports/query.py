"""The report query engine's entry points: check a query against the app
(``check_query``), compile and run it as one statement (``compile_query``,
``run_query``), say which forms it reads (``query_forms``, for the cache)
and which records stand behind one of its numbers (``drill_filter``).
docs/reports.md is the reference."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.errors import PermissionDenied, QueryError
from engine.core.i18n import Label
from engine.definitions.model import AppDef, FieldDef
from engine.fields.choice import options_of
from engine.records.access import FormPolicy, filter_paths
from engine.records.filters import PathGuard, PathResolver
from engine.reports.compiler import (
    GROUPING,
    MAX_DIMENSIONS,
    MAX_GROUPS,
    MAX_MEASURES,
    TOP_FLAG,
    Compiled,
    QueryCompiler,
)
from engine.reports.dates import GRAINS
from engine.reports.measures import FormulaError, formula_names
from engine.reports.model import OTHERS, Dimension, ReportQuery, ReportResult, ResultColumn
from engine.reports.statement import build
from engine.store.models import Department, User
from engine.store.tables import FieldTypes, form_tables

Problem = tuple[str, Label]
# ("user" | "department", ids) -> their names: the org service's, when the caller has one
# (the runtime's caches); the org tables read on the query's connection otherwise.
NameLookup = Callable[[str, Sequence[int]], Mapping[int, str]]
USERS = cast(sa.Table, User.__table__)
DEPARTMENTS = cast(sa.Table, Department.__table__)
# Types whose values are few and known: a dimension of them bounds the groups.
BOUNDED = {"select": None, "radio": None, "boolean": 3}
GRAIN_BOUND = {"month": 1200, "quarter": 400, "year": 100}
BLANK = Label("（空）", "(blank)")
OTHERS_LABEL = Label("其他", "Others")
AGG_LABEL = {"count": Label("记录数", "Count"), "avg": Label("平均", "Average "), "min": Label("最小", "Min "),
             "max": Label("最大", "Max "), "count_distinct": Label("数", " (distinct)")}


def compile_query(query: ReportQuery, app: AppDef, field_types: FieldTypes, *, policy: FormPolicy | None = None,
                  user_id: int | None = None, today: dt.date | None = None, tz: dt.tzinfo = dt.UTC,
                  dialect: str = "sqlite") -> Compiled:
    """The one statement of ``query`` (QueryError naming the path when it cannot be built)."""
    problems = _static(query)
    if problems:
        raise QueryError(problems[0][1], problems[0][0])
    compiler = QueryCompiler(query, app, field_types, policy=policy, user_id=user_id,
                             today=today or dt.date.today(), tz=tz, dialect=dialect)
    return build(compiler)


def check_query(query: ReportQuery, app: AppDef, field_types: FieldTypes, *, policy: FormPolicy | None = None,
                path: str = "query") -> list[Problem]:
    """Every problem of ``query`` (JSON path, message): [] when it is safe to run."""
    problems = _static(query)
    if not problems:
        for dialect in ("sqlite",):  # building is dialect-independent in what it checks
            try:
                compile_query(query, app, field_types, policy=policy, dialect=dialect)
            except QueryError as exc:
                problems.append((exc.path or "query", exc.message))
            except PermissionDenied as exc:
                problems.append(("query", exc.message))
    if not problems:
        problems += _bounded(query, app, field_types)
    if path != "query":
        problems = [(p.replace("query", path, 1), m) for p, m in problems]
    return problems


def _static(query: ReportQuery) -> list[Problem]:
    problems: list[Problem] = []
    if len(query.dimensions) > MAX_DIMENSIONS:
        problems.append(("query.dimensions", Label(f"最多 {MAX_DIMENSIONS} 个维度", f"At most {MAX_DIMENSIONS} dimensions")))
    if len(query.measures) > MAX_MEASURES:
        problems.append(("query.measures", Label(f"最多 {MAX_MEASURES} 个度量", f"At most {MAX_MEASURES} measures")))
    dims = {d.key for d in query.dimensions}
    measures = {m.key for m in query.measures}
    for i, m in enumerate(query.measures):
        if m.formula is not None:
            try:
                unknown = [n for n in formula_names(m.formula) if n not in measures or n == m.key]
            except FormulaError as exc:
                problems.append((f"query.measures[{i}].formula", Label(f"公式无效：{exc}", f"Invalid formula: {exc}")))
                continue
            if unknown:
                problems.append((f"query.measures[{i}].formula", Label(
                    f"公式引用了未知的度量 {', '.join(unknown)}", f"The formula reads unknown measures {', '.join(unknown)}")))
    values = set(measures)
    for c in query.compare:
        values |= {f"{c.measure}_{c.kind}", f"{c.measure}_{c.kind}_change"}
    values |= {f"{r.measure}_running" for r in query.running}
    for i, o in enumerate(query.order):
        if o.key not in dims | values:
            problems.append((f"query.order[{i}]", Label(f"排序的键 {o.key} 不是维度或度量",
                                                        f"The order key {o.key} is not a dimension or measure")))
    if query.limit is not None and query.limit > MAX_GROUPS:
        problems.append(("query.limit", Label(f"limit 最多 {MAX_GROUPS}", f"limit is at most {MAX_GROUPS}")))
    if query.top is not None and (query.top.dimension not in dims or query.top.by not in measures):
        problems.append(("query.top", Label("top 的 dimension 与 by 须是查询中的维度与度量",
                                            "top's dimension and by must be a dimension and a measure of the query")))
    for i, c in enumerate(query.compare):
        if c.measure not in measures or c.dimension not in dims:
            problems.append((f"query.compare[{i}]", Label("比较的度量与维度须在查询中",
                                                          "A comparison's measure and dimension must be in the query")))
    for i, r in enumerate(query.running):
        if r.measure not in measures or r.dimension not in dims:
            problems.append((f"query.running[{i}]", Label("累计的度量与维度须在查询中",
                                                          "A running total's measure and dimension must be in the query")))
    if query.pivot is not None:
        unknown = [k for k in (*query.pivot.rows, *query.pivot.columns) if k not in dims]
        if unknown or set(query.pivot.rows) | set(query.pivot.columns) != dims:
            problems.append(("query.pivot", Label("交叉表的行与列须恰好是查询的全部维度",
                                                  "A pivot's rows and columns must be exactly the query's dimensions")))
        if query.compare or query.running or query.top:
            problems.append(("query.pivot", Label("交叉表不能与比较、累计或 top 同用",
                                                  "A pivot cannot be combined with compare, running or top")))
    return problems


def _bounded(query: ReportQuery, app: AppDef, field_types: FieldTypes) -> list[Problem]:
    """A query must not make more than MAX_GROUPS groups: its dimensions are
    all of bounded kinds, or it has a limit or a top."""
    if query.limit is not None or query.top is not None or not query.dimensions:
        return []
    form = app.get_form(query.form)
    resolver = PathResolver(form, app, field_types)
    total = 1
    for d in query.dimensions:
        bound = _bound(d, resolver.resolve(d.field, "").field)
        if bound is None:
            return [("query.limit", Label(
                f"维度 {d.key} 的取值个数没有上限：请设置 limit（最多 {MAX_GROUPS}）或 top",
                f"Dimension {d.key} has no bound on its values: set a limit (at most {MAX_GROUPS}) or a top"))]
        total *= bound
    if total > MAX_GROUPS:
        return [("query.limit", Label(f"分组可能多达 {total} 个：请设置 limit（最多 {MAX_GROUPS}）",
                                      f"There may be up to {total} groups: set a limit (at most {MAX_GROUPS})"))]
    return []


def _bound(dimension: Dimension, field: FieldDef) -> int | None:
    if dimension.grain is not None:
        return GRAIN_BOUND.get(dimension.grain)
    if field.type in ("select", "radio"):
        return len(options_of(field)) + 1
    return BOUNDED.get(field.type)


def query_forms(query: ReportQuery, app: AppDef, field_types: FieldTypes) -> frozenset[str]:
    """Every form ``query`` reads: its own and those its paths go through."""
    form = app.form(query.form)
    if form is None:
        return frozenset({query.form})
    resolver = PathResolver(form, app, field_types)
    paths = [d.field for d in query.dimensions] + [m.field for m in query.measures if m.field is not None]
    paths += filter_paths(query.filter) + [p for m in query.measures for p in filter_paths(m.filter)]
    found = {query.form}
    for text in paths:
        try:
            path = resolver.resolve(text, "")
        except (QueryError, PermissionDenied):
            continue
        found |= {hop.target.form.key for hop in path.hops if hop.target.form is not None}
    return frozenset(found)


def run_query(conn: Connection, query: ReportQuery, app: AppDef, field_types: FieldTypes, *,
              policy: FormPolicy | None, user_id: int | None, today: dt.date, tz: dt.tzinfo,
              org_names: NameLookup | None = None) -> ReportResult:
    """The result of ``query`` for a viewer (``policy``: their rights on the form)."""
    problems = _static(query)
    if problems:
        raise QueryError(problems[0][1], problems[0][0])
    compiled = compile_query(query, app, field_types, policy=policy, user_id=user_id, today=today, tz=tz,
                             dialect=conn.dialect.name)
    result = conn.execute(compiled.statement)
    names = list(result.keys())
    return decode(conn, compiled, app, field_types, [tuple(r) for r in result.all()], names, org_names=org_names)


def decode(conn: Connection, compiled: Compiled, app: AppDef, field_types: FieldTypes,
           rows: list[tuple[Any, ...]], names: list[str], *, org_names: NameLookup | None = None) -> ReportResult:
    query = compiled.query
    truncated = len(rows) > compiled.limit
    rows = rows[: compiled.limit]
    position = {n: i for i, n in enumerate(names)}
    columns: list[ResultColumn] = []
    labels: dict[str, dict[Any, Label]] = {}
    values: list[list[Any]] = [[] for _ in rows]
    for d in query.dimensions:
        dim_part = compiled.dimensions[d.key]
        i = position[d.key]
        flag = position.get(TOP_FLAG.format(key=d.key))
        raw = [row[i] for row in rows]
        if d.grain is not None:
            grain = GRAINS.get(d.grain)
            buckets = {int(v) for v in raw if v is not None}  # each distinct bucket worked out once
            starts = {b: grain.start(b, fiscal_start=compiled.fiscal_start) for b in buckets}
            raw = [None if v is None else starts[int(v)] for v in raw]
            labels[d.key] = {starts[b]: grain.text(b, fiscal_start=compiled.fiscal_start) for b in buckets}
        else:
            labels[d.key] = _names(conn, dim_part.path.field, app, field_types, {v for v in raw if v is not None},
                                   compiled.guard, org_names)
            # Every value has a label: a record without a name (one the viewer may
            # not read) shows as its number, "#181", never as a bare figure.
            ids = dim_part.type in ("relation", "member", "department")
            for value in {v for v in raw if v is not None} - set(labels[d.key]):
                shown = f"#{value}" if ids else str(value)
                labels[d.key][value] = Label(shown, shown)
        if any(v is None for v in raw):
            labels[d.key][None] = BLANK
        if flag is not None:
            raw = [OTHERS if row[flag] == 0 else v for row, v in zip(rows, raw, strict=True)]
            labels[d.key][OTHERS] = OTHERS_LABEL
        for out, v in zip(values, raw, strict=True):
            out.append(v)
        ftype = "date" if d.grain else dim_part.type
        fmt: dict[str, Any] = {}
        if dim_part.type in ("select", "radio"):
            colors = {o.key: o.color for o in options_of(dim_part.path.field) if o.color}
            if colors:
                fmt["colors"] = colors
        columns.append(ResultColumn(d.key, "dimension", d.label or dim_part.path.label, ftype, fmt, d.field, d.grain))
    for m in query.measures:
        part = compiled.measures.get(m.key)
        text: Label
        if m.formula is not None or part is None:
            ftype, fmt = "number", {}
            text = m.label or Label(m.key, m.key)
            if m.formula is None:
                text = m.label or AGG_LABEL["count"]
        else:
            field = part.path.field
            from engine.reports.measures import AGGREGATIONS

            ftype = AGGREGATIONS.get(m.agg or "count").result_type(part.type)
            fmt = _format(field) if ftype != "number" or part.type == "number" else {}
            base = part.path.label
            extra = AGG_LABEL.get(m.agg or "")
            text = m.label or (Label(f"{extra.zh}{base.zh}" if m.agg != "count_distinct" else f"{base.zh}{extra.zh}",
                                     f"{extra.en}{base.en}") if extra else base)
        fmt = {**fmt, **dict(m.format)}
        columns.append(ResultColumn(m.key, "measure", text, ftype, fmt, m.field))
        for out, row in zip(values, rows, strict=True):
            out.append(_number(row[position[m.key]]))
    for c in query.compare:
        measured = next(col for col in columns if col.key == c.measure)
        word = Label("同比", "YoY") if c.kind == "yoy" else Label("环比", "PoP")
        for key, label, kind, fmt in (
                (f"{c.measure}_{c.kind}", Label(f"{measured.label.zh}（上期）", f"{measured.label.en} (before)"),
                 measured.type, dict(measured.format)),
                (f"{c.measure}_{c.kind}_change", Label(f"{measured.label.zh}{word.zh}", f"{measured.label.en} {word.en}"),
                 "number", {"percent": True, "precision": 1})):
            columns.append(ResultColumn(key, "compare", label, kind, fmt))
            for out, row in zip(values, rows, strict=True):
                out.append(_number(row[position[key]]))
    for r in query.running:
        summed = next(col for col in columns if col.key == r.measure)
        key = f"{r.measure}_running"
        columns.append(ResultColumn(key, "running", Label(f"{summed.label.zh}（累计）", f"{summed.label.en} (running)"),
                                    summed.type, dict(summed.format)))
        for out, row in zip(values, rows, strict=True):
            out.append(_number(row[position[key]]))
    grouping = tuple(int(row[position[GROUPING]]) for row in rows) if GROUPING in position else None
    return ReportResult(tuple(columns), tuple(tuple(v) for v in values), labels, grouping, truncated)


def _number(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN never leaves the engine
        return None
    return value


def _format(field: FieldDef) -> dict[str, Any]:
    fmt: dict[str, Any] = {}
    if field.type == "money":
        fmt["currency"] = field.setting("currency", "CNY")
    if field.type == "percent" or field.setting("result_type") == "percent":
        fmt["percent"] = True
    if field.setting("precision") is not None:
        fmt["precision"] = field.setting("precision")
    return fmt


def _names(conn: Connection, field: FieldDef, app: AppDef, field_types: FieldTypes, ids: set[Any],
           guard: PathGuard | None = None, org_names: NameLookup | None = None) -> dict[Any, Label]:
    """How each value of a dimension reads: options by label, people and
    departments by name, related records by their title."""
    if field.type in ("select", "radio"):
        return {o.key: o.label for o in options_of(field)}
    if field.type == "boolean":
        return {True: Label("是", "Yes"), False: Label("否", "No")}
    numbers = sorted(int(i) for i in ids if isinstance(i, int | Decimal) or (isinstance(i, str) and i.isdigit()))
    if not numbers:
        return {}
    if field.type in ("member", "department") and org_names is not None:
        named = org_names("user" if field.type == "member" else "department", numbers)
        return {int(i): Label(str(n), str(n)) for i, n in named.items()}
    if field.type in ("member", "department"):
        table = USERS if field.type == "member" else DEPARTMENTS
        return {int(i): Label(str(n), str(n)) for i, n in conn.execute(
            sa.select(table.c.id, table.c.name).where(table.c.id.in_(numbers)))}
    target = app.form(str(field.setting("target"))) if field.setting("target") else None
    if target is not None and target.title_field:
        main = form_tables(target, field_types).main
        if target.title_field in main.c:
            titles = sa.select(main.c.id, main.c[target.title_field]).where(main.c.id.in_(numbers))
            readable = guard.scope(target, main) if guard is not None else None
            if readable is not None:
                titles = titles.where(readable)
            return {int(i): Label(str(t), str(t)) for i, t in conn.execute(titles) if t is not None}
    return {}


# --- drill-down ---------------------------------------------------------------------------

def drill_filter(query: ReportQuery, point: Mapping[str, Any], app: AppDef, field_types: FieldTypes, *,
                 measure: str | None = None, result: ReportResult | None = None) -> dict[str, Any]:
    """The filter (on ``query.form``) listing exactly the records behind the
    group ``point`` (dimension key -> its value as the result holds it)."""
    parts: list[Mapping[str, Any]] = [query.filter] if query.filter else []
    for key, value in point.items():
        dim = query.dimension(key)
        if dim is None:
            raise QueryError(Label(f"报表没有维度 {key}", f"The report has no dimension {key}"), f"point.{key}")
        if value == OTHERS:
            shown = [v for v in (result.values(key) if result is not None else []) if v not in (OTHERS, None)]
            parts.append({"or": [{"field": dim.field, "op": "not_in", "value": shown},
                                 {"field": dim.field, "op": "is_blank"}]} if shown else
                         {"field": dim.field, "op": "not_blank"})
        elif value is None:
            parts.append({"field": dim.field, "op": "is_blank"})
        elif dim.grain is not None:
            start = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
            grain = GRAINS.get(dim.grain)
            bucket = bucket_of(dim.grain, start, app.fiscal_year_start)
            end = grain.start(bucket + 1, fiscal_start=app.fiscal_year_start)
            parts.append({"and": [{"field": dim.field, "op": "gte", "value": start.isoformat()},
                                  {"field": dim.field, "op": "lt", "value": end.isoformat()}]})
        else:
            parts.append({"field": dim.field, "op": "eq", "value": value})
    if measure is not None:
        found = query.measure(measure)
        if found is not None and found.filter:
            parts.append(found.filter)
    if not parts:
        return {"and": []}
    return dict(parts[0]) if len(parts) == 1 else {"and": parts}


def bucket_of(grain: str, day: dt.date, fiscal_start: int) -> int:
    days = (day - dt.date(1970, 1, 1)).days
    months = day.year * 12 + day.month - 1
    return {"day": days, "week": (days + 3) // 7, "month": months,
            "quarter": (months - (fiscal_start - 1)) // 3, "year": (months - (fiscal_start - 1)) // 12}[grain]


__all__ = ["MAX_GROUPS", "bucket_of", "check_query", "compile_query", "drill_filter", "query_forms", "run_query"]
