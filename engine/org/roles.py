"""Roles: what they are called, the grants they carry, and who holds them.

A role belongs to one app (``app``) or to every app (``app`` is None). Its
``grants`` are stored as given; ``engine.org.permissions`` reads them (the
format is in docs/permissions.md). A user holds a role directly or through a
department: a role given to a department is held by its members and by the
members of every department below it.

Within one app a role key names one role: an app's role may not reuse the key
of a role of every app, and the other way round. So ``ROLE_IN("sales")`` and
a principal's role keys are never ambiguous. Files and the command line name
a role ``key`` or ``app:key``; code may pass the role's id.

Admins manage every role; an owner of an app (``engine.org.owners``) manages
that app's own roles. Every change to what a role grants or who holds it is a
``permission_change`` in the audit log, with who made it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.errors import DefinitionError, NotFoundError, ValidationError
from engine.core.i18n import Label, Message, label
from engine.org.base import ROLE_DEPARTMENTS, ROLE_MEMBERS, ROLES, OrgServiceBase
from engine.org.model import RoleInfo
from engine.org.permissions import parse_role
from engine.org.users import KEEP, Keep

RoleRef = int | str
ROLES_FORM = "_roles"
KEY = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
APP_KEY = re.compile(r"^[a-z][a-z0-9_]{0,49}$")

INVALID = Label("角色信息有误", "The role's details are invalid")
BAD_KEY = Message("角色标识“{value}”无效：小写字母开头，只含小写字母、数字和 _",
                  "The role key \"{value}\" is invalid: a lower-case letter, then letters, digits or _")
BAD_APP = Message("应用标识“{value}”无效", "The app key \"{value}\" is invalid")
KEY_TAKEN = Message("角色“{value}”已存在", "A role \"{value}\" already exists")
KEY_SHADOWS = Message("角色标识“{value}”已被{other}使用，同一应用中角色标识必须唯一",
                      "The role key \"{value}\" is used by {other}; keys are unique within an app")
BAD_LABEL = Label("角色名称应为文字或 {zh, en}", "A role label is text or {zh, en}")
BAD_GRANTS = Label("授权应为以表单标识为键的 JSON 对象",
                   "Grants are a JSON object keyed by form key")
NO_ROLE = Message("角色“{value}”不存在", "There is no role \"{value}\"")
AMBIGUOUS = Message("多个应用都有角色“{value}”：请写成 应用:{value}",
                    "Several apps have a role \"{value}\": write app:{value}")


def _grants(grants: Mapping[str, Any] | None) -> dict[str, Any]:
    if grants is None:
        return {}
    if not isinstance(grants, Mapping) or not all(isinstance(k, str) for k in grants):
        raise ValidationError(BAD_GRANTS, field_errors={"grants": [BAD_GRANTS]})
    try:
        # A copy through JSON: what is stored is what will be read back.
        copied = json.loads(json.dumps(dict(grants)))
    except (TypeError, ValueError):
        raise ValidationError(BAD_GRANTS, field_errors={"grants": [BAD_GRANTS]}) from None
    try:
        parse_role("_check", copied)  # refuse grants the permission layer could not read
    except DefinitionError as exc:
        raise ValidationError(exc.message, field_errors={"grants": [exc.message]}) from None
    return dict(copied)


def _label(value: Any) -> dict[str, str]:
    try:
        return label(value).as_dict()
    except (ValueError, AttributeError, TypeError):
        raise ValidationError(BAD_LABEL, field_errors={"label": [BAD_LABEL]}) from None


class RoleAssignments(OrgServiceBase):
    """The role part of ``OrgService``."""

    # --- reading ---------------------------------------------------------------
    def get_role(self, role: RoleRef) -> RoleInfo:
        """A role by id, ``key`` (a role of every app, else the one app's role
        with that key) or ``app:key``."""
        with self._reading() as conn:
            return RoleInfo.from_row(self._role_row(conn, role))

    def list_roles(self, app: str | None = None) -> list[RoleInfo]:
        """Every role; with ``app``, the roles that apply in it (its own and
        those of every app)."""
        query = sa.select(ROLES).order_by(ROLES.c.app.is_not(None), ROLES.c.app, ROLES.c.key)
        if app is not None:
            query = query.where(sa.or_(ROLES.c.app.is_(None), ROLES.c.app == app))
        with self._reading() as conn:
            return [RoleInfo.from_row(r) for r in conn.execute(query).mappings()]

    def role_holders(self, role: RoleRef) -> tuple[set[int], set[int]]:
        """Who was given a role: (user ids, department ids)."""
        with self._reading() as conn:
            role_id = int(self._role_row(conn, role)["id"])
            users = conn.execute(sa.select(ROLE_MEMBERS.c.user_id)
                                 .where(ROLE_MEMBERS.c.role_id == role_id)).scalars()
            departments = conn.execute(sa.select(ROLE_DEPARTMENTS.c.department_id)
                                       .where(ROLE_DEPARTMENTS.c.role_id == role_id)).scalars()
            return {int(u) for u in users}, {int(d) for d in departments}

    def _role_row(self, conn: Connection, role: RoleRef) -> sa.RowMapping:
        if isinstance(role, int):
            query = sa.select(ROLES).where(ROLES.c.id == role)
        elif ":" in role:
            app, _, key = role.partition(":")
            query = sa.select(ROLES).where(ROLES.c.app == app.strip(), ROLES.c.key == key.strip())
        else:
            query = (sa.select(ROLES).where(ROLES.c.key == role.strip())
                     .order_by(ROLES.c.app.is_not(None)))
        rows = conn.execute(query.limit(3)).mappings().all()
        if not rows:
            raise NotFoundError(NO_ROLE.format(value=role), details={"role": role})
        if len(rows) > 1 and rows[0]["app"] is not None:
            raise ValidationError(AMBIGUOUS.format(value=role),
                                  field_errors={"role": [AMBIGUOUS.format(value=role)]})
        return rows[0]

    def _held_roles(
        self, conn: Connection, user_id: int, department_ids: Iterable[int], app: str | None,
    ) -> list[RoleInfo]:
        """The roles a user holds directly or through ``department_ids`` (their
        departments and those above them), that apply in ``app`` (None: roles
        of every app only)."""
        direct = sa.select(ROLE_MEMBERS.c.role_id).where(ROLE_MEMBERS.c.user_id == user_id)
        ids = sorted(set(department_ids))
        via = (sa.select(ROLE_DEPARTMENTS.c.role_id)
               .where(ROLE_DEPARTMENTS.c.department_id.in_(ids)))
        applies = ROLES.c.app.is_(None) if app is None else sa.or_(
            ROLES.c.app.is_(None), ROLES.c.app == app)
        query = (sa.select(ROLES).where(sa.or_(ROLES.c.id.in_(direct), ROLES.c.id.in_(via)),
                                        applies).order_by(ROLES.c.key))
        return [RoleInfo.from_row(r) for r in conn.execute(query).mappings()]

    # --- roles -------------------------------------------------------------------
    def create_role(
        self, key: str, label: Any, grants: Mapping[str, Any] | None = None,
        app: str | None = None, *, description: str | None = None, actor_id: int | None = None,
    ) -> RoleInfo:
        """Define a role (of ``app``, or of every app)."""
        key = key.strip()
        problems: dict[str, list[Label]] = {}
        if not KEY.match(key):
            problems["key"] = [BAD_KEY.format(value=key)]
        if app is not None and not APP_KEY.match(app):
            problems["app"] = [BAD_APP.format(value=app)]
        values = {"key": key, "app": app, "label": _label(label), "grants": _grants(grants),
                  "description": (description or "").strip() or None}
        with self._writing() as conn:
            self._require_manager(conn, actor_id, app)
            if not problems:
                self._check_key(conn, key, app, problems)
            if problems:
                raise ValidationError(INVALID, field_errors=problems)
            role_id = int(conn.execute(ROLES.insert().returning(ROLES.c.id), values).scalar_one())
            info = RoleInfo.from_row(self._role_row(conn, role_id))
            self._audit(conn, "permission_change", form=ROLES_FORM, user_id=actor_id,
                        record_id=role_id, changes={"role": info.ref, "created": True,
                                                    "grants": values["grants"]})
            return info

    def _check_key(
        self, conn: Connection, key: str, app: str | None, problems: dict[str, list[Label]],
    ) -> None:
        clash = conn.execute(sa.select(ROLES.c.app).where(ROLES.c.key == key).where(
            sa.true() if app is None else sa.or_(ROLES.c.app.is_(None), ROLES.c.app == app),
        ).limit(1)).first()
        if clash is None:
            return
        if clash.app == app:
            problems["key"] = [KEY_TAKEN.format(value=key if app is None else f"{app}:{key}")]
        else:
            other = f"{clash.app}:{key}" if clash.app else key
            problems["key"] = [KEY_SHADOWS.format(value=key, other=other)]

    def update_role(
        self, role: RoleRef, *, label: Any = KEEP, description: str | Keep | None = KEEP,
        actor_id: int | None = None,
    ) -> RoleInfo:
        """Rename a role or change its description (its key stays)."""
        values: dict[str, Any] = {}
        if not isinstance(label, Keep):
            values["label"] = _label(label)
        if not isinstance(description, Keep):
            values["description"] = (description or "").strip() or None
        with self._writing() as conn:
            before = self._role_row(conn, role)
            self._require_manager(conn, actor_id, before["app"])
            changes = {k: [before[k], v] for k, v in values.items() if before[k] != v}
            if changes:
                conn.execute(ROLES.update().where(ROLES.c.id == before["id"]).values(values))
                self._audit(conn, "update", form=ROLES_FORM, user_id=actor_id,
                            record_id=before["id"], changes=changes)
            return RoleInfo.from_row(self._role_row(conn, int(before["id"])))

    def update_role_grants(
        self, role: RoleRef, grants: Mapping[str, Any], *, actor_id: int | None = None,
    ) -> RoleInfo:
        """Replace what a role grants (audited with the grants before and after)."""
        stored = _grants(grants)
        with self._writing() as conn:
            before = RoleInfo.from_row(self._role_row(conn, role))
            self._require_manager(conn, actor_id, before.app)
            if before.grants != stored:
                conn.execute(ROLES.update().where(ROLES.c.id == before.id).values(grants=stored))
                self._audit(conn, "permission_change", form=ROLES_FORM, user_id=actor_id,
                            record_id=before.id,
                            changes={"role": before.ref, "grants": [before.grants, stored]})
            return RoleInfo.from_row(self._role_row(conn, before.id))

    def delete_role(self, role: RoleRef, *, actor_id: int | None = None) -> None:
        """Remove a role; whoever held it no longer does."""
        with self._writing() as conn:
            before = RoleInfo.from_row(self._role_row(conn, role))
            self._require_manager(conn, actor_id, before.app)
            conn.execute(ROLE_MEMBERS.delete().where(ROLE_MEMBERS.c.role_id == before.id))
            conn.execute(ROLE_DEPARTMENTS.delete().where(ROLE_DEPARTMENTS.c.role_id == before.id))
            conn.execute(ROLES.delete().where(ROLES.c.id == before.id))
            self._audit(conn, "permission_change", form=ROLES_FORM, user_id=actor_id,
                        record_id=before.id,
                        changes={"role": before.ref, "deleted": True, "grants": before.grants})

    # --- holders -----------------------------------------------------------------
    def assign_role(self, role: RoleRef, user_id: int, *, actor_id: int | None = None) -> bool:
        """Give a user a role; False when they held it already."""
        return self._hold(role, ROLE_MEMBERS, "user_id", user_id, True, actor_id)

    def unassign_role(self, role: RoleRef, user_id: int, *, actor_id: int | None = None) -> bool:
        """Take a role (given directly) from a user; False when they did not hold it."""
        return self._hold(role, ROLE_MEMBERS, "user_id", user_id, False, actor_id)

    def assign_role_to_department(
        self, role: RoleRef, department_id: int, *, actor_id: int | None = None,
    ) -> bool:
        """Give a role to everyone in a department and the departments below it."""
        return self._hold(role, ROLE_DEPARTMENTS, "department_id", department_id, True, actor_id)

    def unassign_role_from_department(
        self, role: RoleRef, department_id: int, *, actor_id: int | None = None,
    ) -> bool:
        return self._hold(role, ROLE_DEPARTMENTS, "department_id", department_id, False, actor_id)

    def _hold(
        self, role: RoleRef, table: sa.Table, column: str, holder: int, give: bool,
        actor_id: int | None,
    ) -> bool:
        with self._writing() as conn:
            info = RoleInfo.from_row(self._role_row(conn, role))
            self._require_manager(conn, actor_id, info.app)
            if column == "user_id":
                self._user_row(conn, holder)
            else:
                self._department_row(conn, holder)
            where = (table.c.role_id == info.id, table.c[column] == holder)
            held = conn.execute(sa.select(sa.exists().where(*where))).scalar()
            if bool(held) == give:
                return False
            if give:
                conn.execute(table.insert(), {"role_id": info.id, column: holder})
            else:
                conn.execute(table.delete().where(*where))
            self._audit(conn, "permission_change", form=ROLES_FORM, user_id=actor_id,
                        record_id=info.id,
                        changes={"role": info.ref, column: holder, "assigned": give})
            return True
