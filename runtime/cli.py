"""The ``qiqiao`` command: set up a database, validate and install app
packages, import and export records.

Every command reads the database from ``--database`` or ``QIQIAO_DATABASE_URL``
(default: ``instance/qiqiao.sqlite3``). Errors are printed as sentences with
what and where, and the exit status is non-zero; never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from engine.core.errors import QiqiaoError
from engine.core.i18n import Label
from runtime.config import database_url

LOCALE_OPTION = click.option(
    "--locale", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
    help="Language of messages.",
)
DATABASE_OPTION = click.option("--database", "database", default=None, metavar="URL",
                               help="Database URL (default: $QIQIAO_DATABASE_URL or instance/qiqiao.sqlite3).")


@contextmanager
def reported(locale: str) -> Iterator[None]:
    """Turn engine errors into a message on stderr and exit status 1."""
    try:
        yield
    except QiqiaoError as error:
        click.echo(click.style(error.text(locale), fg="red"), err=True)
        details = error.as_dict(locale).get("details")
        if details:
            click.echo(json.dumps(details, ensure_ascii=False, indent=2, default=str), err=True)
        sys.exit(1)


def open_database(url: str | None, *, create: bool = False) -> Any:
    """The database of ``--database`` (or the environment's).

    Only ``init`` (and ``demo``) pass ``create``: every other command needs a
    database ``qiqiao init`` set up, and says so in one sentence otherwise —
    without leaving an empty SQLite file behind, so a mistyped path stays
    visible as one.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from engine.store.database import Database
    from engine.store.migrate import SchemaOutdated, require_current

    resolved = database_url(url)
    try:
        parsed = make_url(resolved)
    except Exception:  # sqlalchemy raises ArgumentError or ValueError for a bad URL
        raise CommandError(Label(f"数据库地址无效：{resolved}",
                                 f"Not a database URL: {resolved}")) from None
    shown = parsed.render_as_string(hide_password=True)
    file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if not create and file and file != ":memory:" and not Path(file).exists():
        raise not_set_up(shown)
    database = Database(parsed)
    try:
        if create:
            with database.engine.connect():
                pass  # reachable: init creates the rest
        else:
            require_current(database)
    except SchemaOutdated as error:
        # A database without system tables is one ``init`` never ran on: one
        # sentence, without the revision details.
        raise not_set_up(shown) if error.details.get("revision") is None else error from None
    except SQLAlchemyError as error:
        reason = (str(getattr(error, "orig", None) or error).strip().splitlines() or [""])[0]
        raise CommandError(Label(f"无法打开数据库 {shown}：{reason}",
                                 f"Cannot open the database {shown}: {reason}")) from None
    return database


def not_set_up(shown: str) -> QiqiaoError:
    return CommandError(Label(f"数据库 {shown} 还没有建立：请先运行 qiqiao init",
                              f"The database {shown} has not been set up: run qiqiao init first"))


class CommandError(QiqiaoError):
    """A command cannot start: its database is missing, not set up or unreachable."""

    code = "command_error"


@click.group()
@click.version_option(package_name="qiqiao")
def main() -> None:
    """Qiqiao (七巧): a metadata-driven no-code application builder."""


@main.command()
@DATABASE_OPTION
@LOCALE_OPTION
def init(database: str | None, locale: str) -> None:
    """Create the database (or bring its system tables up to date)."""
    from engine.store.migrate import upgrade_system_tables

    with reported(locale):
        db = open_database(database, create=True)
        upgrade_system_tables(db)
        click.echo(f"Database ready: {db.url.render_as_string(hide_password=True)}")


@main.group()
def app() -> None:
    """Work with app packages."""


@app.command("validate")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@LOCALE_OPTION
def app_validate(path: Path, locale: str) -> None:
    """Check an app package (folder or zip) and list every problem."""
    from engine.definitions import format_issues, load_package
    from engine.fields import FIELD_TYPES
    from engine.packages.validation import validate_app_package

    with reported(locale):
        issues = validate_app_package(path, FIELD_TYPES)
        if issues:
            click.echo(format_issues(issues, locale), err=True)
            click.echo(f"{len(issues)} problem(s) in {path}", err=True)
            sys.exit(1)
        app = load_package(path, FIELD_TYPES)
        parts = (("forms", app.forms), ("rules", app.rules), ("flows", app.flows), ("reports", app.reports),
                 ("dashboards", app.dashboards))
        click.echo(f"{path}: {', '.join(f'{len(found)} {name}' for name, found in parts)} — OK")


@main.group()
def template() -> None:
    """Install template packages such as the CRM."""


@template.command("list")
def template_list() -> None:
    """List the templates that ship with Qiqiao."""
    from templates_lib import TEMPLATES

    for entry in TEMPLATES.all():
        click.echo(f"{entry.key}\t{entry.label.zh} / {entry.label.en}")


@template.command("install")
@click.argument("name")
@click.option("--owner", default=None, metavar="LOGIN", help="The user who owns the installed app.")
@DATABASE_OPTION
@LOCALE_OPTION
def template_install(name: str, owner: str | None, database: str | None, locale: str) -> None:
    """Install a template by name (``crm``) or from a package folder or zip."""
    from engine.fields import FIELD_TYPES
    from engine.packages import install_package
    from templates_lib import TEMPLATES

    with reported(locale):
        entry = TEMPLATES.find(name)
        path = entry.path if entry is not None else Path(name)
        if entry is None and not path.exists():
            known = ", ".join(TEMPLATES.keys())
            raise click.UsageError(f"No template or package named {name!r} (templates: {known})")
        db = open_database(database)
        owner_id = _owner_id(db, owner) if owner else None
        app_def = install_package(db, path, FIELD_TYPES, package=name, user_id=owner_id)
        owned = f", owned by {owner}" if owner else ""
        click.echo(f"Installed {app_def.key} {app_def.version}: {len(app_def.forms)} forms, "
                   f"{len(app_def.roles)} roles{owned}")


def _owner_id(db: Any, login: str) -> int:
    from engine.org.service import OrgService

    found = OrgService(db).find_user_by_login(login)
    if found is None:
        raise click.UsageError(f"No user {login!r}: create it first (qiqiao user create)")
    return found.id


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in values:
        if "=" not in item:
            raise click.BadParameter(f"{item!r}: expected {what}")
        left, right = item.split("=", 1)
        result[left.strip()] = right.strip()
    return result


def _fixes(values: tuple[str, ...]) -> dict[str, dict[str, str]]:
    result: dict[str, dict[str, str]] = {}
    for item in values:
        field, sep, rest = item.partition(":")
        if not sep or "=" not in rest:
            raise click.BadParameter(f"{item!r}: expected FIELD:FROM=TO")
        source, target = rest.split("=", 1)
        result.setdefault(field.strip(), {})[source] = target
    return result


@main.command("import")
@click.argument("app_key", metavar="APP")
@click.argument("form_key", metavar="FORM")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--map", "mapping", multiple=True, metavar="COLUMN=FIELD",
              help="Map a column to a field key (repeat); FIELD may be empty to ignore the column.")
