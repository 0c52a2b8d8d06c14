"""Fixtures of the authentication probes (``test_auth_*.py``): the CRM and
two people with passwords and tokens on a database of each kind, an app
whose files go to a temporary folder, and signing in as a browser does.

Kept in a module of its own (imported by each probe) so that the other
security probes of this folder are free to have their own fixtures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.store.database import Database
from runtime.app import create_app
from tests.api.conftest import ADMIN_PASSWORD, USER_PASSWORD, People, World, app_config, populate
from tests.conftest import from_snapshot

__all__ = ["ADMIN_PASSWORD", "USER_PASSWORD", "People", "World", "auth_world", "make_app", "sign_in"]

ORIGIN = {"Origin": "http://localhost"}


def make_app(database: Database, files: Path, **extra: Any) -> Flask:
    return create_app(app_config(database, FILES=str(files), **extra))


@pytest.fixture
def auth_world(bare_database: Database, tmp_path: Path, request: pytest.FixtureRequest) -> World:
    """The CRM, an admin and a plain user (``alice``), each with a password and
    a token (copied from a snapshot; ``database`` would only migrate it again)."""
    database = bare_database
    people = from_snapshot(request, database, "crm-passwords", populate)
    return World(make_app(database, tmp_path / "files"), database, people)


def sign_in(client: FlaskClient, login: str, password: str, **environ: Any) -> str:
    """Sign ``client`` in (a JSON post, as a page's script does); its CSRF token."""
    response = client.post("/auth/login", json={"login": login, "password": password},
                           environ_base=environ)
    assert response.status_code == 200, response.get_json()
    return str(response.get_json()["csrf_token"])
