"""The two registries a flow is made of, and what their checks may ask.

A ``NodeType`` is one kind of node (approval, handle, cc, exclusive,
parallel, automation, delay, end): its settings' JSON Schema, its ``check``
for what a schema cannot see, and how it runs (``engine.flows.nodes``). A
``Resolver`` turns one entry of a node's ``approvers`` list into people, in
order (``engine.flows.resolvers``). Both are registered explicitly in one
place (``build_node_types``, ``build_resolvers``), never by import side
effects.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy.engine import Connection

from engine.core.i18n import Label
from engine.definitions.flow_files import FlowDef, NodeDef
from engine.definitions.issues import Path
from engine.definitions.model import FieldDef, FormDef

if TYPE_CHECKING:
    from engine.org.service import OrgService


class FlowChecker(Protocol):
    """What a node type's or a resolver's ``check`` may ask
    (``engine.flows.checks.FlowFormChecker``); problems are reported at their
    path in the flow's file."""

    flow: FlowDef

    @property
    def form(self) -> FormDef | None: ...

    def report(self, path: Path, message: Label) -> None: ...

    def formula(self, path: Path, text: str, form: str | None = None) -> None: ...

    def known_form(self, path: Path, key: str) -> FormDef | None: ...

    def field(self, path: Path, key: str, *, form: str | None = None) -> FieldDef | None: ...

    def role(self, path: Path, key: str) -> None:
        """Report a role key the package (and the organization) does not know."""


class NodeType(ABC):
    """One kind of node. ``settings_schema`` is the JSON Schema of the node's
    own mapping in the flow file (without ``key``, ``type``, ``label`` and
    ``branches``); ``branching`` types hold branches; ``tasks`` types wait for
    people (approval, handle) and so carry field rights and time-outs."""

    key: ClassVar[str]
    label: ClassVar[Label]
    description: ClassVar[Label]
    settings_schema: ClassVar[dict[str, Any]] = {"type": "object"}
    branching: ClassVar[bool] = False
    tasks: ClassVar[bool] = False

    def check(self, checker: FlowChecker, node: NodeDef, path: Path) -> None:
        """Report what the schema cannot see (fields, formulas, approvers);
        most types have nothing more to check."""
        return None


@dataclass(frozen=True)
class ResolveContext:
    """What a resolver may read: the transaction, the organization, the flow
    and node being entered, the record as stored, who submitted, the people
    the submitter chose for this node (for ``chosen``) and the moment.
    ``standins``: the delegates in force at ``now`` a resolver read in
    passing (user id: delegate, None for nobody), so that the tasks' delegation
    asks only about the others (shared by a run's nodes)."""

    conn: Connection
    org: OrgService
    app: str
    flow: FlowDef
    node: NodeDef
    record: Mapping[str, Any]
    submitter_id: int | None
    now: dt.datetime
    chosen: Sequence[int] = field(default=())
    standins: dict[int, int | None] = field(default_factory=dict)


class Resolver(ABC):
    """One way of naming approvers (``{"type": "<key>", ...settings}`` in a
    node's ``approvers`` list). ``resolve`` gives user ids in order (the
    order matters for multi-level heads and sequential approval), never the
    same person twice; an empty list is "nobody found" (the node's
    ``when_none`` decides). ``choosable`` resolvers ask the submitter
    (``candidates`` is the allowed set they choose from)."""

    key: ClassVar[str]
    label: ClassVar[Label]
    description: ClassVar[Label]
    settings_schema: ClassVar[dict[str, Any]] = {"type": "object"}
    choosable: ClassVar[bool] = False
    # The people it names approve one after another whatever the node's mode
    # says (multi-level heads), as DingTalk's 连续多级主管 do.
    sequential: ClassVar[bool] = False

    def check(self, checker: FlowChecker, settings: Mapping[str, Any], path: Path) -> None:
        """Report what the schema cannot see (a role or a field that does not exist)."""
        return None

    @abstractmethod
    def resolve(self, ctx: ResolveContext, settings: Mapping[str, Any]) -> list[int]: ...

    def candidates(self, ctx: ResolveContext, settings: Mapping[str, Any]) -> list[int]:
        """Whom the submitter may choose from (choosable resolvers only)."""
        return []
