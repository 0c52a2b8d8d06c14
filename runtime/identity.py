"""Who is asking, for every request: bearer tokens and sign-in sessions to a
``Principal`` and the ``AppAccess`` the record service checks.

``OrgService`` reads the organization tables for each question; an API
client asking 500 times a second would ask them 500 times a second the same
thing. So answers are kept for ``ttl`` seconds (by the app's clock): a token
that is revoked, or a role that is taken away, stops working within that
time in every process — and at once in the process that did it, which calls
``forget`` (a logout, a revoked token). Expiry is checked on the token's own moment, never cached past it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass

from engine.core.clock import Clock
from engine.org.permissions import Role, parse_role
from engine.org.principal import Principal
from engine.org.service import OrgService
from engine.records.access import AppAccess


@dataclass(frozen=True)
class Identity:
    """The signed-in user of a request, how they signed in (``token`` or
    ``session``), and when that credential expires (None: never)."""

    user_id: int
    principal: Principal
    via: str
    expires_at: dt.datetime | None = None


Check = Callable[[], tuple[int, dt.datetime | None]]


class Identities:
    """Tokens and sessions to users, and users to principals and app access, briefly cached."""

    def __init__(self, org: OrgService, clock: Clock, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self.org = org
        self.clock = clock
        self.ttl = dt.timedelta(seconds=ttl)
        self.max_entries = max_entries
        # credential digest -> (user id, the credential's expiry, cached until)
        self._credentials: dict[str, tuple[int, dt.datetime | None, dt.datetime]] = {}
        self._principals: dict[tuple[int, str | None], tuple[Principal, AppAccess | None, dt.datetime]] = {}
        self._lock = threading.Lock()

    def _fresh(self, until: dt.datetime) -> bool:
        return self.clock.now() < until

    def _trim(self, cache: dict[object, object]) -> None:
        while len(cache) > self.max_entries:
            cache.pop(next(iter(cache)))

    # --- tokens and sessions -----------------------------------------------------------
    def user_for_token(self, plaintext: str, ip: str | None) -> tuple[int, dt.datetime | None]:
        """The user of a bearer token and its expiry (``AuthenticationError``
        when it is not good)."""
        return self._credential("token", plaintext, lambda: self.org.check_token(plaintext, ip))

    def user_for_session(self, key: str) -> tuple[int, dt.datetime | None]:
        """The user of a sign-in session and its expiry (``AuthenticationError``
        when it has ended)."""
        return self._credential("session", key, lambda: self.org.check_session(key))

    def _credential(self, kind: str, secret: str, check: Check) -> tuple[int, dt.datetime | None]:
        key = _digest(kind, secret)
        cached = self._credentials.get(key)
        if cached is not None and self._fresh(cached[2]):
            return cached[0], cached[1]
        user_id, expires_at = check()
        if not self.ttl:
            return user_id, expires_at
        until = self.clock.now() + self.ttl
        if expires_at is not None:
            until = min(until, expires_at)  # never kept past the credential's own expiry
        with self._lock:
            self._credentials[key] = (user_id, expires_at, until)
            self._trim(self._credentials)  # type: ignore[arg-type]
        return user_id, expires_at

    def forget_token(self, plaintext: str | None = None) -> None:
        """Forget one token (or every token and session): the next use is verified again."""
        self._forget("token", plaintext)

    def forget_session(self, key: str) -> None:
        """Forget one session: its next use is verified again (after logout)."""
        self._forget("session", key)

    def _forget(self, kind: str, secret: str | None) -> None:
        with self._lock:
            if secret is None:
                self._credentials.clear()
            else:
                self._credentials.pop(_digest(kind, secret), None)

    # --- principals ------------------------------------------------------------------
    def principal(self, user_id: int, app: str | None = None) -> Principal:
        return self._entry(user_id, app)[0]

    def access(self, user_id: int, app: str) -> AppAccess:
        """The principal in ``app`` with the roles they hold there."""
        access = self._entry(user_id, app)[1]
        assert access is not None
        return access

    def _entry(self, user_id: int, app: str | None) -> tuple[Principal, AppAccess | None, dt.datetime]:
        key = (user_id, app)
        cached = self._principals.get(key)
        if cached is not None and self._fresh(cached[2]):
            return cached
        principal = self.org.principal(user_id, app=app)
        access: AppAccess | None = None
        if app is not None:
            roles: list[Role] = [parse_role(r.key, r.grants, r.label)
                                 for r in self.org.roles_of(user_id, app=app)]
            access = AppAccess(principal, tuple(roles), app=app)
        entry = (principal, access, self.clock.now() + self.ttl)
        if not self.ttl:
            return entry
        with self._lock:
            self._principals[key] = entry
            self._trim(self._principals)  # type: ignore[arg-type]
        return entry

    def forget_user(self, user_id: int | None = None) -> None:
        """Forget what is known of a user (or of everyone), and their tokens and sessions."""
        with self._lock:
            if user_id is None:
                self._principals.clear()
                self._credentials.clear()
                return
            for entry in [k for k in self._principals if k[0] == user_id]:
                del self._principals[entry]
            for digest in [k for k, entry in self._credentials.items() if entry[0] == user_id]:
                del self._credentials[digest]


def _digest(kind: str, secret: str) -> str:
    return kind + ":" + hashlib.sha256(secret.encode("utf-8")).hexdigest()
