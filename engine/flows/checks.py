"""Checks of a flow's nodes by their types: each node's type is registered,
its settings pass the type's JSON Schema, branches only where the type
branches, its approver entries pass their resolvers, an automation node's
actions pass the action registry, then the type's own ``check``. The common
shape and the tree were checked by the loader
(``engine.definitions.flow_checks``); ``engine.packages.validation`` runs
both for ``qiqiao app validate``, installing and upgrading.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.actions.base import ACTIONS, Action
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.field_types import FieldTypes
from engine.definitions.flow_checks import FlowFileChecker, node_paths
from engine.definitions.flow_files import FlowDef, NodeDef
from engine.definitions.issues import DefinitionIssue, Path, did_you_mean, join
from engine.definitions.model import AppDef
from engine.definitions.rule_files import RuleDef, RuleFormChecker, StepDef
from engine.definitions.scope import Catalog, FormEntry
from engine.flows.base import NodeType, Resolver
from engine.flows.nodes import NODE_TYPES
from engine.flows.resolvers import RESOLVERS, check_entries
from engine.rules.checks import app_flows, check_step, registered, settings_valid

# The settings of a node that list resolver entries (approvers, cc
# recipients, whom a time-out transfers to), as paths into the settings.
PEOPLE_SETTINGS: tuple[tuple[str, ...], ...] = (("approvers",), ("recipients",), ("timeout", "transfer_to"))


class FlowFormChecker(FlowFileChecker):
    """What a node type's or a resolver's ``check`` may ask (the
    ``FlowChecker`` protocol): the flow's form and fields, formulas, and the
    roles the package ships (and its base's)."""

    def __init__(self, flow: FlowDef, catalog: Catalog, roles: Iterable[str]) -> None:
        super().__init__(flow, catalog)
        self.roles = frozenset(roles)

    def role(self, path: Path, key: str) -> None:
        """Report a role key the package does not ship (roles.yaml)."""
        if key in self.roles or self.catalog.open_world:
            return
        self.report(path, join(Label(f"应用包没有角色 '{key}'（roles.yaml）",
                                     f"the package has no role '{key}' (roles.yaml)"),
                               did_you_mean(key, self.roles)))


def check_flows(app: AppDef, field_types: FieldTypes, *, base: AppDef | None = None,
                node_types: Registry[Any] = NODE_TYPES, resolvers: Registry[Resolver] = RESOLVERS,
                actions: Registry[Action] = ACTIONS) -> list[DefinitionIssue]:
    """Every problem of ``app``'s flows' nodes by their types."""
    forms = {f.key: FormEntry(f"forms/{f.key}.yaml", f) for f in app.forms}
    roles = {r.key for r in app.roles}
    if base is not None:
        for f in base.forms:
            forms.setdefault(f.key, FormEntry(f"({base.key})", f, checkable=False))
        roles |= {r.key for r in base.roles}
    catalog = Catalog(forms, field_types, open_world=bool(app.extends) and base is None,
                      flows=app_flows(app, base))
    issues: list[DefinitionIssue] = []
    for flow in app.flows:
        checker = FlowFormChecker(flow, catalog, roles)
        for node, path in node_paths(flow):
            _node(checker, node, path, node_types, resolvers, actions)
        issues.extend(checker.issues)
    # A type's own check may look at what this module checked already.
    return list(dict.fromkeys(issues))


def _node(checker: FlowFormChecker, node: NodeDef, path: Path, node_types: Registry[Any],
          resolvers: Registry[Resolver], actions: Registry[Action]) -> None:
    kind: NodeType | None = registered(checker, (*path, "type"), node.type, node_types,
                                       Label("节点类型", "node type"))
    if kind is None:
        return
    if node.branches and not kind.branching:
        checker.report((*path, "branches"), Label(f"{node.type} 节点没有分支",
                                                  f"a node of type {node.type} has no branches"))
    elif kind.branching and not node.branches:
        checker.report(path, Label(f"{node.type} 节点需要分支（branches）",
                                   f"a node of type {node.type} needs branches"))
    valid = settings_valid(checker, path, kind.settings_schema, node.settings)
    if _unknown(checker, node, path, kind) or not valid:
        return
    for setting in PEOPLE_SETTINGS:
        entries = _at(node.settings, setting)
        if isinstance(entries, list):
            check_entries(checker, entries, (*path, *setting), resolvers)
    steps = node.setting("actions")
    if isinstance(steps, list):
        _actions(checker, node, path, steps, actions)
    kind.check(checker, node, path)


def _unknown(checker: FlowFormChecker, node: NodeDef, path: Path, kind: NodeType) -> bool:
    """Report the settings the type does not name (``mdoe: all`` would
    otherwise be ignored without a word): a type's schema that lists its
    ``properties`` lists all of them unless it says ``additionalProperties``."""
    schema = kind.settings_schema
    named = schema.get("properties")
    if not isinstance(named, Mapping) or "additionalProperties" in schema:
        return False
    unknown = [name for name in node.settings if name not in named]
    for name in unknown:
        checker.report((*path, name), join(Label(f"{node.type} 节点没有设置项 '{name}'",
                                                 f"a node of type {node.type} has no setting '{name}'"),
                                           did_you_mean(name, named)))
    return bool(unknown)


def _at(settings: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = settings
    for name in path:
        value = value.get(name) if isinstance(value, Mapping) else None
    return value


def _actions(checker: FlowFormChecker, node: NodeDef, path: Path, steps: list[Any],
             actions: Registry[Action]) -> None:
    """An automation node's actions, checked as a rule's are: an action's
    check asks a rule checker, so the node stands in as a rule of the flow's
    form (its problems reported in the flow's file)."""
    good = [StepDef.from_dict(s) for s in steps if isinstance(s, Mapping) and isinstance(s.get("type"), str)]
    if len(good) != len(steps):
        return  # the node type's schema said what is wrong
    flow = checker.flow
    rule = RuleDef(key=f"{flow.key}_{node.key}", label=node.label, form=flow.form,
                   trigger=StepDef("flow"), actions=tuple(good), file=flow.file)
    as_rule = RuleFormChecker(rule, checker.catalog)
    for i, step in enumerate(good):
        check_step(as_rule, (*path, "actions", i), step, actions, Label("动作", "action"))
    checker.issues.extend(as_rule.issues)
