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
from engine.definitions.form_scope import FormScopeChecker, load_bound
from engine.definitions.issues import DefinitionIssue
from engine.definitions.scope import Catalog
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
    return load_bound(sources, rule_schema(), RuleDef.from_dict,
                      lambda rule: RuleFormChecker(rule, catalog).common(), Label("规则", "rule"))


class RuleFormChecker(FormScopeChecker):
    """Checks of a rule against its form, the ones every trigger and action
    uses: a form and a field that exist, a formula over the form's fields.
    Problems are reported at their path in the rule's file."""

    def __init__(self, rule: RuleDef, catalog: Catalog) -> None:
        super().__init__(rule.file, rule.form, catalog)
        self.rule = rule

    def common(self) -> list[DefinitionIssue]:
        if self.own_form() and self.rule.condition:
            self.formula(("condition",), self.rule.condition)
        return self.issues
