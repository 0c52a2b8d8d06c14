"""Sign-in sessions: what a browser's cookie stands for, kept on the server.

The session cookie is signed, but a signature alone cannot be taken back: a
saved cookie would keep working until it expires. So signing in starts a
session row here and the cookie carries its random key (256 bits; only the
SHA-256 is stored, like an API token). ``check_session`` is asked on every
request the cookie authenticates (the web app caches its answers briefly);
``end_session`` ends one (logout), and a new password or deactivation ends
every session of the user.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa

from engine.core.i18n import Label
from engine.org.base import SESSIONS, USERS, OrgServiceBase
from engine.org.errors import AuthenticationError
from engine.org.model import utc
from engine.org.users import DEACTIVATED

MAX_KEY_LENGTH = 200
ENDED = Label("会话已结束，请重新登录", "The session has ended; sign in again")


def session_digest(key: str) -> str:
    """What is stored of a session key: its SHA-256, in hex."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class SignInSessions(OrgServiceBase):
    """The session part of ``OrgService``."""

    def start_session(self, user_id: int, lifetime: dt.timedelta, ip: str | None = None) -> str:
        """A new session for a user who has just proved who they are: its key,
        for the cookie (kept nowhere else). Expired and ended sessions of the
        user are cleared on the way, so the table holds live sessions only."""
        key = secrets.token_urlsafe(32)
        now = self._now()
        with self._writing() as conn:
            conn.execute(SESSIONS.delete().where(
                SESSIONS.c.user_id == user_id,
                sa.or_(SESSIONS.c.expires_at <= now, SESSIONS.c.ended_at.is_not(None))))
            conn.execute(SESSIONS.insert(), {
                "id": session_digest(key), "user_id": user_id, "created_at": now,
                "expires_at": now + lifetime, "ended_at": None, "ip": ip})
        return key

    def check_session(self, key: str) -> tuple[int, dt.datetime]:
        """The user of a live session and when it expires, or
        ``AuthenticationError`` (unknown, ended or expired, deactivated user)."""
        if not key or len(key) > MAX_KEY_LENGTH:
            raise AuthenticationError(ENDED, details={"reason": "unknown"})
        query = (sa.select(SESSIONS.c.user_id, SESSIONS.c.expires_at, SESSIONS.c.ended_at, USERS.c.active)
                 .join(USERS, USERS.c.id == SESSIONS.c.user_id)
                 .where(SESSIONS.c.id == session_digest(key)))
        with self._reading() as conn:
            row = conn.execute(query).first()
        if row is None or row.ended_at is not None:
            raise AuthenticationError(ENDED, details={"reason": "ended" if row else "unknown"})
        expires_at = utc(row.expires_at)
        assert expires_at is not None
        if expires_at <= self._now():
            raise AuthenticationError(ENDED, details={"reason": "expired"})
        if not row.active:
            raise AuthenticationError(DEACTIVATED, details={"reason": "deactivated"})
        return int(row.user_id), expires_at

    def end_session(self, key: str) -> int | None:
        """End one session (logout); the id of its user, or None when it was
        not live."""
        with self._writing() as conn:
            digest = session_digest(key)
            user_id = conn.execute(sa.select(SESSIONS.c.user_id).where(
                SESSIONS.c.id == digest, SESSIONS.c.ended_at.is_(None))).scalar()
            conn.execute(SESSIONS.update().where(SESSIONS.c.id == digest, SESSIONS.c.ended_at.is_(None))
                         .values(ended_at=self._now()))
        return None if user_id is None else int(user_id)

    def end_sessions_of(self, user_id: int) -> int:
        """End every live session of a user (how many)."""
        with self._writing() as conn:
            return self._end_sessions(conn, user_id)
