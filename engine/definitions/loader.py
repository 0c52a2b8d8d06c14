"""Loading an app package: read, validate against the schemas, check references, build.

``load_package(path, FIELD_TYPES)`` returns an ``AppDef`` or raises one
``PackageError`` listing every problem of the package; ``validate_package``
returns the problems instead (``qiqiao app validate PATH``).

The field type registry is passed in, not imported: this layer sits below
``engine.fields`` (DESIGN §2).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path as FilePath
from typing import Any

from engine.core.i18n import Label, Message, label
from engine.definitions.checks import FormChecker
from engine.definitions.field_types import FieldTypes
from engine.definitions.flow_files import load_flows
from engine.definitions.form_schema import app_schema, form_schema
from engine.definitions.issues import DefinitionIssue, PackageError, Path, json_path, path_sort_key
from engine.definitions.menus import MenuScope
from engine.definitions.model import (
    SCHEMA_VERSION,
    AppDef,
    FieldDef,
    FormDef,
    FormRule,
    IndexDef,
    ListView,
)
from engine.definitions.parts import load_parts
from engine.definitions.print_templates import load_print_templates
from engine.definitions.report_files import load_dashboards, load_reports
from engine.definitions.rule_files import load_rules
from engine.definitions.schema_check import make_validator, schema_errors
from engine.definitions.scope import Catalog, FormEntry
from engine.definitions.sources import MANIFEST_NAMES, SourceFile, read_package

KEY = re.compile(r"[a-z][a-z0-9_]{0,49}")
# PostgreSQL truncates identifiers longer than this; two tables could then collide.
MAX_TABLE_NAME = 63
_LIST_SECTIONS = ("fields", "layout", "rules", "list_views", "indexes")

Upgrade = Callable[[dict[str, Any]], dict[str, Any]]
# Per kind, per schema_version: the function that rewrites a file of that
# version into the next one. Empty while version 1 is the only one.
UPGRADES: dict[str, dict[int, Upgrade]] = {"app": {}, "form": {}}


def load_package(path: str | FilePath, field_types: FieldTypes, *, base: AppDef | None = None) -> AppDef:
    """The app defined by the package at ``path`` (a folder or a .zip).

    ``base`` is the app an overlay package ``extends``; its forms may be
    pointed at. Raises ``PackageError`` with every issue when anything is wrong.
    """
    app, issues = _load(FilePath(path), field_types, base)
    if issues or app is None:
        raise PackageError(FilePath(path).name, issues)
    return app


def validate_package(
    path: str | FilePath, field_types: FieldTypes, *, base: AppDef | None = None
) -> list[DefinitionIssue]:
    """Every issue of the package at ``path``; empty when it loads."""
    return _load(FilePath(path), field_types, base)[1]


def _load(
    path: FilePath, field_types: FieldTypes, base: AppDef | None
) -> tuple[AppDef | None, list[DefinitionIssue]]:
    files = read_package(path)
    issues = list(files.issues)
    manifest = _upgrade(files.manifest, "app")
    app_data: Mapping[str, Any] | None = None
    if manifest is not None:
        errors = schema_errors(make_validator(app_schema()), manifest.data)
        issues.extend(_issues(manifest.name, errors))
        if not errors:
            app_data = manifest.data
            issues.extend(_manifest_checks(manifest.name, manifest.data))

    validator = make_validator(form_schema(field_types))
    entries: dict[str, FormEntry] = {}
    valid: dict[str, Mapping[str, Any]] = {}
    for source in files.forms:
        upgraded = _upgrade(source, "form")
        assert upgraded is not None
        errors = schema_errors(validator, upgraded.data)
        issues.extend(_issues(source.name, errors))
        entry = _entry(source.name, upgraded.data, [p for p, _ in errors])
        if entry is None:
            continue
        key = entry.form.key
        if key in entries:
            issues.append(DefinitionIssue(source.name, "key", Label(
                f"表单 '{key}' 已经在 {entries[key].file} 中定义",
                f"form '{key}' is already defined in {entries[key].file}",
            )))
            continue
        entries[key] = entry
        if not errors:
            valid[source.name] = upgraded.data

    extends = app_data.get("extends") if app_data is not None else None
    known = dict(entries)
    for form in base.forms if base is not None else ():
        known.setdefault(form.key, FormEntry(file=f"({base.key if base else ''})", form=form,
                                             checkable=False))
    catalog = Catalog(known, field_types, open_world=bool(extends) and base is None)
    for entry in entries.values():
        if entry.checkable:
            issues.extend(FormChecker(entry, catalog).run())
        if app_data is not None:
            issues.extend(_table_names(str(app_data["key"]), entry, catalog))

    prints, print_issues = load_print_templates(path, {key: entry.form for key, entry in known.items()})
    rules, rule_issues = load_rules(files.rules, catalog)
    flows, flow_issues = load_flows(files.flows, catalog)
    reports, report_issues = load_reports(files.reports, catalog)
    dashboards, dashboard_issues = load_dashboards(files.dashboards, catalog)
    written = {s.data.get("key") for s in files.dashboards if isinstance(s.data, dict)}
    scope = MenuScope({k: e.form for k, e in known.items()}, {d.key: d for d in dashboards},
                      {r.key: r for r in reports},
                      frozenset(k for k in written if isinstance(k, str)) - {d.key for d in dashboards})
    parts, part_issues = load_parts(files.parts, scope, catalog.open_world)
    issues = sorted([*issues, *print_issues, *part_issues, *rule_issues, *flow_issues, *report_issues,
                     *dashboard_issues], key=_reading_order)
    if issues or app_data is None:
        return None, issues
    forms = [FormDef.from_dict(valid[entry.file]) for entry in entries.values()]
    return AppDef.from_dict(app_data, forms, prints, menus=parts.get("menus"),
                            roles=parts.get("roles", ()), rules=rules, flows=flows,
                            reports=reports, dashboards=dashboards), []


def _upgrade(source: SourceFile | None, kind: str) -> SourceFile | None:
    """The file's data rewritten to the current schema_version (the schema reports what is off)."""
    if source is None or not isinstance(source.data, dict):
        return source
    data = source.data
    version = data.get("schema_version")
    while isinstance(version, int) and not isinstance(version, bool) and version < SCHEMA_VERSION:
        step = UPGRADES[kind].get(version)
        if step is None:
            break
        data = step(data)
        version = data.get("schema_version")
    return SourceFile(source.name, data)


