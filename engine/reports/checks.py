"""Checks of an app's reports and dashboards that need the report engine:
each report's query (``check_query``: fields exist, are readable, fit their
aggregation, the number of groups is bounded), its chart's settings against
the chart type's schema and ``check``, its alerts (a measure of the result,
the rule engine's ``notify`` settings); each dashboard's items (reports of
the app), global filters (a registered type, mapped to a field of that
report's form the type accepts) and roles. The package-level checks (shape,
grid, keys) ran in the loader (``engine.definitions.report_checks``);
``engine.packages.validation`` runs these for ``qiqiao app validate``,
installing and upgrading. Every problem names the file and JSON path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from engine.actions.base import ACTIONS, Action
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.field_types import FieldTypes
from engine.definitions.form_scope import FormScopeChecker
from engine.definitions.issues import DefinitionIssue, Path, did_you_mean, join
from engine.definitions.model import AppDef, FieldDef, FormDef
from engine.definitions.report_files import AlertDef, DashboardDef, ReportDef
from engine.definitions.rule_files import RuleDef, RuleFormChecker, StepDef
from engine.definitions.scope import SYSTEM_FIELD_TYPES, Catalog, FormEntry
from engine.reports.base import ChartType, GlobalFilter
from engine.rules.checks import check_step, registered, settings_valid

NOTIFY = "notify"
# check_query(query, app, field_types, *, path) -> [(JSON path, message)]
QueryCheck = Callable[..., list[tuple[str, Label]]]


@dataclass(frozen=True)
class ReportParts:
    """What the checks ask of the report engine's other modules: the
    query's check and the chart type and global filter registries (tests
    pass their own; a part that is None is not checked)."""

    check_query: QueryCheck | None
    chart_types: Registry[ChartType] | None
    global_filters: Registry[GlobalFilter] | None


def engine_parts() -> ReportParts:
    """The query compiler's check and the chart and filter registries."""
    from engine.reports.charts import CHART_TYPES
    from engine.reports.filters import GLOBAL_FILTERS
    from engine.reports.query import check_query

    return ReportParts(check_query, CHART_TYPES, GLOBAL_FILTERS)


def check_reports(app: AppDef, field_types: FieldTypes, *, base: AppDef | None = None,
                  parts: ReportParts | None = None, actions: Registry[Action] = ACTIONS) -> list[DefinitionIssue]:
    """Every problem of ``app``'s reports and dashboards (``base``: the app
    an overlay extends, whose forms, reports and roles it may use)."""
    parts = parts or engine_parts()
    forms = {f.key: FormEntry(f"forms/{f.key}.yaml", f) for f in app.forms}
    roles = {r.key for r in app.roles}
    reports = {r.key: r for r in app.reports}
    if base is not None:
        for f in base.forms:
            forms.setdefault(f.key, FormEntry(f"({base.key})", f, checkable=False))
        roles |= {r.key for r in base.roles}
        reports = {r.key: r for r in base.reports} | reports
    catalog = Catalog(forms, field_types, open_world=bool(app.extends) and base is None)
    scope = _scope(app, base)
    issues: list[DefinitionIssue] = []
    for report in app.reports:
        checker = FormScopeChecker(report.file, report.form, catalog)
        if report.form in forms and parts.check_query is not None:
            _query(checker, report, scope, field_types, parts.check_query)
        if parts.chart_types is not None:
            _chart(checker, report, parts.chart_types)
        for i, alert in enumerate(report.alerts):
            _alert(checker, report, alert, ("alerts", i), catalog, roles, actions)
        issues.extend(checker.issues)
    for dashboard in app.dashboards:
        issues.extend(_dashboard(dashboard, reports, catalog, roles, parts.global_filters))
    return issues


def _scope(app: AppDef, base: AppDef | None) -> AppDef:
    """The app a query is checked against: an overlay's with its base's forms."""
    if base is None:
        return app
    own = {f.key for f in app.forms}
    return replace(app, forms=(*app.forms, *(f for f in base.forms if f.key not in own)))


def _query(checker: FormScopeChecker, report: ReportDef, app: AppDef, field_types: FieldTypes,
           check_query: QueryCheck) -> None:
    for where, message in check_query(report.query, app, field_types, path="query"):
        checker.issues.append(DefinitionIssue(report.file, where, message))


def _chart(checker: FormScopeChecker, report: ReportDef, chart_types: Registry[ChartType]) -> None:
    kind = registered(checker, ("chart", "type"), report.chart_type, chart_types, Label("图表类型", "chart type"))
    if kind is None:
        return
    settings = {k: v for k, v in report.chart.items() if k != "type"}
    if not settings_valid(checker, ("chart",), kind.settings_schema, settings):
        return
    for where, message in kind.check(report.query, settings):
        checker.issues.append(DefinitionIssue(report.file, f"chart.{where}" if where else "chart", message))


def result_keys(report: ReportDef) -> list[str]:
    """The measures of a report's result an alert may watch: its measures,
    and the columns its comparisons and running totals add."""
    query = report.query
    keys = [m.key for m in query.measures]
    for c in query.compare:
        keys += [f"{c.measure}_{c.kind}", f"{c.measure}_{c.kind}_change"]
    keys += [f"{r.measure}_running" for r in query.running]
    return keys


