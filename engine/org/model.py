"""What the organization service hands out: plain, frozen records of users,
departments, memberships, roles, delegations and tokens.

Timestamps are aware UTC moments on both databases. A user record never
carries the password hash, a token record never the token.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.core.i18n import Label, label


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """``value`` as an aware UTC moment (SQLite reads timestamps back naive, in UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _utc(value: Any) -> dt.datetime:
    moment = utc(value)
    assert moment is not None
    return moment


@dataclass(frozen=True)
class UserInfo:
    """A user as the organization sees them."""

    id: int
    login: str
    name: str
    email: str | None = None
    mobile: str | None = None
    active: bool = True
    locale: str = "zh"
    time_zone: str | None = None  # an IANA zone; None: the deployment's
    is_admin: bool = False
    has_password: bool = False
    created_at: dt.datetime | None = None
    last_login_at: dt.datetime | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> UserInfo:
        return cls(
            id=int(row["id"]), login=row["login"], name=row["name"], email=row["email"],
            mobile=row["mobile"], active=bool(row["active"]), locale=row["locale"],
            time_zone=row["time_zone"], is_admin=bool(row["is_admin"]), has_password=row["password_hash"] is not None,
            created_at=utc(row["created_at"]), last_login_at=utc(row["last_login_at"]),
        )


@dataclass(frozen=True)
class DepartmentInfo:
    """A department: its place in the tree, its head, code and order among siblings."""

    id: int
    name: str
    parent_id: int | None = None
    head_id: int | None = None
    code: str | None = None
    sort: int = 0

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> DepartmentInfo:
        return cls(
            id=int(row["id"]), name=row["name"], parent_id=row["parent_id"],
            head_id=row["head_id"], code=row["code"], sort=int(row["sort"]),
        )


@dataclass(frozen=True)
class Membership:
    """A user in a department, with their position there."""

    user_id: int
    department_id: int
    is_main: bool = False
    position: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> Membership:
        return cls(
            user_id=int(row["user_id"]), department_id=int(row["department_id"]),
            is_main=bool(row["is_main"]), position=row["position"],
        )


@dataclass(frozen=True)
class RoleInfo:
    """A role of one app (``app``) or of every app (``app is None``), and the
    grants the permission layer reads."""

    id: int
    key: str
    label: Label
    app: str | None = None
    description: str | None = None
    grants: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        """How a role is named in files and on the command line: ``key`` or ``app:key``."""
        return self.key if self.app is None else f"{self.app}:{self.key}"

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> RoleInfo:
        return cls(
            id=int(row["id"]), key=row["key"], label=label(row["label"]), app=row["app"],
            description=row["description"], grants=dict(row["grants"] or {}),
        )


@dataclass(frozen=True)
class DelegationInfo:
    """``to_user_id`` acts for ``from_user_id`` from ``starts_at`` until ``ends_at`` (excluded)."""

    id: int
    from_user_id: int
    to_user_id: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    note: str | None = None
    created_at: dt.datetime | None = None

    def active_at(self, moment: dt.datetime) -> bool:
        return self.starts_at <= moment < self.ends_at

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> DelegationInfo:
        return cls(
            id=int(row["id"]), from_user_id=int(row["from_user_id"]),
            to_user_id=int(row["to_user_id"]), starts_at=_utc(row["starts_at"]),
            ends_at=_utc(row["ends_at"]), note=row["note"], created_at=utc(row["created_at"]),
        )


@dataclass(frozen=True)
class TokenInfo:
    """An API token as it can be shown again: its name and prefix, never the token."""

    id: int
    user_id: int
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None
    last_used_ip: str | None = None

    def usable_at(self, moment: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or moment < self.expires_at)

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> TokenInfo:
        return cls(
            id=int(row["id"]), user_id=int(row["user_id"]), name=row["name"],
            prefix=row["prefix"], created_at=_utc(row["created_at"]),
            expires_at=utc(row["expires_at"]), revoked_at=utc(row["revoked_at"]),
            last_used_at=utc(row["last_used_at"]), last_used_ip=row["last_used_ip"],
        )
