"""Permissions enforced inside the record service: actions, data scopes and
field rights, combined as a union — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa

from engine.core.errors import NotFoundError, PermissionDenied, ValidationError
from engine.core.i18n import label
from engine.definitions.model import AppDef, FormDef
from engine.fields import FIELD_TYPES
from engine.org.permissions import Role, parse_role
from engine.org.principal import Principal
from engine.records import Actor, RecordService
from engine.records.access import AppAccess
from engine.records.exporting import export_records
from engine.records.importing import import_file
from engine.store.database import Database
from engine.store.models import UserDepartment
from engine.store.tables import create_form_tables

DEAL: dict[str, Any] = {
    "key": "deal", "label": {"zh": "商机", "en": "Deal"}, "title_field": "title",
    "fields": [
        {"key": "title", "type": "text", "label": "标题", "required": True},
        {"key": "amount", "type": "money", "label": "金额"},
        {"key": "secret_note", "type": "text", "label": "内部备注"},
        {"key": "stage", "type": "select", "label": "阶段", "options": [
            {"key": "open", "label": "进行中"}, {"key": "won", "label": "赢单"}]},
    ],
}
# users: alice 1 and bob 2 in East (11), carol 3 heads Sales (10) which contains
# East and West (12); dave 4 in West.
ALICE, BOB, CAROL, DAVE = 1, 2, 3, 4
MEMBERS = {ALICE: 11, BOB: 11, CAROL: 10, DAVE: 12}


@pytest.fixture
def service(database: Database) -> RecordService:
    app = AppDef(key="crm", label=label("CRM"), forms=(FormDef.from_dict(DEAL, app="crm"),))
    create_form_tables(database, app, FIELD_TYPES)
    with database.transaction() as conn:
        for user_id in MEMBERS:
            conn.execute(sa.text(
                "INSERT INTO users (id, login, name, active, locale, created_at) "
                "VALUES (:id, :login, :login, true, 'zh', CURRENT_TIMESTAMP)"),
                {"id": user_id, "login": f"u{user_id}"})
        for department in sorted(set(MEMBERS.values())):
            conn.execute(sa.text("INSERT INTO departments (id, name) VALUES (:id, :name) "
                                 "ON CONFLICT DO NOTHING"), {"id": department, "name": f"d{department}"})
        members = cast(sa.Table, UserDepartment.__table__)
        conn.execute(members.insert(), [
            {"user_id": u, "department_id": d, "is_main": True} for u, d in MEMBERS.items()])
    service = RecordService(database, app, field_types=FIELD_TYPES)
    for owner in (ALICE, ALICE, BOB, CAROL, DAVE):
        service.create("deal", {"title": f"deal of {owner}", "amount": 100 * owner, "owner": owner,
                                "secret_note": f"note {owner}", "stage": "won" if owner == BOB else "open"})
    return service


def actor(user_id: int, *roles: Role, admin: bool = False) -> Actor:
    principal = Principal(
        user_id=user_id, login=f"u{user_id}", is_admin=admin,
        department_ids=frozenset({MEMBERS[user_id]}), main_department_id=MEMBERS[user_id],
        department_tree_ids=frozenset({10, 11, 12}) if user_id == CAROL else frozenset({MEMBERS[user_id]}),
        subordinate_ids=frozenset({ALICE, BOB, DAVE}) if user_id == CAROL else frozenset(),
    )
    return Actor(user_id=user_id, source="api", access=AppAccess(principal, roles))


def role(key: str, **grant: Any) -> Role:
    return parse_role(key, {"deal": grant})


def owners(service: RecordService, who: Actor, **query: Any) -> list[int]:
    return sorted(r["owner"] for r in service.list("deal", actor=who, limit=100, **query)["records"])


FULL = ["create", "read", "update", "delete"]


@pytest.mark.parametrize(("scope", "user", "expected"), [
    ("own", ALICE, [ALICE, ALICE]),
    ("own_and_subordinates", CAROL, [ALICE, ALICE, BOB, CAROL, DAVE]),
    ("own_and_subordinates", ALICE, [ALICE, ALICE]),
    ("department", ALICE, [ALICE, ALICE, BOB]),
    ("department", DAVE, [DAVE]),
    ("department_tree", CAROL, [ALICE, ALICE, BOB, CAROL, DAVE]),
    ("all", DAVE, [ALICE, ALICE, BOB, CAROL, DAVE]),
    ({"filter": {"field": "stage", "op": "eq", "value": "won"}}, DAVE, [BOB]),
])
def test_each_data_scope_limits_lists_counts_and_gets(
    service: RecordService, scope: Any, user: int, expected: list[int]
) -> None:
    who = actor(user, role("r", actions=FULL, read=scope, write=scope))
    assert owners(service, who) == expected
    assert service.count("deal", actor=who) == (len(expected), True)
    visible = {r["id"] for r in service.list("deal", actor=who, limit=100)["records"]}
    for record_id in range(1, 6):
        if record_id in visible:
            assert service.get("deal", record_id, actor=who)["id"] == record_id
        else:
            with pytest.raises(NotFoundError):  # outside the scope: not found, not forbidden
                service.get("deal", record_id, actor=who)


def test_records_outside_the_scope_cannot_be_probed_by_writes(service: RecordService) -> None:
    alice = actor(ALICE, role("own", actions=FULL, read="own", write="own"))
    dave_record = next(r for r in service.list("deal")["records"] if r["owner"] == DAVE)
    with pytest.raises(NotFoundError):
        service.update("deal", dave_record["id"], {"title": "x"}, version=1, actor=alice)
    with pytest.raises(NotFoundError):
        service.delete("deal", dave_record["id"], actor=alice)
    with pytest.raises(NotFoundError):
        service.update("deal", 999, {"title": "x"}, version=1, actor=alice)


def test_actions_are_checked(service: RecordService) -> None:
    reader = actor(ALICE, role("reader", actions=["read"], read="all"))
    with pytest.raises(PermissionDenied, match="may not create"):
        service.create("deal", {"title": "new"}, actor=reader)
    with pytest.raises(PermissionDenied, match="may not update"):
        service.update("deal", 1, {"title": "x"}, version=1, actor=reader)
    nobody = actor(ALICE)
    with pytest.raises(PermissionDenied, match="may not read"):
        service.list("deal", actor=nobody)


def test_a_readable_record_outside_the_write_scope_is_forbidden(service: RecordService) -> None:
    alice = actor(ALICE, role("r", actions=FULL, read="department", write="own"))
    bob_record = next(r for r in service.list("deal")["records"] if r["owner"] == BOB)
    assert service.get("deal", bob_record["id"], actor=alice)["title"] == "deal of 2"
    with pytest.raises(PermissionDenied, match="may not update this record"):
        service.update("deal", bob_record["id"], {"title": "mine now"}, version=1, actor=alice)
    own = next(r for r in service.list("deal")["records"] if r["owner"] == ALICE)
    assert service.update("deal", own["id"], {"title": "renamed"}, version=1, actor=alice)["title"] == "renamed"


def test_field_rights_on_read_and_write(service: RecordService) -> None:
    limited = actor(ALICE, role("r", actions=FULL, read="all", write="all",
                                fields={"secret_note": "hidden", "amount": "readonly"}))
    record = service.get("deal", 1, actor=limited)
    assert "secret_note" not in record and record["amount"] is not None
    assert all("secret_note" not in r for r in service.list("deal", actor=limited)["records"])
    with pytest.raises(PermissionDenied, match="secret_note"):
        service.list("deal", actor=limited, filter={"field": "secret_note", "op": "contains", "value": "note"})
    with pytest.raises(PermissionDenied):
        service.list("deal", actor=limited, sort=["-secret_note"])
    assert service.list("deal", actor=limited, search="note 1")["records"] == []  # hidden text is not searched
    with pytest.raises(ValidationError) as caught:
        service.update("deal", 1, {"amount": 5, "secret_note": "x"}, version=1, actor=limited)
    assert caught.value.as_dict("en")["details"] == {
        "amount": ["You may not change this field"], "secret_note": ["You may not change this field"]}
    with pytest.raises(ValidationError):
        service.create("deal", {"title": "t", "secret_note": "sneaky"}, actor=limited)
    created = service.create("deal", {"title": "t"}, actor=limited)
    assert "secret_note" not in created and created["owner"] == ALICE


def test_the_union_never_shows_a_field_no_role_shows_for_that_record(service: RecordService) -> None:
    """Role A reads only Alice's own deals, fully. Role B reads every deal but
    hides the note. Together: the note of Alice's deals, not of the others."""
    both = actor(ALICE,
                 role("own_full", actions=["read"], read="own"),
                 role("all_partial", actions=["read"], read="all", fields={"secret_note": "hidden"}))
    records = service.list("deal", actor=both, limit=100)["records"]
    assert len(records) == 5
    for record in records:
        if record["owner"] == ALICE:
            assert record["secret_note"] == f"note {ALICE}"
        else:
            assert "secret_note" not in record
        assert not any(key.startswith("_reader_") for key in record)
    dave_record = next(r for r in records if r["owner"] == DAVE)
    assert "secret_note" not in service.get("deal", dave_record["id"], actor=both)
    # Filtering by a field one of the roles hides would reveal it: refused.
    with pytest.raises(PermissionDenied):
        service.count("deal", actor=both, filter={"field": "secret_note", "op": "eq", "value": "note 4"})


