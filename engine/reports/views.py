"""What ``engine.reports`` answers with: frozen views the pages and the REST
API both read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.core.i18n import Label
from engine.definitions.report_files import DashboardDef, DashboardItem, ReportDef
from engine.reports.base import Presentation
from engine.reports.model import ReportResult


@dataclass(frozen=True)
class FilterValues:
    """A dashboard's global filters: ``values`` parsed (by filter key, only
    those in force) and ``raw`` as they read in a URL (defaults included)."""

    values: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportView:
    """A report as a viewer sees it now: its definition, its result within
    their scope and the chart type's presentation of it; ``drill`` says
    whether its numbers open the records behind them."""

    report: ReportDef
    result: ReportResult
    presentation: Presentation
    drill: bool


@dataclass(frozen=True)
class DashboardItemView:
    """One card of a dashboard: the report's view, or why it cannot be shown
    (a report the viewer may not read, a field hidden from them) — one card's
    error never breaks the page."""

    item: DashboardItem
    view: ReportView | None = None
    error: Label | None = None


@dataclass(frozen=True)
class DashboardView:
    dashboard: DashboardDef
    filters: FilterValues
    items: tuple[DashboardItemView, ...]


@dataclass(frozen=True)
class DrillTarget:
    """The records behind one number: the list of ``form`` under ``filter``
    (the filter language's JSON)."""

    form: str
    filter: Mapping[str, Any]
