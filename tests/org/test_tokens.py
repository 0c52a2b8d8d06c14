"""API tokens: shown once, hashed at rest, expiring, revocable, their use
recorded at most once a minute — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from engine.core.clock import FixedClock
from engine.core.errors import NotFoundError, PermissionDenied, ValidationError
from engine.org.errors import AuthenticationError
from engine.org.service import OrgService
from engine.org.tokens import token_digest
from engine.store.database import Database
from engine.store.models import ApiToken, AuditEntry
from tests.org.conftest import START, audit_rows


def every_stored_text(database: Database) -> str:
    with database.reading() as conn:
        rows = [*conn.execute(sa.select(ApiToken)), *conn.execute(sa.select(AuditEntry))]
    return repr(rows)


def refusal(org: OrgService, plaintext: str) -> str:
    with pytest.raises(AuthenticationError) as raised:
        org.verify_token(plaintext)
    assert raised.value.code == "unauthenticated"
    return str(raised.value.details["reason"])


def test_a_token_is_shown_once_and_only_its_hash_is_kept(
    org: OrgService, database: Database,
) -> None:
    user = org.create_user("api", "API")
    plaintext, info = org.issue_token(user.id, "ERP sync")
    assert plaintext.startswith("qq_") and len(plaintext) == 46
    assert (info.user_id, info.name, info.prefix, info.created_at) == (
        user.id, "ERP sync", plaintext[:8], START)
    assert info.expires_at is None and info.revoked_at is None
    assert plaintext not in every_stored_text(database)
    assert plaintext[8:] not in every_stored_text(database)
    with database.reading() as conn:
        assert conn.execute(sa.select(ApiToken.token_hash)).scalar() == token_digest(plaintext)
    assert org.verify_token(plaintext) == user.id
    assert org.list_tokens(user.id) == [org.get_token(info.id)]
    assert "qq_" not in repr(org.list_tokens(user.id)).replace(info.prefix, "")


def test_unknown_and_malformed_tokens_are_refused(org: OrgService) -> None:
    user = org.create_user("api", "API")
    plaintext, _ = org.issue_token(user.id, "x")
    for bad in (plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B"), "qq_", "Bearer " + plaintext,
                "", "qq_" + "x" * 500):
        assert refusal(org, bad) == "unknown"


def test_expiry(org: OrgService, clock: FixedClock) -> None:
    user = org.create_user("api", "API")
    in_days, info = org.issue_token(user.id, "week", expires_in_days=7)
    assert info.expires_at == START + dt.timedelta(days=7)
    at, info2 = org.issue_token(user.id, "until", expires_at=START + dt.timedelta(hours=1))
    assert info2.expires_at == START + dt.timedelta(hours=1)
    clock.advance(dt.timedelta(minutes=59))
    assert org.verify_token(at) == org.verify_token(in_days) == user.id
    clock.advance(dt.timedelta(minutes=1))
    assert refusal(org, at) == "expired"
    clock.advance(dt.timedelta(days=7))
    assert refusal(org, in_days) == "expired"
    with pytest.raises(AuthenticationError) as raised:
        org.verify_token(in_days)
    assert (str(raised.value), raised.value.text("zh")) == ("The token has expired", "令牌已过期")


def test_bad_expiries_are_refused(org: OrgService) -> None:
    user = org.create_user("api", "API")
    for kwargs in ({"expires_in_days": 0}, {"expires_at": START - dt.timedelta(seconds=1)},
                   {"expires_in_days": 1, "expires_at": START + dt.timedelta(days=1)}):
        with pytest.raises(ValidationError):
            org.issue_token(user.id, "x", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        org.issue_token(user.id, "  ")


def test_revocation(org: OrgService, database: Database, clock: FixedClock) -> None:
    admin = org.create_user("root", "Root", is_admin=True)
    user = org.create_user("api", "API")
    other = org.create_user("other", "Other")
    plaintext, info = org.issue_token(user.id, "x", actor_id=user.id)
    with pytest.raises(PermissionDenied):
        org.revoke_token(info.id, actor_id=other.id)
    assert org.verify_token(plaintext) == user.id
    clock.advance(dt.timedelta(seconds=5))
    revoked = org.revoke_token(info.id, actor_id=admin.id)
    assert revoked.revoked_at == START + dt.timedelta(seconds=5)
    assert refusal(org, plaintext) == "revoked"
    clock.advance(dt.timedelta(seconds=5))
    assert org.revoke_token(info.id, actor_id=user.id).revoked_at == revoked.revoked_at
    assert [e["action"] for e in audit_rows(database, form="_auth")] == [
        "token_create", "token_use", "token_revoke"]
    with pytest.raises(NotFoundError):
        org.revoke_token(999)


def test_people_issue_their_own_tokens_only(org: OrgService) -> None:
    me = org.create_user("me1", "Me")
    other = org.create_user("other", "Other")
    org.issue_token(me.id, "mine", actor_id=me.id)
    with pytest.raises(PermissionDenied):
        org.issue_token(other.id, "theirs", actor_id=me.id)


def test_a_deactivated_users_tokens_stop_working(org: OrgService) -> None:
    user = org.create_user("api", "API")
    plaintext, _ = org.issue_token(user.id, "x")
    org.deactivate_user(user.id)
    assert refusal(org, plaintext) == "deactivated"
    org.activate_user(user.id)
    assert org.verify_token(plaintext) == user.id


def test_use_is_recorded_at_most_once_a_minute(
    org: OrgService, database: Database, clock: FixedClock,
) -> None:
    user = org.create_user("api", "API")
    plaintext, info = org.issue_token(user.id, "x")
    for _ in range(5):
        org.verify_token(plaintext, ip="10.0.0.1")
    clock.advance(dt.timedelta(seconds=59))
    org.verify_token(plaintext, ip="10.0.0.2")
    used = org.get_token(info.id)
    assert (used.last_used_at, used.last_used_ip) == (START, "10.0.0.1")
    clock.advance(dt.timedelta(seconds=1))
    org.verify_token(plaintext, ip="10.0.0.3")
    used = org.get_token(info.id)
    assert (used.last_used_at, used.last_used_ip) == (START + dt.timedelta(minutes=1), "10.0.0.3")
    entries = audit_rows(database, action="token_use")
    assert [(e["user_id"], e["record_id"], e["ip"], e["source"]) for e in entries] == [
        (user.id, info.id, "10.0.0.1", "api"), (user.id, info.id, "10.0.0.3", "api")]
