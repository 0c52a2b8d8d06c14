"""Every field type through RecordService: create -> get -> list -> filter -> delete,
on SQLite and PostgreSQL (the multi relation once lost its values here)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any

import pytest
import sqlalchemy as sa

from engine.core.clock import FixedClock
from engine.core.errors import ConflictError, ValidationError
from engine.core.i18n import Label, label
from engine.definitions.model import AppDef, FieldDef, FormDef
from engine.fields import FIELD_TYPES
from engine.records import RecordService
from engine.store.database import Database
from engine.store.models import StoredFile
from engine.store.tables import create_form_tables
from tests.fields.field_samples import SAMPLES

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite.*Decimal")

CUSTOMER = {"key": "customer", "label": {"zh": "客户", "en": "Customer"}, "fields": [
    {"key": "name", "type": "text", "label": "名称"},
    {"key": "industry", "type": "text", "label": "行业"},
]}
PRODUCT = {"key": "product", "label": {"zh": "产品", "en": "Product"}, "fields": [
    {"key": "name", "type": "text", "label": "名称"},
]}


# The samples' member field is called ``owner``, a system column of every form.
FIELDS = tuple(dataclasses.replace(f, key="handler") if f.key == "owner" else f for f in SAMPLES)
INPUT = [f for f in FIELDS if FIELD_TYPES.get(f.type).stored and not FIELD_TYPES.get(f.type).computed]


def thing_form() -> FormDef:
    return FormDef(key="thing", label=Label("物", "Thing"), app="rt", fields=FIELDS)


def value_of(f: FieldDef) -> Any:
    kind = FIELD_TYPES.get(f.type)
    value = kind.coerce(f, kind.fake(f, random.Random(3)))
    if f.type == "relation":  # records that exist (ten of each)
        return [2, 3] if f.setting("multiple") else 4
    if f.key == "code":  # the faker does not follow a pattern
        return "AB1234"
    if f.type in ("attachment", "image", "signature"):  # one stored file each (see the fixture)
        if isinstance(value, list):
            return [{**item, "id": f"{f.key}-{i}"} for i, item in enumerate(value)]
        return {**value, "id": f"{f.key}-0"}
    if f.type == "subform":
        return [{**row, "product": 5 if row.get("product") else None} for row in value]
    return value


@pytest.fixture
def service(database: Database) -> RecordService:
    forms = (FormDef.from_dict(CUSTOMER, app="rt"), FormDef.from_dict(PRODUCT, app="rt"), thing_form())
    app = AppDef(key="rt", label=label("Round trip"), forms=forms)
    create_form_tables(database, app, FIELD_TYPES)
    now = dt.datetime(2024, 3, 15, tzinfo=dt.UTC)
    with database.transaction() as conn:
        for i in range(1, 11):
            conn.execute(sa.text("INSERT INTO users (id, login, name, active, locale, created_at) "
                                 "VALUES (:i, :login, :login, true, 'zh', :now)"),
                         {"i": i, "login": f"u{i}", "now": now})
            conn.execute(sa.text("INSERT INTO departments (id, name) VALUES (:i, :name)"),
                         {"i": i, "name": f"d{i}"})
        # File values must name stored files: the storage holds the fakes' files.
        for f in INPUT:
            if f.type in ("attachment", "image", "signature"):
                value = value_of(f)
                for item in value if isinstance(value, list) else [value]:
                    conn.execute(sa.insert(StoredFile).values(
                        id=item["id"], name=item["name"], size=item["size"],
                        content_type=item["content_type"], sha256=item["sha256"],
                        storage_key=item["sha256"], created_at=now))
    service = RecordService(database, app, field_types=FIELD_TYPES,
                            clock=FixedClock(dt.datetime(2024, 3, 15, 10, 0)))
    for i in range(1, 11):
        service.create("customer", {"name": f"C{i}", "industry": f"I{i}"})
        service.create("product", {"name": f"P{i}"})
    return service


def create(service: RecordService, values: dict[str, Any]) -> dict[str, Any]:
    try:
        return service.create("thing", values)
    except ValidationError as exc:  # the per-field problems, not just their count
        raise AssertionError(exc.as_dict("en")["details"]) from None


def test_every_input_field_survives_create_get_list_filter_delete(service: RecordService) -> None:
    given = {f.key: value_of(f) for f in INPUT}
    created = create(service, given)
    got = service.get("thing", created["id"])
    listed = service.list("thing", limit=10)["records"]
    assert len(listed) == 1
    for f in INPUT:
        expected = given[f.key]
        if f.type == "subform":  # rows come back with their ids and computed cells
            inputs = [c.key for c in f.fields if not FIELD_TYPES.get(c.type).computed]
            assert [{k: r[k] for k in inputs} for r in got[f.key]] \
                == [{k: r.get(k) for k in inputs} for r in expected], f.key
            continue
        assert created[f.key] == expected, f.key
        assert got[f.key] == expected, f.key
        assert listed[0][f.key] == expected, f.key
    assert got["customer_industry"] == service.get("customer", given["customer"])["industry"]
    service.delete("thing", created["id"])
    assert service.list("thing", limit=10)["records"] == []


def test_each_field_is_found_by_its_own_filter(service: RecordService) -> None:
    full = create(service, {f.key: value_of(f) for f in INPUT})
    create(service, {"items": [{"quantity": 2}]})  # a subform needs a row
    for f in INPUT:
        found = service.list("thing", filter={"field": f.key, "op": "not_blank"})["records"]
        expected = [full["id"]] if f.key != "items" else [full["id"], full["id"] + 1]
        assert [r["id"] for r in found] == expected, f.key


def test_a_multi_relation_is_written_filtered_and_blocks_the_delete(service: RecordService) -> None:
    thing = service.create("thing", {"products": [2, 3], "items": [{"quantity": 1}]})
    assert service.get("thing", thing["id"])["products"] == [2, 3]
    assert [r["id"] for r in service.list("thing", filter={"field": "products", "op": "has_any", "value": [3]})["records"]] \
        == [thing["id"]]
    assert service.list("thing", filter={"field": "products", "op": "has_any", "value": [4]})["records"] == []
    with pytest.raises(ConflictError) as caught:
        service.delete("product", 3)
    assert caught.value.details["blockers"] == [
        {"form": "thing", "field": "products", "count": 1, "first": thing["id"]}]
    service.update("thing", thing["id"], {"products": [2]}, version=None)
    assert service.get("thing", thing["id"])["products"] == [2]
    service.delete("product", 3)
