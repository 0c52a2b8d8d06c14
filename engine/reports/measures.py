"""Measures: the aggregations (``AGGREGATIONS``) and formula measures.

An aggregation says which field types it takes and builds its SQL
aggregate; a measure's ``filter`` makes it conditional (only the rows
meeting it count: ``CASE WHEN ... THEN value END``, which every aggregate
skips when NULL). A formula measure is arithmetic over other measures'
keys (``won / count``, ``(amount - cost) / amount * 100``): ``+ - * /``,
parentheses and numbers, compiled to SQL over the other measures'
aggregates; a division by zero is blank (``NULLIF``), never an error.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.reports.base import Aggregation

NUMERIC_TYPES = frozenset({"number", "money", "percent", "rating", "formula", "rollup"})
ORDERED_TYPES = NUMERIC_TYPES | {"date", "datetime", "time"}
MAX_FORMULA = 500


class Count(Aggregation):
    key = "count"
    label = Label("计数", "Count")
    description = Label("记录数；带字段时为该字段不为空的记录数", "How many records; with a field, how many have it filled")
    needs_field = False

    def accepts(self, field_type: str) -> bool:
        return True

    def sql(self, column: sa.ColumnElement[Any] | None) -> sa.ColumnElement[Any]:
        return sa.func.count() if column is None else sa.func.count(column)

    def result_type(self, field_type: str) -> str:
        return "number"


class Sum(Aggregation):
    key = "sum"
    label = Label("求和", "Sum")
    description = Label("数值字段的合计", "The total of a number field")

    def accepts(self, field_type: str) -> bool:
        return field_type in NUMERIC_TYPES

    def sql(self, column: sa.ColumnElement[Any] | None) -> sa.ColumnElement[Any]:
        return sa.func.sum(column)


class Avg(Aggregation):
    key = "avg"
    label = Label("平均值", "Average")
    description = Label("数值字段的平均值（空值不计）", "The average of a number field (blanks left out)")

    def accepts(self, field_type: str) -> bool:
        return field_type in NUMERIC_TYPES

    def sql(self, column: sa.ColumnElement[Any] | None) -> sa.ColumnElement[Any]:
        return sa.func.avg(column)


class Min(Aggregation):
    key = "min"
    label = Label("最小值", "Minimum")
    description = Label("数值或日期的最小值", "The smallest number or the earliest date")

    def accepts(self, field_type: str) -> bool:
        return field_type in ORDERED_TYPES

    def sql(self, column: sa.ColumnElement[Any] | None) -> sa.ColumnElement[Any]:
        return sa.func.min(column)


class Max(Aggregation):
    key = "max"
    label = Label("最大值", "Maximum")
    description = Label("数值或日期的最大值", "The largest number or the latest date")

    def accepts(self, field_type: str) -> bool:
        return field_type in ORDERED_TYPES

    def sql(self, column: sa.ColumnElement[Any] | None) -> sa.ColumnElement[Any]:
        return sa.func.max(column)


class CountDistinct(Aggregation):
    key = "count_distinct"
    label = Label("去重计数", "Distinct count")
    description = Label("字段不同取值的个数（如客户数）", "How many different values a field has (like customers)")

    def accepts(self, field_type: str) -> bool:
        return field_type not in ("subform", "files", "images", "rich_text", "signature")

    def sql(self, column: sa.ColumnElement[Any] | None) -> sa.ColumnElement[Any]:
        assert column is not None
        return sa.func.count(sa.distinct(column))

    def result_type(self, field_type: str) -> str:
        return "number"


def build_aggregations() -> Registry[Aggregation]:
    registry: Registry[Aggregation] = Registry("aggregation")
    registry.register_all([Count(), Sum(), Avg(), Min(), Max(), CountDistinct()])
    return registry


AGGREGATIONS = build_aggregations()


# --- formula measures ----------------------------------------------------------------------

class FormulaError(ValueError):
    """A formula measure that cannot be used; the message says why."""


_OPERATORS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: sa.cast(a, sa.Float) / sa.func.nullif(b, 0),
}


def formula_names(text: str) -> list[str]:
    """The measure keys ``text`` reads (FormulaError when it is not arithmetic over keys)."""
    names: list[str] = []
    _walk(_parse(text), names)
    return names


def _parse(text: str) -> ast.expr:
    if len(text) > MAX_FORMULA:
        raise FormulaError(f"at most {MAX_FORMULA} characters")
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        raise FormulaError("not arithmetic over measure keys (+ - * / and parentheses)") from None


def _walk(node: ast.expr, names: list[str]) -> None:
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        _walk(node.left, names)
        _walk(node.right, names)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        _walk(node.operand, names)
    elif isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return
    elif isinstance(node, ast.Name):
        names.append(node.id)
    else:
        raise FormulaError("only measure keys, numbers, + - * / and parentheses may be used")


def formula_sql(text: str, measures: Mapping[str, sa.ColumnElement[Any]]) -> sa.ColumnElement[Any]:
    """``text`` as SQL over ``measures`` (key -> its aggregate expression)."""
    def build(node: ast.expr) -> Any:
        if isinstance(node, ast.BinOp):
            return _OPERATORS[type(node.op)](build(node.left), build(node.right))
        if isinstance(node, ast.UnaryOp):
            value = build(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Constant):
            return sa.literal(node.value)
        assert isinstance(node, ast.Name)
        return measures[node.id]

    result: sa.ColumnElement[Any] = build(_parse(text))
    return result