@click.option("--key", "key_field", default=None, help="Field that identifies duplicates.")
@click.option("--on-duplicate", type=click.Choice(["skip", "update", "upsert", "error"]), default=None)
@click.option("--match", "relation_match", multiple=True, metavar="RELATION=FIELD",
              help="Match a relation's values on this field of the target form (default: its title).")
@click.option("--fix", "fixes", multiple=True, metavar="FIELD:FROM=TO",
              help="Rewrite a source value before matching (repeat), e.g. product:GTXPro=GTX Pro.")
@click.option("--batch-size", default=None, type=int,
              help="Records per transaction  [default: sized by time, at most 200 on SQLite, 1000 on PostgreSQL].")
@click.option("--skip-errors", is_flag=True, help="Write the good rows of a batch, report the bad ones.")
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@click.option("--errors-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the failed rows, with an error column, to this file.")
@DATABASE_OPTION
@LOCALE_OPTION
def import_command(app_key: str, form_key: str, file: Path, mapping: tuple[str, ...],
                   key_field: str | None, on_duplicate: str | None, relation_match: tuple[str, ...],
                   fixes: tuple[str, ...], batch_size: int | None, skip_errors: bool, dry_run: bool,
                   errors_out: Path | None, database: str | None, locale: str) -> None:
    """Import records into APP's FORM from an Excel or CSV FILE."""
    from engine.records.importing import ImportOptions, import_file
    from engine.records.sheets import writing_format

    with reported(locale):
        if errors_out is not None:
            writing_format(errors_out)  # refused now, not after the import
        service = _service(database, app_key)
        options = ImportOptions(
            mapping={k: (v or None) for k, v in _pairs(mapping, "COLUMN=FIELD").items()} or None,
            key_field=key_field,
            on_duplicate=on_duplicate,
            relation_match=_pairs(relation_match, "RELATION=FIELD"),
            value_map=_fixes(fixes),
            batch_size=batch_size,
            on_error="skip" if skip_errors else "abort",
            dry_run=dry_run,
        )
        report = import_file(service, form_key, file, options)
        click.echo(report.describe(locale))
        if errors_out is not None and report.failed:
            report.write_failed_rows(errors_out)
            click.echo(f"Failed rows written to {errors_out}")
        if report.failed and not skip_errors:
            sys.exit(1)


