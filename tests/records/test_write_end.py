"""The end of every write, in one place (engine/records/ending.py): full-record
events and audit with the actor and the cascade depth, context functions from
the actor, and rollup recomputes that leave the parent's version alone — on
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, cast

import pytest
import sqlalchemy as sa

from engine.core.clock import FixedClock
from engine.core.errors import ConflictError, ValidationError
from engine.core.i18n import label
from engine.definitions.model import AppDef, FormDef
from engine.fields import FIELD_TYPES
from engine.org.permissions import parse_role
from engine.org.principal import Principal
from engine.records import Actor, RecordService
from engine.records.access import AppAccess
from engine.records.batch import RowsInvalid
from engine.records.events import RecordEvent
from engine.store.database import Database
from engine.store.models import UserDepartment
from engine.store.tables import create_form_tables

CUSTOMER: dict[str, Any] = {
    "key": "customer", "label": {"zh": "客户", "en": "Customer"}, "title_field": "name",
    "fields": [
        {"key": "name", "type": "text", "label": "名称", "required": True},
        {"key": "secret", "type": "text", "label": "内部备注", "default": "internal"},
        {"key": "address", "type": "address", "label": "地址"},
        {"key": "entered_by", "type": "formula", "label": "录入人", "formula": 'USER("name")'},
        {"key": "entered_in", "type": "formula", "label": "部门", "formula": 'DEPARTMENT("name")'},
        {"key": "by_manager", "type": "formula", "label": "经理录入", "result_type": "boolean",
         "formula": 'ROLE_IN("manager")'},
        {"key": "visits", "type": "rollup", "label": "跟进数", "source": "visit.customer",
         "aggregate": "count"},
    ],
}
VISIT: dict[str, Any] = {
    "key": "visit", "label": {"zh": "跟进", "en": "Visit"},
    "fields": [
        {"key": "customer", "type": "relation", "target": "customer", "label": "客户", "required": True},
        {"key": "note", "type": "text", "label": "内容"},
    ],
}
LI, WANG = 7, 8


@pytest.fixture
def service(database: Database) -> RecordService:
    app = AppDef(key="crm", label=label("CRM"),
                 forms=tuple(FormDef.from_dict(f, app="crm") for f in (CUSTOMER, VISIT)))
    create_form_tables(database, app, FIELD_TYPES)
    with database.transaction() as conn:
        for user_id, name in ((LI, "Li Lei"), (WANG, "Wang Fang")):
            conn.execute(sa.text("INSERT INTO users (id, login, name, active, locale, created_at) "
                                 "VALUES (:id, :login, :name, true, 'zh', CURRENT_TIMESTAMP)"),
                         {"id": user_id, "login": f"u{user_id}", "name": name})
        conn.execute(sa.text("INSERT INTO departments (id, name) VALUES (3, 'East Sales')"))
        conn.execute(cast(sa.Table, UserDepartment.__table__).insert(),
                     [{"user_id": LI, "department_id": 3, "is_main": True}])
    return RecordService(database, app, field_types=FIELD_TYPES,
                         clock=FixedClock(dt.datetime(2024, 3, 15, 10, 0)))


def person(user_id: int, *roles: str, hide_secret: bool = False) -> Actor:
    grant: dict[str, Any] = {"actions": ["read", "create", "update", "delete"], "read": "all",
                             "write": "all"}
    if hide_secret:
        grant["fields"] = {"secret": "hidden"}
    parsed = tuple(parse_role(key, {"customer": grant, "visit": grant}) for key in roles or ("sales",))
    principal = Principal(user_id=user_id, login=f"u{user_id}", roles=frozenset(roles or ("sales",)))
    return Actor(user_id=user_id, source="web", request_id="req-1",
                 access=AppAccess(principal, parsed, app="crm"))


def audit(service: RecordService, form: str) -> list[dict[str, Any]]:
    with service.database.reading() as conn:
        rows = conn.execute(sa.text(
            "SELECT record_id, action, user_id, source, changes, at FROM audit_log "
            "WHERE form = :form ORDER BY id"), {"form": form}).mappings().all()
    return [dict(r) for r in rows]


def collect(service: RecordService) -> list[RecordEvent]:
    events: list[RecordEvent] = []
    service.bus.subscribe(events.append)
    return events


def test_context_functions_see_the_actor(service: RecordService) -> None:
    record = service.create("customer", {"name": "Acme"}, actor=person(LI, "manager"))
    assert record["entered_by"] == "Li Lei"
    assert record["entered_in"] == "East Sales"
    assert record["by_manager"] is True
    other = service.create("customer", {"name": "Beta"}, actor=person(WANG))
    assert (other["entered_by"], other["entered_in"], other["by_manager"]) == ("Wang Fang", None, False)
    batch = service.create_many("customer", [{"name": "Gamma"}], actor=person(LI, "manager"))
    assert service.get("customer", batch[0])["entered_by"] == "Li Lei"


def test_one_event_shape_whatever_the_write(service: RecordService) -> None:
    events = collect(service)
    li = person(LI, hide_secret=True)
    one = service.create("customer", {"name": "Acme", "address": {"province": "江苏省", "city": "苏州市"}},
                         actor=li)
    assert "secret" not in one  # the actor does not see it ...
    many = service.create_many("customer", [{"name": "Beta", "address": {"province": "江苏省"}}], actor=li)
    single, batch = events
    # ... but the rule engine does, in the same shape for both writes: fields and
    # system columns (flow_status too), never storage columns (address_city).
    assert set(single.record) == set(batch.record)
    assert single.record["secret"] == batch.record["secret"] == "internal"
    assert "flow_status" in batch.record and "address_province" not in batch.record
    assert batch.record["address"]["province"] == "江苏省"
    assert single.changed == batch.changed == {
        "name", "secret", "address", "entered_by", "entered_in", "by_manager", "visits"}
    assert single.actor == li and single.depth == batch.depth == 0
    assert batch.record_id == many[0]


def test_audit_has_the_full_record_per_record_in_utc(service: RecordService) -> None:
    li = person(LI, hide_secret=True)
    created = service.create("customer", {"name": "Acme"}, actor=li)
    ids = service.create_many("customer", [{"name": "B"}, {"name": "C"}], actor=li)
    entries = audit(service, "customer")
    assert [e["record_id"] for e in entries] == [created["id"], *ids]
    assert {e["action"] for e in entries} == {"create"}
    for entry in entries:
        changes = entry["changes"] if isinstance(entry["changes"], dict) else json.loads(entry["changes"])
        assert changes["secret"] == [None, "internal"]  # hidden from the actor, not from the log
        assert changes["name"][0] is None
        at = entry["at"] if isinstance(entry["at"], dt.datetime) else dt.datetime.fromisoformat(entry["at"])
        # 10:00 in Shanghai is 02:00 UTC, the zone sign-in events are stored in too.
        assert at.replace(tzinfo=None) == dt.datetime(2024, 3, 15, 2, 0)


def test_a_rollup_recompute_leaves_the_parents_version_and_author(service: RecordService) -> None:
    li, wang = person(LI), person(WANG)
    customer = service.create("customer", {"name": "Acme"}, actor=li)
    events = collect(service)
    service.create("visit", {"customer": customer["id"], "note": "call"}, actor=wang)
    after = service.get("customer", customer["id"])
    assert after["visits"] == 1
    assert (after["version"], after["updated_by"]) == (1, LI)
    # Li was editing the customer at version 1: no 409 for Wang's follow-up.
    service.update("customer", customer["id"], {"name": "Acme Ltd"}, version=1, actor=li)
    recompute = next(e for e in events if e.form == "customer")
    assert recompute.depth == 1 and recompute.actor is not None and recompute.actor.user_id == WANG
    assert recompute.changed == {"visits"}
    entry = next(e for e in audit(service, "customer") if e["action"] == "recompute")
    assert (entry["user_id"], entry["source"]) == (None, "recompute")


def test_delete_events_carry_the_full_record(service: RecordService) -> None:
    customer = service.create("customer", {"name": "Acme"})
    events = collect(service)
    service.delete("customer", customer["id"], actor=person(LI))
    (event,) = events
    assert event.kind == "record.deleted" and event.record["secret"] == "internal"
    assert event.changed == {"name", "secret", "by_manager", "visits"}  # every non-blank field


def test_giving_a_record_to_another_owner_is_the_assign_right(service: RecordService) -> None:
    rep = person(LI)
    manager = Actor(user_id=WANG, access=AppAccess(
        Principal(user_id=WANG, login="u8"),
        (parse_role("manager", {"customer": {"actions": ["read", "create", "update", "assign"],
                                             "read": "all", "write": "all"}}),), app="crm"))
    with pytest.raises(ValidationError) as caught:
        service.create("customer", {"name": "Acme", "owner": WANG}, actor=rep)
    assert "assign" in caught.value.as_dict("en")["details"]["owner"][0]
    mine = service.create("customer", {"name": "Acme", "owner": LI}, actor=rep)  # oneself: fine
    with pytest.raises(ValidationError):
        service.update("customer", mine["id"], {"owner": WANG}, version=1, actor=rep)
    with pytest.raises(RowsInvalid) as rows:
        service.create_many("customer", [{"name": "B"}, {"name": "C", "owner": WANG}], actor=rep)
    assert list(rows.value.row_errors) == [1]
    moved = service.update("customer", mine["id"], {"owner": WANG}, version=1, actor=manager)
    assert moved["owner"] == WANG
    given = service.create("customer", {"name": "D", "owner": LI}, actor=manager)
    assert given["owner"] == LI
    entry = [e for e in audit(service, "customer") if e["action"] == "update"][-1]
    changes = entry["changes"] if isinstance(entry["changes"], dict) else json.loads(entry["changes"])
    assert changes["owner"] == [LI, WANG] and entry["user_id"] == WANG


def test_a_refused_delete_names_every_blocker_and_counts_them(service: RecordService) -> None:
    customer = service.create("customer", {"name": "Acme"})
    visits = [service.create("visit", {"customer": customer["id"]})["id"] for _ in range(3)]
    with pytest.raises(ConflictError) as caught:
        service.delete("customer", customer["id"])
    assert caught.value.details["blockers"] == [
        {"form": "visit", "field": "customer", "count": 3, "first": visits[0]}]
    assert "3 Visit records through 客户" in caught.value.as_dict("en")["message"]


def test_a_cycle_of_writes_stops_at_the_maximum_depth(service: RecordService) -> None:
    customer = service.create("customer", {"name": "Acme"})

    def echo(event: RecordEvent) -> None:  # a rule that writes on every write: a cycle
        assert event.actor is not None
        service.update("customer", customer["id"], {"name": f"Acme {event.depth}"}, version=None,
                       actor=event.actor.caused("rule"), connection=event.connection)

    service.bus.subscribe(echo, "record.updated")
    with pytest.raises(ConflictError, match="levels of further writes"):
        service.update("customer", customer["id"], {"name": "Start"}, version=None)
    assert service.get("customer", customer["id"])["name"] == "Acme"  # all rolled back
