"""``rules/*.yaml``: an app's business rules (规则), one rule per file.

The definitions layer reads a rule's common shape (``schemas/rule.schema.json``)
and checks what needs only the package: the form exists, the condition is a
formula over the form's fields. A trigger's and an action's own settings
belong to their types, which live higher up (``engine.rules.triggers``,
``engine.actions``); ``engine.rules.checks`` checks those, and
``engine.packages.validation`` runs both for ``qiqiao app validate`` and
for installing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path as FilePath
from typing import Any

from engine.core.i18n import Label, label
from engine.definitions.field_checks import FieldChecker
from engine.definitions.issues import DefinitionIssue, Path, did_you_mean, join, json_path
from engine.definitions.model import FieldDef, FormDef
from engine.definitions.schema_check import make_validator, schema_errors
from engine.definitions.scope import SYSTEM_FIELDS, Catalog, FormEntry
from engine.definitions.serialize import label_to_dict
from engine.definitions.sources import SourceFile

SCHEMA_FILE = FilePath(__file__).with_name("schemas") / "rule.schema.json"


@cache
def rule_schema() -> dict[str, Any]:
    return dict(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class StepDef:
    """A trigger or an action: its type and its own settings (as written)."""

    type: str
    settings: Mapping[str, Any] = field(default_factory=dict)

    def setting(self, name: str, default: Any = None) -> Any:
        return self.settings.get(name, default)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **json.loads(json.dumps(dict(self.settings)))}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepDef:
        return cls(str(data["type"]), {k: v for k, v in data.items() if k != "type"})


@dataclass(frozen=True)
class RuleDef:
    """A rule: on ``form``, when ``trigger`` fires and ``condition`` holds,
    run ``actions`` in order. ``on_import``: also for records an import wrote."""

    key: str
    label: Label
    form: str
    trigger: StepDef
    actions: tuple[StepDef, ...]
    condition: str | None = None
    enabled: bool = True
    on_import: bool = False
    description: Label | None = None
    # The file it was read from (``rules/assign_lead.yaml``), for messages.
    file: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"schema_version": 1, "key": self.key, "label": label_to_dict(self.label),
                                "form": self.form, "enabled": self.enabled, "on_import": self.on_import,
                                "trigger": self.trigger.to_dict()}
        if self.description is not None:
            data["description"] = label_to_dict(self.description)
        if self.condition:
            data["condition"] = self.condition
        data["actions"] = [a.to_dict() for a in self.actions]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], file: str = "") -> RuleDef:
        return cls(
            key=data["key"], label=label(data.get("label") or data["key"]), form=data["form"],
            trigger=StepDef.from_dict(data["trigger"]),
            actions=tuple(StepDef.from_dict(a) for a in data.get("actions", ())),
            condition=data.get("condition") or None, enabled=bool(data.get("enabled", True)),
            on_import=bool(data.get("on_import", False)),
            description=label(data["description"]) if data.get("description") else None,
            file=file or f"rules/{data['key']}.yaml",
        )


def load_rules(sources: list[SourceFile], catalog: Catalog) -> tuple[tuple[RuleDef, ...], list[DefinitionIssue]]:
    """The rules of a package and every problem found in their common shape."""
    validator = make_validator(rule_schema())
    rules: dict[str, RuleDef] = {}
    issues: list[DefinitionIssue] = []
    for source in sources:
        errors = schema_errors(validator, source.data)
        if errors:
            issues.extend(DefinitionIssue(source.name, json_path(p), m) for p, m in errors)
            continue
        rule = RuleDef.from_dict(source.data, source.name)
        if rule.key in rules:
            issues.append(DefinitionIssue(source.name, "key", Label(
                f"规则 '{rule.key}' 已经在 {rules[rule.key].file} 中定义",
                f"rule '{rule.key}' is already defined in {rules[rule.key].file}")))
            continue
        found = RuleFormChecker(rule, catalog).common()
        issues.extend(found)
        if not found:
            rules[rule.key] = rule
    return tuple(rules.values()), issues


class RuleFormChecker:
    """Checks of a rule against its form, the ones every trigger and action
    uses: a form and a field that exist, a formula over the form's fields.
    Problems are reported at their path in the rule's file."""

    def __init__(self, rule: RuleDef, catalog: Catalog) -> None:
        self.rule = rule
        self.catalog = catalog
        self.entry = catalog.entry(rule.form)
        self.issues: list[DefinitionIssue] = []

    @property
    def form(self) -> FormDef | None:
        return self.entry.form if self.entry is not None else None

    def report(self, path: Path, message: Label) -> None:
        self.issues.append(DefinitionIssue(self.rule.file, json_path(path), message))

    def common(self) -> list[DefinitionIssue]:
        if self.entry is None:
            if not self.catalog.open_world:
                self.report(("form",), join(Label(f"没有表单 '{self.rule.form}'",
                                                  f"there is no form '{self.rule.form}'"),
                                            did_you_mean(self.rule.form, list(self.catalog.forms))))
            return self.issues
        if self.rule.condition:
            self.formula(("condition",), self.rule.condition)
        return self.issues

    def formula(self, path: Path, text: str, form: str | None = None) -> None:
        """``text`` must be a formula over ``form`` (the rule's by default)."""
        entry = self.catalog.entry(form or self.rule.form)
        if entry is None:
            return
        checker = FieldChecker(FormEntry(self.rule.file, entry.form, checkable=False), self.catalog)
        checker.formula(path, text, self.catalog.form_names(entry))
        self.issues.extend(checker.issues)

    def known_form(self, path: Path, key: str) -> FormDef | None:
        entry = self.catalog.entry(key)
        if entry is None and not self.catalog.open_world:
            self.report(path, join(Label(f"没有表单 '{key}'", f"there is no form '{key}'"),
                                   did_you_mean(key, list(self.catalog.forms))))
        return entry.form if entry is not None else None

    def field(self, path: Path, key: str, *, form: str | None = None) -> FieldDef | None:
        """``key`` must be a field of ``form`` (the rule's by default); the field, if it is one."""
        target = self.known_form(path, form or self.rule.form)
        if target is None:
            return None
        found = target.field(key)
        if found is None and key not in SYSTEM_FIELDS:
            self.report(path, join(Label(f"表单 '{target.key}' 没有字段 '{key}'",
                                         f"form '{target.key}' has no field '{key}'"),
                                   did_you_mean(key, [f.key for f in target.fields])))
        return found