def _alert(checker: FormScopeChecker, report: ReportDef, alert: AlertDef, path: Path, catalog: Catalog,
           roles: set[str], actions: Registry[Action]) -> None:
    keys = result_keys(report)
    if alert.measure not in keys:
        checker.report((*path, "measure"), join(
            Label(f"报表没有度量 '{alert.measure}'", f"the report has no measure '{alert.measure}'"),
            did_you_mean(alert.measure, keys)))
    # The notice is the rule action notify's: checked by it, as a rule on the report's form.
    rule = RuleDef(key=f"{report.key}_{alert.key}", label=alert.label, form=report.form,
                   trigger=StepDef("report_alert"), actions=(StepDef(NOTIFY, dict(alert.notify)),), file=report.file)
    as_rule = RuleFormChecker(rule, catalog)
    check_step(as_rule, (*path, "notify"), StepDef(NOTIFY, dict(alert.notify)), _only(actions, NOTIFY),
               Label("动作", "action"))
    checker.issues.extend(i for i in as_rule.issues if not i.json_path.endswith("notify.type"))
    for i, item in enumerate(alert.notify.get("to", ()) if isinstance(alert.notify.get("to"), list) else ()):
        if isinstance(item, Mapping) and isinstance(item.get("role"), str):
            _role(checker, (*path, "notify", "to", i, "role"), item["role"], roles, catalog)


def _only(actions: Registry[Action], key: str) -> Registry[Action]:
    found: Registry[Action] = Registry("action")
    kind = actions.find(key)
    if kind is not None:
        found.register(kind)
    return found


def _role(checker: FormScopeChecker, path: Path, key: str, roles: Iterable[str], catalog: Catalog) -> None:
    known = set(roles)
    if key not in known and not catalog.open_world:
        checker.report(path, join(Label(f"应用包没有角色 '{key}'（roles.yaml）",
                                        f"the package has no role '{key}' (roles.yaml)"), did_you_mean(key, known)))


def _dashboard(dashboard: DashboardDef, reports: Mapping[str, ReportDef], catalog: Catalog, roles: set[str],
               global_filters: Registry[GlobalFilter] | None) -> list[DefinitionIssue]:
    checker = FormScopeChecker(dashboard.file, "", catalog)
    for i, item in enumerate(dashboard.items):
        if item.report not in reports and not catalog.open_world:
            checker.report(("items", i, "report"), join(
                Label(f"没有报表 '{item.report}'", f"there is no report '{item.report}'"),
                did_you_mean(item.report, list(reports))))
    for i, item_filter in enumerate(dashboard.filters):
        kind = None if global_filters is None else registered(
            checker, ("filters", i, "type"), item_filter.type, global_filters, Label("全局筛选类型", "global filter type"))
        for report_key, field_path in item_filter.fields.items():
            where: Path = ("filters", i, "fields", report_key)
            report = reports.get(report_key)
            if report is None:
                if not catalog.open_world:
                    checker.report(where, join(Label(f"没有报表 '{report_key}'", f"there is no report '{report_key}'"),
                                               did_you_mean(report_key, list(reports))))
                continue
            if report_key not in {item.report for item in dashboard.items}:
                checker.report(where, Label(f"报表 '{report_key}' 不在这个仪表盘上",
                                            f"the report '{report_key}' is not on this dashboard"))
            target = _field(checker, where, report.form, field_path)
            if kind is not None and target is not None and not kind.accepts(target):
                checker.report(where, Label(
                    f"{item_filter.type} 筛选不能用于字段 '{field_path}'（{target.type}）",
                    f"a {item_filter.type} filter cannot apply to the field '{field_path}' ({target.type})"))
    for i, role in enumerate(dashboard.roles):
        _role(checker, ("roles", i), role, roles, catalog)
    return checker.issues


def _field(checker: FormScopeChecker, path: Path, form_key: str, field_path: str) -> FieldDef | None:
    """The field ``field_path`` names on ``form_key`` (through relations:
    ``customer.industry``); reported when there is none."""
    entry = checker.catalog.entry(form_key)
    if entry is None:
        return None
    form: FormDef | None = entry.form
    *hops, last = field_path.split(".")
    for hop in hops:
        assert form is not None
        through = checker.field(path, hop, form=form.key)
        if through is None:
            return None
        reference = checker.catalog.reference(through, "form")
        target = checker.catalog.entry(str(reference.value)) if reference is not None else None
        if target is None:
            checker.report(path, Label(f"'{hop}' 不是关联字段", f"'{hop}' is not a relation field"))
            return None
        form = target.form
    assert form is not None
    found = form.field(last)
    if found is None:
        if last in SYSTEM_FIELD_TYPES:
            # owner, created_by ...: the system's member fields; created_at ...: datetimes.
            kind = SYSTEM_FIELD_TYPES[last]
            return FieldDef(key=last, type="member" if kind == "any" else kind, label=Label(last, last))
        checker.field(path, last, form=form.key)
    return found
