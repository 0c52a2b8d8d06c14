"""Values the engine computes: formula, rollup (汇总) and serial (流水号).

Formula and rollup values are stored (so lists, filters, sorts and reports
read a column) and recomputed by the record service when their inputs
change. What the value *is* — its column, coercion, display, operators — is
its ``result_type``'s: a money formula behaves like a money field. The
record service computes; these types only describe and store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from engine.core.i18n import Label, Message
from engine.core.registry import Registry
from engine.definitions.model import FieldDef, Reference
from engine.fields.base import DefinitionProblem, FieldType
from engine.fields.operators import Operator
from engine.fields.settings import KEY_SCHEMA, PRECISION_SETTING, settings_object
from engine.fields.text import TEXT_OPERATORS, TextType

FORMULA_RESULT_TYPES = ("number", "money", "percent", "text", "date", "datetime", "boolean")
ROLLUP_RESULT_TYPES = ("number", "money", "percent", "date", "datetime")
AGGREGATES = ("sum", "count", "avg", "min", "max")
MISSING = Message("缺少设置 {name}", "The setting {name} is missing")
BAD_CHOICE = Message("{name} 应为 {choices} 之一，而不是 {value}", "{name} must be one of {choices}, not {value}")


class _ResultTyped(FieldType):
    """A computed value that behaves like a value of ``result_type``."""

    computed = True
    default_result_type = "number"

    def __init__(self, types: Registry[FieldType]) -> None:
        self.types = types
        # id(field) -> (field, result type, field as that type); the field is
        # kept so an id reused after garbage collection cannot match.
        self._results: dict[int, tuple[FieldDef, FieldType, FieldDef]] = {}

    def result_type_key(self, field: FieldDef) -> str:
        return str(field.setting("result_type") or self.default_result_type)

    def result(self, field: FieldDef) -> tuple[FieldType, FieldDef]:
        """The result type and the field as a field of that type (worked out
        once per field definition: every read and write of the value asks)."""
        cached = self._results.get(id(field))
        if cached is not None and cached[0] is field:
            return cached[1], cached[2]
        key = self.result_type_key(field)
        ftype = self.types.find(key) or self.types.get(self.default_result_type)
        settings = {"precision": field.setting("precision")} if field.setting("precision") is not None else {}
        as_result = dataclasses.replace(field, type=ftype.key, settings=settings)
        if len(self._results) > 10_000:
            self._results.clear()
        self._results[id(field)] = (field, ftype, as_result)
        return ftype, as_result

    def formula_type_for(self, field: FieldDef) -> str:
        ftype, as_result = self.result(field)
        return ftype.formula_type_for(as_result)

    def operators_for(self, field: FieldDef) -> tuple[str, ...]:
        ftype, as_result = self.result(field)
        return ftype.operators_for(as_result)

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        ftype, as_result = self.result(field)
        return ftype.columns(as_result)

    def to_db(self, field: FieldDef, value: Any) -> dict[str, Any]:
        ftype, as_result = self.result(field)
        return ftype.to_db(as_result, value)

    def from_db(self, field: FieldDef, row: Mapping[str, Any]) -> Any:
        ftype, as_result = self.result(field)
        return ftype.from_db(as_result, row)

    def value_decoder(self, field: FieldDef) -> Callable[[Mapping[str, Any]], Any] | None:
        ftype, as_result = self.result(field)
        return ftype.value_decoder(as_result)

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        ftype, as_result = self.result(field)
        return ftype.coerce(as_result, raw)

    def validate(self, field: FieldDef, value: Any) -> list[Label]:
        ftype, as_result = self.result(field)
        return ftype.validate(as_result, value)

    def validates(self, field: FieldDef) -> bool:
        ftype, as_result = self.result(field)
        return ftype.validates(as_result)

    def formula_value(self, field: FieldDef, value: Any) -> Any:
        ftype, as_result = self.result(field)
        return ftype.formula_value(as_result, value)

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        ftype, as_result = self.result(field)
        return ftype.display(as_result, value, locale)

    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        ftype, as_result = self.result(field)
        return ftype.export_value(as_result, value, locale)

    def import_value(self, field: FieldDef, cell: Any) -> Any:
        ftype, as_result = self.result(field)
        return ftype.import_value(as_result, cell)

    def json_value(self, field: FieldDef, value: Any) -> Any:
        ftype, as_result = self.result(field)
        return ftype.json_value(as_result, value)

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        ftype, as_result = self.result(field)
        return {**ftype.json_schema(as_result), "readOnly": True}

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        ftype, as_result = self.result(field)
        return ftype.fake(as_result, rng)

    def filter_column(self, field: FieldDef, table: sa.Table) -> sa.ColumnElement[Any]:
        ftype, as_result = self.result(field)
        return ftype.filter_column(as_result, table)

    def operand(self, field: FieldDef, operator: Operator, raw: Any) -> Any:
        ftype, as_result = self.result(field)
        return ftype.operand(as_result, operator, raw)

    def filter_clause(
        self, field: FieldDef, table: sa.Table, operator_key: str, raw: Any, *, today: dt.date | None = None
    ) -> sa.ColumnElement[bool]:
        ftype, as_result = self.result(field)
        return ftype.filter_clause(as_result, table, operator_key, raw, today=today)

    def check_choice(self, field: FieldDef, name: str, choices: tuple[str, ...]) -> list[DefinitionProblem]:
        value = field.setting(name)
        if value is not None and value not in choices:
            return [DefinitionProblem(name, BAD_CHOICE.format(name=name, choices=", ".join(choices), value=value))]
        return []


class FormulaType(_ResultTyped):
    """A value computed by ``formula`` over the record's fields, stored and
    recomputed whenever a field it reads changes."""

    key = "formula"
    role = "formula"
    label = Label("公式", "Formula")
    default_result_type = "text"
    operators = TEXT_OPERATORS
    settings_schema = settings_object(
        {
            "formula": {"type": "string", "minLength": 1},
            "result_type": {"enum": list(FORMULA_RESULT_TYPES)},
            "precision": PRECISION_SETTING,
        },
        required=("formula",),
    )

    def check_settings(self, field: FieldDef) -> list[DefinitionProblem]:
        problems = self.check_choice(field, "result_type", FORMULA_RESULT_TYPES)
        formula = field.setting("formula")
        if not isinstance(formula, str) or not formula.strip():
            problems.append(DefinitionProblem("formula", MISSING.format(name="formula")))
        return problems

    def references(self, field: FieldDef) -> list[Reference]:
        formula = field.setting("formula")
        return [Reference("formula", formula, "formula")] if isinstance(formula, str) and formula else []


class RollupType(_ResultTyped):
    """An aggregate (sum/count/avg/min/max) of ``field`` over ``source`` rows:
    a subform of this form, or ``<form>.<relation>`` for records of another
    form pointing here. ``result_type`` (number, money, percent, date,
    datetime; default number) and ``precision`` say what the result is;
    ``count`` is always a whole number."""

    key = "rollup"
    role = "rollup"
    label = Label("汇总", "Rollup")
    operators = ("eq", "ne", "gt", "gte", "lt", "lte", "between", "is_blank", "not_blank")
    settings_schema = settings_object(
        {
            "source": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$"},
            "field": KEY_SCHEMA,
            "aggregate": {"enum": list(AGGREGATES)},
            "where": {"type": "object"},
            "result_type": {"enum": list(ROLLUP_RESULT_TYPES)},
            "precision": PRECISION_SETTING,
        },
        required=("source", "aggregate"),
    )

    def result(self, field: FieldDef) -> tuple[FieldType, FieldDef]:
        if field.setting("aggregate") == "count":
            ftype = self.types.get("number")
            return ftype, dataclasses.replace(field, type="number", settings={"precision": 0})
        return super().result(field)

    def check_settings(self, field: FieldDef) -> list[DefinitionProblem]:
        problems = self.check_choice(field, "aggregate", AGGREGATES)
        problems += self.check_choice(field, "result_type", ROLLUP_RESULT_TYPES)
        if not field.setting("source"):
            problems.append(DefinitionProblem("source", MISSING.format(name="source")))
        aggregate = field.setting("aggregate")
        if aggregate is None:
            problems.append(DefinitionProblem("aggregate", MISSING.format(name="aggregate")))
        elif aggregate != "count" and not field.setting("field"):
            problems.append(DefinitionProblem("field", MISSING.format(name="field")))
        if aggregate in ("sum", "avg") and self.result_type_key(field) in ("date", "datetime"):
            problems.append(DefinitionProblem("result_type", Message(
                "{aggregate} 的结果不能是日期", "The result of {aggregate} cannot be a date"
            ).format(aggregate=aggregate)))
        return problems

    def references(self, field: FieldDef) -> list[Reference]:
        source, source_field = field.setting("source"), field.setting("field")
        found = []
        if source:
            found.append(Reference("source", str(source), "source"))
            if source_field and field.setting("aggregate") != "count":
                found.append(Reference("source_field", str(source_field), "field", via=str(source)))
        return found


SERIAL_DATE_FORMATS = {"yyyyMMdd": "%Y%m%d", "yyyyMM": "%Y%m", "yyyy": "%Y", "none": ""}
RESETS = ("never", "daily", "monthly", "yearly")
# The date part a reset period needs so numbers of different periods differ.
_RESET_NEEDS = {"daily": ("yyyyMMdd",), "monthly": ("yyyyMMdd", "yyyyMM"), "yearly": ("yyyyMMdd", "yyyyMM", "yyyy")}


class SerialType(TextType):
    """A serial number (流水号): ``prefix`` + date part + a counter of ``digits``
    digits that restarts every ``reset`` period, e.g. ``HT20240105-0001``.
    The record service takes the next counter for ``period`` in the same
    transaction as the insert and calls ``format_serial``."""

    key = "serial"
    role = "serial"
    label = Label("流水号", "Serial number")
    computed = True
    default_max_length = 64
    settings_schema = settings_object({
        "prefix": {"type": "string", "maxLength": 20},
        "date_format": {"enum": [*SERIAL_DATE_FORMATS, None]},
        "digits": {"type": "integer", "minimum": 1, "maximum": 12},
        "reset": {"enum": list(RESETS)},
    })

    def max_length(self, field: FieldDef) -> int:
        return self.default_max_length

    def check_settings(self, field: FieldDef) -> list[DefinitionProblem]:
        reset = field.setting("reset", "never")
        date_format = field.setting("date_format") or "none"
        needs = _RESET_NEEDS.get(reset)
        if needs and date_format not in needs:
            return [DefinitionProblem("reset", Message(
                "按{reset}重置时日期部分必须包含该周期（当前为 {fmt}），否则编号会重复",
                "Resetting {reset} needs a date part that shows the period (not {fmt}), or numbers repeat",
            ).format(reset=reset, fmt=date_format))]
        return []

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        return [sa.Column(field.key, sa.String(self.default_max_length), nullable=True, index=True)]

    def period(self, field: FieldDef, day: dt.date) -> str:
        """The counter's period for a day: "" (never reset), "2024-01-05", "2024-01" or "2024"."""
        reset = field.setting("reset", "never")
        if reset == "daily":
            return day.isoformat()
        if reset == "monthly":
            return day.strftime("%Y-%m")
        if reset == "yearly":
            return day.strftime("%Y")
        return ""

    def format_serial(self, field: FieldDef, counter: int, day: dt.date) -> str:
        """The serial number for the ``counter``-th record of ``day``'s period."""
        prefix = str(field.setting("prefix") or "")
        pattern = SERIAL_DATE_FORMATS.get(field.setting("date_format") or "none", "")
        date_part = day.strftime(pattern) if pattern else ""
        digits = field.setting("digits", 4)
        number = f"{counter:0{digits if isinstance(digits, int) else 4}d}"
        return f"{prefix}{date_part}-{number}" if date_part else f"{prefix}{number}"

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        return self.format_serial(field, rng.randint(1, 999), dt.date(2024, 6, 1))
