"""Who takes a task when its person cannot: an away person's delegate, and
the app's admins when a node finds nobody (``when_none: admins``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.org.base import APP_OWNERS, DELEGATIONS, USERS
from engine.org.service import OrgService


def delegate(conn: Connection, org: OrgService, user_ids: Sequence[int], at: dt.datetime,
             known: Mapping[int, int | None] | None = None) -> list[tuple[int, int | None]]:
    """Who receives the tasks meant for ``user_ids`` at ``at``: (assignee,
    delegated_from) in the given order. A person with a delegation in force
    (to an active delegate) is replaced by their delegate, and so on along
    a chain (the delegate is away too); a chain that comes back to someone
    already on it stops before them. ``delegated_from`` is the person the
    task was meant for (None when they take it themselves). Two people
    delegating to one person give that person one task: the first.
    ``known``: stand-ins at ``at`` already read (a resolver's climb reads its
    heads' in passing, ``standin_of``); only the others are asked."""
    standin = _standins(conn, user_ids, moment_of(org, at), known or {})
    result: list[tuple[int, int | None]] = []
    taken: set[int] = set()
    for user_id in user_ids:
        chain = [user_id]
        while (next_one := standin.get(chain[-1])) is not None and next_one not in chain:
            chain.append(next_one)
        assignee = chain[-1]
        if assignee not in taken:
            taken.add(assignee)
            result.append((assignee, user_id if assignee != user_id else None))
    return result


def moment_of(org: OrgService, at: dt.datetime) -> dt.datetime:
    """``at`` in UTC, as delegations are stored (a naive moment is the organization's time)."""
    return (at if at.tzinfo else at.replace(tzinfo=org.clock.tz)).astimezone(dt.UTC)


def _in_force(away: Any, *, latest_first: bool = False) -> sa.Select[Any]:
    """(from, to) of the delegations ``away`` (the table or an alias) in force
    at the ``moment`` parameter to an active delegate, in the order they
    started: of two in force at once, the one that started last wins."""
    delegate_row = USERS.alias("delegate")
    started = (away.c.starts_at, away.c.id)
    return (sa.select(away.c.from_user_id, away.c.to_user_id)
            .join_from(away, delegate_row, delegate_row.c.id == away.c.to_user_id)
            .where(away.c.starts_at <= sa.bindparam("moment"), away.c.ends_at > sa.bindparam("moment"),
                   delegate_row.c.active.is_(True))
            .order_by(*(c.desc() for c in started) if latest_first else started))


def standin_of(user: sa.ColumnElement[Any]) -> sa.ScalarSelect[Any]:
    """``user``'s delegate in force at the ``moment`` parameter, as
    ``STANDINS`` picks it, or NULL: a column a query naming people adds, so
    that ``delegate`` need not ask again for them."""
    away = DELEGATIONS.alias("away")
    return (_in_force(away, latest_first=True).where(away.c.from_user_id == user)
            .with_only_columns(away.c.to_user_id).limit(1).scalar_subquery())


# Built once: every task a flow creates asks it (the last one read wins).
STANDINS = _in_force(DELEGATIONS).where(DELEGATIONS.c.from_user_id.in_(sa.bindparam("people", expanding=True)))


def _standins(conn: Connection, user_ids: Sequence[int], moment: dt.datetime,
              known: Mapping[int, int | None]) -> dict[int, int]:
    # One query per link of the longest chain not known already (usually none: nobody is away).
    standin: dict[int, int] = {k: v for k, v in known.items() if v is not None}
    asked: set[int] = set(known)
    pending = (set(user_ids) | set(standin.values())) - asked
    while pending:
        asked |= pending
        rows = conn.execute(STANDINS, {"people": sorted(pending), "moment": moment})
        for from_id, to_id in rows:
            standin[int(from_id)] = int(to_id)
        pending = set(standin.values()) - asked
    return standin


def app_admins(conn: Connection, app: str) -> list[int]:
    """The active owners of ``app`` (by user id), then the active system
    admins (by user id), no one twice: who gets a node's tasks when it
    finds nobody and says ``when_none: admins``."""
    owners = conn.execute(
        sa.select(USERS.c.id).join_from(APP_OWNERS, USERS, USERS.c.id == APP_OWNERS.c.user_id)
        .where(APP_OWNERS.c.app == app, USERS.c.active.is_(True)).order_by(USERS.c.id)).scalars()
    admins = conn.execute(sa.select(USERS.c.id).where(
        USERS.c.is_admin.is_(True), USERS.c.active.is_(True)).order_by(USERS.c.id)).scalars()
    return list(dict.fromkeys([*(int(o) for o in owners), *(int(a) for a in admins)]))
