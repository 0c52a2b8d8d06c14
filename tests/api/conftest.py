"""Fixtures of the REST API tests, in the Flask tutorial's shape: ``app``,
``client``, ``runner``.

``app`` is a fresh SQLite file per test, copied from one made once per
session (system tables, the CRM installed, an admin with a password and a
token, a plain user with a token): copying a file is much faster than
installing the CRM and hashing passwords for every test.

``world`` is the same set-up on a database of each kind (SQLite and
PostgreSQL, from ``tests/conftest.py``'s ``database``), for the record
endpoints, which must behave the same on both.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from engine.fields import FIELD_TYPES
from engine.org.service import OrgService
from engine.packages import install_package
from engine.store.database import Database
from engine.store.migrate import upgrade_system_tables
from runtime.app import create_app
from templates_lib.crm import PACKAGE_PATH as CRM
from tests.conftest import from_snapshot

ADMIN_PASSWORD = "admin-password-1"
USER_PASSWORD = "user-password-1"


@dataclass(frozen=True)
class People:
    """Who is in a test database, and their tokens."""

    admin_id: int
    admin_token: str
    user_id: int
    user_token: str


@dataclass
class World:
    """An app on some database, with its people."""

    app: Flask
    database: Database
    people: People

    @property
    def client(self) -> FlaskClient:
        return self.app.test_client()

    def auth(self, token: str | None = None, **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.people.admin_token}", **headers}


def populate(database: Database, *, passwords: bool = True) -> People:
    """The CRM and two people (an admin and a plain user), each with a token
    (and a password, unless ``passwords`` is false: hashing one takes a while)."""
    install_package(database, CRM, FIELD_TYPES, package="crm")
    org = OrgService(database)
    admin = org.create_user("admin", "管理员", password=ADMIN_PASSWORD if passwords else None, is_admin=True)
    user = org.create_user("alice", "Alice", password=USER_PASSWORD if passwords else None, locale="en")
    admin_token, _ = org.issue_token(admin.id, "tests")
    user_token, _ = org.issue_token(user.id, "tests")
    return People(admin.id, admin_token, user.id, user_token)


def app_config(database: Database | None = None, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {"TESTING": True, "SECRET_KEY": "test-secret", "DEFINITIONS_CHECK_SECONDS": 0}
    if database is not None:
        config["DATABASE"] = database
    config.update(extra)
    return config


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, People]:
    """A SQLite file with the CRM and its people, made once per session."""
    path = tmp_path_factory.mktemp("template") / "qiqiao.sqlite3"
    database = Database(f"sqlite:///{path}")
    upgrade_system_tables(database)
    people = populate(database)
    database.dispose()
    return path, people


@pytest.fixture
def sqlite_copy(template_database: tuple[Path, People], tmp_path: Path) -> Iterator[Database]:
    source, _ = template_database
    target = tmp_path / "qiqiao.sqlite3"
    shutil.copyfile(source, target)
    database = Database(f"sqlite:///{target}")
    yield database
    database.dispose()


@pytest.fixture
def people(template_database: tuple[Path, People]) -> People:
    return template_database[1]


@pytest.fixture
def app(sqlite_copy: Database, tmp_path: Path) -> Flask:
    return create_app(app_config(sqlite_copy, FILES=str(tmp_path / "files")))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def admin(people: People) -> dict[str, str]:
    """Headers that sign in as the admin."""
    return {"Authorization": f"Bearer {people.admin_token}"}


@pytest.fixture
def alice(people: People) -> dict[str, str]:
    """Headers that sign in as the plain user (English)."""
    return {"Authorization": f"Bearer {people.user_token}", "Accept-Language": "en"}


@pytest.fixture
def world(bare_database: Database, tmp_path: Path, request: pytest.FixtureRequest) -> World:
    """The CRM and its people on a database of each kind (copied from a
    snapshot: ``database``, the same database, would only migrate it again)."""
    database = bare_database
    people = from_snapshot(request, database, "crm", lambda d: populate(d, passwords=False))
    return World(create_app(app_config(database, FILES=str(tmp_path / "files"))), database, people)
