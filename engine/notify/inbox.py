"""A member's notification centre and channel choices.

``Inbox`` is what the header bell, the notification centre page and
``/api/v1/notifications`` call. Everything is about one user, the reader:
another user's notification is not found, never forbidden (its existence is
none of their business).

The unread count runs on every page, so it is one count over the
``(user_id, read_at, id)`` index; lists page by id, newest first (``before``
is the last id of the previous page), so a page costs the same however
many notifications a user has.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from engine.core.clock import Clock
from engine.core.errors import NotFoundError, ValidationError
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.notify.channels import CHANNELS, Channel
from engine.notify.notifier import NOTIFICATIONS, PREFS, personal_channels
from engine.store.database import Database

MAX_PAGE = 200


def utc(moment: dt.datetime | None) -> dt.datetime | None:
    """An aware UTC moment (SQLite reads timestamps back naive, in UTC)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


@dataclass(frozen=True)
class NotificationInfo:
    """One entry of a user's notification centre."""

    id: int
    title: str
    body: str | None
    app: str | None
    form: str | None
    record_id: int | None
    link: str | None
    source: str | None
    created_at: dt.datetime
    read_at: dt.datetime | None

    @classmethod
    def of(cls, row: Any) -> NotificationInfo:
        created = utc(row.created_at)
        assert created is not None
        return cls(id=int(row.id), title=row.title, body=row.body, app=row.app, form=row.form,
                   record_id=row.record_id, link=row.link, source=row.source, created_at=created,
                   read_at=utc(row.read_at))

    @property
    def unread(self) -> bool:
        return self.read_at is None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "body": self.body, "app": self.app, "form": self.form,
                "record_id": self.record_id, "link": self.link, "source": self.source,
                "created_at": self.created_at, "read_at": self.read_at}


@dataclass(frozen=True)
class ChannelChoice:
    """Whether a user receives a channel, and whether that is their own choice."""

    key: str
    label: Label
    enabled: bool
    chosen: bool

    def as_json(self) -> dict[str, Any]:
        return {"channel": self.key, "label": self.label.as_dict(), "enabled": self.enabled,
                "default": not self.chosen}


def not_found(what: Label, item_id: int) -> NotFoundError:
    return NotFoundError(Label(f"{what.zh} {item_id} 不存在", f"There is no {what.en} {item_id}"),
                         details={"id": item_id})


NOTIFICATION = Label("通知", "notification")


class Inbox:
    """One user's notifications and channel choices."""

    def __init__(self, database: Database, clock: Clock, *, channels: Registry[Channel] = CHANNELS) -> None:
        self.database = database
        self.clock = clock
        self.channels = channels

    def _now(self) -> dt.datetime:
        return self.clock.now().astimezone(dt.UTC)

    # --- notifications -----------------------------------------------------------------
    def unread_count(self, user_id: int, conn: Connection | None = None) -> int:
        query = (sa.select(sa.func.count()).select_from(NOTIFICATIONS)
                 .where(NOTIFICATIONS.c.user_id == user_id, NOTIFICATIONS.c.read_at.is_(None)))
        if conn is not None:
            return int(conn.execute(query).scalar_one())
        with self.database.reading() as reading:
            return int(reading.execute(query).scalar_one())

    def notifications(self, user_id: int, *, unread_only: bool = False, limit: int = 50,
                      before: int | None = None) -> list[NotificationInfo]:
        """Newest first; ``before`` is the last id of the previous page."""
        query = (sa.select(NOTIFICATIONS).where(NOTIFICATIONS.c.user_id == user_id)
                 .order_by(NOTIFICATIONS.c.id.desc()).limit(max(1, min(limit, MAX_PAGE))))
        if unread_only:
            query = query.where(NOTIFICATIONS.c.read_at.is_(None))
        if before is not None:
            query = query.where(NOTIFICATIONS.c.id < before)
        with self.database.reading() as conn:
            return [NotificationInfo.of(row) for row in conn.execute(query)]

    def get(self, user_id: int, notification_id: int) -> NotificationInfo:
        with self.database.reading() as conn:
            row = conn.execute(sa.select(NOTIFICATIONS).where(
                NOTIFICATIONS.c.id == notification_id, NOTIFICATIONS.c.user_id == user_id)).first()
        if row is None:
            raise not_found(NOTIFICATION, notification_id)
        return NotificationInfo.of(row)

    def mark_read(self, user_id: int, notification_id: int) -> NotificationInfo:
        """Read now (a notification read before keeps its first reading time)."""
        mine = (NOTIFICATIONS.c.id == notification_id) & (NOTIFICATIONS.c.user_id == user_id)
        with self.database.transaction() as conn:
            conn.execute(NOTIFICATIONS.update().where(mine, NOTIFICATIONS.c.read_at.is_(None))
                         .values(read_at=self._now()))
            row = conn.execute(sa.select(NOTIFICATIONS).where(mine)).first()
        if row is None:
            raise not_found(NOTIFICATION, notification_id)
        return NotificationInfo.of(row)

    def mark_all_read(self, user_id: int) -> int:
        """Every unread notification of the user read now; how many there were."""
        with self.database.transaction() as conn:
            done = conn.execute(NOTIFICATIONS.update().where(
                NOTIFICATIONS.c.user_id == user_id, NOTIFICATIONS.c.read_at.is_(None)).values(read_at=self._now()))
        return int(done.rowcount or 0)

    # --- channel choices -----------------------------------------------------------------
    def preferences(self, user_id: int) -> list[ChannelChoice]:
        """Each channel the user may choose, whether they receive it, and
        whether that is their choice or the channel's default."""
        with self.database.reading() as conn:
            chosen = {str(r.channel): bool(r.enabled) for r in conn.execute(
                sa.select(PREFS.c.channel, PREFS.c.enabled).where(PREFS.c.user_id == user_id))}
        return [ChannelChoice(c.key, c.label, chosen.get(c.key, c.default_on), c.key in chosen)
                for c in personal_channels(self.channels)]

    def set_preferences(self, user_id: int, choices: Mapping[str, Any]) -> list[ChannelChoice]:
        """Receive (True) or not (False) each channel named; the others keep
        what they were. All or nothing: an unknown channel changes none."""
        allowed = {c.key for c in personal_channels(self.channels)}
        for key, enabled in choices.items():
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                message = Label(f"没有可选择的渠道 {key}（可用：{known}）",
                                f"There is no channel {key} to choose (known: {known})")
                raise ValidationError(message, field_errors={key: [message]})
            if not isinstance(enabled, bool):
                message = Label(f"{key} 应为 true 或 false", f"{key} must be true or false")
                raise ValidationError(message, field_errors={key: [message]})
        with self.database.transaction() as conn:
            # An upsert: two tabs saving at once must not collide on the key.
            insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            for key, enabled in choices.items():
                conn.execute(insert(PREFS).values(user_id=user_id, channel=key, enabled=enabled)
                             .on_conflict_do_update(index_elements=["user_id", "channel"], set_={"enabled": enabled}))
        return self.preferences(user_id)

