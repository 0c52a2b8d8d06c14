"""What a write may link to, and what its errors may say (issue #10,
findings 2 and 3): a relation must point at a record the writer may read,
and no error — a relation check, a unique clash, an import's key or title
match — tells a user about a record outside their scope. On SQLite and
PostgreSQL, through the record service and the HTTP API."""

from __future__ import annotations

import io
from typing import Any

import pytest

from engine.core.errors import ValidationError
from engine.records.importing import import_file
from engine.store.database import Database
from tests.security.query_probe import Probe, make_probe


@pytest.fixture
def probe(database: Database, request: pytest.FixtureRequest) -> Probe:
    return make_probe(database, request)


def error_of(response: Any, field: str) -> str:
    assert response.status_code == 400, response.get_data(as_text=True)
    return str(response.get_json()["error"]["details"][field][0])


def test_a_relation_to_an_unreadable_record_is_refused_like_a_missing_one(probe: Probe) -> None:
    epsilon, bravo, missing = probe.ids["epsilon"], probe.ids["bravo"], 999_999
    for target in (epsilon, bravo):  # the admin's, and bob's (another department)
        refused = probe.send("alice", "POST", "opportunity/records", {"name": "Try", "customer": target})
        assert error_of(refused, "customer") == f"Customer #{target} does not exist"
    absent = probe.send("alice", "POST", "opportunity/records", {"name": "Try", "customer": missing})
    assert error_of(absent, "customer") == f"Customer #{missing} does not exist"
    parent = probe.send("alice", "POST", "customer/records", {"name": "Sub", "subsidiary_of": epsilon})
    assert error_of(parent, "subsidiary_of") == f"Customer #{epsilon} does not exist"
    bulk = probe.send("alice", "POST", "opportunity/records/bulk",
                      {"records": [{"name": "A", "customer": probe.ids["alpha"]}, {"name": "B", "customer": epsilon}]})
    assert bulk.status_code == 400 and "does not exist" in bulk.get_data(as_text=True)
    mine = probe.send("alice", "POST", "opportunity/records", {"name": "Fine", "customer": probe.ids["alpha"]})
    assert mine.status_code == 201, mine.get_data(as_text=True)
    moved = probe.send("alice", "PATCH", f"opportunity/records/{mine.get_json()['id']}",
                       {"version": 1, "customer": epsilon})
    assert error_of(moved, "customer") == f"Customer #{epsilon} does not exist"
    with pytest.raises(ValidationError, match="row") as caught:
        probe.service.create_many("opportunity", [{"name": "S", "customer": epsilon}], actor=probe.actor("alice"))
    assert "does not exist" in str(caught.value.as_dict())
    # nothing was written, and the admin may still link anything
    names = {r["name"] for r in probe.service.list("opportunity", limit=100)["records"]}
    assert names == {"Opp on Epsilon", "Fine"}
    assert probe.send("admin", "POST", "opportunity/records", {"name": "Admin", "customer": epsilon}).status_code == 201


def test_a_unique_clash_does_not_name_the_other_record(probe: Probe) -> None:
    clash = probe.send("alice", "POST", "customer/records", {"name": "Epsilon"})
    assert clash.status_code == 409, clash.get_data(as_text=True)  # a taken value is a conflict
    message = str(clash.get_json()["error"]["details"]["name"][0])
    assert message == "Another record already has this value" and "#" not in message
    bulk = probe.send("alice", "POST", "customer/records/bulk", {"records": [{"name": "Epsilon"}]})
    assert bulk.status_code == 400 and "#" not in bulk.get_data(as_text=True).replace("#/", "")
    assert "Another record already has this value" in bulk.get_data(as_text=True)


def csv_file(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8"))


@pytest.mark.parametrize("on_duplicate", ["error", "skip"])
def test_an_import_key_matches_only_readable_records(probe: Probe, on_duplicate: str) -> None:
    alice = probe.actor("alice")
    report = import_file(probe.service, "customer", csv_file("Name\nEpsilon\nAlpha\n"), actor=alice,
                         key_field="name", on_duplicate=on_duplicate, on_error="skip")
    said = " | ".join(f.describe("en") for f in report.failures)
    assert f"#{probe.ids['epsilon']}" not in said and "Already exists" not in said.split("Alpha")[0]
    # Epsilon is no record of hers: it is "created", and only the unique rule stops it, anonymously
    assert "Another record already has this value" in said
    if on_duplicate == "error":
        assert f"Already exists (record #{probe.ids['alpha']})" in said  # her own record may be named
    else:
        assert report.skipped == 1
    admin = import_file(probe.service, "customer", csv_file("Name\nEpsilon\n"), key_field="name",
                        on_duplicate="error", on_error="skip")
    assert "Already exists (record #" in admin.failures[0].describe("en")


def test_an_import_names_only_readable_records_by_title(probe: Probe) -> None:
    alice = probe.actor("alice")
    source = "Name,Customer\nO1,Epsilon\nO2,Epsilo\nO3,Nothing\nO4,Alph\n"
    report = import_file(probe.service, "opportunity", csv_file(source), actor=alice, on_error="skip",
                         dry_run=True)
    said = {f.value: f.message.en for f in report.failures}
    assert said["Epsilon"] == 'No Customer has Customer name "Epsilon"'  # as for a name nobody has
    assert said["Nothing"] == 'No Customer has Customer name "Nothing"'
    assert said["Epsilo"] == 'No Customer has Customer name "Epsilo"'  # no "did you mean" towards Epsilon
    assert said["Alph"] == 'No Customer has Customer name "Alph" — did you mean "Alpha"?'  # her own: a hint
    by_id = import_file(probe.service, "opportunity", csv_file(f"Name,Customer\nO5,{probe.ids['epsilon']}\n"),
                        actor=alice, on_error="skip", dry_run=True, relation_match={"customer": "id"})
    assert "#" not in by_id.failures[0].message.en and "does not exist" not in by_id.failures[0].message.en
