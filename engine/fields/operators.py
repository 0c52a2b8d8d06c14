"""Filter operators: data, not code paths (DESIGN §6, STYLE "operators are data").

An operator has a key shared by views, rules, flows and reports, a label, an
arity, a SQL builder that uses bound parameters only, and a sentence template
for people ("负责人 是 张三" / "Owner is Zhang San"). Which field types accept
which operator is said by each field type (``FieldType.operators``); the field
type also coerces the operand before the builder sees it.

Multi-valued columns (a multiselect's option keys, a multi member field's
user ids) are JSON arrays. ``has_any``, ``has_all`` and ``is_me`` on them
match elements in the JSON *text* so the same SQL runs on SQLite and
PostgreSQL: the text has its spaces removed and its brackets turned into
commas (``["a", "b"]`` -> ``,"a","b",``), then ``LIKE '%,"a",%'`` finds an
element exactly. Elements are option keys (``[a-z][a-z0-9_]*``) or integer
ids, so neither quoting nor spaces inside elements can confuse the match.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from engine.core.i18n import Label, Message
from engine.core.registry import Registry

Arity = Literal[0, 1, 2, "list"]
# What the operand is: a value of the field ("value"), free text ("text"),
# a whole number ("integer": days, a user id) or nothing ("none").
OperandKind = Literal["value", "text", "integer", "none"]
Builder = Callable[[sa.ColumnElement[Any], Any, "dt.date | None"], sa.ColumnElement[bool]]


@dataclass(frozen=True)
class Operator:
    """One filter operator. ``template`` is formatted with ``field`` and
    ``value`` (arity 1 and list), ``low``/``high`` (arity 2) or nothing else (arity 0)."""

    key: str
    label: Label
    arity: Arity
    build: Builder
    template: Message
    operand: OperandKind = "value"

    def sql(
        self, column: sa.ColumnElement[Any], value: Any, *, today: dt.date | None = None
    ) -> sa.ColumnElement[bool]:
        """The WHERE clause for ``column <op> value`` (value already coerced)."""
        return self.build(column, value, today)

    def sentence(self, field_label: str, values: Sequence[str], locale: str = "zh") -> str:
        """The filter in words; ``values`` are the operand(s) as display text."""
        joiner = "、" if locale.lower().startswith("zh") else ", "
        if self.arity == 2:
            low, high = [*values, "", ""][:2]
            text = self.template.format(field=field_label, low=low, high=high)
        else:
            text = self.template.format(field=field_label, value=joiner.join(values))
        return text.text(locale)


# --- builders -------------------------------------------------------------------

def _is_text(column: sa.ColumnElement[Any]) -> bool:
    return isinstance(column.type, sa.String)


def _is_json(column: sa.ColumnElement[Any]) -> bool:
    return isinstance(column.type, sa.JSON)


def _eq(column: sa.ColumnElement[Any], value: Any, _today: dt.date | None) -> sa.ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def _ne(column: sa.ColumnElement[Any], value: Any, _today: dt.date | None) -> sa.ColumnElement[bool]:
    # "not X" includes the blanks: SQL's NULL <> X is unknown, a person's is "yes".
    if value is None:
        return column.is_not(None)
    return sa.or_(column != value, column.is_(None))


def _compare(op: str) -> Builder:
    def build(column: sa.ColumnElement[Any], value: Any, _today: dt.date | None) -> sa.ColumnElement[bool]:
        clause: sa.ColumnElement[bool] = column.operate(_SQL_COMPARISONS[op], value)
        return clause

    return build


_SQL_COMPARISONS: dict[str, Any] = {
    "gt": sa.sql.operators.gt,
    "gte": sa.sql.operators.ge,
    "lt": sa.sql.operators.lt,
    "lte": sa.sql.operators.le,
}


def _between(column: sa.ColumnElement[Any], value: Any, _today: dt.date | None) -> sa.ColumnElement[bool]:
    low, high = value
    if low is not None and high is not None and low > high:
        low, high = high, low
    parts = []
    if low is not None:
        parts.append(column >= low)
    if high is not None:
        parts.append(column <= high)
    return sa.and_(sa.true(), *parts) if parts else column.is_not(None)


def _in(column: sa.ColumnElement[Any], value: Any, _today: dt.date | None) -> sa.ColumnElement[bool]:
    items = [item for item in value if item is not None]
    if not items:
        return sa.false()
    return column.in_(items)


def _not_in(column: sa.ColumnElement[Any], value: Any, _today: dt.date | None) -> sa.ColumnElement[bool]:
    items = [item for item in value if item is not None]
    if not items:
        return sa.true()
    return sa.or_(column.not_in(items), column.is_(None))


def escape_like(text: str) -> str:
    """``text`` with LIKE's wildcards escaped (escape character ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(before: str, after: str) -> Builder:
    def build(column: sa.ColumnElement[Any], value: Any, _today: dt.date | None) -> sa.ColumnElement[bool]:
        text = column if _is_text(column) else sa.cast(column, sa.Text)
        pattern = f"{before}{escape_like(str(value).lower())}{after}"
        return sa.func.lower(text).like(pattern, escape="\\")

    return build


def _not_contains(column: sa.ColumnElement[Any], value: Any, today: dt.date | None) -> sa.ColumnElement[bool]:
    return sa.or_(sa.not_(_like("%", "%")(column, value, today)), column.is_(None))


def _is_blank(column: sa.ColumnElement[Any], _value: Any, _today: dt.date | None) -> sa.ColumnElement[bool]:
    if _is_json(column):
        return sa.or_(column.is_(None), sa.cast(column, sa.Text).in_(["[]", "{}", "null"]))
    if _is_text(column):
        return sa.or_(column.is_(None), column == "")
    return column.is_(None)


