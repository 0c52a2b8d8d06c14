"""The statement of a report query (see ``engine.reports.compiler``): the
grouped select, then what wraps it — top N with others, comparisons and
running totals over a CTE, a pivot's totals as a UNION ALL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.core.errors import query_error
from engine.core.i18n import Label
from engine.reports.compiler import (
    GROUPING,
    MAX_GROUPS,
    TOP_FLAG,
    Compiled,
    Part,
    QueryCompiler,
    select_order,
)
from engine.reports.dates import GRAINS
from engine.reports.model import AREA


def build(compiler: QueryCompiler) -> Compiled:
    query = compiler.query
    dims: dict[str, tuple[Part, sa.ColumnElement[Any]]] = {
        d.key: compiler.dimension(d, i) for i, d in enumerate(query.dimensions)}
    exprs, parts = compiler.measures()
    where: list[sa.ColumnElement[bool]] = []
    if query.filter is not None:
        where.append(compiler.condition(query.filter, "query.filter"))
    if compiler.policy is not None:
        scope = compiler.policy.read_clause(compiler.tables)
        if scope is not None:
            where.append(scope)
    group: dict[str, sa.ColumnElement[Any]] = {k: expr for k, (_, expr) in dims.items()}
    flags: dict[str, sa.ColumnElement[Any]] = {}
    if query.top is not None:
        top = query.top
        if top.dimension not in group or top.by not in exprs:
            raise query_error(AREA, "query.top", Label("top 的 dimension 与 by 须是查询中的维度与度量",
                                                       "top's dimension and by must be the query's dimension and measure"))
        ranked = (sa.select(group[top.dimension]).select_from(compiler.source).where(*where)
                  .group_by(group[top.dimension]).order_by(exprs[top.by].desc()).limit(top.n))
        in_top = group[top.dimension].in_(ranked)
        if top.others:
            flags[TOP_FLAG.format(key=top.dimension)] = sa.case((in_top, 1), else_=0)
            group[top.dimension] = sa.case((in_top, group[top.dimension]))
        else:
            where.append(in_top)

    def grouped(levels_total: int = 0, grouping: int | None = None) -> sa.Select[Any]:
        columns: list[sa.ColumnElement[Any]] = []
        by: list[sa.ColumnElement[Any]] = []
        for i, (key, expr) in enumerate(group.items()):
            if levels_total >> i & 1:
                columns.append(sa.cast(sa.null(), expr.type if not isinstance(expr.type, sa.types.NullType)
                                       else sa.Integer).label(key))
            else:
                columns.append(expr.label(key))
                by.append(expr)
        for key, flag in flags.items():
            columns.append(flag.label(key))
            by.append(flag)
        columns += [expr.label(key) for key, expr in exprs.items()]
        if grouping is not None:
            columns.append(sa.literal(grouping).label(GROUPING))
        select = sa.select(*columns).select_from(compiler.source).where(*where)
        if by:
            select = select.group_by(*by)
        if query.having is not None:
            select = select.having(compiler.having(query.having, exprs, "query.having"))
        return select

    limit = min(query.limit or MAX_GROUPS, MAX_GROUPS)
    compiled = Compiled(sa.select(sa.literal(1)), query, compiler.form, {k: p for k, (p, _) in dims.items()},
                        parts, limit, compiler.fiscal_start)
    if query.pivot is not None and query.pivot.totals:
        compiled.pivot_levels = _levels(list(group), query.pivot.rows, query.pivot.columns)
        union = sa.union_all(*(grouped(level, level) for level in compiled.pivot_levels)).subquery("pivot")
        statement: Any = sa.select(union).order_by(*_order(compiled, union.c, dims))
        compiled.statement = statement.limit(limit + 1)
        return compiled
    select = grouped()
    if not query.compare and not query.running:
        compiled.statement = select.order_by(*_order(compiled, {**group, **flags, **exprs}, dims)).limit(limit + 1)
        return compiled
    cte = select.cte("grouped")
    outer: list[Any] = [cte]
    source: sa.FromClause = cte
    for i, compare in enumerate(query.compare):
        dim = query.dimension(compare.dimension)
        if dim is None or dim.grain is None or compare.measure not in exprs:
            raise query_error(AREA, f"query.compare[{i}]", Label(
                "比较需要查询中的度量和一个按粒度分组的日期维度",
                "A comparison needs a measure of the query and a date dimension with a grain"))
        back = GRAINS.get(dim.grain).year_back if compare.kind == "yoy" else 1
        before = cte.alias(f"before_{i}")
        on = [before.c[dim.key] == cte.c[dim.key] - back]
        on += [before.c[k].is_not_distinct_from(cte.c[k]) for k in group if k != dim.key]
        on += [before.c[k] == cte.c[k] for k in flags]
        source = source.outerjoin(before, sa.and_(*on))
        now, then = cte.c[compare.measure], before.c[compare.measure]
        outer.append(then.label(f"{compare.measure}_{compare.kind}"))
        outer.append(((sa.cast(now, sa.Float) - then) / sa.func.nullif(sa.cast(then, sa.Float), 0))
                     .label(f"{compare.measure}_{compare.kind}_change"))
    for i, running in enumerate(query.running):
        dim = query.dimension(running.dimension)
        if dim is None or running.measure not in exprs:
            raise query_error(AREA, f"query.running[{i}]", Label("累计需要查询中的度量和维度",
                                                                 "A running total needs a measure and a dimension of the query"))
        others = [cte.c[k] for k in group if k != dim.key]
        outer.append(sa.func.sum(cte.c[running.measure]).over(
            partition_by=others or None, order_by=cte.c[dim.key].asc().nulls_last()).label(f"{running.measure}_running"))
    wrapped = sa.select(*outer).select_from(source)
    compiled.statement = wrapped.order_by(*_order(compiled, cte.c, dims)).limit(limit + 1)
    return compiled


def _order(compiled: Compiled, columns: Any, dims: dict[str, tuple[Part, sa.ColumnElement[Any]]]) -> list[Any]:
    query = compiled.query
    terms: list[Any] = []
    if not query.order and query.top is not None:  # the top values first, biggest first, then the others
        flag = TOP_FLAG.format(key=query.top.dimension)
        if flag in columns:
            terms.append(columns[flag].desc())
        if query.top.by in columns:
            terms.append(columns[query.top.by].desc().nulls_last())
    keys = [(o.key, o.desc) for o in query.order] or [(d.key, False) for d in query.dimensions]
    for key, desc in keys:
        if key not in columns:
            raise query_error(AREA, "query.order", Label(f"排序的键 {key} 不是查询中的维度或度量",
                                                         f"The order key {key} is not a dimension or measure of the query"))
        column = columns[key]
        dim = query.dimension(key)
        if key in dims and dim is not None and dim.grain is None:
            column = select_order(dims[key][0].type, dims[key][0], column)
        term = column.desc() if desc else column.asc()
        terms.append(term.nulls_last())
    return terms


def _levels(keys: list[str], rows: tuple[str, ...], columns: tuple[str, ...]) -> list[int]:
    """The grouping bitmasks of a pivot: every prefix of the row dimensions
    (the rest totalled) by every prefix of the column dimensions."""
    index = {k: i for i, k in enumerate(keys)}
    masks: list[int] = []
    for r in range(len(rows), -1, -1):
        for c in range(len(columns), -1, -1):
            totalled = [*rows[r:], *columns[c:]]
            mask = sum(1 << index[k] for k in totalled if k in index)
            if mask not in masks:
                masks.append(mask)
    return masks
