"""``reports/*.yaml`` and ``dashboards/*.yaml``: an app's reports (报表) and
dashboards (仪表盘), one per file (docs/reports.md).

A report is a query (``engine.reports.model``, JSON in the spirit of Cube)
plus a presentation (``chart``: a type of the chart registry and its
settings) and its alerts. A dashboard places reports on a 12-column grid,
declares global filters mapped to each report's own field, and says for
which roles it is the default.

The shapes are here, and ``load_reports`` / ``load_dashboards``, which read
a package's files against ``schemas/report.schema.json`` /
``dashboard.schema.json`` and run the checks that need only the package
(``engine.definitions.report_checks``). The checks that need the report
engine (fields exist, fit their aggregation, the query is safe to run, the
chart fits its type) are ``engine.reports.checks``'; ``engine.packages.validation``
runs both for ``qiqiao app validate`` and for installing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path as FilePath
from typing import Any

from engine.core.i18n import Label, label
from engine.definitions.form_scope import load_bound
from engine.definitions.issues import DefinitionIssue
from engine.definitions.report_checks import check_dashboard_file, check_report_file, query_shape
from engine.definitions.report_query import ReportQuery, parse_query
from engine.definitions.schema_check import make_validator, schema_errors
from engine.definitions.scope import Catalog
from engine.definitions.serialize import label_to_dict
from engine.definitions.sources import SourceFile

SCHEMAS = FilePath(__file__).with_name("schemas")


@dataclass(frozen=True)
class AlertDef:
    """警报: ``measure`` of the report's result (its total, or each row's
    when ``each_row``) compared by ``op`` (a comparison operator of the filter
    language: gt, gte, lt, lte, eq, ne) with ``value``, checked every
    ``every`` ("15m", "1h", "1d") by the worker; when it becomes true,
    ``notify`` (the rule engine's ``notify`` action settings: recipients,
    channels, title and body templates) is sent once, and again only after it
    was false in between."""

    key: str
    label: Label
    measure: str
    op: str
    value: Any
    every: str = "1h"
    each_row: bool = False
    notify: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "label": label_to_dict(self.label), "measure": self.measure,
                                "op": self.op, "value": self.value, "every": self.every}
        if self.each_row:
            data["each_row"] = True
        data["notify"] = dict(self.notify)
        if not self.enabled:
            data["enabled"] = False
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AlertDef:
        return cls(key=str(data["key"]), label=label(data.get("label") or data["key"]),
                   measure=str(data["measure"]), op=str(data["op"]), value=data.get("value"),
                   every=str(data.get("every", "1h")), each_row=bool(data.get("each_row", False)),
                   notify=dict(data.get("notify") or {}), enabled=bool(data.get("enabled", True)))


@dataclass(frozen=True)
class ReportDef:
    """A report: ``query`` plus ``chart`` (``{"type": <chart type>, ...its
    settings}``), whether its numbers drill down to records (``drill``), and
    its ``alerts``. ``version`` is the published definition row's id (0 when
    read from files)."""

    key: str
    label: Label
    query: ReportQuery
    chart: Mapping[str, Any]
    description: Label | None = None
    drill: bool = True
    alerts: tuple[AlertDef, ...] = ()
    version: int = 0
    file: str = ""

    @property
    def form(self) -> str:
        return self.query.form

    @property
    def chart_type(self) -> str:
        return str(self.chart.get("type", "table"))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"schema_version": 1, "key": self.key, "label": label_to_dict(self.label)}
        if self.description is not None:
            data["description"] = label_to_dict(self.description)
        data["query"] = self.query.to_dict()
        data["chart"] = dict(self.chart)
        if not self.drill:
            data["drill"] = False
        if self.alerts:
            data["alerts"] = [a.to_dict() for a in self.alerts]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, version: int = 0, file: str = "") -> ReportDef:
        return cls(
            key=str(data["key"]), label=label(data.get("label") or data["key"]),
            query=parse_query(data["query"]), chart=dict(data.get("chart") or {"type": "table"}),
            description=label(data["description"]) if data.get("description") else None,
            drill=bool(data.get("drill", True)),
            alerts=tuple(AlertDef.from_dict(a) for a in data.get("alerts", ())),
            version=version, file=file,
        )


@dataclass(frozen=True)
class DashboardFilter:
    """A global filter of a dashboard. ``type`` is a key of
    ``engine.reports.filters.GLOBAL_FILTERS`` (date_range, member,
    department, select); ``fields`` maps a report key to the report's own
    field path the filter applies to (reports not listed ignore it);
    ``options_from`` (``<form>.<field>``) gives a select filter its options;
    ``default`` is its value when the URL has none (for a date range a preset:
    this_month, last_month, this_quarter, this_year, last_year, last_12_months
    ... or {"from": ..., "to": ...})."""

    key: str
    type: str
    label: Label
    fields: Mapping[str, str]
    default: Any = None
    options_from: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "type": self.type, "label": label_to_dict(self.label),
                                "fields": dict(self.fields)}
        if self.default is not None:
            data["default"] = self.default
        if self.options_from is not None:
            data["options_from"] = self.options_from
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DashboardFilter:
        return cls(key=str(data["key"]), type=str(data["type"]), label=label(data.get("label") or data["key"]),
                   fields={str(k): str(v) for k, v in (data.get("fields") or {}).items()},
                   default=data.get("default"), options_from=data.get("options_from"))


@dataclass(frozen=True)
class DashboardItem:
    """A report on the grid: column ``x`` (0-11), row ``y``, width ``w``
    (1-12 columns) and height ``h`` (rows of about 80 px); ``title``
    overrides the report's label. On a phone the items stack in (y, x) order."""

    report: str
    x: int = 0
    y: int = 0
    w: int = 6
    h: int = 4
    title: Label | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"report": self.report, "x": self.x, "y": self.y, "w": self.w, "h": self.h}
        if self.title is not None:
            data["title"] = label_to_dict(self.title)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DashboardItem:
        return cls(report=str(data["report"]), x=int(data.get("x", 0)), y=int(data.get("y", 0)),
                   w=int(data.get("w", 6)), h=int(data.get("h", 4)),
                   title=label(data["title"]) if data.get("title") else None)


