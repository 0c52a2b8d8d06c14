"""``ReportEngine`` (``engine.reports``): reports and dashboards for a viewer.

Every method takes the ``Actor`` the record service takes: a report runs
within the viewer's data scope on its form (``FormPolicy``), and a field
they may not see cannot be one of its dimensions, measures or filters (the
compiler's check). A dashboard's global filters become conditions on each
report's mapped field (``engine.reports.filters``); a result is served from
the cache (``engine.reports.cache``) while the data versions of every form
its query reads are unchanged. The pages and the REST API call these same
methods.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.engine import Connection

from engine.core.clock import Clock
from engine.core.errors import NotFoundError, QiqiaoError, QueryError, query_error
from engine.core.i18n import Label
from engine.definitions.model import AppDef
from engine.definitions.report_files import DashboardDef, ReportDef
from engine.notify.notifier import Notifier
from engine.org.service import OrgService
from engine.records import Actor, RecordService
from engine.records.data_versions import compact, read_versions
from engine.records.filters import PathResolver
from engine.reports.cache import ResultCache, freeze
from engine.reports.charts import CHART_TYPES
from engine.reports.export import result_xlsx
from engine.reports.filters import AREA, GLOBAL_FILTERS, Departments
from engine.reports.model import ReportQuery, ReportResult, parse_query
from engine.reports.query import check_query, drill_filter, query_forms, run_query
from engine.reports.views import (
    DashboardItemView,
    DashboardView,
    DrillTarget,
    FilterValues,
    ReportView,
)


class ReportEngine:
    def __init__(self, records: Any, org: OrgService, clock: Clock, notifier: Notifier) -> None:
        self.records = records
        self.org = org
        self.clock = clock
        self.notifier = notifier
        self.cache = ResultCache()

    # --- finding ------------------------------------------------------------------------
    def _service(self, app: str) -> RecordService:
        return self.records.get(app)  # type: ignore[no-any-return]

    def _report(self, service: RecordService, key: str) -> ReportDef:
        found = service.app.report(key)
        if found is None:
            raise NotFoundError(Label(f"报表 {key} 不存在", f"There is no report {key}"),
                                details={"report": key})
        return found

    def _dashboard(self, service: RecordService, key: str) -> DashboardDef:
        found = service.app.dashboard(key)
        if found is None:
            raise NotFoundError(Label(f"看板 {key} 不存在", f"There is no dashboard {key}"),
                                details={"dashboard": key})
        return found

    @staticmethod
    def _may_read(service: RecordService, actor: Actor, form: str) -> bool:
        try:
            actor.policy(service, form).require("read")
        except QiqiaoError:
            return False
        return True

    def dashboards(self, app: str, *, actor: Actor) -> list[DashboardDef]:
        """The app's dashboards with at least one report the actor may read."""
        service = self._service(app)
        return [d for d in service.app.dashboards
                if any((r := service.app.report(i.report)) is not None and self._may_read(service, actor, r.form)
                       for i in d.items)]

    def default_dashboard(self, app: str, *, actor: Actor) -> DashboardDef | None:
        """The first dashboard meant for one of the actor's roles, else the first they may see."""
        found = self.dashboards(app, actor=actor)
        roles = {r.key for r in actor.access.roles} if actor.access is not None else set()
        return next((d for d in found if roles & set(d.roles)), found[0] if found else None)

    # --- global filters -----------------------------------------------------------------
    def filter_values(self, app: str, dashboard: str | DashboardDef, raw: Mapping[str, str], *,
                      actor: Actor) -> FilterValues:
        """The dashboard's filters from URL parameters, with their defaults;
        a value that is not one is a ``QueryError`` naming the parameter."""
        board = dashboard if isinstance(dashboard, DashboardDef) else self._dashboard(self._service(app), dashboard)
        values: dict[str, Any] = {}
        texts: dict[str, str] = {}
        for spec in board.filters:
            text = raw.get(spec.key)
            text = _default_text(spec.default) if text is None else str(text)
            if not text or not text.strip():
                continue
            kind = GLOBAL_FILTERS.get(spec.type)
            value = kind.parse(text, spec.key)
            if isinstance(value, Departments):
                value = self._departments(value)
            values[spec.key], texts[spec.key] = value, text.strip()
        return FilterValues(values, texts)

    def _departments(self, value: Departments) -> Departments:
        index = self.org.department_index()
        if value.department not in index.by_id:
            raise query_error(AREA, "department", Label(f"部门 {value.department} 不存在",
                                                        f"There is no department {value.department}"))
        subtree = tuple(sorted(index.subtree_ids([value.department])))
        members = tuple(sorted({m.user_id for m in self.org.members(value.department, recursive=True)}))
        return Departments(value.department, subtree, members)

    def _conditions(self, service: RecordService, board: DashboardDef | None, values: FilterValues,
                    report: ReportDef) -> dict[str, Any] | None:
        """The global filters' conditions on ``report``'s own fields."""
        if board is None:
            return None
        form = service.app.get_form(report.form)
        resolver = PathResolver(form, service.app, service.field_types)
        today = self.clock.today()
        parts: list[Mapping[str, Any]] = []
        for spec in board.filters:
            path = spec.fields.get(report.key)
            if path is None or spec.key not in values.values:
                continue
            field = resolver.resolve(path, spec.key).field
            condition = GLOBAL_FILTERS.get(spec.type).condition_on(field, path, values.values[spec.key], today=today)
            if condition is not None:
                parts.append(condition)
        if not parts:
            return None
        return dict(parts[0]) if len(parts) == 1 else {"and": parts}

    # --- running ------------------------------------------------------------------------
    def _scope(self, actor: Actor) -> str:
        return f"{actor.user_id}:{actor.access.cache_key}" if actor.access is not None else "system"

    def _run(self, service: RecordService, query: ReportQuery, actor: Actor, what: Hashable,
             connection: Connection | None = None) -> ReportResult:
        """``query``'s result for ``actor`` (``what`` names the query in the
        cache key), from the cache while nothing it reads changed."""
        policy = actor.policy(service, query.form)
        policy.require("read")
        forms = query_forms(query, service.app, service.field_types)
        today = self.clock.today()
        with service.reading(connection) as conn:
            versions = read_versions(conn, service.app.key, forms)  # before the query: see cache.py
            key = (service.app.key, what, self._scope(actor), today.isoformat(),
                   tuple(sorted(versions.values.items())))
            found = self.cache.get(key)
            if found is not None:
                return found
            result = run_query(conn, query, service.app, service.field_types, policy=policy,
                               user_id=actor.user_id, today=today, tz=self.clock.tz)
        if versions.piled and connection is None:
            with service.database.transaction() as conn:
                for form in versions.piled:
                    compact(conn, service.app.key, form)
        result = replace(result, version=freeze(versions.values), computed_at=self.clock.now(), cached=False)
        self.cache.put(key, result)
        return result

    def _view(self, service: RecordService, report: ReportDef, actor: Actor, board: DashboardDef | None,
              values: FilterValues, locale: str) -> ReportView:
        extra = self._conditions(service, board, values, report)
        query = report.query.with_filter(extra)
        result = self._run(service, query, actor, ("report", report.key, report.version, freeze(extra)))
        chart = CHART_TYPES.get(report.chart_type)
        settings = {k: v for k, v in report.chart.items() if k != "type"}
        return ReportView(report, result, chart.present(result, settings, locale), report.drill)

    def report(self, app: str, key: str, *, actor: Actor, filters: Mapping[str, Any] | None = None,
               dashboard: str | None = None, locale: str = "zh") -> ReportView:
        """One report for ``actor``; with ``dashboard``, under its global filters (``filters``: raw values)."""
        service = self._service(app)
        report = self._report(service, key)
        board = self._dashboard(service, dashboard) if dashboard else None
        values = self.filter_values(app, board, filters or {}, actor=actor) if board else FilterValues()
        return self._view(service, report, actor, board, values, locale)

    def dashboard(self, app: str, key: str, *, actor: Actor, filters: Mapping[str, str] | None = None,
                  locale: str = "zh") -> DashboardView:
        """Every report of the dashboard under its global filters; a report
        that cannot be shown to this viewer carries its error instead."""
        service = self._service(app)
        board = self._dashboard(service, key)
        values = self.filter_values(app, board, filters or {}, actor=actor)
        items = []
        for item in board.items:
            try:
                report = self._report(service, item.report)
                items.append(DashboardItemView(item, self._view(service, report, actor, board, values, locale)))
            except QiqiaoError as exc:
                items.append(DashboardItemView(item, error=exc.message))
        return DashboardView(board, values, tuple(items))

    def query(self, app: str, data: Mapping[str, Any], *, actor: Actor, locale: str = "zh") -> ReportResult:
        """An ad-hoc query (the same JSON, checks and scope as a report's)."""
        service = self._service(app)
        query = parse_query(data)
        self._check(service, query, actor)
        return self._run(service, query, actor, ("query", freeze(query.to_dict())))

    def _check(self, service: RecordService, query: ReportQuery, actor: Actor) -> None:
        policy = actor.policy(service, query.form) if service.app.form(query.form) is not None else None
        if policy is not None:
            policy.require("read")
        problems = check_query(query, service.app, service.field_types, policy=policy)
        if problems:
            path, message = problems[0]
            raise QueryError(message, path)

    # --- drill-down and export -------------------------------------------------------------
    def drill(self, app: str, key: str, point: Mapping[str, Any], *, actor: Actor, measure: str | None = None,
              dashboard: str | None = None, filters: Mapping[str, Any] | None = None) -> DrillTarget:
        """The records behind one group of ``key``'s result (``point``: its
        dimension values as the result or its JSON shows them)."""
        service = self._service(app)
        report = self._report(service, key)
        if not report.drill:
            raise query_error(AREA, "point", Label(f"报表 {key} 不支持查看明细", f"Report {key} does not drill down"))
        actor.policy(service, report.form).require("read")
        board = self._dashboard(service, dashboard) if dashboard else None
        values = self.filter_values(app, board, filters or {}, actor=actor) if board else FilterValues()
        query = report.query.with_filter(self._conditions(service, board, values, report))
        point = _point(query, point)
        if measure is not None and query.measure(measure) is None:
            raise query_error(AREA, "measure", Label(f"报表没有度量 {measure}", f"The report has no measure {measure}"))
        result = None
        if any(v == "__others__" for v in point.values()):
            extra = self._conditions(service, board, values, report)
            result = self._run(service, query, actor, ("report", report.key, report.version, freeze(extra)))
        found = drill_filter(query, point, service.app, service.field_types, measure=measure, result=result)
        return DrillTarget(report.form, found)

    def export(self, app: str, key: str, *, actor: Actor, dashboard: str | None = None,
               filters: Mapping[str, Any] | None = None, locale: str = "zh") -> tuple[str, bytes]:
        """The report's result as an xlsx workbook: (file name, bytes)."""
        view = self.report(app, key, actor=actor, filters=filters, dashboard=dashboard, locale=locale)
        title = view.report.label.text(locale)
        body = result_xlsx(view.result, title=title, locale=locale, pivot=view.report.query.pivot)
        return f"{title}-{self.clock.today().isoformat()}.xlsx", body

    def run_alerts(self, now: Any) -> int:
        """The worker's task: due alerts checked (see engine.reports.alerts)."""
        from engine.reports.alerts import run_alerts

        return run_alerts(self, now)

    def app_keys(self) -> Sequence[str]:
        return list(self.records.app_keys())

    def app(self, app: str) -> AppDef:
        return self._service(app).app


