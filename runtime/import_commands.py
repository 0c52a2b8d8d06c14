"""``qiqiao imports clean --older-than 7d``: remove the finished import jobs
that ended before then, with their uploaded files
(``engine.records.import_cleanup``; every import start does it for jobs
older than a week). Registered on the ``qiqiao`` group by ``runtime.cli``.
"""

from __future__ import annotations

import datetime as dt
import re

import click

from runtime.org_commands import DATABASE_OPTION, LOCALE_OPTION, _reported

_AGE = re.compile(r"^\s*(\d{1,6})\s*([dhm]?)\s*$")
_UNITS = {"d": "days", "": "days", "h": "hours", "m": "minutes"}


def parse_age(text: str) -> dt.timedelta:
    """``7d`` (or ``7``), ``12h``, ``30m``."""
    found = _AGE.match(text.lower())
    if found is None:
        raise click.BadParameter(f"{text!r} is not an age such as 7d, 12h or 30m", param_hint="--older-than")
    return dt.timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})


@click.group("imports")
def imports() -> None:
    """Work with import jobs and their files."""


@imports.command("clean")
@click.option("--older-than", "older_than", default="7d", show_default=True, metavar="AGE",
              help="Remove finished jobs that ended longer ago than this (7d, 12h, 30m).")
@click.option("--files", "files_folder", default=None, metavar="FOLDER",
              help="Where uploaded files are kept (default: $QIQIAO_FILES or instance/files).")
@DATABASE_OPTION
@LOCALE_OPTION
def imports_clean(older_than: str, files_folder: str | None, database: str | None, locale: str) -> None:
    """Remove finished import jobs and the files they imported."""
    from engine.records.import_cleanup import clean_imports
    from engine.store.files import LocalFolderStorage
    from runtime.cli import open_database
    from runtime.config import files_folder as default_folder

    age = parse_age(older_than)
    with _reported(locale):
        db = open_database(database)
        storage = LocalFolderStorage(files_folder or default_folder(), db)
        cleaned = clean_imports(db, storage, dt.datetime.now(dt.UTC) - age)
        click.echo(f"Removed {cleaned.jobs} import job(s) and {cleaned.files} file(s) older than {older_than}")
