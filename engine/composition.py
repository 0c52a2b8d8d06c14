"""The composition root: one place that wires the engine's services.

The web app, the CLI and any worker call ``compose(database)`` and get the
same set: the clock, the field types, one ``EventBus`` and the record
services of every installed app (rebuilt when an app's definitions change)
sharing it, the organization and the rule engine (subscribed to the bus
first), the flow engine (``engine.flows``) and the report engine
(``engine.reports``). Whatever else subscribes to record events registers once with ``on_compose``, so a write from an import on the
command line reaches the same subscribers as one from the web.

A ``RecordService`` compiles its forms once and keeps statements and first
pages warm, so it lives as long as its app's definitions do: the cache
checks, at most every ``check_seconds``, whether any app's published
definitions changed (a new version, an app installed or removed — one small
query over ``definitions``) and rebuilds only the services whose app did.
Publishing from this process can say so at once with ``invalidate``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa

from engine.core.clock import Clock, SystemClock
from engine.core.errors import NotFoundError
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.model import AppDef
from engine.fields.base import FieldType
from engine.flows.autostart import AutoStart
from engine.flows.engine import FlowEngine
from engine.notify.notifier import Notifier
from engine.org.service import OrgService
from engine.packages import installed_app
from engine.records import EventBus, RecordService
from engine.reports.service import ReportEngine
from engine.rules import RuleEngine
from engine.store.database import Database
from engine.store.models import Definition

_DEFINITIONS = cast(sa.Table, Definition.__table__)
_STAMPS = sa.select(_DEFINITIONS.c.app, sa.func.max(_DEFINITIONS.c.id)).group_by(_DEFINITIONS.c.app)


class RecordServices:
    """One ``RecordService`` per installed app, rebuilt when its definitions change."""

    def __init__(self, database: Database, bus: EventBus, *, field_types: Registry[FieldType],
                 clock: Clock, check_seconds: float = 2.0,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.database = database
        self.bus = bus
        self.field_types = field_types
        self.clock = clock
        self.check_seconds = check_seconds
        self.now = now
        self._services: dict[str, tuple[int, RecordService]] = {}
        self._stamps: dict[str, int] = {}
        self._checked_at: float | None = None
        self._lock = threading.Lock()

    def stamps(self) -> dict[str, int]:
        """The installed apps, each with the id of its newest published definition."""
        moment = self.now()
        if self._checked_at is None or moment - self._checked_at >= self.check_seconds:
            with self.database.reading() as conn:
                self._stamps = {str(app): int(newest) for app, newest in conn.execute(_STAMPS)}
            self._checked_at = moment
        return self._stamps

    def app_keys(self) -> list[str]:
        return sorted(self.stamps())

    def cached(self, app_key: str) -> RecordService | None:
        """The service last built for an app, without asking the database
        whether its definitions changed: for code that runs inside a write
        of that very service (a rule hearing its event), which must not take
        a second connection while holding one."""
        cached = self._services.get(app_key)
        return cached[1] if cached is not None else None

    def get(self, app_key: str) -> RecordService:
        """The service of an installed app; NotFoundError for another key."""
        stamp = self.stamps().get(app_key)
        if stamp is None:
            known = ", ".join(self.app_keys()) or "-"
            raise NotFoundError(
                Label(f"应用 {app_key} 未安装（已安装：{known}）",
                      f"The app {app_key} is not installed (installed: {known})"),
                details={"app": app_key},
            )
        cached = self._services.get(app_key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        with self._lock:
            cached = self._services.get(app_key)
            if cached is None or cached[0] != stamp:
                service = RecordService(self.database, installed_app(self.database, app_key),
                                        field_types=self.field_types, clock=self.clock, bus=self.bus)
                cached = self._services[app_key] = (stamp, service)
        return cached[1]

    def app(self, app_key: str) -> AppDef:
        return self.get(app_key).app

    def invalidate(self, app_key: str | None = None) -> None:
        """Forget what is known of the definitions: the next request reads them again."""
        with self._lock:
            self._checked_at = None
            if app_key is None:
                self._services.clear()
            else:
                self._services.pop(app_key, None)


@dataclass
class Engine:
    """What ``compose`` wires: every caller of the engine shares these."""

    database: Database
    clock: Clock
    field_types: Registry[FieldType]
    bus: EventBus
    records: RecordServices
    org: OrgService
    rules: RuleEngine
    flows: FlowEngine
    reports: ReportEngine

    def service(self, app_key: str) -> RecordService:
        """The record service of an installed app (NotFoundError for another key)."""
        return self.records.get(app_key)


# Called with each composed Engine, in registration order: what subscribes to its bus.
_INSTALLERS: list[Callable[[Engine], None]] = []


def on_compose(installer: Callable[[Engine], None]) -> Callable[[], None]:
    """Run ``installer`` on every Engine composed from now on (it subscribes
    to ``engine.bus``); returns a function that stops it."""
    _INSTALLERS.append(installer)

    def remove() -> None:
        if installer in _INSTALLERS:
            _INSTALLERS.remove(installer)

    return remove


def compose(
    database: Database, *, clock: Clock | None = None,
    field_types: Registry[FieldType] | None = None, check_seconds: float = 2.0,
) -> Engine:
    """The engine's services over ``database``, wired once, for any caller."""
    if field_types is None:
        from engine.fields import FIELD_TYPES

        field_types = FIELD_TYPES
    clock = clock or SystemClock()
    bus = EventBus()
    records = RecordServices(database, bus, field_types=field_types, clock=clock, check_seconds=check_seconds)
    org = OrgService(database, clock)
    rules = RuleEngine(records, org, clock)
    # What the notify action sends through: in-app rows now, the rest on the outbox.
    rules.extras["notifier"] = notifier = Notifier(clock)
    bus.subscribe(rules.handle)
    flows = FlowEngine(records, org, clock, notifier)
    # A rule's start_flow reaches the flow engine; create and condition flows start themselves.
    rules.extras["flows"] = flows
    bus.subscribe(AutoStart(flows).handle)
    reports = ReportEngine(records, org, clock, notifier)
    engine = Engine(database=database, clock=clock, field_types=field_types, bus=bus, records=records,
                    org=org, rules=rules, flows=flows, reports=reports)
    for installer in list(_INSTALLERS):
        installer(engine)
    return engine
