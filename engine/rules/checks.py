"""Checks of a rule's trigger and actions by their types: the settings
against each type's JSON Schema, then the type's own ``check`` (fields and
forms that exist, formulas over the right form). The common shape was
checked by the loader (``engine.definitions.rule_files``)."""

from __future__ import annotations

from typing import Any

from engine.actions.base import ACTIONS, Action
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.field_types import FieldTypes
from engine.definitions.issues import DefinitionIssue, Path, did_you_mean, join
from engine.definitions.model import AppDef
from engine.definitions.rule_files import RuleDef, RuleFormChecker, StepDef
from engine.definitions.schema_check import make_validator, schema_errors
from engine.definitions.scope import Catalog, FormEntry
from engine.rules.triggers import TRIGGERS, Trigger


def check_rules(app: AppDef, field_types: FieldTypes, *, base: AppDef | None = None,
                triggers: Registry[Trigger] = TRIGGERS,
                actions: Registry[Action] = ACTIONS) -> list[DefinitionIssue]:
    """Every problem of ``app``'s rules' triggers and actions."""
    forms = {f.key: FormEntry(f"forms/{f.key}.yaml", f) for f in app.forms}
    if base is not None:
        for f in base.forms:
            forms.setdefault(f.key, FormEntry(f"({base.key})", f, checkable=False))
    catalog = Catalog(forms, field_types, open_world=bool(app.extends) and base is None)
    issues: list[DefinitionIssue] = []
    for rule in app.rules:
        issues.extend(check_rule(rule, catalog, triggers, actions))
    return issues


def check_rule(rule: RuleDef, catalog: Catalog, triggers: Registry[Trigger],
               actions: Registry[Action]) -> list[DefinitionIssue]:
    checker = RuleFormChecker(rule, catalog)
    check_step(checker, ("trigger",), rule.trigger, triggers, Label("触发方式", "trigger"))
    for i, step in enumerate(rule.actions):
        check_step(checker, ("actions", i), step, actions, Label("动作", "action"))
    return checker.issues


def check_step(checker: RuleFormChecker, path: Path, step: StepDef, registry: Registry[Any], noun: Label) -> None:
    """A trigger or an action at ``path``: a known type, its settings against
    the type's schema, then the type's ``check`` (a flow's automation node
    checks its actions through here too)."""
    kind = registry.find(step.type)
    if kind is None:
        checker.report((*path, "type"), join(
            Label(f"没有{noun.zh} '{step.type}'", f"there is no {noun.en} '{step.type}'"),
            did_you_mean(step.type, registry.keys())))
        return
    errors = schema_errors(make_validator(kind.settings_schema), dict(step.settings))
    for where, message in errors:
        checker.report((*path, *where), message)
    if not errors:
        kind.check(checker, step.settings, path)
