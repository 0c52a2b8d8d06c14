"""A report query compiled to ONE SQLAlchemy Core statement.

The grouped query reads the source form's main table, LEFT JOINed along
single relations for relation-path dimensions and measures (each related
form within the viewer's scope: a record they may not read leaves its
values blank), with the row filter (the filter language, through the
viewer's ``ReadGuard``) and the viewer's data scope in WHERE. Measures are
aggregates (conditional ones as ``CASE WHEN``), formula measures arithmetic
over them, ``having`` over them in HAVING. ``top`` groups the rest into
"others" through an IN over the ranked values. Comparisons and running
totals wrap the grouped query as a CTE: the CTE joined to itself on
``bucket - n`` (others equal), a window SUM. A pivot with totals is a UNION
ALL of its grouping levels, each row carrying its GROUPING() bitmask. Bound
parameters only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine.core.errors import PermissionDenied, QueryError, at, query_error
from engine.core.i18n import Label
from engine.definitions.model import AppDef, FormDef
from engine.fields.choice import options_of
from engine.records.access import FormPolicy
from engine.records.filters import FieldPath, FilterCompiler, PathResolver, compile_filter
from engine.reports.dates import GRAINS
from engine.reports.measures import AGGREGATIONS, FormulaError, formula_names, formula_sql
from engine.reports.model import AREA, Dimension, Measure, ReportQuery
from engine.store.tables import FieldTypes, form_tables

MAX_GROUPS = 10_000
MAX_DIMENSIONS = 5
MAX_MEASURES = 30
DATE_TYPES = ("date", "datetime")
TOP_FLAG = "__top_{key}"
GROUPING = "__grouping"
HAVING_OPS = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__", "eq": "__eq__", "ne": "__ne__"}


@dataclass
class Part:
    """A dimension or measure field resolved: its path, SQL expression and type."""

    path: FieldPath
    column: sa.ColumnElement[Any]
    type: str


@dataclass
class Compiled:
    statement: sa.Select[Any]
    query: ReportQuery
    form: FormDef
    dimensions: dict[str, Part]
    measures: dict[str, Part | None]  # None: count of rows or a formula
    limit: int
    fiscal_start: int
    pivot_levels: list[int] = field(default_factory=list)


class QueryCompiler:
    def __init__(self, query: ReportQuery, app: AppDef, field_types: FieldTypes, *,
                 policy: FormPolicy | None, user_id: int | None, today: dt.date, tz: dt.tzinfo,
                 dialect: str) -> None:
        self.query = query
        self.app = app
        self.field_types = field_types
        self.today = today
        self.user_id = user_id
        self.dialect = dialect
        form = app.form(query.form)
        if form is None:
            known = ", ".join(f.key for f in app.forms)
            raise query_error(AREA, "query.form", Label(f"应用中没有表单 {query.form}（可用：{known}）",
                                                        f"The app has no form {query.form} (known: {known})"))
        self.form = form
        self.tables = form_tables(form, field_types)
        restricted = policy is not None and not policy.unrestricted
        self.policy = policy if restricted else None
        self.guard = policy.guard() if restricted and policy is not None else None
        self.resolver = PathResolver(form, app, field_types, self.tables, self.guard)
        self.source: sa.FromClause = self.tables.main
        self.zone = str(getattr(tz, "key", "UTC"))
        offset = tz.utcoffset(dt.datetime.combine(today, dt.time(12)))
        self.offset = int(offset.total_seconds() // 60) if offset is not None else 0
        self.fiscal_start = app.fiscal_year_start

    # --- fields ---------------------------------------------------------------------------
    def part(self, text: str, path: str) -> Part:
        try:
            found = self.resolver.resolve(text, path, AREA)
        except PermissionDenied as exc:
            raise QueryError(exc.message, path) from None
        for hop in found.hops:
            if hop.kind != "relation":
                raise query_error(AREA, path, Label(
                    f"{text} 经过多选关联或子表单，不能作为维度或度量（会重复计数）",
                    f"{text} goes through a multiple relation or a subform: it cannot be a dimension or a "
                    "measure (rows would count more than once)"))
            condition = hop.target.column("id") == hop.source.column(hop.field.key)
            if hop.target.readable is not None:
                condition = sa.and_(condition, hop.target.readable)
            self.source = self.source.outerjoin(hop.target.table, condition)
        stored = found.type.stored and found.type.storage_for(found.field) == "column"
        if not stored or found.field.key not in found.scope.table.c:
            raise query_error(AREA, path, Label(f"字段 {text} 没有可汇总的存储值", f"The field {text} has no stored value to "
                                                "group or aggregate"))
        return Part(found, found.scope.column(found.field.key), found.field.type)

    def dimension(self, dim: Dimension, index: int) -> tuple[Part, sa.ColumnElement[Any]]:
        path = f"query.dimensions[{index}]"
        part = self.part(dim.field, at(path, "field"))
        if dim.grain is None:
            return part, part.column
        if part.type not in DATE_TYPES:
            raise query_error(AREA, at(path, "grain"), Label(f"只有日期字段可以按 {dim.grain} 分组",
                                                             f"Only a date field can be grouped by {dim.grain}"))
        grain = GRAINS.get(dim.grain) if dim.grain in GRAINS else None
        if grain is None:
            raise query_error(AREA, at(path, "grain"), Label(
                f"未知的粒度 {dim.grain}（可用：{', '.join(GRAINS.keys())}）",
                f"Unknown grain {dim.grain} (known: {', '.join(GRAINS.keys())})"))
        return part, grain.bucket(self.dialect, part.column, datetime=part.type == "datetime",
                                  fiscal_start=self.fiscal_start, utc_offset_minutes=self.offset, zone=self.zone)

    def condition(self, spec: Mapping[str, Any] | None, path: str) -> sa.ColumnElement[bool]:
        try:
            return compile_filter(spec, self.form, self.app, self.field_types, today=self.today,
                                  user_id=self.user_id, tables=self.tables, guard=self.guard)
        except PermissionDenied as exc:
            raise QueryError(exc.message, path) from None
        except QueryError as exc:
            raise QueryError(exc.message, f"{path}.{exc.path}" if exc.path else path) from None

    def measures(self) -> tuple[dict[str, sa.ColumnElement[Any]], dict[str, Part | None]]:
        exprs: dict[str, sa.ColumnElement[Any]] = {}
        parts: dict[str, Part | None] = {}
        formulas: list[tuple[int, Measure]] = []
        for i, m in enumerate(self.query.measures):
            path = f"query.measures[{i}]"
            if m.formula is not None:
                formulas.append((i, m))
                continue
            assert m.agg is not None
            if m.agg not in AGGREGATIONS:
                raise query_error(AREA, at(path, "agg"), Label(
                    f"未知的聚合 {m.agg}（可用：{', '.join(AGGREGATIONS.keys())}）",
                    f"Unknown aggregation {m.agg} (known: {', '.join(AGGREGATIONS.keys())})"))
            agg = AGGREGATIONS.get(m.agg)
            part = self.part(m.field, at(path, "field")) if m.field is not None else None
            if part is None and agg.needs_field:
                raise query_error(AREA, at(path, "field"), Label(f"{m.agg} 需要一个字段", f"{m.agg} needs a field"))
            if part is not None and not agg.accepts(part.type):
                raise query_error(AREA, at(path, "field"), Label(
                    f"{m.agg} 不能用于 {part.type} 类型的字段 {m.field}",
                    f"{m.agg} cannot aggregate {m.field}, a field of type {part.type}"))
            value: sa.ColumnElement[Any] | None = part.column if part is not None else None
            if m.filter is not None:
                when = self.condition(m.filter, at(path, "filter"))
                value = sa.case((when, value if value is not None else sa.literal(1)))
            exprs[m.key] = agg.sql(value)
            parts[m.key] = part
        pending = list(formulas)
        while pending:  # formulas over formulas, in the order they can be built
            ready = [(i, m) for i, m in pending if all(n in exprs for n in self._names(i, m))]
            if not ready:
                i, m = pending[0]
                missing = [n for n in self._names(i, m) if n not in exprs]
                raise query_error(AREA, f"query.measures[{i}].formula", Label(
                    f"公式引用了未知或循环的度量 {', '.join(missing)}",
                    f"The formula reads unknown or circular measures {', '.join(missing)}"))
            for i, m in ready:
                assert m.formula is not None
                exprs[m.key] = formula_sql(m.formula, exprs)
                parts[m.key] = None
                pending.remove((i, m))
        return exprs, parts

    def _names(self, index: int, measure: Measure) -> list[str]:
        assert measure.formula is not None
        try:
            return formula_names(measure.formula)
        except FormulaError as exc:
            raise query_error(AREA, f"query.measures[{index}].formula",
                              Label(f"公式无效：{exc}", f"Invalid formula: {exc}")) from None

    def having(self, spec: Any, exprs: Mapping[str, sa.ColumnElement[Any]], path: str) -> sa.ColumnElement[bool]:
        if isinstance(spec, Mapping) and len(spec) == 1 and ("and" in spec or "or" in spec):
            key = "and" if "and" in spec else "or"
            items = [self.having(s, exprs, f"{path}.{key}[{i}]") for i, s in enumerate(spec[key] or [])]
            return sa.and_(sa.true(), *items) if key == "and" else sa.or_(sa.false(), *items)
        if not isinstance(spec, Mapping) or spec.get("field") not in exprs or spec.get("op") not in HAVING_OPS:
            raise query_error(AREA, path, Label(
                f"having 的条件需要 {{field: 度量, op: {'/'.join(HAVING_OPS)}, value: 数}}",
                f"A having condition is {{field: a measure, op: {'/'.join(HAVING_OPS)}, value: a number}}"))
        value = spec.get("value")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise query_error(AREA, at(path, "value"), Label("需要一个数", "A number is needed"))
        result: sa.ColumnElement[bool] = getattr(exprs[spec["field"]], HAVING_OPS[spec["op"]])(value)
        return result


def select_order(dimension_type: str, part: Part, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """How a dimension sorts: select options in their defined order, else by value."""
    if dimension_type in ("select", "radio"):
        options = options_of(part.path.field)
        if options:
            return sa.case({o.key: i for i, o in enumerate(options)}, value=column, else_=len(options))
    return column


def filter_compiler(resolver: PathResolver, today: dt.date, user_id: int | None) -> FilterCompiler:
    return FilterCompiler(resolver, today=today, user_id=user_id)
