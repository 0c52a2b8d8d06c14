"""The node types of a flow (``NODE_TYPES``), registered explicitly here.

Each type gives its settings' JSON Schema (checked by ``engine.flows.checks``)
and how it runs (``RunnableNode``): ``enter`` returns ``DONE`` (go on) or
``WAIT`` (the job stays pending: the instance is suspended at the node until
an action or the worker resumes it); a branching type hears each of its
branches end (``branch_done``: True when the node is finished).
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING

from engine.core.registry import Registry
from engine.definitions.flow_files import NodeDef
from engine.flows.base import NodeType

if TYPE_CHECKING:
    from engine.flows.run import FlowRun, Job


class RunnableNode(NodeType):
    """A node type the runner can enter."""

    @abstractmethod
    def enter(self, run: FlowRun, node: NodeDef, job: Job) -> str:
        """Start the node's work: ``DONE`` (go on) or ``WAIT`` (its job stays pending)."""

    def branch_done(self, run: FlowRun, node: NodeDef, job: Job, branch: str) -> bool:
        return True

    def resume(self, run: FlowRun, node: NodeDef, job: Job) -> bool:
        """The worker woke the job (a delay's end): True when the node is finished."""
        return False


def build_node_types() -> Registry[RunnableNode]:
    from engine.flows.nodes.approval import APPROVAL_NODES
    from engine.flows.nodes.branches import BRANCH_NODES
    from engine.flows.nodes.simple import SIMPLE_NODES

    registry: Registry[RunnableNode] = Registry("node type")
    for family in (APPROVAL_NODES, BRANCH_NODES, SIMPLE_NODES):
        registry.register_all(family)
    return registry


NODE_TYPES: Registry[RunnableNode] = build_node_types()
