"""What a flow file's schema cannot check and the package alone can: the
form, unique keys, a well-formed tree whose every branch can be taken,
formulas over the form's fields, field rights naming real fields.

``FlowFileChecker`` runs those common checks (``common``) and offers the
questions a node type's or an approver resolver's ``check`` asks (the
``FlowChecker`` protocol of ``engine.flows.base``); ``engine.flows.checks``
adds the roles and the checks by type. Problems are reported at their JSON
path in the flow's file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from engine.core.i18n import Label
from engine.definitions.form_scope import FormScopeChecker
from engine.definitions.issues import DefinitionIssue, Path, json_path
from engine.definitions.scope import Catalog
from engine.expr import CompiledFormula, FormulaError
from engine.expr.syntax import parse

if TYPE_CHECKING:
    from engine.definitions.flow_files import BranchDef, FlowDef, NodeDef

# Where a task action sends an instance back ("return to the start / the
# previous node"): a node may not take these keys.
RESERVED_KEYS = ("start", "previous")
# The node type whose branches are chosen by their conditions (the others'
# branches all run). Reachability is a property of the tree, so the tree
# checks need to know this one key of the node type registry.
CONDITIONAL = "exclusive"
# The node type that ends the flow where it stands: nothing after it in its
# sequence can be reached.
END = "end"


def node_paths(flow: FlowDef) -> Iterator[tuple[NodeDef, Path]]:
    """Every node of the flow with its JSON path in the file, depth first in drawing order."""
    def walk(nodes: tuple[NodeDef, ...], prefix: Path) -> Iterator[tuple[NodeDef, Path]]:
        for i, node in enumerate(nodes):
            path: Path = (*prefix, "nodes", i)
            yield node, path
            for b, branch in enumerate(node.branches):
                yield from walk(branch.nodes, (*path, "branches", b))
    return walk(flow.nodes, ())


class FlowFileChecker(FormScopeChecker):
    """Checks of a flow against its form (``common``), and the questions
    the checks by type ask: a form and a field that exist, a formula over
    the flow's form."""

    def __init__(self, flow: FlowDef, catalog: Catalog) -> None:
        super().__init__(flow.file, flow.form, catalog)
        self.flow = flow

    def role(self, path: Path, key: str) -> None:
        """The package's roles are known one layer up (``engine.flows.checks``)."""
        return None

    # --- the common checks ------------------------------------------------------------
    def common(self) -> list[DefinitionIssue]:
        if not self.own_form():
            self._keys()
            return self.issues
        if self.flow.trigger.type == "condition":
            self.formula(("trigger", "condition"), str(self.flow.trigger.setting("condition", "")))
        self._keys()
        self._after_end(self.flow.nodes, ())
        for node, path in node_paths(self.flow):
            self._rights(node, path)
            if node.branches:
                self._branches(node, path)
        return self.issues

    def _after_end(self, nodes: tuple[NodeDef, ...], prefix: Path) -> None:
        """No node follows an ``end`` in its sequence: it would never be reached."""
        ended: int | None = None
        for i, node in enumerate(nodes):
            if ended is not None:
                at = json_path((*prefix, "nodes", ended))
                self.report((*prefix, "nodes", i), Label(f"流程在 {at} 结束，此节点永远不会到达",
                                                         f"the flow ends at {at}: this node is never reached"))
                break
            if node.type == END:
                ended = i
            for b, branch in enumerate(node.branches):
                self._after_end(branch.nodes, (*prefix, "nodes", i, "branches", b))

    def _keys(self) -> None:
        """Node and branch keys are one namespace: a task, an event or a
        "return to" names either, and must name exactly one."""
        seen: dict[str, Path] = {}
        for node, path in node_paths(self.flow):
            self._key(node.key, (*path, "key"), seen)
            for b, branch in enumerate(node.branches):
                self._key(branch.key, (*path, "branches", b, "key"), seen)

    def _key(self, key: str, path: Path, seen: dict[str, Path]) -> None:
        if key in RESERVED_KEYS:
            self.report(path, Label(f"'{key}' 是保留字（退回到发起人/上一节点），不能作为节点的键",
                                    f"'{key}' is reserved (return to the start / the previous node): "
                                    "a node cannot take it"))
        elif key in seen:
            self.report(path, Label(f"键 '{key}' 已经用在 {json_path(seen[key])}",
                                    f"the key '{key}' is already used at {json_path(seen[key])}"))
        else:
            seen[key] = path

    def _rights(self, node: NodeDef, path: Path) -> None:
        rights = node.setting("fields")
        if not isinstance(rights, Mapping) or self.form is None:
            return  # its type's schema says what is wrong with it
        for key in rights:
            self.field((*path, "fields", key), str(key))

    def _branches(self, node: NodeDef, path: Path) -> None:
        if node.type != CONDITIONAL:
            for b, branch in enumerate(node.branches):
                for name in ("condition", "default", "priority"):
                    if _written(branch, name):
                        self.report((*path, "branches", b, name), Label(
                            f"只有条件分支（{CONDITIONAL}）的分支才有 {name}",
                            f"only the branches of an {CONDITIONAL} node have a {name}"))
            return
        defaults = [b for b, branch in enumerate(node.branches) if branch.default]
        if not defaults:
            self.report((*path, "branches"), Label(
                "条件分支需要一个默认分支（default: true），在其他条件都不成立时走",
                "an exclusive node needs one default branch (default: true), taken when no condition holds"))
        for b in defaults[1:]:
            self.report((*path, "branches", b, "default"), Label(
                f"只能有一个默认分支：{json_path((*path, 'branches', defaults[0]))} 已是默认分支",
                f"there is one default branch: {json_path((*path, 'branches', defaults[0]))} already is"))
        for b, branch in enumerate(node.branches):
            where: Path = (*path, "branches", b)
            if branch.default and branch.condition:
                self.report((*where, "condition"), Label(
                    "默认分支没有条件：它在其他条件都不成立时走",
                    "the default branch has no condition: it is taken when no other holds"))
            elif not branch.default and not branch.condition:
                self.report(where, Label("分支需要条件（condition），或设为默认分支（default: true）",
                                         "a branch needs a condition, or default: true"))
        self._reachable(node, path)

    def _reachable(self, node: NodeDef, path: Path) -> None:
        """Every branch can be taken: in the order they are tried (priority,
        then as written) none repeats an earlier condition, is always false,
        or comes after one that is always true."""
        tried = sorted((b for b, branch in enumerate(node.branches) if branch.condition and not branch.default),
                       key=lambda b: (node.branches[b].priority, b))
        seen: dict[str, int] = {}
        always: int | None = None
        for b in tried:
            where: Path = (*path, "branches", b, "condition")
            text = str(node.branches[b].condition)
            if always is not None:
                self._unreachable(where, path, always)
                continue
            compiled = self.compiled(where, text)
            same = _normal(text)
            if same in seen:
                self.report(where, Label(
                    f"与 {json_path((*path, 'branches', seen[same]))} 的条件相同，此分支永远不会走",
                    f"the same condition as {json_path((*path, 'branches', seen[same]))}: "
                    "this branch is never taken"))
                continue
            seen[same] = b
            constant = _constant(compiled)
            if constant is False:
                self.report(where, Label("条件永远不成立，此分支永远不会走",
                                         "the condition never holds: this branch is never taken"))
            elif constant is True:
                always = b
        for b, branch in enumerate(node.branches):
            if branch.default and always is not None:
                self._unreachable((*path, "branches", b, "default"), path, always)

    def _unreachable(self, where: Path, path: Path, always: int) -> None:
        first = json_path((*path, "branches", always))
        self.report(where, Label(f"{first} 的条件总是成立且先判断，此分支永远不会走",
                                 f"the condition of {first} always holds and is tried first: "
                                 "this branch is never taken"))


def _written(branch: BranchDef, name: str) -> bool:
    value: Any = getattr(branch, name)
    return bool(value)


def _normal(text: str) -> str:
    """The condition's syntax tree: the same condition however it is spaced."""
    try:
        return ast.dump(parse(text)[0])
    except FormulaError:
        return text


def _constant(compiled: CompiledFormula | None) -> bool | None:
    """True or False for a condition that reads nothing (``1 > 2``, ``true``); None otherwise."""
    if compiled is None or compiled.names or compiled.functions:
        return None
    try:
        value = compiled.evaluate({})
    except Exception:  # an error value at run time is the formula's own concern
        return None
    return value if isinstance(value, bool) else None
