"""What a field type is: one class that owns everything about its values.

Each type in DESIGN §4 is a subclass of ``FieldType`` registered in
``engine.fields.FIELD_TYPES``. Nothing outside the type asks "what type is
this field?": the store asks it for columns, the record service for coercion,
validation and formula values, the filter compiler for operators, import and
export for cell forms, the API for a JSON Schema fragment, demo data for a
fake value, schema changes for conversions.

Values have three forms:

- *input*: what a user, the API or an import gives (text, numbers, ISO dates,
  ids, dicts); ``coerce`` turns it into
- *value*: the canonical Python value the engine keeps (``Decimal`` for money,
  ``datetime.date``, ``list[str]`` for a multiselect, ``int`` ids for a
  relation ...), which ``to_db`` / ``from_db`` map to and from
- *stored*: what the column(s) hold (JSON text for lists on SQLite, ...).
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa

from engine.core.i18n import Label, Message
from engine.definitions.model import FieldDef, Reference
from engine.fields.operators import OPERATORS, Operator


class FieldValueError(ValueError):
    """An input cannot be a value of this field; ``message`` says why, in both languages."""

    def __init__(self, message: Label) -> None:
        self.message = message
        super().__init__(message.en)


class ConversionError(FieldValueError):
    """A stored value cannot be converted to the field's new type."""


@dataclass(frozen=True)
class DefinitionProblem:
    """A problem with a field's settings, at ``path`` below the field (e.g. ``options[2].key``)."""

    path: str
    message: Label


