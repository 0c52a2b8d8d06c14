"""The filter language (DESIGN §6): JSON conditions compiled to SQLAlchemy Core.

A filter is a condition ``{"field": "amount", "op": "gt", "value": 100}`` or
a group ``{"and": [...]}`` / ``{"or": [...]}`` / ``{"not": {...}}``, nested
freely. Operators belong to field types: the type says which it accepts,
coerces the operand (``"2024-01-01"`` on a date, an option's label on a
select) and builds the SQL with bound parameters only. A field path reads
through relations (``customer.industry``), subforms (``items.product``) and
the columns of a multi-column field (``address.city``); a condition through a
relation or subform holds when a related record (a row) meets it.

Views, rules, flows, reports and the REST API all call ``compile_filter``;
``describe_filter`` says the same filter in words. See docs/filters.md.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from engine.core.clock import SystemClock

# Re-exported: callers have long imported them from here.
from engine.core.errors import QueryError as QueryError
from engine.core.errors import RegistryError
from engine.core.errors import at as at
from engine.core.errors import query_error as query_error
from engine.core.i18n import Label, Message
from engine.definitions.model import AppDef, FieldDef, FormDef
from engine.fields.base import FieldType, FieldValueError
from engine.fields.operators import OPERATORS
from engine.store.tables import FieldTypes, FormTables, field_table_name, form_tables

MAX_DEPTH = 20
MAX_CONDITIONS = 200
MAX_HOPS = 4  # relations or subforms one path reads through
MAX_STEPS = 20  # ... and all the paths of one query together (each step is a subquery)
MAX_LIST = 1000
MAX_TEXT = 10_000
# eq/ne with a null value mean "is blank"/"is not blank"; every other operator
# that takes a value needs one.
NULL_MEANS_BLANK = frozenset({"eq", "ne"})

# System fields every record has, with the field type their values are of.
SYSTEM_FIELDS: dict[str, tuple[str, Label, Mapping[str, Any]]] = {
    "id": ("number", Label("编号", "ID"), {"precision": 0}),
    "owner": ("member", Label("负责人", "Owner"), {}),
    "created_by": ("member", Label("创建人", "Created by"), {}),
    "created_at": ("datetime", Label("创建时间", "Created at"), {}),
    "updated_by": ("member", Label("修改人", "Updated by"), {}),
    "updated_at": ("datetime", Label("修改时间", "Updated at"), {}),
    "version": ("number", Label("版本", "Version"), {"precision": 0}),
    "flow_status": ("text", Label("流程状态", "Flow status"), {}),
}
PART_LABELS = {
    "province": Label("省", "province"), "city": Label("市", "city"),
    "district": Label("区县", "district"), "detail": Label("详细地址", "detail"),
    "lat": Label("纬度", "latitude"), "lng": Label("经度", "longitude"),
    "address": Label("地点", "place"),
}
# The field type a single column of a multi-column field is filtered as.
_PART_TYPES: tuple[tuple[type[sa.types.TypeEngine[Any]], str], ...] = (
    (sa.DateTime, "datetime"), (sa.Date, "date"), (sa.Time, "time"), (sa.Boolean, "boolean"),
    (sa.Numeric, "number"), (sa.Integer, "number"), (sa.String, "text"),
)


FILTER = Label("筛选条件", "Filter")
_UNKNOWN_FIELD = Message("{form} 没有字段 {key}{hint}", "{form} has no field {key}{hint}")
_NO_OPERATOR = Message(
    "字段 {field} 不支持运算符 {op}{hint}（可用：{known}）",
    "Field {field} does not support operator {op}{hint} (supported: {known})",
)
_BAD_VALUE = Message("字段 {field} 的值无效：{reason}", "Invalid value for field {field}: {reason}")
_NEEDS_VALUE = Message("运算符 {op} 需要一个值", "Operator {op} needs a value")
_UNUSABLE = Label("该值不能用于这个条件", "this value cannot be used in this condition")
# NUL ends a string in SQLite's LIKE (so "contains NUL" matched every record)
# and PostgreSQL refuses it in text: no filter or search may carry one.
NUL_TEXT = Label("值中不能含有 NUL 字符（\\u0000）", "The value must not contain a NUL character (\\u0000)")


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(has_nul(item) for item in value)
    return False


_NO_DEEPER = Message(
    "字段 {field} 不是关联或子表单，不能再用“.”读取 {rest}",
    "Field {field} is not a relation or a subform: \".{rest}\" cannot be read through it",
)


def did_you_mean(key: str, known: list[str]) -> Label:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return Label(f"，是否想用 {close[0]}？", f" — did you mean {close[0]}?") if close else Label("", "")


def say(template: Message, **values: Any) -> Label:
    """``template`` filled in each language: a field is named by its label in
    that language and its key, a Label by its text in that language."""

    def text(value: Any, zh: bool) -> Any:
        if isinstance(value, FieldDef):
            return f"{value.label.zh}（{value.key}）" if zh else f"{value.label.en} ({value.key})"
        if isinstance(value, Label):
            return value.zh if zh else value.en
        return value

    return Label(
        template.zh.format(**{k: text(v, True) for k, v in values.items()}),
        template.en.format(**{k: text(v, False) for k, v in values.items()}),
    )


# --- time zones on system timestamps ---------------------------------------------------

class UtcWallClock(FunctionElement[dt.datetime]):
    """A ``timestamptz`` column as the UTC wall-clock time, so a field type's
    naive-UTC operands compare right whatever the server's time zone. On
    SQLite the column already holds the UTC wall-clock time."""

    type = sa.DateTime()
    inherit_cache = True
    name = "utc_wall_clock"


@compiles(UtcWallClock)
def _wall_clock_default(element: UtcWallClock, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(UtcWallClock, "postgresql")
def _wall_clock_postgresql(element: UtcWallClock, compiler: Any, **kw: Any) -> str:
    return f"timezone('UTC', {compiler.process(element.clauses, **kw)})"


class _Columns:
    """Stands in for a table where a field type reads ``table.c[key]`` (all the
    column-stored types do), so an alias or an adapted column can be passed."""

    def __init__(self, columns: Mapping[str, sa.ColumnElement[Any]]) -> None:
        self.c = columns


# --- paths ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """Where a field path is resolved: a form's records or a subform's rows,
    and the SQL table (or alias) that stands for them."""

    label: Label
    fields: tuple[FieldDef, ...]
    table: sa.FromClause
    table_name: str
    owned: Mapping[str, sa.Table]
    system: tuple[str, ...]
    # The form these are records of (None: a subform's rows) and the condition
    # a reader's access puts on them (None: every record may be read).
    form: FormDef | None = None
    readable: sa.ColumnElement[bool] | None = None

    def where(self, *clauses: sa.ColumnElement[bool]) -> tuple[sa.ColumnElement[bool], ...]:
        """``clauses`` and, on a related form, the reader's scope on it."""
        return (*clauses, self.readable) if self.readable is not None else clauses

    def column(self, name: str) -> sa.ColumnElement[Any]:
        return cast(sa.ColumnElement[Any], self.table.c[name])

    def owned_table(self, field: FieldDef) -> sa.Table | None:
        """The table ``field`` keeps its values in (child rows, links)."""
        return self.owned.get(field_table_name(self.table_name, field.key))


