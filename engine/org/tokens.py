"""API tokens: for integrations, sent as ``Authorization: Bearer qq_...``.

A token is ``qq_`` and 43 random URL-safe characters (256 bits), shown once
when it is issued. Only its SHA-256 is kept (a token has enough entropy that
a slow hash adds nothing), with its first 8 characters so people can tell
their tokens apart. A token can expire and can be revoked; it stops working
when its user is deactivated.

Using a token records when and from where it was last used, and writes a
``token_use`` audit entry — at most once per token per minute
(``USE_RECORD_INTERVAL``), so an API client making many calls does not
write on every request or flood the audit log. The update is conditional,
so several web processes still write once per minute between them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa

from engine.core.errors import NotFoundError, ValidationError
from engine.core.i18n import Label, Message
from engine.org.base import AUTH_FORM, TOKENS, USERS, OrgServiceBase
from engine.org.errors import AuthenticationError
from engine.org.model import TokenInfo, utc

TOKEN_PREFIX = "qq_"
PREFIX_LENGTH = 8
MAX_TOKEN_LENGTH = 200
USE_RECORD_INTERVAL = dt.timedelta(minutes=1)

INVALID = Label("令牌信息有误", "The token's details are invalid")
NAME_REQUIRED = Label("令牌名称不能为空（最多 100 个字符）", "A token needs a name (at most 100 characters)")
BAD_EXPIRY = Label("有效期应为正数天数或将来的时间，二者选一",
                   "Give either a positive number of days or a moment in the future")
UNKNOWN = Label("令牌无效", "The token is not valid")
REVOKED = Label("令牌已被撤销", "The token was revoked")
EXPIRED = Label("令牌已过期", "The token has expired")
DEACTIVATED = Label("令牌所属账号已停用", "The token's account is deactivated")
NAIVE_EXPIRY = Label("有效期须带时区（如 2027-01-01T00:00:00+08:00 或 …Z）",
                     "The expiry needs a time zone (like 2027-01-01T00:00:00+08:00 or ...Z)")
OUTLIVES = Message("新令牌不能比创建它的令牌更晚过期（{until}）",
                   "A token cannot outlive the token that made it (which expires {until})")
NO_TOKEN = Message("令牌 {id} 不存在", "There is no token {id}")


def token_digest(plaintext: str) -> str:
    """What is stored of a token: its SHA-256, in hex."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