def test_administrators_and_the_system_see_everything(service: RecordService) -> None:
    admin = actor(DAVE, admin=True)
    assert len(service.list("deal", actor=admin)["records"]) == 5
    assert service.get("deal", 1, actor=admin)["secret_note"] == "note 1"
    assert len(service.list("deal")["records"]) == 5


def test_imports_need_the_import_action(service: RecordService) -> None:
    creator = actor(ALICE, role("r", actions=["create", "read"], read="own"))
    importer = Actor(user_id=ALICE, source="import", access=creator.access)
    with pytest.raises(PermissionDenied, match="may not import"):
        service.create_many("deal", [{"title": "a"}], actor=importer)
    assert len(service.create_many("deal", [{"title": "a"}], actor=creator)) == 1


def test_import_and_export_are_actions_of_their_own(service: RecordService, tmp_path: Path) -> None:
    reader = actor(ALICE, role("r", actions=["create", "read"], read="all"))
    source = tmp_path / "deals.csv"
    source.write_text("title\nimported\n", encoding="utf-8")
    for dry_run in (True, False):
        with pytest.raises(PermissionDenied, match="may not import"):
            import_file(service, "deal", source, actor=reader, dry_run=dry_run)
    target = tmp_path / "deals.xlsx"
    with pytest.raises(PermissionDenied, match="may not export"):
        export_records(service, "deal", target, actor=reader)
    assert not target.exists()  # refused before a file is begun

    clerk = actor(ALICE, role("r", actions=["create", "read", "import", "export"], read="own", write="own"))
    report = import_file(service, "deal", source, actor=clerk)
    assert report.created == 1