@dataclass(frozen=True)
class Hop:
    """One step of a path: through a single relation (``relation``), a multi
    relation's link table (``link``) or a subform's child table (``child``)."""

    kind: str
    field: FieldDef
    source: Scope
    target: Scope
    link: sa.FromClause | None = None

    def wrap(self, clause: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
        """``clause`` (about the target) as a condition on the source's rows."""
        if self.kind == "child":
            return sa.exists().where(self.target.column("parent_id") == self.source.column("id"), clause)
        matching = sa.select(self.target.column("id")).where(*self.target.where(clause))
        if self.kind == "relation":
            return self.source.column(self.field.key).in_(matching)
        assert self.link is not None
        return sa.exists().where(
            self.link.c.source_id == self.source.column("id"), self.link.c.target_id.in_(matching)
        )


@dataclass(frozen=True)
class FieldPath:
    """A resolved field path: the field at its end, its type and scope, the
    hops that lead there, and the labels of its steps (for sentences)."""

    text: str
    field: FieldDef
    type: FieldType
    scope: Scope
    hops: tuple[Hop, ...]
    labels: tuple[Label, ...]

    @property
    def label(self) -> Label:
        return Label(".".join(x.zh for x in self.labels), ".".join(x.en for x in self.labels))

    def wrap(self, clause: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
        for hop in reversed(self.hops):
            clause = hop.wrap(clause)
        return clause


class PathGuard(Protocol):
    """What a reader may read along a path (engine/records/access.py has the
    one built from roles). Without a guard every step may be read."""

    def check(self, form: FormDef, key: str, text: str, path: str, area: Label) -> None:
        """Raise unless the reader may see ``key`` of ``form`` (a step of ``text``)."""

    def scope(self, form: FormDef, table: sa.FromClause) -> sa.ColumnElement[bool] | None:
        """The condition on ``table`` (an alias of ``form``'s main table) that
        keeps to the records the reader may read; None for all of them."""


class PathResolver:
    """Resolves field paths of one form, the same way for filters and sorts.
    With a ``guard``, every step must be readable and a related form's records
    are only those the reader may read, so a path never reveals more than the
    records themselves would."""

    def __init__(
        self, form: FormDef, app: AppDef | None, field_types: FieldTypes,
        tables: FormTables | None = None, guard: PathGuard | None = None,
    ) -> None:
        self.app = app
        self.field_types = field_types
        self.guard = guard
        self.steps = 0
        self.root = self.form_scope(form, tables or form_tables(form, field_types), alias=False)

    def form_scope(self, form: FormDef, tables: FormTables, *, alias: bool = True) -> Scope:
        # Nested scopes are aliased: a form may relate to itself (parent company).
        owned = {t.name: t for ts in tables.extra.values() for t in ts}
        table = tables.main.alias() if alias else tables.main
        label = Label(f"表单 {form.label.zh}（{form.key}）", f"Form {form.label.en} ({form.key})")
        # The root form's scope is the caller's to add (it is the query's own WHERE).
        readable = self.guard.scope(form, table) if alias and self.guard is not None else None
        return Scope(label, form.fields, table, tables.main.name, owned, tuple(SYSTEM_FIELDS), form, readable)

    def system_field(self, key: str) -> tuple[FieldDef, FieldType]:
        type_key, label, settings = SYSTEM_FIELDS[key]
        return FieldDef(key=key, type=type_key, label=label, settings=settings), self.field_types.get(type_key)

    def resolve(self, text: Any, path: str, area: Label = FILTER) -> FieldPath:
        if not isinstance(text, str) or not text.strip():
            raise query_error(area, path, Label("需要字段名（如 amount 或 customer.name）",
                                                "A field name is needed (like amount or customer.name)"))
        segments = text.strip().split(".")
        scope, hidden = self.root, 0
        hops: list[Hop] = []
        labels: list[Label] = []
        index = 0
        while True:
            key, rest = segments[index], segments[index + 1:]
            field, ftype = self.field(scope, key, path, area)
            if self.guard is not None and scope.form is not None:
                self.guard.check(scope.form, key, text.strip(), path, area)
            if hidden:
                hidden -= 1
            else:
                labels.append(field.label)
            if not ftype.stored and not rest:
                through = lookup_path(ftype, field)
                if through is not None and len(hops) < MAX_HOPS:
                    segments[index:index + 1] = through
                    hidden = len(through)
                    continue
            if not rest:
                return FieldPath(text, field, ftype, scope, tuple(hops), tuple(labels))
            part = self.part(scope, field, ftype, rest)
            if part is not None:
                labels[-1] = part[0].label
                return FieldPath(text, *part, scope, tuple(hops), tuple(labels))
            if len(hops) >= MAX_HOPS:
                raise query_error(area, path, Label(f"路径 {text} 太长（最多经过 {MAX_HOPS} 个关联或子表单）",
                                                    f"The path {text} is too long (at most {MAX_HOPS} relations or subforms)"))
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise query_error(area, path, Label(
                    f"查询经过的关联或子表单共超过 {MAX_STEPS} 步，请减少带路径的条件",
                    f"The query reads through relations or subforms more than {MAX_STEPS} times in all; "
                    "use fewer conditions with paths"))
            hop = self.hop(scope, field, ftype, ".".join(rest), path, area)
            hops.append(hop)
            scope = hop.target
            index += 1

    def field(self, scope: Scope, key: str, path: str, area: Label) -> tuple[FieldDef, FieldType]:
        if key in scope.system:
            return self.system_field(key)
        found = next((f for f in scope.fields if f.key == key), None)
        if found is None:
            known = [*scope.system, *(f.key for f in scope.fields)]
            raise query_error(area, path, say(_UNKNOWN_FIELD, form=scope.label, key=key or "''",
                                              hint=did_you_mean(key, known)))
        return found, self.field_types.get(found.type)

    def part(
        self, scope: Scope, field: FieldDef, ftype: FieldType, rest: list[str]
    ) -> tuple[FieldDef, FieldType] | None:
        """A single column of a multi-column field (``address.city``), as a
        field of the type that suits the column."""
        if len(rest) != 1 or not ftype.stored or ftype.storage_for(field) != "column":
            return None
        name = f"{field.key}_{rest[0]}"
        if name not in ftype.column_names(field) or name not in scope.table.c:
            return None
        column_type = scope.table.c[name].type
        type_key = next((k for cls, k in _PART_TYPES if isinstance(column_type, cls)), "text")
        part_label = PART_LABELS.get(rest[0], Label(rest[0], rest[0]))
        label = Label(f"{field.label.zh}.{part_label.zh}", f"{field.label.en}.{part_label.en}")
        return FieldDef(key=name, type=type_key, label=label), self.field_types.get(type_key)

    def hop(self, scope: Scope, field: FieldDef, ftype: FieldType, rest: str, path: str, area: Label) -> Hop:
        storage = ftype.storage_for(field) if ftype.stored else "none"
        if storage == "child_table":
            child = scope.owned_table(field)
            if child is not None:
                alias = child.alias()
                label = say(Message("子表单 {field}", "Subform {field}"), field=field)
                target = Scope(label, field.fields, alias, child.name, scope.owned, ("id",))
                return Hop("child", field, scope, target)
        target_key = next((r.value for r in ftype.references(field) if r.kind == "form"), None)
        if target_key is not None and storage in ("column", "link_table"):
            target_form = self.app.form(target_key) if self.app is not None else None
            if target_form is None:
                raise query_error(area, path, Label(f"找不到关联的表单 {target_key}",
                                                    f"The related form {target_key} was not found"))
            target = self.form_scope(target_form, form_tables(target_form, self.field_types))
            if storage == "column":
                return Hop("relation", field, scope, target)
            link = scope.owned_table(field)
            if link is not None:
                return Hop("link", field, scope, target, link.alias())
        raise query_error(area, path, say(_NO_DEEPER, field=field, rest=rest))


def is_compound(spec: Any) -> bool:
    """Whether ``spec`` is an and/or group of several conditions (parenthesized in sentences)."""
    if not isinstance(spec, Mapping) or len(spec) != 1:
        return False
    items = spec.get("and", spec.get("or"))
    return isinstance(items, list) and len(items) > 1


def lookup_path(ftype: FieldType, field: FieldDef) -> list[str] | None:
    """A lookup's value is its relation's field: ``[relation, field]``."""
    refs = {r.kind: r.value for r in ftype.references(field)}
    if "relation" in refs and "lookup_field" in refs:
        return [refs["relation"], refs["lookup_field"]]
    return None


# --- compiling --------------------------------------------------------------------------

class FilterCompiler:
    """Compiles (and describes) filters of one form; one instance per call."""

    def __init__(
        self, resolver: PathResolver, *, today: dt.date | None = None, user_id: int | None = None,
    ) -> None:
        self.resolver = resolver
        self.today = today
        self.user_id = user_id
        self.conditions = 0

    def compile(self, spec: Any, path: str = "", depth: int = 0) -> sa.ColumnElement[bool]:
        group = self.group(spec, path, depth)
        if group is not None:
            key, items = group
            if key == "not":
                inner = self.compile(items[0], at(path, "not"), depth + 1)
                # NOT of an unknown (NULL) is unknown; "not X" means "everything X does not match".
                return sa.not_(sa.func.coalesce(inner, sa.false()))
            clauses = [self.compile(item, f"{at(path, key)}[{i}]", depth + 1) for i, item in enumerate(items)]
            if not clauses:
                return sa.true()
            return sa.and_(*clauses) if key == "and" else sa.or_(*clauses)
        if not spec:
            return sa.true()
        field_path, operator_key, value = self.condition(spec, path)
        return field_path.wrap(self.leaf(field_path, operator_key, value, path))

    def describe(self, spec: Any, locale: str, path: str = "", depth: int = 0) -> str:
        zh = locale.lower().startswith("zh")
        group = self.group(spec, path, depth)
        if group is not None:
            key, items = group
            parts = [self.describe(item, locale, f"{at(path, key)}[{i}]", depth + 1) for i, item in enumerate(items)]
            if key == "not":
                return f"并非（{parts[0]}）" if zh else f"not ({parts[0]})"
            if not parts:
                return "全部记录" if zh else "all records"
            if len(parts) > 1:
                parts = [(f"（{p}）" if zh else f"({p})") if is_compound(item) else p
                         for p, item in zip(parts, items, strict=True)]
            joiner = {"and": (" 且 ", " and "), "or": (" 或 ", " or ")}[key]
            return (joiner[0] if zh else joiner[1]).join(parts)
        if not spec:
            return "全部记录" if zh else "all records"
        field_path, operator_key, value = self.condition(spec, path)
        operator = OPERATORS.get(operator_key)
        label = field_path.label.text(locale)
        if operator.arity == 0:
            return operator.sentence(label, [], locale)
        field = replace(field_path.field, label=field_path.label)
        try:
            return field_path.type.describe_filter(field, operator_key, value, locale)
        except FieldValueError as exc:
            raise self.bad_value(field_path, exc.message, path) from None

    # --- structure -----------------------------------------------------------------
    def group(self, spec: Any, path: str, depth: int) -> tuple[str, list[Any]] | None:
        """``(and|or|not, items)`` for a group, None for a condition; checks the shape."""
        if depth > MAX_DEPTH:
            raise query_error(FILTER, path, Label(f"嵌套超过 {MAX_DEPTH} 层", f"Nested deeper than {MAX_DEPTH} levels"))
        if not isinstance(spec, Mapping):
            raise query_error(FILTER, path, Label(
                "条件应是对象，如 {\"field\": ..., \"op\": ..., \"value\": ...} 或 {\"and\": [...]}",
                "A condition must be an object like {\"field\": ..., \"op\": ..., \"value\": ...} or {\"and\": [...]}",
            ))
        keys = [k for k in ("and", "or", "not") if k in spec]
        if not keys:
            return None
        if len(spec) != 1:
            raise query_error(FILTER, path, Label(
                f"分组只能有一个键（and、or 或 not），这里有：{', '.join(map(str, spec))}",
                f"A group has exactly one key (and, or or not); this one has: {', '.join(map(str, spec))}",
            ))
        key = keys[0]
        if key == "not":
            return key, [spec[key]]
        items = spec[key]
        if not isinstance(items, list):
            raise query_error(FILTER, at(path, key), Label("应是条件的列表", "Must be a list of conditions"))
        return key, items

    def condition(self, spec: Mapping[str, Any], path: str) -> tuple[FieldPath, str, Any]:
        unknown = [str(k) for k in spec if k not in ("field", "op", "value")]
        if unknown:
            raise query_error(FILTER, at(path, unknown[0]), Label(
                f"未知的键 {unknown[0]}（条件有 field、op、value；分组用 and、or、not）",
                f"Unknown key {unknown[0]} (a condition has field, op and value; groups use and, or, not)",
            ))
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise query_error(FILTER, path, Label(f"条件超过 {MAX_CONDITIONS} 个", f"More than {MAX_CONDITIONS} conditions"))
        field_path = self.resolver.resolve(spec.get("field"), at(path, "field"))
        operator_key = spec.get("op")
        allowed = field_path.type.operators_for(field_path.field)
        if not isinstance(operator_key, str) or operator_key not in allowed:
            raise query_error(FILTER, at(path, "op"), say(
                _NO_OPERATOR, field=field_path.field, op=operator_key,
                hint=did_you_mean(str(operator_key), list(allowed)), known=", ".join(allowed) or "—",
            ))
        value = spec.get("value")
        if OPERATORS.get(operator_key).arity != 0:
            self.check_value(spec, operator_key, path)
        return field_path, operator_key, value

    def check_value(self, spec: Mapping[str, Any], operator_key: str, path: str) -> None:
        value = spec.get("value")
        if "value" not in spec or (value is None and operator_key not in NULL_MEANS_BLANK):
            raise query_error(FILTER, at(path, "value"), _NEEDS_VALUE.format(op=operator_key))
        if isinstance(value, list | tuple) and len(value) > MAX_LIST:
            raise query_error(FILTER, at(path, "value"), Label(f"最多 {MAX_LIST} 个值", f"At most {MAX_LIST} values"))
        if isinstance(value, str) and len(value) > MAX_TEXT:
            raise query_error(FILTER, at(path, "value"), Label(f"值超过 {MAX_TEXT} 个字符", f"The value is longer than {MAX_TEXT} characters"))
        if has_nul(value):
            raise query_error(FILTER, at(path, "value"), NUL_TEXT)

    def bad_value(self, field_path: FieldPath, reason: Label, path: str) -> QueryError:
        return query_error(FILTER, at(path, "value"), say(_BAD_VALUE, field=field_path.field, reason=reason))

    # --- one condition ---------------------------------------------------------------
    def leaf(self, field_path: FieldPath, operator_key: str, raw: Any, path: str) -> sa.ColumnElement[bool]:
        field, ftype, scope = field_path.field, field_path.type, field_path.scope
        storage = ftype.storage_for(field) if ftype.stored else "none"
        if operator_key == "is_me":
            if self.user_id is None:
                return sa.false()
            raw = self.user_id
        try:
            if storage == "link_table":
                return self.linked(field_path, operator_key, raw)
            if storage == "child_table":
                exists = sa.exists().where(self.owned(field_path).c.parent_id == scope.column("id"))
                return exists if operator_key == "not_blank" else ~exists
            return ftype.filter_clause(field, self.columns(scope, field, ftype), operator_key, raw,
                                       today=self.today or SystemClock().today())
        except FieldValueError as exc:
            raise self.bad_value(field_path, exc.message, path) from None
        except (TypeError, ValueError, ArithmeticError, RegistryError):
            # Python's own words ("Exceeds the limit (4300 digits)") help nobody.
            raise self.bad_value(field_path, _UNUSABLE, path) from None

    def columns(self, scope: Scope, field: FieldDef, ftype: FieldType) -> sa.Table:
        columns: dict[str, sa.ColumnElement[Any]] = {}
        for name in ftype.column_names(field):
            column = scope.column(name)
            column_type = getattr(column.type, "impl_instance", column.type)  # see through Moment
            if isinstance(column_type, sa.DateTime) and column_type.timezone:
                column = UtcWallClock(column)
            columns[name] = column
        # Field types read only ``table.c[...]`` of the table they are given.
        return cast(sa.Table, _Columns(columns))

    def owned(self, field_path: FieldPath) -> sa.FromClause:
        table = field_path.scope.owned_table(field_path.field)
        if table is None:
            raise ValueError(f"the table of {field_path.text} was not found")
        return table.alias()

    def linked(self, field_path: FieldPath, operator_key: str, raw: Any) -> sa.ColumnElement[bool]:
        """A multi relation's own operators, over its link table."""
        link = self.owned(field_path)
        source = field_path.scope.column("id")

        def exists(*conditions: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
            return sa.exists().where(link.c.source_id == source, *conditions)

        if operator_key == "is_blank":
            return ~exists()
        if operator_key == "not_blank":
            return exists()
        ids = field_path.type.coerce(field_path.field, raw) or []
        ids = ids if isinstance(ids, list) else [ids]
        if operator_key == "has_any":
            return exists(link.c.target_id.in_(ids)) if ids else sa.false()
        if operator_key == "has_all":
            return sa.and_(sa.true(), *(exists(link.c.target_id == i) for i in ids))
        raise ValueError(f"operator {operator_key} is not available on a link table")


def compile_filter(
    spec: Mapping[str, Any] | None,
    form: FormDef,
    app: AppDef | None,
    field_types: FieldTypes,
    *,
    today: dt.date | None = None,
    user_id: int | None = None,
    tables: FormTables | None = None,
    guard: PathGuard | None = None,
) -> sa.ColumnElement[bool]:
    """The WHERE clause for ``spec`` on ``form``'s main table.

    Called by list views, counts, rollups, rules and reports. ``today`` (from
    the clock; the system clock's when omitted) serves ``within_days``,
    ``user_id`` serves ``is_me`` (no user: ``is_me`` matches nothing).
    ``tables`` are the form's tables the query selects from (by default
    ``form_tables(form, field_types)``). A filter that cannot be used raises
    ``QueryError`` saying what and where; the SQL has bound parameters only.
    """
    if spec is None:
        return sa.true()
    resolver = PathResolver(form, app, field_types, tables, guard)
    return FilterCompiler(resolver, today=today, user_id=user_id).compile(spec)


def describe_filter(
    spec: Mapping[str, Any] | None,
    form: FormDef,
    locale: str = "zh",
    *,
    app: AppDef | None = None,
    field_types: FieldTypes | None = None,
) -> str:
    """The filter as a sentence: "金额 大于 100 且 阶段 是 赢单" /
    "Amount is greater than 100 and Stage is Won". Raises ``QueryError`` like
    ``compile_filter`` for a filter that cannot be used."""
    if field_types is None:
        from engine.fields import FIELD_TYPES

        field_types = FIELD_TYPES
    if spec is None:
        return "全部记录" if locale.lower().startswith("zh") else "all records"
    resolver = PathResolver(form, app, field_types)
    return FilterCompiler(resolver).describe(spec, locale)
