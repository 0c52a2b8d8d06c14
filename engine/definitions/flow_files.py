"""``flows/*.yaml``: an app's approval flows (流程), one flow per file.

A flow is bound to a form and drawn as a tree, the way Chinese approval
designers draw it: ``nodes`` in order; a branching node (``exclusive``,
``parallel``) holds ``branches``, each with its own ``nodes`` in order. A
node's own settings (its approvers, mode, field rights, time-out ...) belong
to its type (``engine.flows.nodes``); this module keeps them as written in
``settings`` and knows only the tree.

``load_flows`` reads a package's flow files against their common shape
(``schemas/flow.schema.json``) and runs the checks that need only the
package (``engine.definitions.flow_checks``); ``engine.flows.checks`` then
checks each node and approver entry by its type, and
``engine.packages.validation`` runs both for ``qiqiao app validate`` and
for installing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path as FilePath
from typing import Any

from engine.core.i18n import Label, label
from engine.definitions.flow_checks import FlowFileChecker
from engine.definitions.form_scope import load_bound
from engine.definitions.issues import DefinitionIssue
from engine.definitions.rule_files import StepDef
from engine.definitions.scope import Catalog
from engine.definitions.serialize import label_to_dict
from engine.definitions.sources import SourceFile

SCHEMA_FILE = FilePath(__file__).with_name("schemas") / "flow.schema.json"

# The keys of a node's mapping that are the tree's, not the node type's settings.
_NODE_KEYS = ("key", "type", "label", "branches")
_BRANCH_KEYS = ("key", "label", "condition", "priority", "default", "nodes")


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


@dataclass(frozen=True)
class BranchDef:
    """One branch of an ``exclusive`` or ``parallel`` node: its nodes in
    order. An exclusive branch is taken when its ``condition`` (a formula
    over the record) holds, the lowest ``priority`` number first; the
    ``default`` branch when none holds. A parallel branch has no condition."""

    key: str
    label: Label
    nodes: tuple[NodeDef, ...] = ()
    condition: str | None = None
    priority: int = 0
    default: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "label": label_to_dict(self.label)}
        if self.condition:
            data["condition"] = self.condition
        if self.priority:
            data["priority"] = self.priority
        if self.default:
            data["default"] = True
        data["nodes"] = [n.to_dict() for n in self.nodes]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BranchDef:
        return cls(
            key=str(data["key"]), label=label(data.get("label") or data["key"]),
            nodes=tuple(NodeDef.from_dict(n) for n in data.get("nodes", ())),
            condition=data.get("condition") or None, priority=int(data.get("priority", 0)),
            default=bool(data.get("default", False)),
        )


@dataclass(frozen=True)
class NodeDef:
    """A node of the tree: its key (unique in the flow), its type (a key of
    ``engine.flows.nodes.NODE_TYPES``), its label, its type's own settings
    and, for a branching type, its branches."""

    key: str
    type: str
    label: Label
    settings: Mapping[str, Any] = field(default_factory=dict)
    branches: tuple[BranchDef, ...] = ()

    def setting(self, name: str, default: Any = None) -> Any:
        return self.settings.get(name, default)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "type": self.type, "label": label_to_dict(self.label)}
        data.update(_plain(dict(self.settings)))
        if self.branches:
            data["branches"] = [b.to_dict() for b in self.branches]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NodeDef:
        return cls(
            key=str(data["key"]), type=str(data["type"]), label=label(data.get("label") or data["key"]),
            settings={k: v for k, v in data.items() if k not in _NODE_KEYS},
            branches=tuple(BranchDef.from_dict(b) for b in data.get("branches", ())),
        )


@dataclass(frozen=True)
class FlowPlace:
    """Where a node stands in the tree: the sequence it is in (its keys in
    order), its index there, and the branching node and branch that hold
    that sequence (None at the top)."""

    node: NodeDef
    sequence: tuple[str, ...]
    index: int
    parent: str | None = None
    branch: str | None = None


@dataclass(frozen=True)
class FlowDef:
    """An approval flow over ``form``. ``trigger`` says how an instance
    starts: ``submit`` (a person presses submit), ``create`` (every new
    record) or ``condition`` (a create or change makes its formula true).
    ``version`` is the id of the published definition row (0 when read from
    a package); an instance keeps the version it started on."""

    key: str
    label: Label
    form: str
    trigger: StepDef
    nodes: tuple[NodeDef, ...]
    enabled: bool = True
    description: Label | None = None
    # Flow-wide settings as written (auto-pass policy, withdraw allowed ...).
    settings: Mapping[str, Any] = field(default_factory=dict)
    version: int = field(default=0, compare=False)
    file: str = field(default="", compare=False)

    def setting(self, name: str, default: Any = None) -> Any:
        return self.settings.get(name, default)

    def walk(self) -> Iterator[FlowPlace]:
        """Every node of the tree, depth first in drawing order."""
        yield from _walk(self.nodes, None, None)

    def places(self) -> dict[str, FlowPlace]:
        return {place.node.key: place for place in self.walk()}

    def node(self, key: str) -> NodeDef | None:
        return next((p.node for p in self.walk() if p.node.key == key), None)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"schema_version": 1, "key": self.key, "label": label_to_dict(self.label),
                                "form": self.form, "enabled": self.enabled,
                                "trigger": self.trigger.to_dict()}
        if self.description is not None:
            data["description"] = label_to_dict(self.description)
        data.update(_plain(dict(self.settings)))
        data["nodes"] = [n.to_dict() for n in self.nodes]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], file: str = "", version: int = 0) -> FlowDef:
        own = ("schema_version", "key", "label", "form", "enabled", "trigger", "description", "nodes")
        return cls(
            key=data["key"], label=label(data.get("label") or data["key"]), form=data["form"],
            trigger=StepDef.from_dict(data.get("trigger") or {"type": "submit"}),
            nodes=tuple(NodeDef.from_dict(n) for n in data.get("nodes", ())),
            enabled=bool(data.get("enabled", True)),
            description=label(data["description"]) if data.get("description") else None,
            settings={k: v for k, v in data.items() if k not in own},
            version=version, file=file or f"flows/{data['key']}.yaml",
        )


def _walk(nodes: tuple[NodeDef, ...], parent: str | None, branch: str | None) -> Iterator[FlowPlace]:
    sequence = tuple(n.key for n in nodes)
    for index, node in enumerate(nodes):
        yield FlowPlace(node, sequence, index, parent, branch)
        for b in node.branches:
            yield from _walk(b.nodes, node.key, b.key)


@cache
def flow_schema() -> dict[str, Any]:
    return dict(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def load_flows(sources: list[SourceFile], catalog: Catalog) -> tuple[tuple[FlowDef, ...], list[DefinitionIssue]]:
    """The flows of a package and every problem found in their common shape."""
    return load_bound(sources, flow_schema(), FlowDef.from_dict,
                      lambda flow: FlowFileChecker(flow, catalog).common(), Label("流程", "flow"))