@main.command("export")
@click.argument("app_key", metavar="APP")
@click.argument("form_key", metavar="FORM")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--view", default=None, help="A list view of the form: its filter, sort and columns.")
@click.option("--filter", "filter_json", default=None, help="A filter in the filter language (JSON).")
@click.option("--columns", default=None, help="Comma-separated field keys.")
@DATABASE_OPTION
@LOCALE_OPTION
def export_command(app_key: str, form_key: str, file: Path, view: str | None,
                   filter_json: str | None, columns: str | None, database: str | None,
                   locale: str) -> None:
    """Export APP's FORM records to an Excel (.xlsx) or CSV (.csv) FILE: the
    file name's extension gives the format; another extension is refused."""
    from engine.records.exporting import export_records

    with reported(locale):
        service = _service(database, app_key)
        try:
            filter_spec = json.loads(filter_json) if filter_json else None
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"--filter is not valid JSON: {exc}") from None
        count = export_records(
            service, form_key, file, view=view, filter=filter_spec,
            columns=[c.strip() for c in columns.split(",")] if columns else None, locale=locale,
        )
        click.echo(f"Exported {count} record(s) to {file}")


def _service(database: str | None, app_key: str) -> Any:
    from engine.composition import compose

    # The composition root the web app uses too: same bus, same subscribers.
    return compose(open_database(database)).service(app_key)


from runtime.org_commands import app_owner, token, user  # noqa: E402  (after main: they register on it)

main.add_command(user)
main.add_command(token)

from runtime.audit_commands import audit  # noqa: E402

main.add_command(audit)

from runtime.import_commands import imports  # noqa: E402

main.add_command(imports)
app.add_command(app_owner)

from runtime.demo import demo_command  # noqa: E402  (the web app's commands: serve, demo)
from runtime.serve import serve_command  # noqa: E402

main.add_command(serve_command)
main.add_command(demo_command)


@main.command("worker")
@click.option("--once", is_flag=True, help="Do what is due now, then exit.")
@click.option("--name", default=None, help="This worker's name in the outbox (default: host:pid).")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(0.05, 3600),
              help="Seconds between polls when there is nothing to do.")
@DATABASE_OPTION
@LOCALE_OPTION
def worker_command(once: bool, name: str | None, interval: float, database: str | None, locale: str) -> None:
    """Deliver the outbox (and run the rules' schedules) until stopped."""
    from runtime.worker import run_worker

    with reported(locale):
        run_worker(database, once=once, name=name, interval=interval)

if __name__ == "__main__":  # pragma: no cover
    main()
