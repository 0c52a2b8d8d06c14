"""A form made ready to run: fields, formulas, rollups, lookups and rules,
resolved and compiled once per definition and reused for every record.

``CompiledForm.compute`` is the pure part of the write path: given a record's
values (and its related records, which the caller loads), it computes the
formula fields, subform rollups and lookups, applies the form rules and says
what is visible, required and read-only. It touches no database, so the live
form (``evaluate_form``), the record service and imports share it exactly.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.model import FieldDef, FormDef, RuleAction
from engine.expr import CompiledFormula, EvaluationContext, compile_formula, evaluation_order
from engine.expr.errors import ErrorValue
from engine.fields.base import FieldType, FieldValueError

_ACTOR_FUNCTIONS = frozenset({"USER", "DEPARTMENT", "ROLE_IN"})
# The same, found in a formula's text (conservatively: any case, any place).
_ACTOR_CALL = re.compile(r"\b(?:USER|DEPARTMENT|ROLE_IN)\s*\(", re.IGNORECASE)
SYSTEM_FIELDS = (
    "id", "owner", "created_by", "created_at", "updated_by", "updated_at", "version", "flow_status",
)


@dataclass(frozen=True)
class Rollup:
    """A rollup: an aggregate over a subform's rows, or over the records of
    another form whose relation ``relation`` points at this record."""

    key: str
    aggregate: str
    field: str | None
    subform: str | None = None
    other_form: str | None = None
    relation: str | None = None
    where: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Lookup:
    key: str
    relation: str
    field: str


@dataclass
class FormState:
    """What a form looks like for some values: the values with everything
    computed, which fields are visible, required and read-only, and messages
    from ``error`` rules. ``formula_errors`` holds the Excel error (``#DIV/0!``)
    of a formula field that could not be computed (its value is blank), and
    ``input_errors`` the inputs a live form could not read yet, and
    ``inputs`` (a live evaluation only) the inputs it could, as coerced: what
    the user typed, read, before defaults, formulas and rules change values."""

    values: dict[str, Any]
    visible: dict[str, bool]
    required: dict[str, bool]
    readonly: dict[str, bool]
    errors: list[Label] = field(default_factory=list)
    formula_errors: dict[str, str] = field(default_factory=dict)
    input_errors: dict[str, Label] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)


def aggregate(kind: str, values: Sequence[Any]) -> Any:
    """sum / count / avg / min / max over values, blanks skipped (Excel's rule)."""
    present = [v for v in values if v is not None and v != ""]
    if kind == "count":
        return Decimal(len(present)) if present or values is not None else Decimal(0)
    numbers = [v if isinstance(v, Decimal) else Decimal(str(v)) for v in present]
    if kind == "sum":
        return sum(numbers, Decimal(0))
    if not numbers:
        return None
    if kind == "avg":
        return sum(numbers, Decimal(0)) / len(numbers)
    if kind == "min":
        return min(numbers)
    if kind == "max":
        return max(numbers)
    raise ValueError(f"unknown aggregate {kind!r}")


class CompiledForm:
    """Everything about one form definition that can be worked out once."""

    def __init__(self, form: FormDef, field_types: Registry[FieldType]) -> None:
        self.form = form
        self.field_types = field_types
        self.types: dict[str, FieldType] = {f.key: field_types.get(f.type) for f in form.fields}
        self.fields: dict[str, FieldDef] = {f.key: f for f in form.fields}
        self.child_types: dict[str, dict[str, FieldType]] = {
            f.key: {c.key: field_types.get(c.type) for c in f.fields} for f in form.fields if f.fields
        }
        self.input_fields = [
            f for f in form.fields if self.types[f.key].stored and not self.types[f.key].computed
        ]
        # Where each field's value lives, asked of the field (see FieldType.storage_for).
        self.storage: dict[str, str] = {
            f.key: self.types[f.key].storage_for(f) if self.types[f.key].stored else "none"
            for f in form.fields
        }
        self.stored_fields = [f for f in form.fields if self.storage[f.key] == "column"]
        self.subforms = [f for f in form.fields if self.storage[f.key] == "child_table"]
        self.link_fields = [f for f in form.fields if self.storage[f.key] == "link_table"]
        self.relations = self._with_role(form.fields, "relation")
        self.lookups = [
            Lookup(f.key, f.setting("relation"), f.setting("field"))
            for f in self._with_role(form.fields, "lookup")
        ]
        self.rollups = [self._rollup(f) for f in self._with_role(form.fields, "rollup")]
        self.serials = self._with_role(form.fields, "serial")
        self.formulas = self._formulas(form.fields)
        self.child_formulas = {sub.key: self._formulas(sub.fields) for sub in self.subforms}
        # Formula fields whose value depends on who writes (USER, DEPARTMENT,
        # ROLE_IN), directly or through another such field: a recompute,
        # which nobody in particular makes, leaves them as they are.
        self.actor_bound: set[str] = set()
        for f, formula in self.formulas:  # in evaluation order: dependencies first
            if formula.functions & _ACTOR_FUNCTIONS or formula.roots & self.actor_bound:
                self.actor_bound.add(f.key)
        self.default_formulas = {
            f.key: compile_formula(f.default_formula) for f in form.fields if f.default_formula
        }
        self.rules = [
            (compile_formula(rule.when), rule.actions, {
                id(action): compile_formula(action.formula)
                for action in rule.actions if action.formula
            })
            for rule in form.rules
        ]
        # Whether any formula of the form may read who writes: only then does
        # a write look the actor's user row and department up.
        texts = [f"{f.settings!r} {f.default_formula or ''}" for _, f in form.walk()]
        texts += [rule.when or "" for rule in form.rules]
        texts += [action.formula or "" for rule in form.rules for action in rule.actions]
        self.uses_actor = any(_ACTOR_CALL.search(text) for text in texts)
        self._visible = {f.key: not f.hidden for f in form.fields}
        self._required = {f.key: f.required for f in form.fields}
        self._readonly = {f.key: f.readonly or self.types[f.key].computed for f in form.fields}
        # How each stored column field is read back from a row: None where the
        # value is the column's own (no call needed).
        self.decoders = [(f.key, self.types[f.key].value_decoder(f)) for f in self.stored_fields]
        # Columns of the table that are not a field's own key (address_city ...):
        # read by their field's decoder, then left out of the record.
        field_keys = {f.key for f in self.stored_fields} | set(SYSTEM_FIELDS)
        self.raw_columns = frozenset(
            column.name for f in self.stored_fields for column in self.types[f.key].columns(f)
        ) - field_keys
        self.has_links = any(f.default_link for f in form.fields) or any(
            c.default_link for sub in self.subforms for c in sub.fields
        )
        # For coercion: input fields of one column, by key, with their coerce.
        self.plain_inputs = {
            f.key: (f, self.types[f.key].coerce_input) for f in self.input_fields
            if self.storage[f.key] == "column"
        }
        # For writing: each stored column field, and its to_db unless the value
        # goes into its column as it is.
        self.encoders = [
            (f, None if type(self.types[f.key]).to_db is FieldType.to_db else self.types[f.key].to_db)
            for f in self.stored_fields
        ]
        self.values_are_columns = all(encode is None for _, encode in self.encoders) and not (
            self.subforms or self.link_fields or self.lookups
        )
        # For validation: stored fields, and whether their type checks anything.
        self.validation_plan = [
            (f, self.types[f.key], self.types[f.key].validates(f))
            for f in form.fields if self.types[f.key].stored
        ]
        # What form-level formulas read: only those fields are prepared for them.
        read = {name.split(".")[0] for _, c in self.formulas for name in c.names}
        self.formula_inputs = [f for f in form.fields if f.key in read]
        # What a record read back needs beyond its main row.
        # (Lookups too: formulas see a related field in its formula form,
        # {"id": 301} for a relation, and a record answers with 301.)
        self.needs_reading_back = bool(self.subforms or self.link_fields or self.lookups)
        # Relations whose records formulas read through (``customer.name``),
        # and, per subform, the row relations its row formulas read through.
        self.related_paths = self._related_paths()
        self.child_related = {
            sub.key: paths for sub in self.subforms
            if (paths := self._paths_through(
                self._with_role(sub.fields, "relation"), [c for _, c in self.child_formulas[sub.key]]
            ))
        }

    # --- set-up -------------------------------------------------------------
    @staticmethod
    def _rollup(f: FieldDef) -> Rollup:
        source = str(f.setting("source", ""))
        aggregate_kind = str(f.setting("aggregate", "sum"))
        if "." in source:
            other, relation = source.split(".", 1)
            return Rollup(f.key, aggregate_kind, f.setting("field"), other_form=other,
                          relation=relation, where=f.setting("where"))
        return Rollup(f.key, aggregate_kind, f.setting("field"), subform=source, where=f.setting("where"))

    def _with_role(self, fields: Sequence[FieldDef], role: str) -> list[FieldDef]:
        return [f for f in fields if self.field_types.get(f.type).role == role]

    def _formulas(self, fields: Sequence[FieldDef]) -> list[tuple[FieldDef, CompiledFormula]]:
        texts = {f.key: str(f.setting("formula")) for f in self._with_role(fields, "formula")}
        if not texts:
            return []
        compiled = {key: compile_formula(text) for key, text in texts.items()}
        by_key = {f.key: f for f in fields}
        return [(by_key[key], compiled[key]) for key in evaluation_order(compiled)]

    def _related_paths(self) -> dict[str, set[str]]:
        formulas = [c for _, c in self.formulas] + list(self.default_formulas.values())
        formulas += [when for when, _, _ in self.rules]
        formulas += [c for _, _, by_action in self.rules for c in by_action.values()]
        needed = self._paths_through(self.relations, formulas)
        for lookup in self.lookups:
            needed.setdefault(lookup.relation, set()).add(lookup.field)
        return needed

    @staticmethod
    def _paths_through(
        relations: Sequence[FieldDef], formulas: Sequence[CompiledFormula]
    ) -> dict[str, set[str]]:
        """Relation key -> the target fields formulas read through it."""
        relation_keys = {f.key for f in relations}
        needed: dict[str, set[str]] = {}
        for compiled in formulas:
            for name in compiled.names:
                root, _, rest = name.partition(".")
                if rest and root in relation_keys:
                    needed.setdefault(root, set()).add(rest.split(".")[0])
        return needed

    # --- formula values -----------------------------------------------------
    def formula_values(
        self,
        values: Mapping[str, Any],
        related: Mapping[str, Any] | None = None,
        fields: Sequence[FieldDef] | None = None,
    ) -> dict[str, Any]:
        """The record as formulas see it: each field's formula value, related
        records (when loaded) in place of relation ids, subform rows as lists.
        ``fields`` limits it to what some formulas read."""
        seen: dict[str, Any] = {key: values.get(key) for key in SYSTEM_FIELDS if key in values}
        for f in self.form.fields if fields is None else fields:
            value = values.get(f.key)
            if related is not None and f.key in related:
                seen[f.key] = related[f.key]
            elif f.key in self.child_types:
                types = self.child_types[f.key]
                seen[f.key] = [
                    {c.key: types[c.key].formula_value(c, row.get(c.key)) for c in f.fields}
                    for row in (value or ())
                ]
            else:
                seen[f.key] = self.types[f.key].formula_value(f, value) if value is not None else None
        return seen

    # --- computing ------------------------------------------------------------
    def compute(
        self,
        values: Mapping[str, Any],
        context: EvaluationContext,
        related: Mapping[str, Any] | None = None,
        outside_rollups: Mapping[str, Any] | None = None,
        row_related: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    ) -> FormState:
        """Compute formulas, rollups and lookups, apply the rules.

        ``values`` are coerced field values; ``related`` maps a relation key
        to the related record's formula values (a dict with ``id``); and
        ``outside_rollups`` holds the rollups over other forms, which only
        the database can compute; ``row_related`` gives, per subform and
        row, the related records its row formulas read through.
        """
        state = FormState(
            values=dict(values),
            visible=dict(self._visible),
            required=dict(self._required),
            readonly=dict(self._readonly),
        )
        self._compute_values(state, context, related, outside_rollups, row_related)
        if self.rules and self._apply_set_values(state, context, related):
            self._compute_values(state, context, related, outside_rollups, row_related)
        self._apply_presentation_rules(state, context, related)
        return state

    def _compute_values(
        self,
        state: FormState,
        context: EvaluationContext,
        related: Mapping[str, Any] | None,
        outside_rollups: Mapping[str, Any] | None,
        row_related: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    ) -> None:
        values = state.values
        for sub in self.subforms:
            child_formulas = self.child_formulas[sub.key]
            if not child_formulas:
                continue
            types = self.child_types[sub.key]
            rows = [dict(row) for row in values.get(sub.key) or ()]
            loaded = (row_related or {}).get(sub.key) or ()
            for index, row in enumerate(rows):
                for child, formula in child_formulas:
                    seen = {c.key: types[c.key].formula_value(c, row.get(c.key)) for c in sub.fields}
                    if index < len(loaded):
                        seen.update(loaded[index])
                    row[child.key] = self._formula_result(state, child, types[child.key], formula, seen, context)
            values[sub.key] = rows
        for rollup in self.rollups:
            if rollup.subform is not None:
                source_rows: Sequence[Mapping[str, Any]] = values.get(rollup.subform) or ()
                column = [row.get(rollup.field) if rollup.field else 1 for row in source_rows]
                values[rollup.key] = aggregate(rollup.aggregate, column)
            elif outside_rollups is not None and rollup.key in outside_rollups:
                values[rollup.key] = outside_rollups[rollup.key]
        for lookup in self.lookups:
            record = (related or {}).get(lookup.relation)
            values[lookup.key] = record.get(lookup.field) if isinstance(record, Mapping) else None
        if self.formulas:
            seen = self.formula_values(values, related, self.formula_inputs)
            for f, formula in self.formulas:
                result = self._formula_result(state, f, self.types[f.key], formula, seen, context)
                values[f.key] = result
                seen[f.key] = self.types[f.key].formula_value(f, result) if result is not None else None

    @staticmethod
    def _formula_result(
        state: FormState,
        f: FieldDef,
        field_type: FieldType,
        formula: CompiledFormula,
        seen: Mapping[str, Any],
        context: EvaluationContext,
    ) -> Any:
        result = formula.evaluate(seen, context)
        if isinstance(result, ErrorValue):
            state.formula_errors[f.key] = result.code
            return None
        try:
            return field_type.coerce(f, result)
        except FieldValueError:
            state.formula_errors[f.key] = "#VALUE!"
            return None

    def _rule_holds(
        self,
        when: CompiledFormula,
        state: FormState,
        context: EvaluationContext,
        related: Mapping[str, Any] | None,
    ) -> bool:
        return self._holds(when, self.formula_values(state.values, related), context)

    @staticmethod
    def _holds(when: CompiledFormula, seen: Mapping[str, Any], context: EvaluationContext) -> bool:
        result = when.evaluate(seen, context)
        return result is True or (not isinstance(result, ErrorValue) and bool(result) and result != "")

    def _apply_set_values(
        self, state: FormState, context: EvaluationContext, related: Mapping[str, Any] | None
    ) -> bool:
        changed = False
        for when, actions, by_action in self.rules:
            setters = [a for a in actions if a.type == "set_value"]
            if not setters or not self._rule_holds(when, state, context, related):
                continue
            for action in setters:
                seen = self.formula_values(state.values, related)
                result = by_action[id(action)].evaluate(seen, context)
                for key in action.fields:
                    f = self.fields.get(key)
                    if f is None or isinstance(result, ErrorValue):
                        continue
                    try:
                        state.values[key] = self.types[key].coerce(f, result)
                    except FieldValueError:
                        state.formula_errors[key] = "#VALUE!"
                    changed = True
        return changed

    def _apply_presentation_rules(
        self, state: FormState, context: EvaluationContext, related: Mapping[str, Any] | None
    ) -> None:
        # Presentation rules change no value: the record is prepared for them once.
        seen = self.formula_values(state.values, related)
        for when, actions, _ in self.rules:
            if not self._holds(when, seen, context):
                continue
            for action in actions:
                self._present(state, action)

    @staticmethod
    def _present(state: FormState, action: RuleAction) -> None:
        if action.type == "error":
            state.errors.append(action.message or Label("数据不符合规则", "The record breaks a form rule"))
            return
        target = {"show": state.visible, "hide": state.visible, "required": state.required,
                  "readonly": state.readonly}.get(action.type)
        if target is None:
            return
        for key in action.fields:
            target[key] = action.type != "hide"


_CACHE: dict[tuple[int, int], tuple[weakref.ref[FormDef], CompiledForm]] = {}


def compiled_form(form: FormDef, field_types: Registry[FieldType]) -> CompiledForm:
    """The compiled form for a definition object, made once per object
    (definitions are immutable; a published change is a new object)."""
    key = (id(form), id(field_types))
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is form:
        return hit[1]
    compiled = CompiledForm(form, field_types)
    cache = _CACHE  # bound now: the callback may run at interpreter shutdown

    def forget(ref: weakref.ref[FormDef]) -> None:
        entry = cache.get(key)
        if entry is not None and entry[0] is ref:  # not a newer form that reused the id
            del cache[key]

    _CACHE[key] = (weakref.ref(form, forget), compiled)
    return compiled
