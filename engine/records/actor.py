"""Who writes, and what formulas know of them.

An ``Actor`` goes with every read and write of the record service: the user
(None for the system), the channel, the request, what they may do, and how
deep in a cascade the write is (0 for what a person or an import asked; 1
for the rollups that write caused, and so on). Formulas see the actor through
the ``EvaluationContext`` built here: ``USER("name")``, ``DEPARTMENT("name")``
and ``ROLE_IN("manager")`` read the user's row, main department and roles.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.clock import Clock
from engine.core.errors import ConflictError
from engine.core.i18n import Label
from engine.expr import EvaluationContext
from engine.records.access import AppAccess, FormPolicy
from engine.store.models import Department, User, UserDepartment

if TYPE_CHECKING:
    from engine.records.service import RecordService

# A write that causes writes that cause writes ... stops here: a rollup
# chain this long is a cycle in the definitions, not a real dependency.
MAX_DEPTH = 16

_USER = cast(sa.Table, User.__table__)
_DEPARTMENT = cast(sa.Table, Department.__table__)
_MEMBER = cast(sa.Table, UserDepartment.__table__)


@dataclass(frozen=True)
class Actor:
    """Who is writing and through what: the user (None for the system), the
    channel (``web``, ``api``, ``import``, ``rule``, ``recompute``) and, for
    HTTP, the address; ``depth`` counts the writes between this one and what
    a person asked for."""

    user_id: int | None = None
    source: str = "api"
    ip: str | None = None
    request_id: str | None = None
    # What the actor may do (None: the system itself, which may do anything).
    access: AppAccess | None = None
    depth: int = 0
    # The rule whose action this write is (``<app>.<rule>``), for the audit log.
    rule: str | None = None
    # The flow engine writing for a task's assignee: the fields the node lets
    # them change on a record an approval flow otherwise locks (None: not that).
    flow_fields: frozenset[str] | None = None

    def policy(self, service: RecordService, form_key: str) -> FormPolicy:
        return FormPolicy(service, self.access, form_key)

    def caused(self, source: str | None = None) -> Actor:
        """The actor of a write this one causes (a rollup's recompute): the
        same person and request, one level deeper."""
        if self.depth + 1 > MAX_DEPTH:
            raise ConflictError(
                Label(f"级联写入超过 {MAX_DEPTH} 层，可能存在循环依赖，未保存",
                      f"Writes caused more than {MAX_DEPTH} levels of further writes (a cycle in "
                      "the definitions?); nothing was saved"),
                details={"depth": self.depth + 1},
            )
        return dataclasses.replace(self, depth=self.depth + 1, source=source or self.source)

    @property
    def roles(self) -> frozenset[str]:
        """The keys of the roles the user holds (in this app or everywhere)."""
        if self.access is None:
            return frozenset()
        return self.access.principal.roles | {role.key for role in self.access.roles}


SYSTEM = Actor(None, "system")


def owner_problems(policy: FormPolicy, actor: Actor, before: Any, after: Any) -> list[Label]:
    """Why the actor may not move a record from owner ``before`` to ``after``
    (empty when they may). Giving a record to someone else moves it into
    their data scope, so it is a right of its own (``assign``); keeping the
    owner, or taking the record oneself, needs only the write itself."""
    if policy.unrestricted or after == before or after == actor.user_id:
        return []
    if policy.rights.allows("assign"):
        return []
    return [Label("没有分配负责人的权限：只能由自己负责",
                  "You may not give records to another owner (the assign right); "
                  "you may only make yourself the owner")]


def evaluation_context(
    conn: Connection, clock: Clock, actor: Actor, previous: Mapping[str, Any] | None = None
) -> EvaluationContext:
    """The context formulas are evaluated in for ``actor``: their user row
    (id, login, name, email, mobile), their main department (id, name, code)
    and their roles. The system has none of them."""
    if actor.user_id is None:
        return EvaluationContext(clock=clock, previous=previous)
    row = conn.execute(
        sa.select(_USER.c.id, _USER.c.login, _USER.c.name, _USER.c.email, _USER.c.mobile)
        .where(_USER.c.id == actor.user_id)
    ).mappings().first()
    user: dict[str, Any] = dict(row) if row is not None else {"id": actor.user_id}
    department = conn.execute(
        sa.select(_DEPARTMENT.c.id, _DEPARTMENT.c.name, _DEPARTMENT.c.code)
        .join(_MEMBER, _MEMBER.c.department_id == _DEPARTMENT.c.id)
        .where(_MEMBER.c.user_id == actor.user_id, _MEMBER.c.is_main)
    ).mappings().first()
    return EvaluationContext(clock=clock, user=user, previous=previous, roles=actor.roles,
                             department=dict(department) if department is not None else None)
