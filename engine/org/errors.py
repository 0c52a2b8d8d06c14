"""Errors of the organization that the core hierarchy has no place for."""

from __future__ import annotations

from engine.core.errors import QiqiaoError


class AuthenticationError(QiqiaoError):
    """Who is asking could not be established: a wrong login or password, an
    unknown, revoked or expired token, a deactivated account (HTTP 401)."""

    code = "unauthenticated"
