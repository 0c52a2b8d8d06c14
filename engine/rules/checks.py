"""Checks of a rule's trigger and actions by their types: the settings
against each type's JSON Schema, then the type's own ``check`` (fields and
forms that exist, formulas over the right form). The common shape was
checked by the loader (``engine.definitions.rule_files``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from engine.actions.base import ACTIONS, Action
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.field_types import FieldTypes
from engine.definitions.form_scope import FormScopeChecker
from engine.definitions.issues import DefinitionIssue, Path, did_you_mean, join
from engine.definitions.model import AppDef
from engine.definitions.rule_files import RuleDef, RuleFormChecker, StepDef
from engine.definitions.schema_check import make_validator, schema_errors
from engine.definitions.scope import Catalog, FormEntry
from engine.rules.triggers import TRIGGERS, Trigger

T = TypeVar("T")


def check_rules(app: AppDef, field_types: FieldTypes, *, base: AppDef | None = None,
                triggers: Registry[Trigger] = TRIGGERS,
                actions: Registry[Action] = ACTIONS) -> list[DefinitionIssue]:
    """Every problem of ``app``'s rules' triggers and actions."""
    forms = {f.key: FormEntry(f"forms/{f.key}.yaml", f) for f in app.forms}
    if base is not None:
        for f in base.forms:
            forms.setdefault(f.key, FormEntry(f"({base.key})", f, checkable=False))
    catalog = Catalog(forms, field_types, open_world=bool(app.extends) and base is None,
                      flows=app_flows(app, base))
    issues: list[DefinitionIssue] = []
    for rule in app.rules:
        issues.extend(check_rule(rule, catalog, triggers, actions))
    return issues


def app_flows(app: AppDef, base: AppDef | None) -> dict[str, str]:
    """The flows a rule may name (key -> form): the app's and its base's."""
    return {f.key: f.form for source in (base, app) if source is not None for f in source.flows}


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
    kind = registered(checker, (*path, "type"), step.type, registry, noun)
    if kind is not None and settings_valid(checker, path, kind.settings_schema, step.settings):
        kind.check(checker, step.settings, path)


def registered(checker: FormScopeChecker, path: Path, key: str, registry: Registry[T], noun: Label) -> T | None:
    """The registered type ``key``; reported at ``path`` (with the closest keys) when there is none."""
    kind = registry.find(key)
    if kind is None:
        checker.report(path, join(Label(f"没有{noun.zh} '{key}'", f"there is no {noun.en} '{key}'"),
                                  did_you_mean(key, registry.keys())))
    return kind


def settings_valid(checker: FormScopeChecker, path: Path, schema: Mapping[str, Any],
                   settings: Mapping[str, Any]) -> bool:
    """Whether ``settings`` pass their type's ``schema``; each problem reported under ``path``."""
    errors = schema_errors(make_validator(schema), dict(settings))
    for where, message in errors:
        checker.report((*path, *where), message)
    return not errors
