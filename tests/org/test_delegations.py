"""Delegations: who acts for whom, at a moment — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.core.clock import FixedClock
from engine.core.errors import PermissionDenied, ValidationError
from engine.org.service import OrgService
from tests.org.conftest import START


def test_active_delegations_at_a_moment(org: OrgService, clock: FixedClock) -> None:
    boss = org.create_user("boss", "Boss")
    deputy = org.create_user("deputy", "Deputy")
    other = org.create_user("other", "Other")
    week = org.add_delegation(boss.id, deputy.id, START, START + dt.timedelta(days=7), "休假",
                              actor_id=boss.id)
    later = org.add_delegation(boss.id, other.id, START + dt.timedelta(days=7),
                               START + dt.timedelta(days=8))
    assert (week.note, week.starts_at, week.created_at) == ("休假", START, START)
    assert org.active_delegations() == [week]
    assert org.active_delegations(to_user_id=other.id) == []
    clock.advance(dt.timedelta(days=7))
    assert org.active_delegations(from_user_id=boss.id) == [later]
    assert org.active_delegations(START + dt.timedelta(days=1)) == [week]
    # A naive moment is in the clock's time zone (Asia/Shanghai, UTC+8).
    assert org.active_delegations(dt.datetime(2026, 5, 20, 17, 0)) == [week]
    assert org.active_delegations(dt.datetime(2026, 5, 20, 16, 59)) == []
    org.remove_delegation(later.id)
    assert org.active_delegations() == []


def test_delegations_are_checked(org: OrgService) -> None:
    boss = org.create_user("boss", "Boss")
    deputy = org.create_user("deputy", "Deputy")
    with pytest.raises(ValidationError) as raised:
        org.add_delegation(boss.id, boss.id, START, START)
    assert set(raised.value.field_errors) == {"to_user_id", "ends_at"}
    with pytest.raises(PermissionDenied):
        org.add_delegation(boss.id, deputy.id, START, START + dt.timedelta(days=1),
                           actor_id=deputy.id)
