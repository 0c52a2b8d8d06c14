"""The notifier: one notice, fanned out to the channels each person accepts.

A rule (or a flow) says what to tell and to whom — members, addresses taken
from fields, group robots — and on which channels. ``Notifier.send`` works
out, in the caller's transaction, who gets it where:

- a member gets it on each of ``notice.channels`` they accept (their
  ``notification_prefs``, else the channel's ``default_on``): ``in_app``
  writes a row of their notification centre at once; a channel that reaches
  a person at an address of their account (e-mail, mobile) puts a message on
  the outbox for the worker; a deactivated member gets nothing;
- an address goes by e-mail when it looks like one, by SMS when it looks
  like a phone number — if that channel is among ``notice.channels``;
- each robot gets one message per robot channel asked (DingTalk, WeCom, Feishu).

``Notifier.post`` is the short way for in-app notices to members only (a
flow's): the same rows, written with the account and choice read in one
statement, and no report.

Every outbox message's key is ``f"{notice.key}:{channel}:{recipient}"``, so
a notice sent twice (a retried rule run) reaches nobody twice. Whoever is
not reached is named in the report, with why: a notice that reaches no one
is a question someone will ask.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.clock import Clock
from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.notify.channels import CHANNELS, Channel
from engine.notify.outbox import enqueue
from engine.store.models import Notification, NotificationPreference, User

NOTIFICATIONS = cast(sa.Table, Notification.__table__)
PREFS = cast(sa.Table, NotificationPreference.__table__)
USERS = cast(sa.Table, User.__table__)

IN_APP = "in_app"
# Channels that reach a person at an address of their account: the channel
# key and the users column it is read from. Only these (and in_app) are a
# member's choice; a robot or a webhook is nobody's own.
PERSONAL_CONTACT = {"email": "email", "sms": "mobile"}
ROBOT_CHANNELS = ("dingtalk", "wecom", "feishu")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
PHONE = re.compile(r"\+?[0-9]{6,20}")
# Which channel an address from a field goes by, by its shape.
ADDRESS_KINDS = (("email", EMAIL), ("sms", PHONE))
DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"


@dataclass(frozen=True)
class Notice:
    """What to tell, to whom, on which channels (see the module docstring)."""

    key: str
    title: str
    text: str
    html: str | None = None
    users: tuple[int, ...] = ()
    addresses: tuple[str, ...] = ()
    robots: tuple[str, ...] = ()
    channels: tuple[str, ...] = (IN_APP,)
    app: str | None = None
    form: str | None = None
    record_id: int | None = None
    link: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class NoticeReport:
    """What ``send`` did: in-app rows written, outbox messages queued (a repeat
    of an already queued key is not counted), and who was not reached and why."""

    in_app: int
    queued: int
    skipped: tuple[str, ...] = field(default=())


def personal_channels(channels: Registry[Channel] = CHANNELS) -> list[Channel]:
    """The registered channels a member may turn on or off for themselves."""
    return [c for c in channels.all() if c.key == IN_APP or c.key in PERSONAL_CONTACT]


# Built once (compiled once): a notice is sent on every flow step. A member's
# account row and their choices for the asked channels come in one query.
PEOPLE = (
    sa.select(USERS.c.id, USERS.c.login, USERS.c.email, USERS.c.mobile, USERS.c.active,
              PREFS.c.channel, PREFS.c.enabled)
    .join_from(USERS, PREFS, sa.and_(PREFS.c.user_id == USERS.c.id,
                                     PREFS.c.channel.in_(sa.bindparam("channels", expanding=True))),
               isouter=True)
    .where(USERS.c.id.in_(sa.bindparam("ids", expanding=True))))
INSERT_IN_APP = NOTIFICATIONS.insert()
_POSTED = ("title", "body", "app", "form", "record_id", "link", "source", "created_at")
_ACCEPTING = sa.and_(USERS.c.id == sa.bindparam("user_id"), USERS.c.active.is_(True),
                     sa.func.coalesce(PREFS.c.enabled, sa.bindparam("default_on", type_=sa.Boolean)).is_(True))
# One row per member who is active and accepts in-app notices (a missing
# choice: the channel's default), none for anyone else: ``send``'s in-app
# rows, without reading the accounts first.
POST_IN_APP = NOTIFICATIONS.insert().from_select(
    ["user_id", *_POSTED],
    sa.select(USERS.c.id, *(sa.bindparam(c, type_=NOTIFICATIONS.c[c].type) for c in _POSTED))
    .join_from(USERS, PREFS, sa.and_(PREFS.c.user_id == USERS.c.id, PREFS.c.channel == IN_APP), isouter=True)
    .where(_ACCEPTING))


def _people(conn: Connection, user_ids: Iterable[int], asked: Iterable[str]) -> dict[int, dict[str, Any]]:
    """Each user's account row, with ``chosen``: their choice per asked channel."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    found: dict[int, dict[str, Any]] = {}
    # An empty expanding IN matches nothing: the join then brings no choices.
    for r in conn.execute(PEOPLE, {"ids": ids, "channels": list(dict.fromkeys(asked))}):
        person = found.setdefault(int(r.id), {"id": int(r.id), "login": r.login, "email": r.email,
                                              "mobile": r.mobile, "active": r.active, "chosen": {}})
        if r.channel is not None:
            person["chosen"][str(r.channel)] = bool(r.enabled)
    return found