def _not_blank(column: sa.ColumnElement[Any], value: Any, today: dt.date | None) -> sa.ColumnElement[bool]:
    return sa.not_(_is_blank(column, value, today))


def _within_days(column: sa.ColumnElement[Any], value: Any, today: dt.date | None) -> sa.ColumnElement[bool]:
    if today is None:
        raise ValueError("within_days needs today's date (from the clock)")
    other = today + dt.timedelta(days=int(value))
    low, high = min(today, other), max(today, other)
    return sa.and_(column >= low, column <= high)


def json_elements_text(column: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """A JSON array's text as ``,e1,e2,`` (no spaces), for element matching."""
    text = sa.func.replace(sa.cast(column, sa.Text), " ", "")
    return sa.func.replace(sa.func.replace(text, "[", ","), "]", ",")


def json_has(column: sa.ColumnElement[Any], item: Any) -> sa.ColumnElement[bool]:
    """True where the JSON array in ``column`` has ``item`` (a key or an id)."""
    needle = json.dumps(item).replace(" ", "")
    return json_elements_text(column).like(f"%,{escape_like(needle)},%", escape="\\")


def _has_any(column: sa.ColumnElement[Any], value: Any, _today: dt.date | None) -> sa.ColumnElement[bool]:
    items = [item for item in value if item is not None]
    if not items:
        return sa.false()
    return sa.or_(*(json_has(column, item) for item in items))


def _has_all(column: sa.ColumnElement[Any], value: Any, _today: dt.date | None) -> sa.ColumnElement[bool]:
    items = [item for item in value if item is not None]
    return sa.and_(sa.true(), *(json_has(column, item) for item in items))


def _is_me(column: sa.ColumnElement[Any], value: Any, _today: dt.date | None) -> sa.ColumnElement[bool]:
    if value is None:
        return sa.false()
    if _is_json(column):
        return json_has(column, int(value))
    return column == int(value)


def build_operators() -> Registry[Operator]:
    """Every built-in filter operator, registered in one place."""
    registry: Registry[Operator] = Registry("filter operator")
    registry.register_all([
        Operator("eq", Label("等于", "is"), 1, _eq, Message("{field} 是 {value}", "{field} is {value}")),
        Operator("ne", Label("不等于", "is not"), 1, _ne,
                 Message("{field} 不是 {value}", "{field} is not {value}")),
        Operator("gt", Label("大于", "greater than"), 1, _compare("gt"),
                 Message("{field} 大于 {value}", "{field} is greater than {value}")),
        Operator("gte", Label("大于等于", "at least"), 1, _compare("gte"),
                 Message("{field} 大于等于 {value}", "{field} is at least {value}")),
        Operator("lt", Label("小于", "less than"), 1, _compare("lt"),
                 Message("{field} 小于 {value}", "{field} is less than {value}")),
        Operator("lte", Label("小于等于", "at most"), 1, _compare("lte"),
                 Message("{field} 小于等于 {value}", "{field} is at most {value}")),
        Operator("between", Label("介于", "between"), 2, _between,
                 Message("{field} 介于 {low} 与 {high} 之间", "{field} is between {low} and {high}")),
        Operator("in", Label("属于", "is any of"), "list", _in,
                 Message("{field} 是 {value} 之一", "{field} is any of {value}")),
        Operator("not_in", Label("不属于", "is none of"), "list", _not_in,
                 Message("{field} 不是 {value} 中的任何一个", "{field} is none of {value}")),
        Operator("contains", Label("包含", "contains"), 1, _like("%", "%"),
                 Message("{field} 包含 “{value}”", "{field} contains \"{value}\""), "text"),
        Operator("not_contains", Label("不包含", "does not contain"), 1, _not_contains,
                 Message("{field} 不包含 “{value}”", "{field} does not contain \"{value}\""), "text"),
        Operator("starts_with", Label("开头是", "starts with"), 1, _like("", "%"),
                 Message("{field} 以 “{value}” 开头", "{field} starts with \"{value}\""), "text"),
        Operator("ends_with", Label("结尾是", "ends with"), 1, _like("%", ""),
                 Message("{field} 以 “{value}” 结尾", "{field} ends with \"{value}\""), "text"),
        Operator("is_blank", Label("为空", "is blank"), 0, _is_blank,
                 Message("{field} 为空", "{field} is blank"), "none"),
        Operator("not_blank", Label("不为空", "is not blank"), 0, _not_blank,
                 Message("{field} 不为空", "{field} is not blank"), "none"),
        Operator("before", Label("早于", "before"), 1, _compare("lt"),
                 Message("{field} 早于 {value}", "{field} is before {value}")),
        Operator("after", Label("晚于", "after"), 1, _compare("gt"),
                 Message("{field} 晚于 {value}", "{field} is after {value}")),
        Operator("on", Label("在当天", "on"), 1, _eq, Message("{field} 在 {value}", "{field} is on {value}")),
        Operator("within_days", Label("在N天内", "within days"), 1, _within_days,
                 Message("{field} 在今天起 {value} 天内", "{field} is within {value} days of today"),
                 "integer"),
        Operator("has_any", Label("包含任一", "has any of"), "list", _has_any,
                 Message("{field} 包含 {value} 中的任一项", "{field} has any of {value}")),
        Operator("has_all", Label("包含全部", "has all of"), "list", _has_all,
                 Message("{field} 包含 {value} 的全部", "{field} has all of {value}")),
        Operator("is_me", Label("是我", "is me"), 0, _is_me,
                 Message("{field} 是当前用户", "{field} is the current user"), "integer"),
    ])
    return registry


OPERATORS: Registry[Operator] = build_operators()
