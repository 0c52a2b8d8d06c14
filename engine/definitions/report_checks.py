"""What a report or dashboard file's schema cannot check and the package
alone can: the query's shape (``parse_query``), its form, unique alert keys;
a dashboard's grid (inside 12 columns, no two items overlapping), unique
filter keys and a select filter's ``options_from``.

Whether the query's fields exist, fit their aggregation and keep the number
of groups bounded, whether a chart's settings fit its type, whether a
dashboard's reports, filter types and roles exist: those need the report
engine's registries and the whole app, and are ``engine.reports.checks``'.
Problems are reported at their JSON path in the file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.core.errors import QueryError
from engine.core.i18n import Label
from engine.definitions.form_scope import FormScopeChecker
from engine.definitions.issues import DefinitionIssue, Path, json_path
from engine.definitions.report_query import parse_query
from engine.definitions.scope import Catalog

if TYPE_CHECKING:
    from engine.definitions.report_files import DashboardDef, ReportDef

GRID_COLUMNS = 12
SELECT_TYPES = ("select", "multiselect")


def query_issue(file: str, error: QueryError) -> DefinitionIssue:
    """A query's ``QueryError`` as the file's issue at its path (``query.measures[1].field``)."""
    return DefinitionIssue(file, error.path, error.message)


def query_shape(file: str, data: Any) -> list[DefinitionIssue]:
    """The query's shape, as ``parse_query`` reads it (before the report is built)."""
    try:
        parse_query(data, "query")
    except QueryError as error:
        return [query_issue(file, error)]
    return []


def check_report_file(report: ReportDef, catalog: Catalog) -> list[DefinitionIssue]:
    """The report's form exists; its alerts' keys are unique."""
    checker = FormScopeChecker(report.file, report.form, catalog)
    if checker.entry is None and not catalog.open_world:
        checker.known_form(("query", "form"), report.form)
    _unique(checker, [(("alerts", i, "key"), a.key) for i, a in enumerate(report.alerts)],
            Label("警报", "alert"))
    return checker.issues


def check_dashboard_file(dashboard: DashboardDef, catalog: Catalog) -> list[DefinitionIssue]:
    """The grid, unique filter keys, and a select filter's options source."""
    issues: list[DefinitionIssue] = []

    def report(path: Path, message: Label) -> None:
        issues.append(DefinitionIssue(dashboard.file, json_path(path), message))

    taken: dict[tuple[int, int], int] = {}
    for i, item in enumerate(dashboard.items):
        if item.x + item.w > GRID_COLUMNS:
            report(("items", i, "w"), Label(
                f"x + w = {item.x + item.w}，超出了 {GRID_COLUMNS} 列的网格",
                f"x + w = {item.x + item.w} is beyond the grid's {GRID_COLUMNS} columns"))
            continue
        cells = [(x, y) for x in range(item.x, item.x + item.w) for y in range(item.y, item.y + item.h)]
        other = next((taken[c] for c in cells if c in taken), None)
        if other is not None:
            report(("items", i), Label(f"与 items[{other}] 重叠", f"overlaps items[{other}]"))
            continue
        taken.update(dict.fromkeys(cells, i))
    seen: dict[str, int] = {}
    for i, item_filter in enumerate(dashboard.filters):
        if item_filter.key in seen:
            report(("filters", i, "key"), Label(
                f"筛选 '{item_filter.key}' 重复（已在 filters[{seen[item_filter.key]}]）",
                f"the filter '{item_filter.key}' is already defined at filters[{seen[item_filter.key]}]"))
        seen.setdefault(item_filter.key, i)
        if item_filter.options_from is not None:
            checker = FormScopeChecker(dashboard.file, item_filter.options_from.split(".")[0], catalog)
            _options_from(checker, ("filters", i, "options_from"), item_filter.options_from)
            issues.extend(checker.issues)
    return issues


def _options_from(checker: FormScopeChecker, path: Path, source: str) -> None:
    form_key, field_key = source.split(".", 1)
    if checker.known_form(path, form_key) is None:
        return
    found = checker.field(path, field_key, form=form_key)
    if found is not None and found.type not in SELECT_TYPES:
        checker.report(path, Label(f"'{source}' 不是选项字段（{found.type}）",
                                   f"'{source}' is not a select field ({found.type})"))


def _unique(checker: FormScopeChecker, keyed: list[tuple[Path, str]], noun: Label) -> None:
    first: dict[str, Path] = {}
    for path, key in keyed:
        if key in first:
            checker.report(path, Label(f"{noun.zh} '{key}' 重复（已在 {json_path(first[key])}）",
                                       f"the {noun.en} '{key}' is already defined at {json_path(first[key])}"))
        first.setdefault(key, path)