def _default_text(default: Any) -> str:
    if default is None:
        return ""
    if isinstance(default, Mapping):
        return f"{default.get('from') or ''}..{default.get('to') or ''}"
    if isinstance(default, list | tuple):
        return ",".join(str(v) for v in default)
    return str(default)


def _point(query: ReportQuery, point: Mapping[str, Any]) -> dict[str, Any]:
    """``point`` with each value as the result holds it (a bucket's ISO day as a date)."""
    if not isinstance(point, Mapping):
        raise query_error(AREA, "point", Label("需要一个对象：维度 → 值", "An object is needed: dimension -> value"))
    out: dict[str, Any] = {}
    for key, value in point.items():
        dimension = query.dimension(str(key))
        if dimension is None:
            known = ", ".join(d.key for d in query.dimensions) or "-"
            raise query_error(AREA, f"point.{key}", Label(f"报表没有维度 {key}（可用：{known}）",
                                                          f"The report has no dimension {key} (known: {known})"))
        if dimension.grain is not None and isinstance(value, str) and value != "__others__":
            try:
                value = dt.date.fromisoformat(value[:10])
            except ValueError:
                raise query_error(AREA, f"point.{key}", Label(f"日期 {value} 无效", f"Invalid date {value}")) from None
        out[str(key)] = value
    return out


__all__ = ["ReportEngine"]
