"""Installing an app package, and reading installed apps back.

Installing validates the package (every problem at once), then in one
transaction creates the forms' tables, records the app and version 1 of each
definition (the manifest, the forms, the print templates, the menu, the
rules, the flows, the reports, the dashboards) and
creates the package's roles (``engine.packages.parts``); on any failure
nothing is left behind. What is installed is
read back from the published definitions, not from the package files, so an
app keeps working when its package folder changes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.clock import Clock, SystemClock
from engine.core.errors import ConflictError, NotFoundError
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.flow_files import FlowDef
from engine.definitions.menus import MenuDef
from engine.definitions.model import AppDef, FormDef, PrintTemplateDef
from engine.definitions.report_files import DashboardDef, ReportDef
from engine.definitions.rule_files import RuleDef
from engine.definitions.serialize import form_to_dict, label_to_dict, manifest_to_dict
from engine.fields.base import FieldType
from engine.packages.parts import install_parts, newest_body
from engine.packages.validation import load_app_package
from engine.store.database import Database
from engine.store.models import App, AppOwner, Definition
from engine.store.tables import create_form_tables

_APPS = cast(sa.Table, App.__table__)
_DEFINITIONS = cast(sa.Table, Definition.__table__)
_OWNERS = cast(sa.Table, AppOwner.__table__)


def install_package(
    database: Database,
    path: str | Path,
    field_types: Registry[FieldType],
    *,
    package: str | None = None,
    user_id: int | None = None,
    clock: Clock | None = None,
) -> AppDef:
    """Install the package at ``path``; ``PackageError`` lists every problem
    with it, ``ConflictError`` says the app is already installed. The user
    who installs it (``user_id``) publishes its definitions and owns it
    (``engine.org.owners``)."""
    app = load_app_package(path, field_types)
    clock = clock or SystemClock()
    now = clock.now().astimezone(dt.UTC)  # SQLite keeps no offset: every moment is written in UTC
    with database.transaction() as conn:
        if conn.execute(sa.select(_APPS.c.key).where(_APPS.c.key == app.key)).first():
            raise ConflictError(
                Label(f"应用 {app.key} 已安装；升级请用 template upgrade",
                      f"The app {app.key} is already installed; use template upgrade to change it"),
                details={"app": app.key},
            )
        create_form_tables(database, app, field_types, connection=conn)
        conn.execute(_APPS.insert().values(
            key=app.key, label=_label_json(app.label), version=app.version,
            package=package or app.key, package_version=app.version, installed_at=now,
        ))
        rows: list[dict[str, Any]] = [_definition(app.key, "app", app.key, manifest_to_dict(app), now, user_id)]
        rows += [_definition(app.key, "form", f.key, form_to_dict(f), now, user_id) for f in app.forms]
        rows += [_definition(app.key, "print", p.key, p.to_dict(), now, user_id) for p in app.prints]
        rows += [_definition(app.key, "rule", r.key, r.to_dict(), now, user_id) for r in app.rules]
        rows += [_definition(app.key, "flow", f.key, f.to_dict(), now, user_id) for f in app.flows]
        rows += [_definition(app.key, "report", r.key, r.to_dict(), now, user_id) for r in app.reports]
        rows += [_definition(app.key, "dashboard", d.key, d.to_dict(), now, user_id) for d in app.dashboards]
        conn.execute(_DEFINITIONS.insert(), rows)
        install_parts(database, conn, app, clock, user_id)
        if user_id is not None:
            conn.execute(_OWNERS.insert(), {"app": app.key, "user_id": user_id})
    return app


def _label_json(value: Label) -> dict[str, Any]:
    data = label_to_dict(value)
    return data if isinstance(data, dict) else {"zh": data, "en": data}


def _definition(app: str, kind: str, key: str, body: dict[str, Any], now: dt.datetime,
                user_id: int | None) -> dict[str, Any]:
    return {"app": app, "kind": kind, "key": key, "version": 1, "body": body,
            "published_at": now, "published_by": user_id}


def installed_apps(database: Database, connection: Connection | None = None) -> list[str]:
    """The keys of the installed apps."""
    if connection is None:
        with database.transaction() as conn:
            return installed_apps(database, conn)
    return [str(k) for k in connection.execute(sa.select(_APPS.c.key).order_by(_APPS.c.key)).scalars()]


def installed_app(database: Database, key: str, connection: Connection | None = None) -> AppDef:
    """The app as published: the newest version of each of its definitions
    (its ``roles`` are left out: the live roles are the organization's). A
    flow's ``version`` is the id of its definition row, which an instance
    keeps (``flow_definition``); so is a report's and a dashboard's (the
    report cache keys a result by it)."""
    if connection is None:
        with database.transaction() as conn:
            return installed_app(database, key, conn)
    manifest_row = connection.execute(sa.select(_APPS).where(_APPS.c.key == key)).first()
    manifest = newest_body(connection, key, "app")
    if manifest_row is None or manifest is None:
        names = installed_apps(database, connection)
        raise NotFoundError(
            Label(f"应用 {key} 未安装（已安装：{', '.join(names) or '无'}）",
                  f"The app {key} is not installed (installed: {', '.join(names) or 'none'})"),
        )
    forms = tuple(FormDef.from_dict(body, app=key) for body in _newest(connection, key, "form"))
    prints = (PrintTemplateDef.from_dict(body) for body in _newest(connection, key, "print"))
    menus = newest_body(connection, key, "menus")
    rules = (RuleDef.from_dict(body) for body in _newest(connection, key, "rule"))
    flows = (FlowDef.from_dict(body, version=row_id) for row_id, body in _newest_rows(connection, key, "flow"))
    reports = (ReportDef.from_dict(body, version=row_id) for row_id, body in _newest_rows(connection, key, "report"))
    dashboards = (DashboardDef.from_dict(body, version=row_id)
                  for row_id, body in _newest_rows(connection, key, "dashboard"))
    return AppDef.from_dict(manifest, forms, prints,
                            menus=MenuDef.from_dict(menus) if menus is not None else None, rules=rules,
                            flows=flows, reports=reports, dashboards=dashboards)


def flow_definition(database: Database, version: int, connection: Connection | None = None) -> FlowDef:
    """The flow as published in definition row ``version`` (an instance's
    flow, even after newer versions were published); NotFoundError when
    there is no such flow row."""
    if connection is None:
        with database.transaction() as conn:
            return flow_definition(database, version, conn)
    body = connection.execute(sa.select(_DEFINITIONS.c.body).where(
        _DEFINITIONS.c.id == version, _DEFINITIONS.c.kind == "flow")).scalar()
    if body is None:
        raise NotFoundError(Label(f"没有流程版本 {version}", f"There is no flow version {version}"),
                            details={"version": version})
    return FlowDef.from_dict(body, version=version)


def _newest(connection: Connection, app: str, kind: str) -> list[dict[str, Any]]:
    """The newest version of each definition of one kind, in the order they were first published."""
    return [body for _, body in _newest_rows(connection, app, kind)]


def _newest_rows(connection: Connection, app: str, kind: str) -> list[tuple[int, dict[str, Any]]]:
    """The row id and body of the newest version of each definition of one kind."""
    newest = (
        sa.select(_DEFINITIONS.c.key, sa.func.max(_DEFINITIONS.c.version).label("version"))
        .where(_DEFINITIONS.c.app == app, _DEFINITIONS.c.kind == kind)
        .group_by(_DEFINITIONS.c.key)
        .subquery()
    )
    rows = connection.execute(
        sa.select(_DEFINITIONS.c.id, _DEFINITIONS.c.body).join(
            newest, sa.and_(_DEFINITIONS.c.key == newest.c.key, _DEFINITIONS.c.version == newest.c.version)
        ).where(_DEFINITIONS.c.app == app, _DEFINITIONS.c.kind == kind).order_by(_DEFINITIONS.c.id)
    )
    return [(int(row.id), dict(row.body)) for row in rows]
