"""Loading and checking a package as a whole: the definitions layer's checks
(forms, menus, roles, the rules', flows', reports' and dashboards' common
shape) and, above it, the rule engine's checks of each trigger and action by
its type, the flow engine's of each node and approver entry by its type, and
the report engine's of each query, chart, alert and dashboard. ``qiqiao app
validate``, installing and upgrading all go through here."""

from __future__ import annotations

from pathlib import Path

from engine.definitions.field_types import FieldTypes
from engine.definitions.issues import DefinitionIssue, PackageError
from engine.definitions.loader import load_package, validate_package
from engine.definitions.model import AppDef
from engine.flows.checks import check_flows
from engine.reports.checks import check_reports
from engine.rules.checks import check_rules


def load_app_package(path: str | Path, field_types: FieldTypes, *, base: AppDef | None = None) -> AppDef:
    """The app of the package at ``path``; ``PackageError`` lists every problem."""
    app = load_package(path, field_types, base=base)
    issues = _by_type(app, field_types, base)
    if issues:
        raise PackageError(Path(path).name, issues)
    return app


def validate_app_package(path: str | Path, field_types: FieldTypes, *,
                         base: AppDef | None = None) -> list[DefinitionIssue]:
    """Every problem of the package at ``path``; empty when it installs."""
    issues = validate_package(path, field_types, base=base)
    if issues:
        return issues
    return _by_type(load_package(path, field_types, base=base), field_types, base)


def _by_type(app: AppDef, field_types: FieldTypes, base: AppDef | None) -> list[DefinitionIssue]:
    return [*check_rules(app, field_types, base=base), *check_flows(app, field_types, base=base),
            *check_reports(app, field_types, base=base)]