def _issues(file: str, errors: list[tuple[Path, Label]]) -> list[DefinitionIssue]:
    return [DefinitionIssue(file, json_path(path), message) for path, message in errors]


def _manifest_checks(file: str, data: Mapping[str, Any]) -> list[DefinitionIssue]:
    if data.get("extends") == data["key"]:
        return [DefinitionIssue(file, "extends", Label(
            "应用不能扩展它自己", "an app cannot extend itself"
        ))]
    return []


def _entry(file: str, raw: Any, error_paths: list[Path]) -> FormEntry | None:
    """What the checks may rely on in a form file, given where the schema failed.

    Elements the schema refused are left out (their keys stay known, so no one
    is told they are missing); a file without a valid key is left out entirely.
    """
    if not isinstance(raw, dict) or not (isinstance(raw.get("key"), str) and KEY.fullmatch(raw["key"])):
        return None
    bad_roots = {p[0] for p in error_paths if p and (len(p) == 1 or p[0] not in _LIST_SECTIONS)}
    bad_items = {(p[0], p[1]) for p in error_paths if len(p) >= 2 and p[0] in _LIST_SECTIONS}

    def kept(section: str) -> list[tuple[int, Any]]:
        items = raw.get(section)
        if section in bad_roots or not isinstance(items, list):
            return []
        return [(i, item) for i, item in enumerate(items) if (section, i) not in bad_items]

    fields = kept("fields")
    kept_keys = {item["key"] for _, item in fields}
    raw_fields: list[Any] = raw["fields"] if isinstance(raw.get("fields"), list) else []
    unchecked = frozenset(
        item["key"] for item in raw_fields
        if isinstance(item, dict) and isinstance(item.get("key"), str) and item["key"] not in kept_keys
    )
    rules, views, indexes = kept("rules"), kept("list_views"), kept("indexes")

    def scalar(name: str) -> Any:
        return raw.get(name) if name not in bad_roots else None

    form = FormDef(
        key=raw["key"],
        label=label(scalar("label") or raw["key"]),
        fields=tuple(FieldDef.from_dict(item) for _, item in fields),
        title_field=scalar("title_field"),
        layout=tuple(item for _, item in kept("layout")),
        rules=tuple(FormRule.from_dict(item) for _, item in rules),
        list_views=tuple(ListView.from_dict(item) for _, item in views),
        indexes=tuple(
            IndexDef(tuple(item["fields"]), bool(item.get("unique", False)), item.get("key"))
            for _, item in indexes
        ),
    )
    return FormEntry(
        file=file,
        form=form,
        unchecked=unchecked,
        field_index=tuple(i for i, _ in fields),
        rule_index=tuple(i for i, _ in rules),
        view_index=tuple(i for i, _ in views),
        index_index=tuple(i for i, _ in indexes),
        layout_ok=not any(p and p[0] == "layout" for p in error_paths),
        checkable=isinstance(raw.get("fields"), list) and "fields" not in bad_roots,
    )


def _table_names(app: str, entry: FormEntry, catalog: Catalog) -> list[DefinitionIssue]:
    """Table names fit PostgreSQL's identifier limit: ``<app>_<form>`` and ``<app>_<form>__<subform>``."""
    issues = []
    table = f"{app}_{entry.form.key}"
    too_long = Message(
        "表名 '{name}' 超过 {limit} 个字符，请缩短应用、表单或字段的键",
        "the table name '{name}' is longer than {limit} characters; shorten the app, form or field key",
    )
    if len(table) > MAX_TABLE_NAME:
        message = too_long.format(name=table, limit=MAX_TABLE_NAME)
        return [DefinitionIssue(entry.file, "key", message)]
    for f, index in zip(entry.form.fields, entry.field_index, strict=True):
        child = f"{table}__{f.key}"
        if catalog.has_rows(f) and len(child) > MAX_TABLE_NAME:
            message = too_long.format(name=child, limit=MAX_TABLE_NAME)
            issues.append(DefinitionIssue(entry.file, json_path(("fields", index, "key")), message))
    return issues


def _reading_order(issue: DefinitionIssue) -> tuple[Any, ...]:
    """The manifest first, then the forms by file name; by path within a file."""
    return (issue.file not in MANIFEST_NAMES, issue.file, path_sort_key(issue.json_path))
