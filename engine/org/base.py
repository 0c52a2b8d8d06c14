"""What every part of the organization service shares: the database and
clock, transactions (its own, or the caller's), the audit log, and the
admin check.

``OrgService`` is put together from one class per concept (users,
departments, roles, delegations, tokens), each a subclass of
``OrgServiceBase``, so that each concept reads in one file.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.clock import Clock, SystemClock
from engine.core.errors import ConflictError, NotFoundError, PermissionDenied
from engine.core.i18n import Label, Message
from engine.store.database import Database
from engine.store.models import (
    ApiToken,
    AppOwner,
    AuditEntry,
    Delegation,
    Department,
    Role,
    RoleDepartment,
    RoleMember,
    SignInSession,
    User,
    UserDepartment,
)

USERS = cast(sa.Table, User.__table__)
DEPARTMENTS = cast(sa.Table, Department.__table__)
MEMBERSHIPS = cast(sa.Table, UserDepartment.__table__)
ROLES = cast(sa.Table, Role.__table__)
ROLE_MEMBERS = cast(sa.Table, RoleMember.__table__)
ROLE_DEPARTMENTS = cast(sa.Table, RoleDepartment.__table__)
DELEGATIONS = cast(sa.Table, Delegation.__table__)
TOKENS = cast(sa.Table, ApiToken.__table__)
AUDIT = cast(sa.Table, AuditEntry.__table__)
APP_OWNERS = cast(sa.Table, AppOwner.__table__)
SESSIONS = cast(sa.Table, SignInSession.__table__)

# Audit entries of the organization: ``app`` is this, ``form`` names what
# changed (``_auth`` for sign-ins and token use).
AUDIT_APP = "_org"
AUTH_FORM = "_auth"

NO_USER = Message("用户 {id} 不存在", "There is no user {id}")
NO_DEPARTMENT = Message("部门 {id} 不存在", "There is no department {id}")
ADMINS_ONLY = Label("只有管理员可以管理组织和权限",
                    "Only an admin can manage the organization and permissions")
ADMINS_OR_OWNERS = Message("只有管理员或应用 {app} 的负责人可以管理它的角色",
                           "Only an admin or an owner of the app {app} can manage its roles")
SELF_OR_ADMIN = Label("只能管理自己的账号，除非是管理员",
                      "Only an admin can do this for another user")
CONFLICT = Label("与已有数据冲突", "This conflicts with existing data")


class OrgServiceBase:
    """The shared state of ``OrgService``: see ``engine.org.service``."""

    def __init__(
        self, database: Database, clock: Clock | None = None, *,
        connection: Connection | None = None,
    ) -> None:
        self.database = database
        self.clock: Clock = clock or SystemClock()
        self._connection = connection

    def within(self, connection: Connection) -> Self:
        """This service, running its operations in the caller's transaction on
        ``connection`` (each in a savepoint, so a failed one leaves nothing
        behind) instead of one transaction of its own each."""
        bound = copy.copy(self)
        bound._connection = connection
        return bound

    # --- transactions ----------------------------------------------------------
    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        try:
            if self._connection is not None:
                with self._connection.begin_nested():
                    yield self._connection
            else:
                with self.database.transaction() as connection:
                    yield connection
        except sa.exc.IntegrityError as exc:
            # The checks before each write make this a lost race with another writer.
            raise ConflictError(CONFLICT, details={"reason": str(exc.orig)[:300]}) from None

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        if self._connection is not None:
            yield self._connection
        else:
            with self.database.reading() as connection:
                yield connection

    def _now(self) -> dt.datetime:
        # Stored in UTC: SQLite keeps no offset, so a local time would read back wrong.
        return self.clock.now().astimezone(dt.UTC)

    # --- audit -----------------------------------------------------------------
    def _audit(
        self, conn: Connection, action: str, *, form: str, user_id: int | None,
        record_id: int | None = None, changes: dict[str, Any] | None = None,
        ip: str | None = None, source: str | None = None,
    ) -> None:
        conn.execute(AUDIT.insert(), {
            "at": self._now(), "user_id": user_id, "app": AUDIT_APP, "form": form,
            "record_id": record_id, "action": action, "changes": changes,
            "source": source or "org", "request_id": None, "ip": ip,
        })

    def _end_sessions(self, conn: Connection, user_id: int) -> int:
        """End every live sign-in session of a user (a new password, deactivation)."""
        return int(conn.execute(SESSIONS.update().where(
            SESSIONS.c.user_id == user_id, SESSIONS.c.ended_at.is_(None))
            .values(ended_at=self._now())).rowcount)

    # --- who may -----------------------------------------------------------------
    def _user_row(self, conn: Connection, user_id: int) -> sa.RowMapping:
        row = conn.execute(sa.select(USERS).where(USERS.c.id == user_id)).mappings().first()
        if row is None:
            raise NotFoundError(NO_USER.format(id=user_id), details={"user_id": user_id})
        return row

    def _department_row(self, conn: Connection, department_id: int) -> sa.RowMapping:
        row = conn.execute(
            sa.select(DEPARTMENTS).where(DEPARTMENTS.c.id == department_id)).mappings().first()
        if row is None:
            raise NotFoundError(NO_DEPARTMENT.format(id=department_id),
                                details={"department_id": department_id})
        return row

    def _is_admin(self, conn: Connection, user_id: int) -> bool:
        row = conn.execute(
            sa.select(USERS.c.is_admin, USERS.c.active).where(USERS.c.id == user_id)
        ).first()
        return row is not None and bool(row.is_admin) and bool(row.active)

    def _require_admin(self, conn: Connection, actor_id: int | None) -> None:
        # No actor is the system itself (the CLI, a package install), trusted by its caller.
        if actor_id is not None and not self._is_admin(conn, actor_id):
            raise PermissionDenied(ADMINS_ONLY, details={"actor_id": actor_id})

    def _owns_app(self, conn: Connection, user_id: int, app: str) -> bool:
        return conn.execute(sa.select(sa.exists().where(
            APP_OWNERS.c.app == app, APP_OWNERS.c.user_id == user_id,
            USERS.c.id == APP_OWNERS.c.user_id, USERS.c.active.is_(True),
        ))).scalar() is True

    def _require_manager(self, conn: Connection, actor_id: int | None, app: str | None) -> None:
        """An admin, or for one app's roles and owners, an owner of that app."""
        if actor_id is None or self._is_admin(conn, actor_id):
            return
        if app is None or not self._owns_app(conn, actor_id, app):
            raise PermissionDenied(ADMINS_ONLY if app is None else ADMINS_OR_OWNERS.format(app=app),
                                   details={"actor_id": actor_id, "app": app})

    def _require_self_or_admin(self, conn: Connection, actor_id: int | None, user_id: int) -> None:
        if actor_id is not None and actor_id != user_id and not self._is_admin(conn, actor_id):
            raise PermissionDenied(SELF_OR_ADMIN, details={"actor_id": actor_id})

    def ensure_admin(self, actor_id: int | None) -> None:
        """Raise ``PermissionDenied`` unless ``actor_id`` is an active admin (or
        None: the system)."""
        with self._reading() as conn:
            self._require_admin(conn, actor_id)
