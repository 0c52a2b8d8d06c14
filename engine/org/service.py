"""``OrgService``: the organization's one entry point — users, departments,
roles, delegations, API tokens — and the ``Principal`` of a signed-in user.

Built once per process (the runtime's factory, a CLI command, a test) from
a ``Database`` and an optional ``Clock``. Every method runs in a transaction
of its own, or in the caller's (``service.within(connection)``).

Mutating methods take ``actor_id``: the user doing it, written to the audit
log and checked — managing the organization and permissions takes an active
admin (an app's own roles and owners: an admin or an owner of that app); people may change their own details, password, tokens and
delegations. ``actor_id=None`` is the system itself (the CLI, a package
install), which its caller trusts.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.org.base import MEMBERSHIPS, USERS
from engine.org.delegations import Delegations
from engine.org.departments import DepartmentIndex, DepartmentTree
from engine.org.errors import AuthenticationError
from engine.org.model import RoleInfo
from engine.org.owners import AppOwnership
from engine.org.principal import Principal
from engine.org.roles import RoleAssignments, RoleRef
from engine.org.sessions import SignInSessions
from engine.org.tokens import ApiTokens
from engine.org.users import DEACTIVATED, UserAccounts


class OrgService(UserAccounts, DepartmentTree, RoleAssignments, AppOwnership, Delegations, ApiTokens,
                 SignInSessions):
    """Users, departments, roles, delegations, tokens and sessions (see the module docstring)."""

    def principal(self, user_id: int, *, app: str | None = None) -> Principal:
        """Everything the permission checks need about a user, read once.

        - ``roles``: the keys of the roles they hold, directly or through one
          of their departments or a department above it, that apply in
          ``app`` (the app's own and those of every app). Without ``app``,
          only roles of every app: an app's roles never leak into another.
        - ``department_ids``, ``main_department_id``: their memberships;
        - ``department_tree_ids``: their departments and every one below;
        - ``subordinate_ids``: the members and heads of the departments they
          head and of every department below those, themselves excluded
          (deactivated people included: their records still belong to the team).

        A deactivated user has no principal: ``AuthenticationError``.
        """
        with self._reading() as conn:
            user = self._user_row(conn, user_id)
            if not user["active"]:
                raise AuthenticationError(DEACTIVATED, details={"reason": "deactivated"})
            index = self._index(conn)
            mine = conn.execute(sa.select(MEMBERSHIPS.c.department_id, MEMBERSHIPS.c.is_main)
                                .where(MEMBERSHIPS.c.user_id == user_id)).all()
            department_ids = {int(r.department_id) for r in mine}
            main = next((int(r.department_id) for r in mine if r.is_main), None)
            headed = index.subtree_ids(d.id for d in index.by_id.values() if d.head_id == user_id)
            subordinates = self._people_in(conn, index, headed) - {user_id}
            roles = self._held_roles(conn, user_id, self._role_sources(index, department_ids), app)
            owned = self._owned_apps(conn, user_id)
        return Principal(
            user_id=user_id, login=user["login"], name=user["name"],
            is_admin=bool(user["is_admin"]), locale=user["locale"], time_zone=user["time_zone"],
            roles=frozenset(r.key for r in roles), department_ids=frozenset(department_ids),
            main_department_id=main,
            department_tree_ids=frozenset(index.subtree_ids(department_ids)),
            subordinate_ids=frozenset(subordinates), owned_apps=frozenset(owned),
        )

    def roles_of(self, user_id: int, *, app: str | None = None) -> list[RoleInfo]:
        """The roles (with their grants) a user holds that apply in ``app`` —
        the same set as ``principal(user_id, app=app).roles``, for building
        ``engine.org.permissions`` roles from."""
        with self._reading() as conn:
            index = self._index(conn)
            department_ids = conn.execute(sa.select(MEMBERSHIPS.c.department_id)
                                          .where(MEMBERSHIPS.c.user_id == user_id)).scalars()
            sources = self._role_sources(index, {int(d) for d in department_ids})
            return self._held_roles(conn, user_id, sources, app)

    def users_with_role(self, role: RoleRef) -> set[int]:
        """The active users holding a role, directly or through a department
        (for approver resolvers and notifications)."""
        users, departments = self.role_holders(role)
        with self._reading() as conn:
            people = users | self._members_of(conn, self._index(conn).subtree_ids(departments))
            if not people:
                return set()
            active = conn.execute(sa.select(USERS.c.id).where(
                USERS.c.id.in_(sorted(people)), USERS.c.active.is_(True))).scalars()
            return {int(u) for u in active}

    @staticmethod
    def _role_sources(index: DepartmentIndex, department_ids: set[int]) -> set[int]:
        # A role given to a department reaches the departments below it.
        return department_ids | {a.id for d in department_ids for a in index.ancestors(d)}

    def _people_in(self, conn: Connection, index: DepartmentIndex, ids: set[int]) -> set[int]:
        heads = {d.head_id for i in ids if (d := index.by_id[i]).head_id is not None}
        return self._members_of(conn, ids) | {int(h) for h in heads if h is not None}

    @staticmethod
    def _members_of(conn: Connection, department_ids: set[int]) -> set[int]:
        if not department_ids:
            return set()
        rows = conn.execute(sa.select(MEMBERSHIPS.c.user_id).distinct().where(
            MEMBERSHIPS.c.department_id.in_(sorted(department_ids)))).scalars()
        return {int(u) for u in rows}


__all__ = ["OrgService"]
