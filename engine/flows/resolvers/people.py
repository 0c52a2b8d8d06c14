"""Resolvers that name people directly: members by login, a role's holders,
the submitter, a member field of the record, and the people the submitter
chose (自选)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.actions.people import ids_of, record_field
from engine.core.i18n import Label
from engine.definitions.issues import Path
from engine.flows.base import FlowChecker, ResolveContext, Resolver
from engine.org.base import DEPARTMENTS, MEMBERSHIPS, ROLE_DEPARTMENTS, ROLE_MEMBERS, ROLES, USERS
from engine.org.users import normalize_login

MEMBER_TYPES = ("member",)


# Built once (resolving runs on every node a flow enters).
ACTIVE = sa.select(USERS.c.id).where(USERS.c.id.in_(sa.bindparam("ids", expanding=True)),
                                     USERS.c.active.is_(True))
BY_LOGIN = sa.select(USERS.c.login, USERS.c.id).where(
    USERS.c.login.in_(sa.bindparam("logins", expanding=True)), USERS.c.active.is_(True))


def _role_holders() -> sa.Select[Any]:
    """The active holders of the role ``key`` names in ``app`` (within an app
    a key names one role: the app's own, or one of every app), directly or
    as members of a department it was given to or of one below: one query,
    the tree walked down in the database."""
    role = (sa.select(ROLES.c.id)
            .where(ROLES.c.key == sa.bindparam("key"),
                   sa.or_(ROLES.c.app.is_(None), ROLES.c.app == sa.bindparam("app")))
            .order_by(ROLES.c.app.is_(None)).limit(1).scalar_subquery())
    granted = (sa.select(ROLE_DEPARTMENTS.c.department_id.label("id"))
               .where(ROLE_DEPARTMENTS.c.role_id == role).cte("granted", recursive=True))
    # UNION, not UNION ALL: a cycle in stored data ends when nothing new is found.
    granted = granted.union(sa.select(DEPARTMENTS.c.id).join_from(
        DEPARTMENTS, granted, DEPARTMENTS.c.parent_id == granted.c.id))
    direct = sa.select(ROLE_MEMBERS.c.user_id).where(ROLE_MEMBERS.c.role_id == role)
    via = sa.select(MEMBERSHIPS.c.user_id).where(MEMBERSHIPS.c.department_id.in_(sa.select(granted.c.id)))
    return (sa.select(USERS.c.id).where(USERS.c.active.is_(True),
                                        sa.or_(USERS.c.id.in_(direct), USERS.c.id.in_(via)))
            .order_by(USERS.c.id))


ROLE_HOLDERS = _role_holders()


def active_in_order(conn: Connection, ids: Iterable[int]) -> list[int]:
    """``ids`` in their order, once each, without deactivated or unknown users."""
    wanted = list(dict.fromkeys(int(i) for i in ids))
    if not wanted:
        return []
    active = set(conn.execute(ACTIVE, {"ids": wanted}).scalars())
    return [i for i in wanted if i in active]


def one_setting(name: str, description: str) -> dict[str, Any]:
    """The settings schema of a resolver with one required text setting."""
    return {"type": "object", "additionalProperties": False, "required": [name],
            "properties": {name: {"type": "string", "minLength": 1, "description": description}}}


class Members(Resolver):
    key = "members"
    label = Label("指定成员", "Specific members")
    description = Label("按登录名指定的成员，按书写顺序", "Members named by login, in the order written")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False, "required": ["users"],
        "properties": {"users": {"type": "array", "minItems": 1, "uniqueItems": True,
                                 "items": {"type": "string", "minLength": 1},
                                 "description": "Logins of the members."}},
    }

    def resolve(self, ctx: ResolveContext, settings: Mapping[str, Any]) -> list[int]:
        logins = [normalize_login(str(u)) for u in settings["users"]]
        rows = ctx.conn.execute(BY_LOGIN, {"logins": logins})
        by_login = {str(login): int(user_id) for login, user_id in rows}
        # A login nobody has (any more) names nobody, as a deactivated member does.
        return list(dict.fromkeys(by_login[login] for login in logins if login in by_login))


class RoleHolders(Resolver):
    key = "role"
    label = Label("角色", "Role")
    description = Label("持有该角色的成员（直接或通过部门），按用户编号",
                        "The members holding the role (directly or through a department), by user id")
    settings_schema: ClassVar[dict[str, Any]] = one_setting(
        "role", "The key of a role of the app or of every app.")

    def check(self, checker: FlowChecker, settings: Mapping[str, Any], path: Path) -> None:
        checker.role((*path, "role"), settings["role"])

    def resolve(self, ctx: ResolveContext, settings: Mapping[str, Any]) -> list[int]:
        # Within one app a key names one role: the app's own, or one of every app.
        # A role removed since the flow was published has no holders.
        return [int(u) for u in ctx.conn.execute(ROLE_HOLDERS, {"key": settings["role"], "app": ctx.app})
                .scalars()]


class Submitter(Resolver):
    key = "submitter"
    label = Label("发起人", "The submitter")
    description = Label("提交流程的人本人", "The person who submitted the record")
    settings_schema: ClassVar[dict[str, Any]] = {"type": "object", "additionalProperties": False}

    def resolve(self, ctx: ResolveContext, settings: Mapping[str, Any]) -> list[int]:
        return active_in_order(ctx.conn, [ctx.submitter_id] if ctx.submitter_id is not None else [])


class MemberField(Resolver):
    key = "member_field"
    label = Label("成员字段", "A member field")
    description = Label("记录中成员字段（可多选，或 owner 负责人）所选的成员",
                        "The members a member field of the record holds (several allowed; or owner)")
    settings_schema: ClassVar[dict[str, Any]] = one_setting(
        "field", "A member field of the flow's form, or owner.")

    def check(self, checker: FlowChecker, settings: Mapping[str, Any], path: Path) -> None:
        record_field(checker, (*path, "field"), settings["field"], MEMBER_TYPES)

    def resolve(self, ctx: ResolveContext, settings: Mapping[str, Any]) -> list[int]:
        return active_in_order(ctx.conn, ids_of(ctx.record.get(settings["field"])))