@dataclass(frozen=True)
class DashboardDef:
    """A dashboard: ``items`` on the grid, global ``filters``, and the
    ``roles`` whose members open it by default (a viewer in none of them
    gets the app's first dashboard they may see)."""

    key: str
    label: Label
    items: tuple[DashboardItem, ...]
    filters: tuple[DashboardFilter, ...] = ()
    roles: tuple[str, ...] = ()
    description: Label | None = None
    icon: str | None = None
    version: int = 0
    file: str = ""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"schema_version": 1, "key": self.key, "label": label_to_dict(self.label)}
        if self.description is not None:
            data["description"] = label_to_dict(self.description)
        if self.icon:
            data["icon"] = self.icon
        if self.roles:
            data["roles"] = list(self.roles)
        if self.filters:
            data["filters"] = [f.to_dict() for f in self.filters]
        data["items"] = [i.to_dict() for i in self.items]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, version: int = 0, file: str = "") -> DashboardDef:
        return cls(
            key=str(data["key"]), label=label(data.get("label") or data["key"]),
            items=tuple(DashboardItem.from_dict(i) for i in data.get("items", ())),
            filters=tuple(DashboardFilter.from_dict(f) for f in data.get("filters", ())),
            roles=tuple(str(r) for r in data.get("roles", ())),
            description=label(data["description"]) if data.get("description") else None,
            icon=data.get("icon"), version=version, file=file,
        )


@cache
def report_schema() -> dict[str, Any]:
    return dict(json.loads((SCHEMAS / "report.schema.json").read_text(encoding="utf-8")))


@cache
def dashboard_schema() -> dict[str, Any]:
    return dict(json.loads((SCHEMAS / "dashboard.schema.json").read_text(encoding="utf-8")))


def _shaped(sources: list[SourceFile], schema: Mapping[str, Any],
            shape: Callable[[str, Any], list[DefinitionIssue]]) -> tuple[list[SourceFile], list[DefinitionIssue]]:
    """The files whose inner shape (beyond the schema: the query) can be
    built, and the problems of the others. A file the schema refuses is
    kept: ``load_bound`` reports its schema errors."""
    validator = make_validator(dict(schema))
    kept, issues = [], []
    for source in sources:
        problems = [] if schema_errors(validator, source.data) else shape(source.name, source.data)
        issues.extend(problems)
        if not problems:
            kept.append(source)
    return kept, issues


def load_reports(sources: list[SourceFile], catalog: Catalog) -> tuple[tuple[ReportDef, ...], list[DefinitionIssue]]:
    """The reports of a package and every problem found in their shape and form."""
    buildable, issues = _shaped(sources, report_schema(), lambda name, data: query_shape(name, data.get("query")))
    reports, more = load_bound(buildable, report_schema(), lambda data, name: ReportDef.from_dict(data, file=name),
                               lambda report: check_report_file(report, catalog), Label("报表", "report"))
    return reports, [*issues, *more]


def load_dashboards(sources: list[SourceFile],
                    catalog: Catalog) -> tuple[tuple[DashboardDef, ...], list[DefinitionIssue]]:
    """The dashboards of a package and every problem found in their grid and filters."""
    return load_bound(sources, dashboard_schema(), lambda data, name: DashboardDef.from_dict(data, file=name),
                      lambda dashboard: check_dashboard_file(dashboard, catalog), Label("仪表盘", "dashboard"))