def _accepted(person: Mapping[str, Any], asked: Iterable[str], channels: Registry[Channel]) -> list[str]:
    chosen = person["chosen"]
    return [c for c in dict.fromkeys(asked) if chosen.get(c, channels.get(c).default_on)]


class Notifier:
    """Sends notices in the caller's transaction. ``public_url`` makes a
    notice's link absolute in e-mail and SMS bodies (``QIQIAO_PUBLIC_URL``)."""

    def __init__(self, clock: Clock, *, channels: Registry[Channel] = CHANNELS,
                 public_url: str | None = None) -> None:
        self.clock = clock
        self.channels = channels
        self.public_url = (public_url or os.environ.get("QIQIAO_PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/")

    def send(self, conn: Connection, notice: Notice, *, rule_run_id: int | None = None) -> NoticeReport:
        """Write the in-app rows and queue the rest, in ``conn``'s transaction."""
        self._check(notice)
        now = self.clock.now().astimezone(dt.UTC)  # SQLite keeps no offset: store UTC
        skipped: list[str] = []
        outgoing: list[tuple[str, str]] = []
        people = _people(conn, notice.users, notice.channels)
        in_app_rows: list[dict[str, Any]] = []
        for user_id in dict.fromkeys(notice.users):
            person = people.get(user_id)
            if person is None:
                skipped.append(f"user {user_id}: no such user")
                continue
            who = f"{person['login']} ({user_id})"
            if not person["active"]:
                skipped.append(f"{who}: deactivated")
                continue
            channels = [c for c in _accepted(person, notice.channels, self.channels)
                        if c == IN_APP or c in PERSONAL_CONTACT]
            if not channels:
                skipped.append(f"{who}: turned off {', '.join(notice.channels)}")
            for channel in channels:
                if channel == IN_APP:
                    in_app_rows.append(self._in_app_row(notice, user_id, now))
                elif person[PERSONAL_CONTACT[channel]]:
                    outgoing.append((channel, str(person[PERSONAL_CONTACT[channel]]).strip()))
                else:
                    skipped.append(f"{who}: no {PERSONAL_CONTACT[channel]} for {channel}")
        if in_app_rows:
            conn.execute(INSERT_IN_APP, in_app_rows)
        in_app = len(in_app_rows)
        outgoing.extend(self._addresses(notice, skipped))
        outgoing.extend(self._robots(notice, skipped))
        queued = 0
        for channel, recipient in dict.fromkeys(outgoing):
            made = enqueue(conn, channel=channel, recipient=recipient, payload=self._payload(notice, channel, recipient),
                           key=f"{notice.key}:{channel}:{recipient}", now=now, app=notice.app,
                           rule_run_id=rule_run_id)
            queued += made is not None
        return NoticeReport(in_app=in_app, queued=queued, skipped=tuple(skipped))

    def post(self, conn: Connection, notices: Iterable[Notice]) -> None:
        """Write in-app notices to members (``channels`` in-app only, no
        addresses or robots), all in one statement: the rows ``send`` would
        write, without its report."""
        now = self.clock.now().astimezone(dt.UTC)
        default_on = self.channels.get(IN_APP).default_on
        rows = []
        for notice in notices:
            if notice.channels != (IN_APP,) or notice.addresses or notice.robots:
                raise ValueError(f"post takes in-app notices to members only: {notice.key}")
            rows += [{**self._in_app_row(notice, user_id, now), "default_on": default_on}
                     for user_id in dict.fromkeys(notice.users)]
        if rows:
            conn.execute(POST_IN_APP, rows)

    # --- who and where ----------------------------------------------------------------
    def _check(self, notice: Notice) -> None:
        for channel in notice.channels:
            if channel not in self.channels:
                known = ", ".join(c.key for c in self.channels.all())
                raise ValidationError(Label(f"通知 {notice.key}：没有渠道 {channel}（可用：{known}）",
                                            f"Notice {notice.key}: there is no channel {channel} (known: {known})"))

    @staticmethod
    def _addresses(notice: Notice, skipped: list[str]) -> Iterator[tuple[str, str]]:
        for raw in dict.fromkeys(a.strip() for a in notice.addresses):
            if not raw:
                continue
            compact = re.sub(r"[\s\-()]", "", raw)
            kind = next((k for k, shape in ADDRESS_KINDS if shape.fullmatch(compact if k == "sms" else raw)), None)
            if kind is None:
                skipped.append(f"{raw}: neither an e-mail address nor a phone number")
            elif kind not in notice.channels:
                skipped.append(f"{raw}: the notice is not sent by {kind}")
            else:
                yield kind, raw if kind == "email" else compact

    @staticmethod
    def _robots(notice: Notice, skipped: list[str]) -> Iterator[tuple[str, str]]:
        asked = [c for c in notice.channels if c in ROBOT_CHANNELS]
        if notice.robots and not asked:
            skipped.append(f"robots {', '.join(notice.robots)}: no robot channel asked ({', '.join(ROBOT_CHANNELS)})")
        if asked and not notice.robots:
            skipped.append(f"{', '.join(asked)}: no robot named")
        for channel in asked:
            for robot in dict.fromkeys(notice.robots):
                yield channel, robot

    # --- what --------------------------------------------------------------------------
    @staticmethod
    def _in_app_row(notice: Notice, user_id: int, now: dt.datetime) -> dict[str, Any]:
        return {"user_id": user_id, "title": notice.title[:300], "body": notice.text or None, "app": notice.app,
                "form": notice.form, "record_id": notice.record_id,
                "link": (notice.link or None) and notice.link[:500],
                "source": notice.source and notice.source[:150], "created_at": now, "read_at": None}

    def _absolute(self, link: str) -> str:
        return link if "://" in link else f"{self.public_url}{link if link.startswith('/') else '/' + link}"

    def _payload(self, notice: Notice, channel: str, recipient: str) -> dict[str, Any]:
        link = self._absolute(notice.link) if notice.link else None
        return PAYLOADS.get(channel, _robot_payload)(notice, recipient, link)


def _email_payload(notice: Notice, recipient: str, link: str | None) -> dict[str, Any]:
    # The e-mail payload has no link of its own: the body carries it.
    html = notice.html
    if html is not None and link:
        html = f'{html}\n<p><a href="{escape(link)}">{escape(link)}</a></p>'
    return {"to": [recipient], "subject": notice.title,
            "text": f"{notice.text}\n\n{link}" if link else notice.text, "html": html}


def _sms_payload(notice: Notice, recipient: str, link: str | None) -> dict[str, Any]:
    body = f"{notice.title}\n{notice.text}".strip()
    return {"to": recipient, "text": f"{body} {link}" if link else body}


def _robot_payload(notice: Notice, recipient: str, link: str | None) -> dict[str, Any]:
    # A robot channel makes the path absolute itself (channels.py).
    return {"robot": recipient, "title": notice.title, "text": notice.text, "link": notice.link}


# The outbox payload of each channel a notice goes out on (channels.py documents them).
PAYLOADS: dict[str, Callable[[Notice, str, str | None], dict[str, Any]]] = {
    "email": _email_payload, "sms": _sms_payload, **{c: _robot_payload for c in ROBOT_CHANNELS}}
