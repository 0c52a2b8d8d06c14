"""Installing and upgrading a package's menu and roles (and, on upgrade, its
flows, reports and dashboards).

On install (inside the install's transaction) the menu is published as the
app's ``menus`` definition, the roles as shipped as its ``roles``
definition, and each role is created for the app through
``OrgService.create_role`` — the organization's one storage and validation
of roles, audited like any role change.

On upgrade (``upgrade_parts``) a changed menu is published as a new version;
a new role is created; a role the package changed is updated — unless the
customer changed it since it was installed (its grants or label differ from
what the package shipped last time): then the customer's role is kept and
the report says so. Nobody loses a role: memberships are never touched, and
a role the new package no longer ships stays.

A flow the package changed (or added) is published as a new version of its
``flow`` definition; running instances keep the version they started on (its
definition row), the next submit takes the new one. A changed report or
dashboard is published the same way (its new row id is its new version, so
no cached result of the old one is served); one the package no longer ships
stays published.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.clock import Clock, SystemClock
from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.menus import MenuDef
from engine.definitions.model import AppDef
from engine.definitions.role_files import RoleDef, roles_from_dict, roles_to_dict
from engine.fields.base import FieldType
from engine.org.model import RoleInfo
from engine.org.service import OrgService
from engine.packages.validation import load_app_package
from engine.store.database import Database
from engine.store.models import Definition

_DEFINITIONS = cast(sa.Table, Definition.__table__)


@dataclass
class PartsReport:
    """What an upgrade did to the roles (by key) and whether the menu changed."""

    roles_added: list[str] = field(default_factory=list)
    roles_updated: list[str] = field(default_factory=list)
    roles_kept: list[str] = field(default_factory=list)  # changed by the customer: left as they are
    roles_not_shipped: list[str] = field(default_factory=list)  # no longer in the package: left
    menus_published: bool = False
    flows_published: list[str] = field(default_factory=list)  # new or changed: a new version
    reports_published: list[str] = field(default_factory=list)
    dashboards_published: list[str] = field(default_factory=list)


def install_parts(database: Database, conn: Connection, app: AppDef, clock: Clock,
                  user_id: int | None) -> None:
    """Publish the menu and roles of a package being installed and create its
    roles, on the install's connection (so a failure undoes the install)."""
    now = clock.now().astimezone(dt.UTC)  # SQLite keeps no offset: every moment is written in UTC
    _publish(conn, app.key, "menus", _menus_body(app), now, user_id)
    _publish(conn, app.key, "roles", roles_to_dict(app.roles), now, user_id)
    org = OrgService(database, clock).within(conn)
    for role in app.roles:
        _create(org, app.key, role)


def upgrade_parts(database: Database, path: str | Path, field_types: Registry[FieldType], *,
                  user_id: int | None = None, clock: Clock | None = None) -> PartsReport:
    """Bring an installed app's menu and roles up to the package at ``path``
    (one transaction). ``PackageError`` lists the package's problems;
    ``NotFoundError`` says the app is not installed."""
    from engine.packages.install import installed_app  # install imports this module

    app = load_app_package(path, field_types)
    clock = clock or SystemClock()
    now = clock.now().astimezone(dt.UTC)  # SQLite keeps no offset: every moment is written in UTC
    report = PartsReport()
    with database.transaction() as conn:
        installed_app(database, app.key, conn)  # NotFoundError when it is not installed
        report.menus_published = _publish(conn, app.key, "menus", _menus_body(app), now, user_id)
        shipped_body = newest_body(conn, app.key, "roles")
        shipped = {r.key: r for r in roles_from_dict(shipped_body or {})}
        org = OrgService(database, clock).within(conn)
        current = {r.key: r for r in org.list_roles(app.key) if r.app == app.key}
        for role in app.roles:
            have = current.get(role.key)
            if have is None:
                _create(org, app.key, role)
                report.roles_added.append(role.key)
            elif _same(have, role):
                continue
            elif role.key in shipped and not _same(have, shipped[role.key]):
                report.roles_kept.append(role.key)
            else:
                org.update_role(have.id, label=role.label, description=role.description)
                org.update_role_grants(have.id, role.grants)
                report.roles_updated.append(role.key)
        keys = {r.key for r in app.roles}
        report.roles_not_shipped = sorted(k for k in shipped if k not in keys and k in current)
        _publish(conn, app.key, "roles", roles_to_dict(app.roles), now, user_id)
        report.flows_published = [flow.key for flow in app.flows
                                  if _publish(conn, app.key, "flow", flow.to_dict(), now, user_id, key=flow.key)]
        report.reports_published = [r.key for r in app.reports
                                    if _publish(conn, app.key, "report", r.to_dict(), now, user_id, key=r.key)]
        report.dashboards_published = [
            d.key for d in app.dashboards
            if _publish(conn, app.key, "dashboard", d.to_dict(), now, user_id, key=d.key)]
    return report


def _create(org: OrgService, app: str, role: RoleDef) -> RoleInfo:
    try:
        return org.create_role(role.key, role.label, role.grants, app=app, description=role.description)
    except ValidationError as error:
        # Name the role: the organization's message says what, not which file entry.
        raise ValidationError(
            Label(f"roles.yaml 的角色 {role.key}：{error.message.zh}",
                  f"roles.yaml, role {role.key}: {error.message.en}"),
            field_errors=error.field_errors,
        ) from None


def _same(have: RoleInfo, role: RoleDef) -> bool:
    return (have.grants == dict(role.grants) and have.label == role.label
            and (have.description or None) == (role.description or None))


def _menus_body(app: AppDef) -> dict[str, Any]:
    return (app.menus or MenuDef()).to_dict()


def newest_body(conn: Connection, app: str, kind: str, key: str | None = None) -> dict[str, Any] | None:
    """The body of the newest version of the app's definition of ``kind``
    named ``key`` (by default the one keyed by the app: its menu, its roles)."""
    body = conn.execute(sa.select(_DEFINITIONS.c.body).where(
        _DEFINITIONS.c.app == app, _DEFINITIONS.c.kind == kind, _DEFINITIONS.c.key == (key or app),
    ).order_by(_DEFINITIONS.c.version.desc()).limit(1)).scalar()
    return dict(body) if body is not None else None


def _publish(conn: Connection, app: str, kind: str, body: dict[str, Any], now: dt.datetime,
             user_id: int | None, *, key: str | None = None) -> bool:
    """A new version of the app's ``kind`` definition ``key`` (by default
    keyed by the app) when ``body`` differs from the newest; True when one
    was written."""
    key = key or app
    version = conn.execute(sa.select(sa.func.max(_DEFINITIONS.c.version)).where(
        _DEFINITIONS.c.app == app, _DEFINITIONS.c.kind == kind, _DEFINITIONS.c.key == key)).scalar()
    if version is not None and newest_body(conn, app, kind, key) == body:
        return False
    conn.execute(_DEFINITIONS.insert(), {
        "app": app, "kind": kind, "key": key, "version": (version or 0) + 1, "body": body,
        "published_at": now, "published_by": user_id})
    return True
