"""Signing in: one message for every failure, and every attempt audited —
on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
import sqlalchemy as sa

from engine.core.clock import FixedClock
from engine.org import passwords
from engine.org.errors import AuthenticationError
from engine.org.service import OrgService
from engine.store.database import Database
from engine.store.models import User
from tests.org.conftest import START, audit_rows


def test_a_good_login_is_recorded(org: OrgService, database: Database, clock: FixedClock) -> None:
    user = org.create_user("zhang", "张三", password="correct horse")
    clock.advance(dt.timedelta(hours=1))
    signed_in = org.authenticate("Zhang", "correct horse", ip="10.0.0.7")
    assert signed_in.id == user.id
    assert signed_in.last_login_at == START + dt.timedelta(hours=1)
    [entry] = audit_rows(database, action="login")
    assert (entry["user_id"], entry["form"], entry["ip"]) == (user.id, "_auth", "10.0.0.7")
    assert entry["changes"] is None


@pytest.mark.parametrize(("login", "password", "reason"), [
    ("nobody", "correct horse", "unknown_login"),
    ("zhang", "wrong horse!", "wrong_password"),
    ("nopass", "correct horse", "no_password"),
])
def test_failures_get_one_message_and_are_audited(
    org: OrgService, database: Database, login: str, password: str, reason: str,
) -> None:
    zhang = org.create_user("zhang", "张三", password="correct horse")
    nopass = org.create_user("nopass", "No password")
    with pytest.raises(AuthenticationError) as raised:
        org.authenticate(login, password, ip="203.0.113.9")
    assert (raised.value.code, str(raised.value), raised.value.text("zh")) == (
        "unauthenticated", "Wrong login or password", "登录名或密码错误")
    [entry] = audit_rows(database, action="login_failed")
    known = {"zhang": zhang.id, "nopass": nopass.id}
    assert entry["user_id"] == known.get(login)
    assert (entry["form"], entry["ip"]) == ("_auth", "203.0.113.9")
    assert entry["changes"] == {"login": login, "reason": reason}
    assert password not in str(entry)
    assert audit_rows(database, action="login") == []


def test_a_deactivated_user_is_refused(org: OrgService, database: Database) -> None:
    user = org.create_user("zhang", "张三", password="correct horse")
    org.deactivate_user(user.id)
    with pytest.raises(AuthenticationError) as raised:
        org.authenticate("zhang", "wrong horse!")
    assert str(raised.value) == "Wrong login or password"  # tells nothing without the password
    with pytest.raises(AuthenticationError) as raised:
        org.authenticate("zhang", "correct horse")
    assert str(raised.value) == "This account is deactivated"
    reasons = [e["changes"]["reason"] for e in audit_rows(database, action="login_failed")]
    assert reasons == ["wrong_password", "deactivated"]


def test_an_old_hash_is_upgraded_on_login(org: OrgService, database: Database) -> None:
    user = org.create_user("zhang", "张三")
    salt = b"s" * 16
    key = passwords._derive("correct horse", salt, 2**12, 8, 1, 32)
    old = f"scrypt$4096$8$1${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"
    with database.transaction() as conn:
        conn.execute(sa.update(User).where(User.id == user.id).values(password_hash=old))
    org.authenticate("zhang", "correct horse")
    with database.reading() as conn:
        stored = conn.execute(sa.select(User.password_hash).where(User.id == user.id)).scalar()
    assert stored != old and not passwords.needs_rehash(stored)
    assert org.authenticate("zhang", "correct horse").id == user.id