class FieldType:
    """Base class of every field type. Subclasses set the class attributes and
    override what differs; the defaults suit a single-column scalar value."""

    key: ClassVar[str]
    label: ClassVar[Label]
    # The formula type the value has in formulas ("text", "money", "list:text" ...).
    formula_type: ClassVar[str] = "any"
    # Filter operator keys this type supports (see engine.fields.operators).
    operators: ClassVar[tuple[str, ...]] = ("eq", "ne", "in", "not_in", "is_blank", "not_blank")
    # False for layout-only items (section, divider, note) and for values read
    # at query time (lookup): no column of their own.
    stored: ClassVar[bool] = True
    # Where the value lives: "column" (in the form's table), "child_table"
    # (subform rows, see ``tables``), "link_table" (multi relation), "none".
    # Read it only through ``storage_for(field)``: a type may store a field
    # differently by its settings (a multi relation), and a class attribute
    # read directly once silently dropped those fields' values.
    default_storage: ClassVar[str] = "column"
    # True when the engine computes the value (formula, rollup, lookup, serial):
    # input for it is ignored with a warning, never written.
    computed: ClassVar[bool] = False
    # What the record service does with the field beyond storing its value:
    # "value" (nothing), "relation" (an id of a record of ``target``),
    # "formula" (computed from its ``formula``), "rollup" (aggregated over
    # ``source``), "lookup" (read through ``relation``), "serial" (numbered
    # on create by ``period`` and ``format_serial``).
    role: ClassVar[str] = "value"
    # JSON Schema (2020-12) of the type's own settings, for the form schema.
    settings_schema: ClassVar[Mapping[str, Any]] = {"type": "object", "properties": {}}
    # Layout-only items (section, divider, note) take no input and hold no value.
    layout: ClassVar[bool] = False

    # --- definition -----------------------------------------------------
    def check_settings(self, field: FieldDef) -> list[DefinitionProblem]:
        """Problems with the field's own settings a JSON Schema cannot catch
        (min greater than max, duplicate option keys). Cross-form references
        are checked by the loader."""
        return []

    def references(self, field: FieldDef) -> list[Reference]:
        """What the field's settings point at (forms, fields, formulas), for the loader."""
        return []

    # --- storage ----------------------------------------------------------
    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        """The column(s) this field needs in the form's table (named by key)."""
        return []

    def tables(self, field: FieldDef, parent: str, metadata: sa.MetaData) -> list[sa.Table]:
        """Extra tables the field needs, named after the parent table
        (``<parent>__<key>``): a subform's child table, a multi relation's link table."""
        return []

    def to_db(self, field: FieldDef, value: Any) -> dict[str, Any]:
        """Column name -> stored value, for a value (``None`` stores NULL)."""
        return {field.key: value}

    def from_db(self, field: FieldDef, row: Mapping[str, Any]) -> Any:
        """The value, read back from a row."""
        return row.get(field.key)

    def value_decoder(self, field: FieldDef) -> Callable[[Mapping[str, Any]], Any] | None:
        """``from_db`` for one field as a function of the row, made once per
        field so reading a page of records does no per-value set-up; None
        when the value is the column's own (``row[field.key]``)."""
        if type(self).from_db is FieldType.from_db:
            return None
        return functools.partial(self.from_db, field)

    # --- input ------------------------------------------------------------
    def coerce(self, field: FieldDef, raw: Any) -> Any:
        """The canonical value for an input, ``None`` for blank input, or
        ``FieldValueError`` saying what is wrong in words a user understands."""
        return None if raw is None or raw == "" else raw

    def coerce_input(self, field: FieldDef, raw: Any) -> Any:
        """``coerce`` for what a client or a person wrote (a body, a row of an
        import), as opposed to a value computed or converted: a type may
        refuse input it would quietly fit when it comes from a formula."""
        return self.coerce(field, raw)

    def validate(self, field: FieldDef, value: Any) -> list[Label]:
        """Messages for a coerced, non-blank value that breaks the field's
        constraints (min/max, length, precision, pattern, options). Required
        and unique are checked by the record service for every type."""
        return []

    def validate_in_record(self, field: FieldDef, value: Any) -> list[Label]:
        """What the record service reports under the field's own key: all of
        ``validate``, unless the service checks parts of the value itself (a
        subform's rows, each under its own path)."""
        return self.validate(field, value)

    def validates(self, field: FieldDef) -> bool:
        """Whether ``validate`` can find anything wrong with a value of this
        field (no bounds, no pattern: it cannot). Batches skip the call when not."""
        return type(self).validate is not FieldType.validate

    def is_blank(self, value: Any) -> bool:
        return value is None or value == "" or value == [] or value == {}

    # --- formulas -----------------------------------------------------------
    def formula_value(self, field: FieldDef, value: Any) -> Any:
        """What a formula sees for this value."""
        return value

    # --- exchange -------------------------------------------------------------
    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        """The cell written to Excel/CSV (str, number, date or None)."""
        return self.display(field, value, locale) if value is not None else None

    def import_value(self, field: FieldDef, cell: Any) -> Any:
        """An input from an Excel/CSV cell (``coerce`` then runs on it)."""
        return cell

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        """The value as a person reads it in a list or a notification."""
        return "" if value is None else str(value)

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        """The JSON Schema of the value in the REST API (OpenAPI 3.1)."""
        return {}

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        """A plausible input value for demo data."""
        return None

    # --- schema changes ---------------------------------------------------------
    def convert(self, field: FieldDef, value: Any, source: FieldType, source_field: FieldDef) -> Any:
        """``value`` (a value of ``source``) as a value of this type, for a
        type change; ``ConversionError`` when it cannot be converted."""
        if value is None:
            return None
        try:
            return self.coerce(field, source.export_value(source_field, value, "en"))
        except FieldValueError as exc:
            raise ConversionError(exc.message) from None

    def conversion_loss(
        self, field: FieldDef, converted: Any, value: Any, source: FieldType, source_field: FieldDef
    ) -> Label | None:
        """Why ``converted`` (what ``convert`` made of ``value``, a value of
        ``source``) is not the value it came from — rounded to fewer decimals,
        cut to its day — or ``None`` when it carries the value whole. A schema
        change counts such rows, asks for them to be accepted and backs up
        the originals, as it does for rows it cannot convert at all."""
        return None

    # --- API ------------------------------------------------------------------
    def json_value(self, field: FieldDef, value: Any) -> Any:
        """The value as JSON data for the REST API (matches ``json_schema``):
        decimals as strings, dates and times in ISO 8601, lists and dicts as such."""
        return plain_json(value)

    def column_names(self, field: FieldDef) -> list[str]:
        """The names of the field's columns in the form's table."""
        return [column.name for column in self.columns(field)]

    # --- per-field variants of the class attributes -------------------------------
    def operators_for(self, field: FieldDef) -> tuple[str, ...]:
        """The filter operator keys for this field (a formula's depend on its
        result type, a multi member's differ from a single one's)."""
        return self.operators

    def formula_type_for(self, field: FieldDef) -> str:
        """The formula type of this field's values (see ``formula_type``)."""
        return self.formula_type

    def storage_for(self, field: FieldDef) -> str:
        """Where this field's value lives (a multi relation uses a link table)."""
        return self.default_storage

    # --- filters ----------------------------------------------------------------
    def filter_column(self, field: FieldDef, table: sa.Table) -> sa.ColumnElement[Any]:
        """The SQL expression filter operators compare against (the key column)."""
        return table.c[field.key]

    def operand(self, field: FieldDef, operator: Operator, raw: Any) -> Any:
        """The operand of a filter, coerced for ``operator`` (a value of the
        field for ``eq``, text for ``contains``, a pair for ``between`` ...)."""
        if operator.operand == "none":
            return None
        if operator.operand == "text":
            return "" if raw is None else str(raw)
        if operator.operand == "integer":
            return integer_operand(raw)
        if operator.arity == 2:
            if not isinstance(raw, list | tuple) or len(raw) != 2:
                raise FieldValueError(_NEEDS_PAIR.format(op=operator.key))
            return (self.coerce(field, raw[0]), self.coerce(field, raw[1]))
        if operator.arity == "list":
            items = raw if isinstance(raw, list | tuple) else [raw]
            return [self.coerce(field, item) for item in items]
        value = self.coerce(field, raw)
        # Only eq/ne read a blank as "is blank"; "greater than nothing" asks nothing.
        if value is None and operator.key not in ("eq", "ne"):
            raise FieldValueError(_NEEDS_VALUE.format(op=operator.key))
        return value

    def filter_clause(
        self,
        field: FieldDef,
        table: sa.Table,
        operator_key: str,
        raw: Any,
        *,
        today: dt.date | None = None,
    ) -> sa.ColumnElement[bool]:
        """The WHERE clause for ``{field, op, value}``: checks the operator
        belongs to the type, coerces the operand, builds SQL with bound
        parameters only. ``today`` (from the clock) is needed by ``within_days``."""
        operator = self.operator(field, operator_key)
        column = self.filter_column(field, table)
        return operator.sql(column, self.operand(field, operator, raw), today=today)

    def operator(self, field: FieldDef, operator_key: str) -> Operator:
        """The operator, or ``FieldValueError`` when the field does not support it."""
        supported = self.operators_for(field)
        if operator_key not in supported:
            raise FieldValueError(
                _NO_OPERATOR.format(op=operator_key, type=self.key, known=", ".join(supported))
            )
        return OPERATORS.get(operator_key)

    def describe_filter(self, field: FieldDef, operator_key: str, raw: Any, locale: str = "zh") -> str:
        """The filter as a sentence: "负责人 是 张三" / "Owner is Zhang San"."""
        operator = self.operator(field, operator_key)
        operand = self.operand(field, operator, raw)
        if operator.operand in ("text", "integer"):
            texts = [str(operand)]
        elif isinstance(operand, tuple | list):
            texts = [self.display_item(field, item, locale) for item in operand]
        elif operand is None:
            texts = []
        else:
            texts = [self.display(field, operand, locale)]
        return operator.sentence(field.label.text(locale), texts, locale)

    def display_item(self, field: FieldDef, item: Any, locale: str = "zh") -> str:
        """One item of a list operand (``in``, ``has_any``) as display text."""
        return self.display(field, item, locale)


