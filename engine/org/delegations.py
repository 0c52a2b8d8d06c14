"""Delegations: someone acts for another person for a while (approvals while
they are away). The flow engine asks who stands in for whom at a moment."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from engine.core.errors import NotFoundError, ValidationError
from engine.core.i18n import Label, Message
from engine.org.base import DELEGATIONS, OrgServiceBase
from engine.org.model import DelegationInfo

DELEGATIONS_FORM = "_delegations"

INVALID = Label("委托信息有误", "The delegation's details are invalid")
TO_SELF = Label("不能委托给自己", "Nobody can delegate to themselves")
ENDS_FIRST = Label("结束时间应晚于开始时间", "The end must come after the start")
NO_DELEGATION = Message("委托 {id} 不存在", "There is no delegation {id}")


class Delegations(OrgServiceBase):
    """The delegation part of ``OrgService``."""

    def _moment(self, value: dt.datetime) -> dt.datetime:
        # A naive moment is in the deployment's time zone, like the clock's.
        aware = value if value.tzinfo else value.replace(tzinfo=self.clock.tz)
        return aware.astimezone(dt.UTC)

    def add_delegation(
        self, from_user_id: int, to_user_id: int, starts_at: dt.datetime, ends_at: dt.datetime,
        note: str | None = None, *, actor_id: int | None = None,
    ) -> DelegationInfo:
        """Let ``to_user_id`` act for ``from_user_id`` from ``starts_at`` until
        ``ends_at``. People delegate their own work; an admin anyone's."""
        starts, ends = self._moment(starts_at), self._moment(ends_at)
        problems: dict[str, list[Label]] = {}
        if from_user_id == to_user_id:
            problems["to_user_id"] = [TO_SELF]
        if ends <= starts:
            problems["ends_at"] = [ENDS_FIRST]
        if problems:
            raise ValidationError(INVALID, field_errors=problems)
        values = {"from_user_id": from_user_id, "to_user_id": to_user_id, "starts_at": starts,
                  "ends_at": ends, "note": (note or "").strip() or None,
                  "created_at": self._now()}
        with self._writing() as conn:
            self._require_self_or_admin(conn, actor_id, from_user_id)
            self._user_row(conn, from_user_id)
            self._user_row(conn, to_user_id)
            new_id = conn.execute(
                DELEGATIONS.insert().returning(DELEGATIONS.c.id), values).scalar_one()
            self._audit(conn, "create", form=DELEGATIONS_FORM, user_id=actor_id,
                        record_id=int(new_id), changes={
                            "from_user_id": from_user_id, "to_user_id": to_user_id,
                            "starts_at": starts.isoformat(), "ends_at": ends.isoformat()})
            row = conn.execute(sa.select(DELEGATIONS).where(DELEGATIONS.c.id == new_id))
            return DelegationInfo.from_row(row.mappings().one())

    def active_delegations(
        self, at: dt.datetime | None = None, *, from_user_id: int | None = None,
        to_user_id: int | None = None,
    ) -> list[DelegationInfo]:
        """The delegations in force at ``at`` (default: now, by the service's
        clock), optionally only those from or to one user."""
        moment = self._moment(at) if at is not None else self._now()
        query = (sa.select(DELEGATIONS)
                 .where(DELEGATIONS.c.starts_at <= moment, DELEGATIONS.c.ends_at > moment)
                 .order_by(DELEGATIONS.c.starts_at, DELEGATIONS.c.id))
        if from_user_id is not None:
            query = query.where(DELEGATIONS.c.from_user_id == from_user_id)
        if to_user_id is not None:
            query = query.where(DELEGATIONS.c.to_user_id == to_user_id)
        with self._reading() as conn:
            return [DelegationInfo.from_row(r) for r in conn.execute(query).mappings()]

    def remove_delegation(self, delegation_id: int, *, actor_id: int | None = None) -> None:
        """Cancel a delegation (its giver or an admin)."""
        with self._writing() as conn:
            row = conn.execute(sa.select(DELEGATIONS).where(
                DELEGATIONS.c.id == delegation_id)).mappings().first()
            if row is None:
                raise NotFoundError(NO_DELEGATION.format(id=delegation_id))
            self._require_self_or_admin(conn, actor_id, int(row["from_user_id"]))
            conn.execute(DELEGATIONS.delete().where(DELEGATIONS.c.id == delegation_id))
            self._audit(conn, "delete", form=DELEGATIONS_FORM, user_id=actor_id,
                        record_id=delegation_id)
