"""The list page's filter builder: the fields the reader may filter by, each
with its own type's operators (labels from the operator registry, in the
reader's language) and a value input suited to the type; the conditions it
sends become a filter-language JSON object (docs/filters.md), and an
applied filter comes back as chips described in words.

The builder edits the reader's own filter, a flat list of conditions joined
by "and" or "or"; a deeper filter (typed into the URL) is shown as one chip
and can be cleared, not edited.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.datastructures import MultiDict

from engine.definitions.model import FieldDef
from engine.fields.base import FieldType
from engine.fields.choice import options_of
from engine.fields.operators import OPERATORS, Operator
from engine.records.columns import system_field
from engine.records.filters import describe_filter
from runtime.web.context import services
from runtime.web.i18n import current_language, gettext, label_text
from runtime.web.lists_state import ListState, dump_filter

MAX_CONDITIONS = 20
SYSTEM_FILTERS = ("owner", "created_at", "updated_at", "created_by")


@dataclass(frozen=True)
class ValueInput:
    """How a value is typed: ``kind`` is an <input> type, "select", or "picker" (a relation's
    records, searched as the form's picker does); ``options`` (value, text)."""

    kind: str
    options: tuple[tuple[str, str], ...] = ()
    step: str | None = None


def _options(f: FieldDef, values: list[str]) -> ValueInput:
    return ValueInput("select", tuple((o.key, label_text(o.label)) for o in options_of(f)))


def _members(f: FieldDef, values: list[str]) -> ValueInput:
    return ValueInput("select", tuple((str(u.id), u.name or u.login) for u in services().org.list_users(active=True)))


def _departments(f: FieldDef, values: list[str]) -> ValueInput:
    return ValueInput("select", tuple((str(d.id), d.name) for d in services().org.list_departments()))


def _relation(f: FieldDef, values: list[str]) -> ValueInput:
    """The records already chosen, by their titles (those the reader may read)."""
    from flask import request

    from runtime.web.context import page_actor
    from runtime.web.record_names import record_titles

    app_key = str((request.view_args or {}).get("app_key"))
    ids = [int(part) for v in values for part in v.split(",") if part.strip().isdigit() and len(part.strip()) < 19]
    names = record_titles(services().records.get(app_key), str(f.setting("target")), ids, page_actor(app_key))
    return ValueInput("picker", tuple((str(i), names.get(i, f"#{i}")) for i in ids))


def _yes_no(f: FieldDef, values: list[str]) -> ValueInput:
    return ValueInput("select", (("true", gettext("Yes")), ("false", gettext("No"))))


def _fixed(kind: str, step: str | None = None) -> Callable[[FieldDef, list[str]], ValueInput]:
    return lambda f, values: ValueInput(kind, step=step)


# The value input by field type (given the values chosen so far); a type not named here is typed as text.
INPUTS: dict[str, Callable[[FieldDef, list[str]], ValueInput]] = {
    "select": _options, "multiselect": _options, "member": _members, "department": _departments,
    "relation": _relation,
    "boolean": _yes_no, "date": _fixed("date"), "datetime": _fixed("date"),
    "number": _fixed("number", "any"), "money": _fixed("number", "any"), "percent": _fixed("number", "any"),
    "rating": _fixed("number", "1"),
}


@dataclass(frozen=True)
class FilterField:
    key: str
    label: str
    field: FieldDef
    type: FieldType
    operators: tuple[Operator, ...]


@dataclass
class Condition:
    """One row of the builder, as typed (values are the inputs' texts)."""

    index: int
    field: FilterField | None = None
    operator: Operator | None = None
    values: list[str] = dataclasses.field(default_factory=list)
    high: str = ""

    @property
    def input(self) -> ValueInput | None:
        """The value input this row needs (None: the operator takes no value)."""
        if self.field is None or self.operator is None or self.operator.arity == 0:
            return None
        if self.operator.operand == "integer":
            return ValueInput("number", step="1")
        if self.operator.operand == "text":
            return ValueInput("text")
        return INPUTS.get(self.field.field.type, _fixed("text"))(self.field.field, self.values)

    @property
    def multiple(self) -> bool:
        return self.operator is not None and self.operator.arity == "list"


def filter_fields(state: ListState) -> list[FilterField]:
    """The fields the reader may filter by, with their operators."""
    service = state.service
    form = state.form
    candidates = [f for f in form.fields if not service.field_types.get(f.type).layout]
    allowed = state.policy.rights.fields_every_reader_shows(f.key for f in candidates)
    found = []
    for f in [*(f for f in candidates if f.key in allowed), *(system_field(k) for k in SYSTEM_FILTERS)]:
        assert f is not None
        ftype = service.field_types.get(f.type)
        keys = ftype.operators_for(f)
        if keys:
            found.append(FilterField(f.key, label_text(f.label), f, ftype, tuple(OPERATORS.get(k) for k in keys)))
    return found


def conditions_from_form(args: MultiDict[str, str], fields: list[FilterField]) -> list[Condition]:
    """The builder's rows from its inputs ``c<i>-field``, ``c<i>-op``, ``c<i>-value`` (several
    for a list operator) and ``c<i>-high`` (a range's upper end)."""
    by_key = {f.key: f for f in fields}
    rows = []
    for index in range(MAX_CONDITIONS):
        key = args.get(f"c{index}-field")
        if key is None:
            continue
        chosen = by_key.get(key)
        condition = Condition(index, chosen)
        if chosen is not None:
            ops = {o.key: o for o in chosen.operators}
            condition.operator = ops.get(args.get(f"c{index}-op", "")) or chosen.operators[0]
            condition.values = [v for v in args.getlist(f"c{index}-value") if v.strip()]
            condition.high = args.get(f"c{index}-high", "").strip()
        rows.append(condition)
    return rows


def condition_spec(condition: Condition) -> dict[str, Any] | None:
    """A condition of the filter language (None for a row with no field chosen)."""
    if condition.field is None or condition.operator is None:
        return None
    spec: dict[str, Any] = {"field": condition.field.key, "op": condition.operator.key}
    operator = condition.operator
    if operator.arity == 2:
        spec["value"] = [condition.values[0] if condition.values else None, condition.high or None]
    elif operator.arity == "list":
        items = [part.strip() for v in condition.values for part in v.split(",")]
        spec["value"] = [i for i in items if i]
    elif operator.arity == 1:
        spec["value"] = condition.values[0] if condition.values else ""
    return spec


def filter_from_form(args: MultiDict[str, str], fields: list[FilterField]) -> dict[str, Any] | None:
    specs = [s for c in conditions_from_form(args, fields) if (s := condition_spec(c)) is not None]
    if not specs:
        return None
    if len(specs) == 1:
        return specs[0]
    return {"or" if args.get("match") == "or" else "and": specs}


def flat_conditions(spec: Mapping[str, Any] | None) -> tuple[str, list[Mapping[str, Any]]] | None:
    """("and"|"or", conditions) when the filter is a flat list the builder can show, else None."""
    if not spec:
        return "and", []
    if "field" in spec:
        return "and", [spec]
    if len(spec) == 1:
        match, items = next(iter(spec.items()))
        if match in ("and", "or") and isinstance(items, list) and all(
                isinstance(i, Mapping) and "field" in i for i in items):
            return match, list(items)
    return None


def conditions_from_filter(spec: Mapping[str, Any] | None, fields: list[FilterField]) -> list[Condition]:
    """The builder's rows for the reader's current filter (when it is flat)."""
    flat = flat_conditions(spec)
    by_key = {f.key: f for f in fields}
    rows = []
    for index, item in enumerate((flat[1] if flat else [])[:MAX_CONDITIONS]):
        chosen = by_key.get(str(item.get("field")))
        operator = next((o for o in chosen.operators if o.key == item.get("op")), None) if chosen else None
        value = item.get("value")
        condition = Condition(index, chosen, operator)
        if operator is not None and operator.arity == 2 and isinstance(value, list):
            condition.values = [_text(value[0])] if value else []
            condition.high = _text(value[1]) if len(value) > 1 else ""
        elif isinstance(value, list):
            condition.values = [_text(v) for v in value]
        elif value is not None:
            condition.values = [_text(value)]
        rows.append(condition)
    return rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Chip:
    text: str
    remove_url: str
    rows_url: str


def chips(state: ListState) -> list[Chip]:
    """The reader's filter in words, one chip per condition, each removable."""
    spec = state.filter
    if not spec:
        return []
    fields = {f.key: f for f in filter_fields(state)}

    def words(item: Mapping[str, Any]) -> str:
        return named(fields.get(str(item.get("field"))), item) or describe(state, item)

    flat = flat_conditions(spec)
    if flat is None:
        return [Chip(words(spec), state.url(filter=None), state.url("/rows", filter=None))]
    match, items = flat
    found = []
    for index, item in enumerate(items):
        rest = items[:index] + items[index + 1:]
        remaining = None if not rest else rest[0] if len(rest) == 1 else {match: rest}
        found.append(Chip(words(item), state.url(filter=dump_filter(remaining)),
                          state.url("/rows", filter=dump_filter(remaining))))
    return found

# Types whose filter values are ids: a chip names them ("Owner is Zhang Wei", not "#3").
NAMED = {"member": _members, "department": _departments, "relation": _relation}


def named(chosen: FilterField | None, item: Mapping[str, Any]) -> str | None:
    """A condition on people, departments or related records in words, with their names."""
    if chosen is None or chosen.field.type not in NAMED:
        return None
    operator = next((o for o in chosen.operators if o.key == item.get("op")), None)
    if operator is None or operator.arity not in (1, "list"):
        return None
    value = item.get("value")
    given = [str(v) for v in (value if isinstance(value, list) else [value])]
    names = dict(NAMED[chosen.field.type](chosen.field, given).options)
    texts = [names.get(v, f"#{v}") for v in given]
    return operator.sentence(chosen.label, texts, current_language())


_WORDS: dict[tuple[int, str, str, str], tuple[Any, str]] = {}


def describe(state: ListState, spec: Mapping[str, Any] | None) -> str:
    """A filter in words, in the reader's language (remembered per published
    app: the same view's filter is described on every page of it)."""
    service = state.service
    key = (id(service.app), state.form_key, current_language(), json.dumps(spec, sort_keys=True, default=str))
    found = _WORDS.get(key)
    if found is not None and found[0] is service.app:
        return found[1]
    words = describe_filter(spec, state.form, current_language(), app=service.app, field_types=service.field_types)
    if len(_WORDS) > 2000:
        _WORDS.clear()
    _WORDS[key] = (service.app, words)
    return words


# Types a bulk edit sets to one value for every selected record.
BULK_TYPES = frozenset({"text", "textarea", "number", "money", "percent", "select", "multiselect", "boolean",
                        "date", "datetime", "member", "department", "rating", "email", "phone", "url"})


def editable_fields(state: ListState) -> list[FieldDef]:
    """The fields the reader may change on the records they may update."""
    rights = state.policy.rights
    writers = [g for g in rights.writers if g.allows("update")]
    return [f for f in state.form.fields
            if f.type in BULK_TYPES and not state.compiled.types[f.key].computed
            and (rights.unrestricted or any(g.lets_edit(f.key) for g in writers))]


def value_input(f: FieldDef | None) -> ValueInput | None:
    """The input for a value of field ``f`` (a bulk edit's new value)."""
    return INPUTS.get(f.type, _fixed("text"))(f, []) if f is not None else None