def test_an_export_is_limited_to_the_read_scope_and_audited(service: RecordService, tmp_path: Path) -> None:
    clerk = Actor(user_id=ALICE, source="export", ip="10.0.0.7", request_id="r-123456",
                  access=actor(ALICE, role("r", actions=["read", "export"], read="department",
                                               fields={"secret_note": "hidden"})).access)
    target = tmp_path / "deals.csv"
    stage = {"field": "stage", "op": "eq", "value": "open"}
    assert export_records(service, "deal", target, actor=clerk, filter=stage, header="key") == 2
    lines = target.read_text(encoding="utf-8-sig").splitlines()
    assert "secret_note" not in lines[0] and sorted(line.split(",")[0] for line in lines[1:]) == [
        "deal of 1", "deal of 1"]  # Bob's deal is won; Carol's and Dave's are outside the scope
    with service.database.reading() as conn:
        entry = conn.execute(sa.text(
            "SELECT user_id, action, form, record_id, source, ip, request_id, changes FROM audit_log "
            "WHERE action = 'export'")).one()
    changes = entry.changes if isinstance(entry.changes, dict) else json.loads(entry.changes)
    assert (entry.user_id, entry.form, entry.record_id, entry.source, entry.ip, entry.request_id) == (
        ALICE, "deal", None, "export", "10.0.0.7", "r-123456")
    assert changes["count"] == 2 and changes["format"] == "csv" and changes["filter"] == stage
    assert "secret_note" not in changes["columns"] and "title" in changes["columns"]


def test_an_owner_of_the_app_sees_and_changes_everything_in_it(service: RecordService) -> None:
    def owner_of(app: str) -> Actor:
        principal = Principal(user_id=DAVE, login="u4", department_ids=frozenset({12}), main_department_id=12,
                              department_tree_ids=frozenset({12}), owned_apps=frozenset({app}))
        narrow = role("r", actions=["read"], read="own", fields={"secret_note": "hidden"})
        return Actor(user_id=DAVE, source="api", access=AppAccess(principal, (narrow,), app="crm"))

    owner = owner_of("crm")
    assert len(service.list("deal", actor=owner)["records"]) == 5
    assert service.get("deal", 1, actor=owner)["secret_note"] == "note 1"
    assert service.update("deal", 1, {"title": "by the owner"}, version=1, actor=owner)["title"] == "by the owner"
    someone_else = owner_of("hr")  # owning another app gives nothing here
    assert owners(service, someone_else) == [DAVE]
    with pytest.raises(NotFoundError):  # Alice's deal is outside Dave's own scope
        service.update("deal", 1, {"title": "x"}, version=2, actor=someone_else)
    own = next(r for r in service.list("deal", actor=someone_else)["records"])
    assert "secret_note" not in own
    with pytest.raises(PermissionDenied, match="may not update"):
        service.update("deal", own["id"], {"title": "x"}, version=own["version"], actor=someone_else)
