"""Writers that meet, over the API: SQLite writers queue for the write lock
instead of failing ("database is locked" was a 500), one that cannot get it
in time is a 503 busy with Retry-After, an import runs while others write,
and concurrent PATCHes of one version give one success and conflicts only."""

from __future__ import annotations

import io
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from engine.store.database import Database
from engine.store.migrate import upgrade_system_tables
from runtime.app import create_app
from runtime.errors import retry_transient
from tests.api.conftest import World, app_config, populate

FORM = "/api/v1/apps/crm/forms/customer"
FOLLOW_UPS = "/api/v1/apps/crm/forms/follow_up/records"


def at_once(count: int, call: Callable[[int], Any]) -> list[Any]:
    """``call(i)`` for i in range(count), from ``count`` threads released together."""
    start = threading.Barrier(count)

    def run(i: int) -> Any:
        start.wait()
        return call(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_twenty_patches_of_one_version_give_one_success_and_nineteen_conflicts(world: World) -> None:
    created = world.client.post(f"{FORM}/records", json={"name": "Contended"}, headers=world.auth())
    record = created.get_json()

    def patch(i: int) -> int:
        answer = world.client.patch(f"{FORM}/records/{record['id']}", headers=world.auth(),
                                    json={"name": f"Writer {i}", "version": record["version"]})
        return answer.status_code

    statuses = at_once(20, patch)
    assert sorted(statuses) == [200] + [409] * 19, statuses


def test_concurrent_creates_and_updates_all_land(world: World) -> None:
    customer = world.client.post(f"{FORM}/records", json={"name": "Busy Co"}, headers=world.auth()).get_json()

    def work(i: int) -> tuple[int, int]:
        client = world.client
        made = client.post(FOLLOW_UPS, headers=world.auth(),
                           json={"customer": customer["id"], "content": f"call {i}", "method": "phone"})
        current = client.get(f"{FORM}/records/{customer['id']}", headers=world.auth()).get_json()
        changed = client.patch(f"{FORM}/records/{customer['id']}", headers=world.auth(),
                               json={"notes": f"touched {i}", "version": current["version"]})
        return made.status_code, changed.status_code

    results = at_once(16, work)
    # A follow-up updates its customer (last_followed_at) without a new
    # version: it always lands, and a PATCH meets only other PATCHes.
    assert all(made == 201 and changed in (200, 409) for made, changed in results), results
    assert sum(made == 201 for made, _ in results) >= 1 and sum(changed == 200 for _, changed in results) >= 1
    listed = world.client.get(f"{FOLLOW_UPS}?limit=100", headers=world.auth()).get_json()["records"]
    assert sorted(r["content"] for r in listed) == sorted(f"call {i}" for i, (made, _) in enumerate(results)
                                                          if made == 201)


def sqlite_app(tmp_path: Path, busy_timeout_ms: int) -> tuple[FlaskClient, dict[str, str], Path]:
    path = tmp_path / "busy.sqlite3"
    database = Database(f"sqlite:///{path}", busy_timeout_ms=busy_timeout_ms)
    upgrade_system_tables(database)
    people = populate(database, passwords=False)
    client = create_app(app_config(database)).test_client()
    return client, {"Authorization": f"Bearer {people.admin_token}", "Accept-Language": "en"}, path


def test_a_writer_that_cannot_get_the_lock_in_time_is_told_busy_with_retry_after(tmp_path: Path) -> None:
    client, admin, path = sqlite_app(tmp_path, busy_timeout_ms=300)
    made = client.post(f"{FORM}/records", json={"name": "Before"}, headers=admin)
    assert made.status_code == 201
    other = sqlite3.connect(path, isolation_level=None)  # another process's writer, holding the lock
    other.execute("BEGIN IMMEDIATE")
    try:
        refused = client.post(f"{FORM}/records", json={"name": "While locked"}, headers=admin)
        assert refused.status_code == 503, refused.get_data(as_text=True)
        assert refused.headers["Retry-After"] == "1"
        error = refused.get_json()["error"]
        assert error["code"] == "busy" and "busy" in error["message"] and error["details"] == {"retry_after": 1}
        # Readers keep their snapshot and do not wait for the writer.
        listed = client.get(f"{FORM}/records", headers=admin)
        assert listed.status_code == 200 and [r["name"] for r in listed.get_json()["records"]] == ["Before"]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert client.post(f"{FORM}/records", json={"name": "After"}, headers=admin).status_code == 201
    names = {r["name"] for r in client.get(f"{FORM}/records", headers=admin).get_json()["records"]}
    assert names == {"Before", "After"}  # nothing of the refused write was kept


def test_an_import_runs_to_its_end_while_others_write_on_sqlite(tmp_path: Path) -> None:
    client, admin, path = sqlite_app(tmp_path, busy_timeout_ms=5000)
    rows = 5_000  # the 500 came after 2,000 rows; an import gives way to the writers, so it takes a while
    content = ("客户名称\n" + "".join(f"Imported {i}\n" for i in range(rows))).encode()
    stop = threading.Event()
    statuses: list[int] = []

    def write() -> None:
        own = client.application.test_client()
        i = 0
        while not stop.is_set():
            answer = own.post(f"{FORM}/records", json={"name": f"Typed {threading.get_ident()} {i}"},
                              headers=admin)
            statuses.append(answer.status_code)
            i += 1

    writers = [threading.Thread(target=write) for _ in range(4)]
    for writer in writers:
        writer.start()
    try:
        report = client.post(f"{FORM}/import", data={"file": (io.BytesIO(content), "many.csv")},
                             headers=admin, content_type="multipart/form-data")
    finally:
        stop.set()
        for writer in writers:
            writer.join()
    assert report.status_code == 200, report.get_data(as_text=True)[:500]
    assert report.get_json()["totals"]["created"] == rows
    assert statuses and set(statuses) == {201}, sorted(set(statuses))
    with sqlite3.connect(path) as check:
        (total,) = check.execute("SELECT count(*) FROM crm_customer").fetchone()
    assert total == rows + len(statuses)


def test_a_view_that_meets_a_deadlock_is_run_again_then_answered_busy(app: Flask, admin: dict[str, str]) -> None:
    """PostgreSQL breaks a deadlock by failing one transaction with 40P01:
    the request is run again (nothing of it committed), and when the
    deadlock keeps coming back it is a 503 busy, not a 500."""
    runs: list[int] = []

    def deadlocked(times: int) -> Callable[[], Any]:
        def view() -> Any:
            runs.append(1)
            if len(runs) <= times:
                raise sa.exc.OperationalError("UPDATE", {}, psycopg.errors.DeadlockDetected("deadlock detected"))
            return {"ran": len(runs)}

        return view

    app.add_url_rule("/test/once", "once", deadlocked(1))
    app.add_url_rule("/test/always", "always", deadlocked(10**6))
    retry_transient(app, app.extensions["qiqiao"].database)
    client = app.test_client()
    assert client.get("/test/once", headers=admin).get_json() == {"ran": 2}
    runs.clear()
    refused = client.get("/test/always", headers={**admin, "Accept-Language": "en"})
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    assert refused.get_json()["error"]["code"] == "busy" and len(runs) == 3
