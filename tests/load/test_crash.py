"""Crash safety, as a real process: ``qiqiao serve`` killed with SIGKILL
(every process of it, as a power cut would) in the middle of a 50,000-row
import leaves whole batches only (docs/import-export.md: one transaction per
batch), and the next ``qiqiao serve`` on the same database starts cleanly,
reads, and writes."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.load import postgres_database
from engine.store.database import Database
from engine.store.migrate import upgrade_system_tables
from tests.api.conftest import populate
from tests.api.test_serve import free_port, qiqiao, wait_for_port
from tests.conftest import admin_execute

ROWS = 50_000
FORM = "/api/v1/apps/crm/forms/customer"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of each kind that a served process can open by URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.sqlite3'}"
        return
    base = request.getfixturevalue("postgres_url")
    url, _ = postgres_database(base)
    try:
        yield url
    finally:
        admin_execute(base, f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def imported(url: str) -> list[str]:
    database = Database(url)
    try:
        with database.reading() as conn:
            return list(conn.execute(sa.text("SELECT name FROM crm_customer")).scalars())
    finally:
        database.dispose()


def serve(url: str, port: int) -> subprocess.Popen[str]:
    process = qiqiao("serve", "--port", str(port), "--database", url, env={"QIQIAO_SECRET_KEY": "crash"},
                     start_new_session=True)  # its own process group: the workers die with it
    wait_for_port(f"http://127.0.0.1:{port}/")
    return process


def post_import(port: int, token: str, content: bytes, batch_size: int | None = None) -> tuple[int, bytes]:
    boundary = uuid.uuid4().hex
    options = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"options\"\r\n\r\n"
               f"{json.dumps({'batch_size': batch_size})}\r\n") if batch_size else ""
    body = (f"{options}--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    connection.request("POST", f"{FORM}/import", body=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()  # an open keep-alive connection would hold up the server's shutdown


def test_kill_9_during_a_large_import_leaves_whole_batches_and_a_clean_restart(database_url: str) -> None:
    database = Database(database_url)
    upgrade_system_tables(database)
    token = populate(database, passwords=False).admin_token
    # Batches of a known size (on SQLite they are sized by time by default), to tell whole ones.
    batch = database.import_batch_rows
    database.dispose()
    content = ("客户名称\n" + "".join(f"Row {i}\n" for i in range(ROWS))).encode()

    port = free_port()
    process = serve(database_url, port)
    outcome: list[object] = []

    def send() -> None:
        try:
            outcome.append(post_import(port, token, content, batch))
        except (OSError, http.client.HTTPException) as error:
            outcome.append(error)  # the connection dies with the server

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 120
    while len(imported(database_url)) < 3 * batch:  # a few batches are in, more are on their way
        assert time.monotonic() < deadline and not outcome, outcome
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    sender.join(timeout=60)
    assert outcome and not isinstance(outcome[0], tuple), "the import finished before the kill"

    names = imported(database_url)
    assert 3 * batch <= len(names) < ROWS and len(names) % batch == 0, len(names)
    assert sorted(names) == sorted(f"Row {i}" for i in range(len(names)))  # whole batches, in order

    port = free_port()
    again = serve(database_url, port)
    try:
        status, body = post_import(port, token, "客户名称\nAfter the crash\n".encode())
        assert status == 200, body[:500]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("GET", f"{FORM}/records?limit=1&count=true", headers={"Authorization": f"Bearer {token}"})
        answer = connection.getresponse()
        assert answer.status == 200 and b'"count":' in answer.read()
        connection.close()
    finally:
        # Stopped as a service manager stops it: the signal to the server, which stops its
        # workers (a SIGINT to the whole group also reaches each worker directly, and on a
        # busy machine the stop then failed once in CI).
        again.send_signal(signal.SIGINT)
        assert again.wait(timeout=60) == 0
    assert len(imported(database_url)) == len(names) + 1