class ApiTokens(OrgServiceBase):
    """The token part of ``OrgService``."""

    def issue_token(
        self, user_id: int, name: str, *, expires_in_days: int | None = None,
        expires_at: dt.datetime | None = None, actor_id: int | None = None,
        not_after: dt.datetime | None = None,
    ) -> tuple[str, TokenInfo]:
        """A new token for a user: ``(plaintext, record)``. The plaintext is
        not kept anywhere; show it to the user now. People issue their own
        tokens; an admin anyone's. ``expires_at`` must name its time zone.

        ``not_after`` is the expiry of the credential asking (a token issued
        with a token): the new token may not outlive it, so a one-day token
        cannot mint a token for a century. Without an expiry of its own the
        new token gets ``not_after``."""
        name = name.strip()
        problems: dict[str, list[Label]] = {}
        if not name or len(name) > 100:
            problems["name"] = [NAME_REQUIRED]
        now = self._now()
        expiry: dt.datetime | None = None
        if expires_in_days is not None and expires_at is not None:
            problems["expires_at"] = [BAD_EXPIRY]
        elif expires_in_days is not None:
            if expires_in_days <= 0:
                problems["expires_in_days"] = [BAD_EXPIRY]
            else:
                expiry = now + dt.timedelta(days=expires_in_days)
        elif expires_at is not None:
            if expires_at.tzinfo is None or expires_at.utcoffset() is None:
                problems["expires_at"] = [NAIVE_EXPIRY]
            else:
                expiry = expires_at.astimezone(dt.UTC)
                if expiry <= now:
                    problems["expires_at"] = [BAD_EXPIRY]
        if not_after is not None and not problems:
            limit = not_after.astimezone(dt.UTC)
            if expiry is None:
                expiry = limit
            elif expiry > limit:
                key = "expires_at" if expires_at is not None else "expires_in_days"
                problems[key] = [OUTLIVES.format(until=limit.isoformat(timespec="seconds"))]
        if problems:
            raise ValidationError(INVALID, field_errors=problems)
        plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
        values = {"user_id": user_id, "name": name, "prefix": plaintext[:PREFIX_LENGTH],
                  "token_hash": token_digest(plaintext), "created_at": now,
                  "expires_at": expiry}
        with self._writing() as conn:
            self._require_self_or_admin(conn, actor_id, user_id)
            self._user_row(conn, user_id)
            token_id = int(conn.execute(
                TOKENS.insert().returning(TOKENS.c.id), values).scalar_one())
            self._audit(conn, "token_create", form=AUTH_FORM, user_id=actor_id,
                        record_id=token_id, changes={
                            "user_id": user_id, "name": name, "prefix": values["prefix"],
                            "expires_at": expiry.isoformat() if expiry else None})
            row = conn.execute(sa.select(TOKENS).where(TOKENS.c.id == token_id)).mappings().one()
            return plaintext, TokenInfo.from_row(row)

    def verify_token(self, plaintext: str, ip: str | None = None) -> int:
        """The id of the user a token belongs to, or ``AuthenticationError``
        (unknown, revoked, expired, or the user is deactivated; ``details``
        has the ``reason``). Called on every API request: one indexed read,
        and a write at most once a minute per token."""
        return self.check_token(plaintext, ip)[0]

    def check_token(self, plaintext: str, ip: str | None = None) -> tuple[int, dt.datetime | None]:
        """``verify_token``, with the token's expiry: (user id, expires at or None)."""
        if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > MAX_TOKEN_LENGTH:
            raise AuthenticationError(UNKNOWN, details={"reason": "unknown"})
        query = (sa.select(TOKENS.c.id, TOKENS.c.user_id, TOKENS.c.expires_at,
                           TOKENS.c.revoked_at, TOKENS.c.last_used_at, USERS.c.active)
                 .join(USERS, USERS.c.id == TOKENS.c.user_id)
                 .where(TOKENS.c.token_hash == token_digest(plaintext)))
        with self._reading() as conn:
            row = conn.execute(query).first()
        now = self._now()
        if row is None:
            raise AuthenticationError(UNKNOWN, details={"reason": "unknown"})
        expires_at, last_used_at = utc(row.expires_at), utc(row.last_used_at)
        if row.revoked_at is not None:
            raise AuthenticationError(REVOKED, details={"reason": "revoked"})
        if expires_at is not None and expires_at <= now:
            raise AuthenticationError(EXPIRED, details={"reason": "expired"})
        if not row.active:
            raise AuthenticationError(DEACTIVATED, details={"reason": "deactivated"})
        if last_used_at is None or now - last_used_at >= USE_RECORD_INTERVAL:
            self._record_use(int(row.id), int(row.user_id), now, ip)
        return int(row.user_id), expires_at

    def _record_use(self, token_id: int, user_id: int, now: dt.datetime, ip: str | None) -> None:
        due = sa.or_(TOKENS.c.last_used_at.is_(None),
                     TOKENS.c.last_used_at <= now - USE_RECORD_INTERVAL)
        with self._writing() as conn:
            updated = conn.execute(TOKENS.update().where(TOKENS.c.id == token_id, due)
                                   .values(last_used_at=now, last_used_ip=ip)).rowcount
            if updated:
                self._audit(conn, "token_use", form=AUTH_FORM, user_id=user_id,
                            record_id=token_id, ip=ip, source="api")

    def list_tokens(self, user_id: int) -> list[TokenInfo]:
        """A user's tokens, newest first, revoked and expired ones included."""
        query = (sa.select(TOKENS).where(TOKENS.c.user_id == user_id)
                 .order_by(TOKENS.c.created_at.desc(), TOKENS.c.id.desc()))
        with self._reading() as conn:
            return [TokenInfo.from_row(r) for r in conn.execute(query).mappings()]

    def get_token(self, token_id: int) -> TokenInfo:
        with self._reading() as conn:
            row = conn.execute(sa.select(TOKENS).where(TOKENS.c.id == token_id)).mappings().first()
        if row is None:
            raise NotFoundError(NO_TOKEN.format(id=token_id), details={"token_id": token_id})
        return TokenInfo.from_row(row)

    def revoke_token(self, token_id: int, actor_id: int | None = None) -> TokenInfo:
        """Stop a token working, from now on (its owner or an admin; revoking
        twice keeps the first moment)."""
        with self._writing() as conn:
            row = conn.execute(sa.select(TOKENS).where(TOKENS.c.id == token_id)).mappings().first()
            if row is None:
                raise NotFoundError(NO_TOKEN.format(id=token_id), details={"token_id": token_id})
            self._require_self_or_admin(conn, actor_id, int(row["user_id"]))
            if row["revoked_at"] is None:
                conn.execute(TOKENS.update().where(TOKENS.c.id == token_id)
                             .values(revoked_at=self._now()))
                self._audit(conn, "token_revoke", form=AUTH_FORM, user_id=actor_id,
                            record_id=token_id, changes={"user_id": row["user_id"],
                                                         "prefix": row["prefix"]})
            fresh = conn.execute(sa.select(TOKENS).where(TOKENS.c.id == token_id)).mappings()
            return TokenInfo.from_row(fresh.one())
