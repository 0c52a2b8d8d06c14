"""``qiqiao user ...`` and ``qiqiao token ...``: people and API tokens from the command line.

Registered on the ``qiqiao`` group by ``runtime.cli``. The helpers of that
module are imported when a command runs, not when this module loads:
``python -m runtime.cli`` runs it as ``__main__``, and a top-level import
would load it a second time half-way through.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

LOCALE_OPTION = click.option(
    "--locale", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
    help="Language of messages.",
)
DATABASE_OPTION = click.option(
    "--database", "database", default=None, metavar="URL",
    help="Database URL (default: $QIQIAO_DATABASE_URL or instance/qiqiao.sqlite3).",
)


def _org(database: str | None) -> Any:
    from engine.org.service import OrgService
    from runtime.cli import open_database

    return OrgService(open_database(database))


def _reported(locale: str) -> Any:
    from runtime.cli import reported

    return reported(locale)


def _user(org: Any, login: str) -> Any:
    from engine.core.errors import NotFoundError
    from engine.core.i18n import Label

    user = org.find_user_by_login(login)
    if user is None:
        raise NotFoundError(Label(f"没有登录名为“{login}”的用户", f"No user has the login \"{login}\""))
    return user


def _password(password: str | None, password_stdin: bool) -> str | None:
    if password is not None and password_stdin:
        raise click.UsageError("Give --password or --password-stdin, not both")
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if password is None and sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))
    return password


@click.group()
def user() -> None:
    """Manage users: create, import, list."""


@user.command("create")
@click.argument("login")
@click.option("--name", required=True, help="Display name.")
@click.option("--email", default=None)
@click.option("--mobile", default=None)
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--password", default=None,
              help="The password (visible to other local users; prefer the prompt or --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@DATABASE_OPTION
@LOCALE_OPTION
def user_create(login: str, name: str, email: str | None, mobile: str | None, admin: bool,
                password: str | None, password_stdin: bool, database: str | None,
                locale: str) -> None:
    """Create the user LOGIN. Without a password (and no terminal to ask on)
    the user cannot sign in until one is set."""
    with _reported(locale):
        secret = _password(password, password_stdin)
        org = _org(database)
        created = org.create_user(login, name, email=email, mobile=mobile, password=secret,
                                  is_admin=admin)
        kind = "admin" if created.is_admin else "user"
        click.echo(f"Created {kind} {created.login} (id {created.id})")
        if not created.has_password:
            click.echo("No password set: this user cannot sign in with a password yet.")


@user.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check everything, write nothing.")
@DATABASE_OPTION
@LOCALE_OPTION
def user_import(file: Path, dry_run: bool, database: str | None, locale: str) -> None:
    """Import users and departments from a CSV or Excel FILE (columns: login,
    name, email, mobile, department, main, position, roles)."""
    from engine.org.people_import import import_people

    with _reported(locale):
        report = import_people(_org(database), file, dry_run=dry_run)
        if report.failures:
            click.echo(report.describe(locale), err=True)
            sys.exit(1)
        click.echo(report.describe(locale))


@user.command("list")
@click.option("--all", "everyone", is_flag=True, help="Include deactivated users.")
@DATABASE_OPTION
@LOCALE_OPTION
def user_list(everyone: bool, database: str | None, locale: str) -> None:
    """List users: id, login, name, email, mobile, main department, flags."""
    with _reported(locale):
        org = _org(database)
        index = org.department_index()
        mains = org.main_departments()
        for person in org.list_users(active=None if everyone else True):
            main = mains.get(person.id)
            flags = ",".join(f for f, on in (("admin", person.is_admin),
                                             ("inactive", not person.active)) if on)
            click.echo("\t".join([str(person.id), person.login, person.name, person.email or "",
                                  person.mobile or "", index.path(main) if main else "", flags]))


@click.group()
def token() -> None:
    """Manage API tokens: create, list, revoke."""


@token.command("create")
@click.argument("login")
@click.option("--name", required=True, help="What the token is for (shown in lists).")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Expire after this many days (default: never).")
@DATABASE_OPTION
@LOCALE_OPTION
def token_create(login: str, name: str, days: int | None, database: str | None,
                 locale: str) -> None:
    """Issue an API token for LOGIN and print it. It is shown only this once."""
    with _reported(locale):
        org = _org(database)
        plaintext, info = org.issue_token(_user(org, login).id, name, expires_in_days=days)
        click.echo(plaintext)
        expiry = info.expires_at.isoformat(timespec="seconds") if info.expires_at else "never"
        click.echo(f"Token {info.id} ({info.prefix}…) for {login}, expires: {expiry}. "
                   "Copy it now: it cannot be shown again.", err=True)


@token.command("list")
@click.argument("login")
@DATABASE_OPTION
@LOCALE_OPTION
def token_list(login: str, database: str | None, locale: str) -> None:
    """List LOGIN's tokens: id, name, prefix, created, expires, revoked, last used."""
    with _reported(locale):
        org = _org(database)
        for info in org.list_tokens(_user(org, login).id):
            moments = [info.created_at, info.expires_at, info.revoked_at, info.last_used_at]
            click.echo("\t".join([str(info.id), info.name, info.prefix, *(
                m.isoformat(timespec="seconds") if m else "" for m in moments)]))


@token.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
@DATABASE_OPTION
@LOCALE_OPTION
def token_revoke(token_id: int, database: str | None, locale: str) -> None:
    """Revoke the token with this ID: it stops working at once."""
    with _reported(locale):
        info = _org(database).revoke_token(token_id)
        click.echo(f"Revoked token {info.id} ({info.prefix}…)")


@click.group("owner")
def app_owner() -> None:
    """Manage an app's owners (they manage its roles and every record in it)."""


@app_owner.command("add")
@click.argument("app_key", metavar="APP")
@click.argument("login")
@DATABASE_OPTION
@LOCALE_OPTION
def app_owner_add(app_key: str, login: str, database: str | None, locale: str) -> None:
    """Make LOGIN an owner of APP."""
    _change_owner(app_key, login, database, locale, give=True)


@app_owner.command("remove")
@click.argument("app_key", metavar="APP")
@click.argument("login")
@DATABASE_OPTION
@LOCALE_OPTION
def app_owner_remove(app_key: str, login: str, database: str | None, locale: str) -> None:
    """Stop LOGIN owning APP."""
    _change_owner(app_key, login, database, locale, give=False)


def _change_owner(app_key: str, login: str, database: str | None, locale: str, *, give: bool) -> None:
    with _reported(locale):
        org = _org(database)
        user_id = _user(org, login).id
        changed = org.add_app_owner(app_key, user_id) if give else org.remove_app_owner(app_key, user_id)
        done, same = ("now owns", "already owned") if give else ("no longer owns", "did not own")
        click.echo(f"{login} {done if changed else same} {app_key}")


@app_owner.command("list")
@click.argument("app_key", metavar="APP")
@DATABASE_OPTION
@LOCALE_OPTION
def app_owner_list(app_key: str, database: str | None, locale: str) -> None:
    """List APP's owners: id, login, name."""
    with _reported(locale):
        org = _org(database)
        for user_id in sorted(org.app_owners(app_key)):
            person = org.get_user(user_id)
            click.echo("\t".join([str(person.id), person.login, person.name]))
