"""Imports in the background (the import wizard's API): preview and
auto-mapping, jobs with progress, dry runs, cancelling, failed rows to fix
and import again, who may see a job, and API writes while a job runs — on
SQLite and PostgreSQL.

The tests of a module share one CRM per database (installing it is most of
a test's time): each imports names of its own and counts only those."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from engine.org.service import OrgService
from engine.store.database import Database
from engine.store.migrate import upgrade_system_tables
from runtime.app import create_app
from tests.api.conftest import World, app_config, populate
from tests.conftest import admin_execute, postgres_schema_database

FORM = "/api/v1/apps/crm/forms/customer"
CUSTOMERS = sa.table("crm_customer", sa.column("id"), sa.column("name"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The CRM and its people on a database of each kind, for the whole module."""
    folder = tmp_path_factory.mktemp("imports")
    schema = None
    if request.param == "sqlite":
        database = Database(f"sqlite:///{folder / 'qiqiao.sqlite3'}")
    else:
        url = request.getfixturevalue("postgres_url")
        database, schema = postgres_schema_database(url)
    try:
        upgrade_system_tables(database)
        people = populate(database, passwords=False)
        # Roles given during a test count at once (no cached access).
        yield World(create_app(app_config(database, FILES=str(folder / "files"), AUTH_CACHE_SECONDS=0)),
                    database, people)
    finally:
        database.dispose()
        if schema is not None:
            admin_execute(url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def multipart(content: bytes | None = None, name: str = "customers.csv", file_id: str | None = None,
              **options: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if content is not None:
        data["file"] = (io.BytesIO(content), name)
    if file_id is not None:
        data["file_id"] = file_id
    if options:
        data["options"] = json.dumps(options)
    return data


def start(world: World, content: bytes, token: str | None = None, **options: Any) -> dict[str, Any]:
    response = world.client.post(f"{FORM}/imports", data=multipart(content, **options),
                                 headers=world.auth(token), content_type="multipart/form-data")
    assert response.status_code == 202, response.get_json()
    assert response.headers["Location"] == f"/api/v1/imports/{response.get_json()['id']}"
    return dict(response.get_json())


def wait(world: World, job_id: int, token: str | None = None, seen: list[dict[str, Any]] | None = None,
         timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = world.client.get(f"/api/v1/imports/{job_id}", headers=world.auth(token, **{"Accept-Language": "en"}))
        assert job.status_code == 200, job.get_json()
        body = dict(job.get_json())
        if seen is not None:
            seen.append(body)
        if body["status"] in ("done", "failed", "cancelled"):
            return body
        time.sleep(0.02)
    raise AssertionError(f"import job {job_id} did not finish in {timeout} s")


def names_csv(count: int, prefix: str = "Imp", header: str = "客户名称,行业") -> bytes:
    rows = [header, *(f"{prefix} {i:05d},零售" for i in range(count))]
    return ("\n".join(rows) + "\n").encode()


def count(world: World, prefix: str) -> int:
    with world.database.reading() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(CUSTOMERS)
                                .where(CUSTOMERS.c.name.like(f"{prefix} %"))).scalar_one())


def test_preview_proposes_a_mapping_by_zh_and_en_labels(world: World) -> None:
    content = ("客户名称,Industry,ANNUAL REVENUE (usd millions),Employees*,Level_,Whatever,商机数\n"
               "Acme,零售,12.5,30,A,x,3\nGlobex,Finance,7,12,B,y,1\n").encode()
    response = world.client.post(f"{FORM}/imports/preview", data=multipart(content),
                                 headers=world.auth(**{"Accept-Language": "en"}), content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["format"] == "csv" and body["header"][0] == "客户名称"
    assert body["mapping"] == {"客户名称": "name", "Industry": "industry",
                               "ANNUAL REVENUE (usd millions)": "revenue", "Employees*": "employees",
                               "Level_": "level"}
    assert {c["column"]: c["reason"] for c in body["unmapped"]} == {
        "Whatever": "No field of the form matches this column", "商机数": "Computed by the system; not imported"}
    assert body["columns"][0] == {"index": 0, "column": "客户名称", "field": "name", "label": "Customer name",
                                  "reason": None}
    assert body["rows"] == [{"row": 2, "cells": ["Acme", "零售", "12.5", "30", "A", "x", "3"]},
                            {"row": 3, "cells": ["Globex", "Finance", "7", "12", "B", "y", "1"]}]
    assert "name" in {f["path"] for f in body["fields"]} and "opportunity_count" not in {f["path"] for f in body["fields"]}

    # The file is stored once: a second look by its id, another mapping, in Chinese.
    file_id = body["file"]["id"]
    again = world.client.post(f"{FORM}/imports/preview", headers=world.auth(**{"Accept-Language": "zh"}),
                              data=multipart(file_id=file_id, mapping={"Whatever": "notes"}),
                              content_type="multipart/form-data").get_json()
    assert again["mapping"]["Whatever"] == "notes" and again["columns"][0]["label"] == "客户名称"


def test_preview_of_a_workbook_lists_its_sheets_and_subform_columns(world: World) -> None:
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.title = "说明"
    first.append(["nothing here"])
    lines = workbook.create_sheet("报价")
    lines.append(["标题", "Customer", "明细.产品", "Items.Quantity", "items.unit_price"])
    lines.append(["Q1", "Acme", "GTX Pro", 2, 10])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = world.client.post("/api/v1/apps/crm/forms/quote/imports/preview", headers=world.auth(),
                                 data=multipart(buffer.getvalue(), "quotes.xlsx", sheet="报价"),
                                 content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["format"] == "xlsx" and body["sheets"] == ["说明", "报价"] and body["sheet"] == "报价"
    assert body["mapping"]["明细.产品"] == "items.product" and body["mapping"]["Items.Quantity"] == "items.quantity"
    assert body["rows"] == [{"row": 2, "cells": ["Q1", "Acme", "GTX Pro", "2", "10"]}]
    for missing in (2, "报价单"):
        refused = world.client.post("/api/v1/apps/crm/forms/quote/imports/preview", headers=world.auth(),
                                    data=multipart(file_id=body["file"]["id"], sheet=missing),
                                    content_type="multipart/form-data")
        assert refused.status_code == 400 and "说明、报价" in refused.get_json()["error"]["message"]


def test_a_large_job_reports_progress_while_api_clients_write(world: World) -> None:
    """5,000 rows in batches of 250: progress goes up batch by batch to the
    right counts, while other clients create and change records (none lost)."""
    job = start(world, names_csv(5000, "Big"), batch_size=250)
    assert job["status"] in ("queued", "running") and job["progress"]["processed"] == 0
    written: list[int] = []
    problems: list[Any] = []
    during: list[bool] = []  # whether the job was half-way when a write went in

    def client_writes(worker: int) -> None:
        client = world.client
        for i in range(15):
            response = client.post(f"{FORM}/records", json={"name": f"Api {worker}-{i}"}, headers=world.auth())
            if response.status_code != 201:
                problems.append(response.get_json())
                continue
            record = response.get_json()
            changed = client.patch(f"{FORM}/records/{record['id']}", json={"notes": "changed"},
                                   headers=world.auth(**{"If-Match": f'"{record["version"]}"'}))
            if changed.status_code != 200:
                problems.append(changed.get_json())
                continue
            written.append(record["id"])
            state = client.get(f"/api/v1/imports/{job['id']}", headers=world.auth()).get_json()
            during.append(state["status"] == "running" and 0 < state["progress"]["processed"] < 5000)

    writers = [threading.Thread(target=client_writes, args=(w,)) for w in range(3)]
    for thread in writers:
        thread.start()
    seen: list[dict[str, Any]] = []
    done = wait(world, job["id"], seen=seen)
    for thread in writers:
        thread.join()
    assert not problems
    assert done["status"] == "done", done
    assert done["progress"] == {"processed": 5000, "total": 5000}
    assert done["counts"] == {"created": 5000, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}
    assert done["report"]["totals"]["created"] == 5000
    assert done["created_at"].endswith("Z") and done["created_at"] <= done["started_at"] <= done["finished_at"]
    processed = [s["progress"]["processed"] for s in seen]
    assert processed == sorted(processed) and len(set(processed)) >= 3, processed  # it moved, batch by batch
    assert all(p % 250 == 0 for p in processed)
    assert count(world, "Big") == 5000
    with world.database.reading() as conn:
        notes = conn.execute(sa.text("select count(*) from crm_customer where name like 'Api %' "
                                     "and notes = 'changed'")).scalar_one()
    assert len(written) == 45 and notes == 45
    assert any(during), "no API write went in while the job was half-way"


def test_a_dry_run_writes_nothing(world: World) -> None:
    content = names_csv(30, "Dry") + b",\xe9\x9b\xb6\xe5\x94\xae\n"  # a row without its required name
    job = start(world, content, dry_run=True, on_error="skip")
    done = wait(world, job["id"])
    assert done["status"] == "done" and done["dry_run"] is True
    assert done["counts"]["created"] == 30 and done["counts"]["failed"] == 1
    assert done["report"]["dry_run"] is True and done["report"]["failures"][0]["row"] == 32
    assert count(world, "Dry") == 0


def test_failed_rows_round_trip(world: World) -> None:
    content = ("客户名称,年营业额（百万美元）,员工人数\n"
               "Good 1,1,10\nBad 1,lots,10\nGood 2,2,20\nBad 2,3,many\n").encode()
    done = wait(world, start(world, content, on_error="skip")["id"])
    assert done["counts"]["created"] == 2 and done["counts"]["failed"] == 2
    for fmt in ("csv", "xlsx"):
        response = world.client.get(f"/api/v1/imports/{done['id']}/failed-rows", query_string={"format": fmt},
                                    headers=world.auth(**{"Accept-Language": "en"}))
        assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    text = world.client.get(f"/api/v1/imports/{done['id']}/failed-rows?format=csv",
                            headers=world.auth(**{"Accept-Language": "zh"})).get_data().decode("utf-8-sig")
    header, first, second = text.strip().splitlines()
    assert header == "客户名称,年营业额（百万美元）,员工人数,错误原因"
    assert first.startswith("Bad 1,lots,10,第 3 行") and second.startswith("Bad 2,3,many,第 5 行")

    # Fix the cells in the xlsx file and import it again: every row goes in.
    xlsx = world.client.get(f"/api/v1/imports/{done['id']}/failed-rows?format=xlsx",
                            headers=world.auth(**{"Accept-Language": "en"})).data
    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    sheet = book.active
    assert sheet is not None
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][-1] == "error" and "row 3" in str(rows[1][-1])
    sheet["B2"], sheet["C3"] = 4, 40
    fixed = io.BytesIO()
    book.save(fixed)
    again = world.client.post(f"{FORM}/imports", data=multipart(fixed.getvalue(), "fixed.xlsx"),
                              headers=world.auth(), content_type="multipart/form-data")
    assert again.status_code == 202
    redo = wait(world, again.get_json()["id"])
    assert redo["counts"]["created"] == 2 and redo["counts"]["failed"] == 0, redo
    assert {"错误原因", "error"} & {c["column"] for c in redo["report"]["ignored_columns"]}
    assert count(world, "Bad") == 2


def test_cancel_stops_after_the_current_batch(world: World) -> None:
    job = start(world, names_csv(20_000, "Cancel"), batch_size=50)
    deadline = time.monotonic() + 60
    while (state := world.client.get(f"/api/v1/imports/{job['id']}", headers=world.auth()).get_json())[
            "progress"]["processed"] == 0:
        assert time.monotonic() < deadline and state["status"] in ("queued", "running"), state
        time.sleep(0.01)
    response = world.client.post(f"/api/v1/imports/{job['id']}/cancel", headers=world.auth())
    assert response.status_code == 200 and response.get_json()["cancel_requested"] is True
    done = wait(world, job["id"])
    assert done["status"] == "cancelled" and done["report"]["cancelled"] is True
    processed = done["progress"]["processed"]
    assert 0 < processed < 20_000 and processed % 50 == 0
    assert count(world, "Cancel") == done["counts"]["created"] == processed
    again = world.client.post(f"/api/v1/imports/{job['id']}/cancel", headers=world.auth())
    assert again.status_code == 200 and again.get_json()["status"] == "cancelled"


def test_jobs_are_their_users_and_admins(world: World) -> None:
    org = OrgService(world.database)
    org.create_role("importer", "Importer", app="crm", grants={"customer": {"actions": ["create", "read", "import"]}})
    org.assign_role("crm:importer", world.people.user_id)
    bob = org.create_user("bob", "Bob")
    org.assign_role("crm:importer", bob.id)
    bob_token, _ = org.issue_token(bob.id, "tests")
    alice = world.people.user_token
    job = start(world, names_csv(3, "Mine"), token=alice, on_error="skip")
    assert wait(world, job["id"], token=alice)["counts"]["created"] == 3
    assert wait(world, job["id"])["status"] == "done"  # the admin sees it too
    carol = org.create_user("carol", "Carol")
    org.add_app_owner("crm", carol.id)
    carol_token, _ = org.issue_token(carol.id, "tests")
    assert world.client.get(f"/api/v1/imports/{job['id']}", headers=world.auth(carol_token)).status_code == 200
    for path in ("", "/failed-rows?format=csv"):
        hidden = world.client.get(f"/api/v1/imports/{job['id']}{path}", headers=world.auth(bob_token))
        assert hidden.status_code == 404, hidden.get_json()
    assert world.client.post(f"/api/v1/imports/{job['id']}/cancel", headers=world.auth(bob_token)).status_code == 404
    assert world.client.get("/api/v1/imports/999999", headers=world.auth()).status_code == 404
    # Nor may bob import with alice's file.
    file_id = job["file"]["id"]
    borrowed = world.client.post(f"{FORM}/imports", data=multipart(file_id=file_id), headers=world.auth(bob_token),
                                 content_type="multipart/form-data")
    assert borrowed.status_code == 404


def jobs(world: World) -> int:
    with world.database.reading() as conn:
        return int(conn.execute(sa.text("select count(*) from import_jobs")).scalar_one())


def test_refusals_come_before_the_job(world: World) -> None:
    org = OrgService(world.database)
    nobody = org.create_user("nobody", "Nobody")
    token, _ = org.issue_token(nobody.id, "tests")
    before = jobs(world)
    for path in ("/imports", "/imports/preview"):
        no_right = world.client.post(f"{FORM}{path}", data=multipart(names_csv(2, "Refused")),
                                     headers=world.auth(token), content_type="multipart/form-data")
        assert no_right.status_code == 403
    bad_mapping = world.client.post(f"{FORM}/imports", data=multipart(names_csv(2), mapping={"客户名称": "nmae"}),
                                    headers=world.auth(), content_type="multipart/form-data")
    assert bad_mapping.status_code == 400 and bad_mapping.get_json()["error"]["code"] == "mapping_refused"
    pdf = world.client.post(f"{FORM}/imports", data=multipart(b"%PDF-1.4", "report.pdf"), headers=world.auth(),
                            content_type="multipart/form-data")
    assert pdf.status_code == 400 and "file" in pdf.get_json()["error"]["details"]
    nothing = world.client.post(f"{FORM}/imports", data={}, headers=world.auth(), content_type="multipart/form-data")
    assert nothing.status_code == 400 and "file" in nothing.get_json()["error"]["details"]
    as_json = world.client.post(f"{FORM}/imports", json={"file_id": "x"}, headers=world.auth())
    assert as_json.status_code == 415
    assert jobs(world) == before and count(world, "Refused") == 0
    unfinished = start(world, names_csv(5, "Refusal"))
    done = wait(world, unfinished["id"])
    assert done["status"] == "done"
    bad_format = world.client.get(f"/api/v1/imports/{unfinished['id']}/failed-rows?format=pdf", headers=world.auth())
    assert bad_format.status_code == 400
    finished = world.client.post(f"/api/v1/imports/{unfinished['id']}/cancel", headers=world.auth())
    assert finished.status_code == 409



def test_a_cell_with_a_nul_character_does_not_stop_the_report(world: World) -> None:
    """PostgreSQL's JSON refuses NUL: the kept report leaves it out."""
    content = "客户名称,员工人数,备注\nNul Bad,many,a\x00b\n".encode()
    done = wait(world, start(world, content, on_error="skip")["id"])
    assert done["status"] == "done" and done["counts"]["failed"] == 1, done
    text = world.client.get(f"/api/v1/imports/{done['id']}/failed-rows?format=csv",
                            headers=world.auth(**{"Accept-Language": "en"})).get_data().decode("utf-8-sig")
    assert text.splitlines()[1].startswith("Nul Bad,many,ab,\"row 2"), text
