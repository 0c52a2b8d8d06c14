"""The probe of issue #10, set up once per test on a database of each kind.

Two sales users of sibling departments (East: alice, West: bob) hold the
role ``sales``: read ``department``, write ``own``, and on customers
``revenue`` and ``notes`` hidden. The admin owns "Epsilon" (revenue and notes
a sales user must never learn); alice owns "Alpha", a subsidiary of Epsilon,
and an opportunity on Epsilon; bob owns "Bravo". Probes go through the
record service (``Probe.actor``) and through the HTTP API (``Probe.get`` ...).

Imported by the test_query_*.py files (not a conftest: tests/security is
shared with other suites).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.fields import FIELD_TYPES
from engine.org.permissions import parse_role
from engine.org.service import OrgService
from engine.packages import installed_app
from engine.records import Actor, RecordService
from engine.records.access import AppAccess
from engine.store.database import Database
from runtime.app import create_app
from tests.api.conftest import app_config, populate
from tests.conftest import from_snapshot

BASE = "/api/v1/apps/crm/forms"
SECRET_REVENUE = "987654321"
SECRET_NOTES = "secret takeover plan"
SALES = {
    "customer": {"actions": ["create", "read", "update", "delete", "export", "import"],
                 "read": "department", "write": "own", "fields": {"revenue": "hidden", "notes": "hidden"}},
    "opportunity": {"actions": ["create", "read", "update", "delete", "export", "import"],
                    "read": "department", "write": "own"},
}


@dataclass
class Probe:
    database: Database
    client: FlaskClient
    service: RecordService
    org: OrgService
    tokens: dict[str, str]
    ids: dict[str, int]
    users: dict[str, int]

    def actor(self, who: str) -> Actor:
        user_id = self.users[who]
        roles = tuple(parse_role(r.key, r.grants, r.label) for r in self.org.roles_of(user_id, app="crm"))
        access = AppAccess(self.org.principal(user_id, app="crm"), roles, app="crm")
        return Actor(user_id=user_id, source="api", access=access)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}", "Accept-Language": "en"}

    def get(self, who: str, path: str, **query: Any) -> TestResponse:
        params = {k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in query.items()}
        return self.client.get(f"{BASE}/{path}", headers=self.headers(who), query_string=params)

    def send(self, who: str, method: str, path: str, body: Any) -> TestResponse:
        return self.client.open(f"{BASE}/{path}", method=method, headers=self.headers(who), json=body)


def _set_up(database: Database) -> tuple[dict[str, str], dict[str, int], dict[str, int]]:
    """The probe's people, roles and records; its tokens, record ids and user ids."""
    people = populate(database, passwords=False)
    org = OrgService(database)
    sales = org.create_department("Sales")
    east = org.create_department("East", parent_id=sales.id)
    west = org.create_department("West", parent_id=sales.id)
    bob = org.create_user("bob", "Bob", locale="en")
    bob_token, _ = org.issue_token(bob.id, "tests")
    org.add_member(people.user_id, east.id)
    org.add_member(bob.id, west.id)
    # Not "sales": the CRM package ships a role with that key.
    org.create_role("probe_sales", "Sales", app="crm", grants=SALES)
    org.assign_role("crm:probe_sales", people.user_id)
    org.assign_role("crm:probe_sales", bob.id)
    service = RecordService(database, installed_app(database, "crm"), field_types=FIELD_TYPES)
    epsilon = service.create("customer", {"name": "Epsilon", "revenue": SECRET_REVENUE, "notes": SECRET_NOTES})
    alpha = service.create("customer", {"name": "Alpha", "subsidiary_of": epsilon["id"], "revenue": "5",
                                        "owner": people.user_id})
    bravo = service.create("customer", {"name": "Bravo", "revenue": "7", "owner": bob.id})
    opportunity = service.create("opportunity", {"name": "Opp on Epsilon", "customer": epsilon["id"],
                                                 "owner": people.user_id})
    return ({"admin": people.admin_token, "alice": people.user_token, "bob": bob_token},
            {"epsilon": epsilon["id"], "alpha": alpha["id"], "bravo": bravo["id"], "opportunity": opportunity["id"]},
            {"admin": people.admin_id, "alice": people.user_id, "bob": bob.id})


def make_probe(database: Database, request: pytest.FixtureRequest) -> Probe:
    """The probe on ``database`` (its set-up copied from a snapshot, see ``from_snapshot``)."""
    tokens, ids, users = from_snapshot(request, database, "query-probe", _set_up)
    service = RecordService(database, installed_app(database, "crm"), field_types=FIELD_TYPES)
    client = create_app(app_config(database)).test_client()
    return Probe(database, client, service, OrgService(database), tokens=tokens, ids=ids, users=users)
