"""What one web app shares across requests: the engine's services (see
``engine.composition``, the one composition root) and the web's own:
signed-in identities, the sign-in and refused-token rate limits, and the
file storage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from flask import current_app

from engine.composition import Engine, RecordServices
from engine.core.clock import Clock
from engine.core.registry import Registry
from engine.fields.base import FieldType
from engine.flows.engine import FlowEngine
from engine.org.service import OrgService
from engine.records import EventBus
from engine.records.import_jobs import ImportJobs
from engine.reports.service import ReportEngine
from engine.rules import RuleEngine
from engine.store.database import Database
from engine.store.files import LocalFolderStorage
from runtime.identity import Identities
from runtime.ratelimit import SlidingWindow

__all__ = ["RecordServices", "Services", "current_services"]


@dataclass
class Services:
    """The composition root's products, one set per web app (``app.extensions["qiqiao"]``)."""

    @classmethod
    def of(cls, engine: Engine, identities: Identities, login_limiter: SlidingWindow,
           token_limiter: SlidingWindow, files: LocalFolderStorage, imports: ImportJobs) -> Services:
        return cls(database=engine.database, bus=engine.bus, clock=engine.clock,
                   field_types=engine.field_types, records=engine.records, org=engine.org,
                   identities=identities, login_limiter=login_limiter,
                   token_limiter=token_limiter, files=files, imports=imports, rules=engine.rules,
                   flows=engine.flows, reports=engine.reports)

    database: Database
    bus: EventBus
    clock: Clock
    field_types: Registry[FieldType]
    records: RecordServices
    org: OrgService
    identities: Identities
    login_limiter: SlidingWindow
    token_limiter: SlidingWindow
    files: LocalFolderStorage
    imports: ImportJobs
    rules: RuleEngine
    flows: FlowEngine
    reports: ReportEngine


def current_services() -> Services:
    """The services of the app handling the current request."""
    return cast(Services, current_app.extensions["qiqiao"])
