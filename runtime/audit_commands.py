"""``qiqiao audit ...``: the audit log from the command line.

- ``qiqiao audit list [--app A] [--form F] [--record ID] [--user LOGIN]
  [--action X] [--since T] [--until T] [--limit N] [--json]``: every entry,
  newest first (the command line is the system's own: it sees everything,
  as an admin does through ``GET /api/v1/audit``);
- ``qiqiao audit history APP FORM ID [--as LOGIN] [--json]``: one record's
  history; with ``--as``, only if that user may read the record, and
  without the fields hidden from them — what the API would show them.

Registered on the ``qiqiao`` group by ``runtime.cli``; its helpers are
imported when a command runs (see ``runtime.org_commands``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from runtime.org_commands import DATABASE_OPTION, LOCALE_OPTION, _reported, _user

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
LIMIT_OPTION = click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 500))


@click.group("audit")
def audit() -> None:
    """Read the audit log: who changed what, when."""


def _moment(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise click.BadParameter("an ISO 8601 moment with a time zone, like 2026-12-01T00:00:00Z",
                                 param_hint=name)
    return moment


def _show(entries: list[Any], as_json: bool) -> None:
    from runtime.jsonio import dump_bytes

    for entry in entries:
        body = entry.as_json()
        if as_json:
            click.echo(dump_bytes(body).decode())
            continue
        who = entry.user_name or (f"#{entry.user_id}" if entry.user_id is not None else "system")
        record = f"{entry.app}/{entry.form}" + (f"#{entry.record_id}" if entry.record_id is not None else "")
        changes = json.dumps(entry.changes, ensure_ascii=False, default=str) if entry.changes else ""
        click.echo("\t".join([str(entry.id), entry.at.isoformat(timespec="seconds"), who, entry.action,
                              record, entry.source or "", changes]))


@audit.command("list")
@click.option("--app", "app_key", default=None)
@click.option("--form", "form_key", default=None)
@click.option("--record", "record_id", default=None, type=int)
@click.option("--user", "login", default=None, metavar="LOGIN")
@click.option("--action", default=None)
@click.option("--since", default=None, metavar="MOMENT")
@click.option("--until", default=None, metavar="MOMENT")
@LIMIT_OPTION
@JSON_OPTION
@DATABASE_OPTION
@LOCALE_OPTION
def audit_list(app_key: str | None, form_key: str | None, record_id: int | None, login: str | None,
               action: str | None, since: str | None, until: str | None, limit: int, as_json: bool,
               database: str | None, locale: str) -> None:
    """List audit entries, newest first: id, when, who, action, what, through what, changes."""
    from engine.org.service import OrgService
    from engine.store.audit import AuditFilter, read_audit
    from runtime.cli import open_database

    with _reported(locale):
        db = open_database(database)
        user_id = _user(OrgService(db), login).id if login else None
        where = AuditFilter(app=app_key, form=form_key, record_id=record_id, user_id=user_id, action=action,
                            since=_moment(since, "--since"), until=_moment(until, "--until"))
        with db.reading() as conn:
            _show(read_audit(conn, where, limit=limit), as_json)


@audit.command("history")
@click.argument("app_key", metavar="APP")
@click.argument("form_key", metavar="FORM")
@click.argument("record_id", metavar="ID", type=int)
@click.option("--as", "as_login", default=None, metavar="LOGIN",
              help="Show what this user may see (nothing if they may not read the record).")
@LIMIT_OPTION
@JSON_OPTION
@DATABASE_OPTION
@LOCALE_OPTION
def audit_history(app_key: str, form_key: str, record_id: int, as_login: str | None, limit: int,
                  as_json: bool, database: str | None, locale: str) -> None:
    """One record's history, newest first."""
    from engine.core.clock import SystemClock
    from engine.org.service import OrgService
    from engine.records import SYSTEM, Actor
    from engine.records.record_history import record_history
    from runtime.cli import _service
    from runtime.identity import Identities

    with _reported(locale):
        service = _service(database, app_key)
        actor = SYSTEM
        if as_login:
            org = OrgService(service.database)
            user_id = _user(org, as_login).id
            access = Identities(org, SystemClock(), ttl=0).access(user_id, app_key)
            actor = Actor(user_id=user_id, source="cli", access=access)
        _show(record_history(service, form_key, record_id, actor=actor, limit=limit), as_json)
