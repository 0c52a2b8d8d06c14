"""Fixtures of the notification tests: a database of each kind with a few
people, a clock that stands still, and a channel registry with stand-ins for
the external channels (the real ones are the outbox's: these only need a key)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from engine.core.clock import FixedClock
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.notify.channels import Channel, Delivery, InAppChannel
from engine.org.service import OrgService
from engine.store.database import Database
from engine.store.models import OutboxMessage

START = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)


class StandIn(Channel):
    """An external channel that is only a key: the outbox holds what it would send."""

    def deliver(self, delivery: Delivery, settings: Any) -> None:
        raise AssertionError("the notifier never delivers")


def stand_in(channel_key: str, *, on: bool = True) -> Channel:
    kind = type(f"StandIn_{channel_key}", (StandIn,), {
        "key": channel_key, "label": Label(channel_key, channel_key), "default_on": on})
    return kind()


def channel_registry() -> Registry[Channel]:
    registry: Registry[Channel] = Registry("channel")
    registry.register(InAppChannel())
    registry.register(stand_in("email"))
    registry.register(stand_in("sms", on=False))
    registry.register(stand_in("dingtalk"))
    registry.register(stand_in("webhook"))
    return registry



@dataclass
class People:
    zhang: int
    li: int
    gone: int
    org: OrgService


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def people(database: Database, clock: FixedClock) -> People:
    org = OrgService(database, clock)
    zhang = org.create_user("zhang.wei", "张伟", email="zhang.wei@example.com", mobile="13800000001").id
    li = org.create_user("li.na", "李娜").id
    gone = org.create_user("gone", "离职", email="gone@example.com").id
    org.deactivate_user(gone)
    return People(zhang, li, gone, org)


def outbox(database: Database) -> list[dict[str, Any]]:
    table: Any = OutboxMessage.__table__
    with database.reading() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]

