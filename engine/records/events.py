"""Domain events: what happened to a record, for the rule and flow engines.

The record service publishes an event for every create, update and delete
*inside* the write's transaction: a subscriber that writes (a rule's data
action) shares the transaction, and a subscriber that raises rolls the whole
write back. Anything that leaves the process (email, webhooks) must not be
done by a subscriber directly; it goes to the outbox (a later issue).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from engine.records.actor import Actor

RECORD_CREATED = "record.created"
RECORD_UPDATED = "record.updated"
RECORD_DELETED = "record.deleted"
# What the flow engine publishes about a record's approval (``detail`` holds
# ``{"flow", "instance", "node", "status"}``): rules hear them as triggers.
FLOW_SUBMITTED = "flow.submitted"
FLOW_APPROVED = "flow.approved"
FLOW_REJECTED = "flow.rejected"
FLOW_WITHDRAWN = "flow.withdrawn"
FLOW_NODE_REACHED = "flow.node_reached"


@dataclass(frozen=True)
class RecordEvent:
    """``kind`` is one of the ``RECORD_*`` names; ``changed`` the field keys whose
    value changed (every non-blank field on create); ``record`` the full record
    after the change (before it, on delete): every field, hidden ones too, and
    every system column, ``flow_status`` included; ``previous`` the full record
    before (None on create); ``source`` the channel the write came through;
    ``actor`` who wrote it and ``depth`` how many writes lie between this one
    and what a person asked for (0: theirs; 1: a rollup recompute it caused).
    A subscriber that writes passes ``actor.caused()``, so a cycle of rules
    stops at ``engine.records.actor.MAX_DEPTH``."""

    kind: str
    app: str
    form: str
    record_id: int
    changed: frozenset[str]
    record: Mapping[str, Any]
    previous: Mapping[str, Any] | None
    user_id: int | None
    connection: Connection = field(repr=False, compare=False)
    # The channel of the write (web, api, import, rule ...): rules that should
    # not fire on imports unless asked look here.
    source: str = "api"
    actor: Actor | None = field(default=None, repr=False, compare=False)
    depth: int = 0
    # A flow event's particulars (see FLOW_*); None for record events.
    detail: Mapping[str, Any] | None = None


Subscriber = Callable[[RecordEvent], None]


class EventBus:
    """An in-process publish/subscribe bus; subscribers run in subscription order."""

    def __init__(self) -> None:
        self._subscribers: list[tuple[str | None, Subscriber]] = []

    def subscribe(self, subscriber: Subscriber, kind: str | None = None) -> Callable[[], None]:
        """Call ``subscriber`` for events of ``kind`` (all kinds when None).
        Returns a function that unsubscribes."""
        entry = (kind, subscriber)
        self._subscribers.append(entry)

        def unsubscribe() -> None:
            if entry in self._subscribers:
                self._subscribers.remove(entry)

        return unsubscribe

    def publish(self, event: RecordEvent) -> None:
        for kind, subscriber in list(self._subscribers):
            if kind is None or kind == event.kind:
                subscriber(event)

    def __bool__(self) -> bool:
        return bool(self._subscribers)