_NEEDS_PAIR = Message("运算符 {op} 需要两个值", "Operator {op} needs two values")
_NEEDS_VALUE = Message("运算符 {op} 需要一个非空的值", "Operator {op} needs a value that is not blank")
_NO_OPERATOR = Message(
    "字段类型 {type} 不支持运算符 {op}（支持：{known}）",
    "Field type {type} does not support operator {op} (supported: {known})",
)
_NOT_INTEGER = Message("“{value}” 不是整数", "\"{value}\" is not a whole number")


def integer_operand(raw: Any) -> int:
    text = str(raw).strip()
    # Fifteen digits are more than any count of days or user id; a longer
    # number would only reach Python's own limits (and their messages).
    if isinstance(raw, bool) or len(text) > 15:
        raise FieldValueError(_NOT_INTEGER.format(value=text[:20] + ("…" if len(text) > 20 else "")))
    try:
        number = Decimal(text)
    except ArithmeticError:
        raise FieldValueError(_NOT_INTEGER.format(value=raw)) from None
    if not number.is_finite() or number != number.to_integral_value():
        raise FieldValueError(_NOT_INTEGER.format(value=raw))
    return int(number)


def plain_json(value: Any) -> Any:
    """``value`` with decimals as text and dates/times in ISO 8601, recursively."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None and value.utcoffset() == dt.timedelta(0):
            return value.replace(tzinfo=None).isoformat() + "Z"
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(item) for item in value]
    if isinstance(value, float):
        return value
    return str(value)


Columns = Sequence[sa.Column[Any]]
