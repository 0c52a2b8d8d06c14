"""An app's rules made ready to run, indexed by what they hear.

Built once per published version of the app's rules (``RuleEngine`` keeps
the index while the app definition object is the same). A record event
looks up its (form, event kind) here: usually nothing, and then it costs one
dictionary lookup. When rules are found, ``EventRules`` also says what their
conditions read together, so the event computes the record's formula values
once for all of them, and the previous values only when a condition calls
``PREVIOUS()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.core.registry import Registry
from engine.definitions.model import AppDef, FieldDef
from engine.definitions.rule_files import RuleDef
from engine.expr import CompiledFormula, compile_formula
from engine.rules.triggers import Trigger


@dataclass(frozen=True)
class PreparedRule:
    """A rule ready to run: its trigger type, condition and the fields the condition reads."""

    rule: RuleDef
    trigger: Trigger
    condition: CompiledFormula | None
    reads: tuple[str, ...]  # top-level fields the condition reads
    related: tuple[str, ...]  # relations it reads through
    fields: tuple[FieldDef, ...] = ()  # the fields of ``reads``
    # (rule key, trigger type): what a skipped run of it keeps until it is
    # written (engine.rules.deferred), shared rather than built per skip.
    skip: tuple[str, str] = ("", "")
    # Whether the trigger looks at the event beyond its kind (``matches``).
    selective: bool = True


@dataclass(frozen=True)
class EventRules:
    """The enabled rules of one (form, event kind), in definition order, and
    what their conditions read: the union of their fields and whether any
    calls ``PREVIOUS()``."""

    rules: tuple[PreparedRule, ...]
    fields: tuple[FieldDef, ...]
    previous: bool


@dataclass
class RuleIndex:
    """An app's enabled rules, by (form, event kind), and every rule by key."""

    app: AppDef
    by_event: dict[tuple[str, str], EventRules] = field(default_factory=dict)
    by_key: dict[str, PreparedRule] = field(default_factory=dict)


def build_index(app: AppDef, triggers: Registry[Trigger]) -> RuleIndex:
    """Every rule of ``app`` prepared (its condition compiled once here)."""
    index = RuleIndex(app)
    hearing: dict[tuple[str, str], list[PreparedRule]] = {}
    for rule in app.rules:
        prepared = prepare(app, rule, triggers)
        index.by_key[rule.key] = prepared
        if rule.enabled:
            for kind in prepared.trigger.events:
                hearing.setdefault((rule.form, kind), []).append(prepared)
    index.by_event = {key: _event_rules(items) for key, items in hearing.items()}
    return index


def prepare(app: AppDef, rule: RuleDef, triggers: Registry[Trigger]) -> PreparedRule:
    condition = compile_formula(rule.condition) if rule.condition else None
    form = app.form(rule.form)
    roots = sorted(condition.roots) if condition is not None else []
    reads = tuple(k for k in roots if form is not None and form.field(k) is not None)
    related = tuple(k for k in reads if form is not None and form.get_field(k).setting("target")
                    and any(n.startswith(k + ".") for n in condition.names)) if condition else ()
    fields = tuple(form.get_field(k) for k in reads) if form is not None else ()
    trigger = triggers.get(rule.trigger.type)
    return PreparedRule(rule, trigger, condition, reads, related, fields, (rule.key, rule.trigger.type),
                        type(trigger).matches is not Trigger.matches)


def _event_rules(items: list[PreparedRule]) -> EventRules:
    fields: dict[str, FieldDef] = {}
    for item in items:
        for f in item.fields:
            fields.setdefault(f.key, f)
    previous = any(item.condition is not None and "PREVIOUS" in item.condition.functions for item in items)
    return EventRules(tuple(items), tuple(fields.values()), previous)
