"""Who is asking, for every request: bearer tokens and session users to a
``Principal`` and the ``AppAccess`` the record service checks.

``OrgService`` reads the organization tables for each question; an API
client asking 500 times a second would ask them 500 times a second the same
thing. So answers are kept for ``ttl`` seconds (by the app's clock): a token
that is revoked, or a role that is taken away, stops working within that
time in every process — and at once in the process that did it, which calls
``forget``. Expiry is checked on the token's own moment, never cached past it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from dataclasses import dataclass

from engine.core.clock import Clock
from engine.org.permissions import Role, parse_role
from engine.org.principal import Principal
from engine.org.service import OrgService
from engine.records.access import AppAccess


@dataclass(frozen=True)
class Identity:
    """The signed-in user of a request, and how they signed in (``token`` or ``session``)."""

    user_id: int
    principal: Principal
    via: str


class Identities:
    """Tokens to users and users to principals and app access, briefly cached."""

    def __init__(self, org: OrgService, clock: Clock, ttl: float = 5.0, max_entries: int = 10_000) -> None:
        self.org = org
        self.clock = clock
        self.ttl = dt.timedelta(seconds=ttl)
        self.max_entries = max_entries
        self._tokens: dict[str, tuple[int, dt.datetime]] = {}
        self._principals: dict[tuple[int, str | None], tuple[Principal, AppAccess | None, dt.datetime]] = {}
        self._lock = threading.Lock()

    def _fresh(self, until: dt.datetime) -> bool:
        return self.clock.now() < until

    def _trim(self, cache: dict[object, object]) -> None:
        while len(cache) > self.max_entries:
            cache.pop(next(iter(cache)))

    # --- tokens -------------------------------------------------------------------
    def user_for_token(self, plaintext: str, ip: str | None) -> int:
        """The user of a bearer token (``AuthenticationError`` when it is not good)."""
        key = hashlib.sha256(plaintext.encode("utf-8")).hexdigest()
        cached = self._tokens.get(key)
        if cached is not None and self._fresh(cached[1]):
            return cached[0]
        user_id, expires_at = self.org.check_token(plaintext, ip)
        if not self.ttl:
            return user_id
        until = self.clock.now() + self.ttl
        if expires_at is not None:
            until = min(until, expires_at)  # never kept past the token's own expiry
        with self._lock:
            self._tokens[key] = (user_id, until)
            self._trim(self._tokens)  # type: ignore[arg-type]
        return user_id

    def forget_token(self, plaintext: str | None = None) -> None:
        """Forget one token (or every token): the next use is verified again."""
        with self._lock:
            if plaintext is None:
                self._tokens.clear()
            else:
                self._tokens.pop(hashlib.sha256(plaintext.encode("utf-8")).hexdigest(), None)

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
        """Forget what is known of a user (or of everyone), and their tokens."""
        with self._lock:
            if user_id is None:
                self._principals.clear()
                self._tokens.clear()
                return
            for entry in [k for k in self._principals if k[0] == user_id]:
                del self._principals[entry]
            for digest in [k for k, (uid, _) in self._tokens.items() if uid == user_id]:
                del self._tokens[digest]
