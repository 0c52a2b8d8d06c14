"""App owners: the users who manage one app without administering the whole
system. An owner of an app may do in it what an admin may: read and change
every record of every form (no scope, no hidden field), create and change the
app's own roles and give them to people and departments, and name other
owners. Roles of every app, people, departments and the admin flag stay with
admins. So an owner can never reach beyond their app: the rights they can
give are rights they already have there.

Naming an owner and taking one away are ``permission_change`` entries in the
audit log, with who did it.
"""

from __future__ import annotations

from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.errors import NotFoundError
from engine.core.i18n import Message
from engine.org.base import APP_OWNERS, OrgServiceBase
from engine.store.models import App

APPS = cast(sa.Table, App.__table__)
OWNERS_FORM = "_app_owners"
NO_APP = Message("应用 {app} 未安装", "The app {app} is not installed")


class AppOwnership(OrgServiceBase):
    """Who owns which app."""

    def app_owners(self, app: str) -> set[int]:
        """The users who own ``app``."""
        with self._reading() as conn:
            self._app_row(conn, app)
            return {int(r.user_id) for r in conn.execute(
                sa.select(APP_OWNERS.c.user_id).where(APP_OWNERS.c.app == app))}

    def owned_apps(self, user_id: int) -> set[str]:
        """The apps ``user_id`` owns."""
        with self._reading() as conn:
            return self._owned_apps(conn, user_id)

    def _owned_apps(self, conn: Connection, user_id: int) -> set[str]:
        return {str(r.app) for r in conn.execute(
            sa.select(APP_OWNERS.c.app).where(APP_OWNERS.c.user_id == user_id))}

    def add_app_owner(self, app: str, user_id: int, *, actor_id: int | None = None) -> bool:
        """Make ``user_id`` an owner of ``app``; False when they were one already.
        An admin or an owner of the app may."""
        return self._own(app, user_id, True, actor_id)

    def remove_app_owner(self, app: str, user_id: int, *, actor_id: int | None = None) -> bool:
        """Stop ``user_id`` owning ``app``; False when they did not."""
        return self._own(app, user_id, False, actor_id)

    def _own(self, app: str, user_id: int, give: bool, actor_id: int | None) -> bool:
        with self._writing() as conn:
            self._app_row(conn, app)
            self._require_manager(conn, actor_id, app)
            self._user_row(conn, user_id)
            where = (APP_OWNERS.c.app == app, APP_OWNERS.c.user_id == user_id)
            if bool(conn.execute(sa.select(sa.exists().where(*where))).scalar()) == give:
                return False
            if give:
                conn.execute(APP_OWNERS.insert(), {"app": app, "user_id": user_id})
            else:
                conn.execute(APP_OWNERS.delete().where(*where))
            self._audit(conn, "permission_change", form=OWNERS_FORM, user_id=actor_id, record_id=user_id,
                        changes={"app": app, "user_id": user_id, "owner": give})
            return True

    def _app_row(self, conn: Connection, app: str) -> None:
        if conn.execute(sa.select(APPS.c.key).where(APPS.c.key == app)).first() is None:
            raise NotFoundError(NO_APP.format(app=app), details={"app": app})
