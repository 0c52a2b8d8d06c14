"""Fixtures of the package tests: the CRM installed once per module on a
database of each kind (installing it takes a while; the tests that use it
only add people and records of their own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.fields import FIELD_TYPES
from engine.packages import install_package
from engine.store.database import Database
from engine.store.migrate import upgrade_system_tables
from templates_lib.crm import PACKAGE_PATH as CRM
from tests.conftest import admin_execute, postgres_schema_database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def crm_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A database with the CRM installed, shared by a module's tests."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("crm") / "qiqiao.sqlite3"
        database = Database(f"sqlite:///{path}")
        schema = None
    else:
        url = request.getfixturevalue("postgres_url")
        database, schema = postgres_schema_database(url)
    try:
        upgrade_system_tables(database)
        install_package(database, CRM, FIELD_TYPES, package="crm")
        yield database
    finally:
        database.dispose()
        if schema is not None:
            admin_execute(request.getfixturevalue("postgres_url"), f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
