"""How much the HTTP layer adds to the engine, in one run.

The CRM on a SQLite file (WAL) with customers owned by a sales team; a sales
rep whose role reads their department's customers (a data scope, so every
query carries it). The app is served by ``qiqiao serve`` (granian, its
defaults) in its own process on loopback, and called over one keep-alive
connection with the rep's bearer token: the full stack, socket, HTTP
parsing, WSGI, authentication, permissions, JSON. Each measurement against
the engine's own call with the same actor, in this process, in the same run:

1. GET a page of 50 customers with a filter (status = active, newest
   first: the form's own index) versus ``RecordService.list``. Goal: <= 2x,
   and well over 500 requests/s.
2. POST a customer versus ``RecordService.create``. Goal: <= 2x.

The client is libcurl (pycurl), so the table shows what the server costs
rather than what a Python client spends building and parsing messages; the
same calls through the standard library's ``http.client`` are shown too
(the ``(http.client)`` rows, for information).

Timings take the contenders in turn and keep each one's best round. Every
process runs on one CPU (``--spread`` lets them use all): server, client
and engine baseline then run alike, and the table shows what the HTTP layer
costs rather than how a small VM wakes an idle CPU (which adds ~0.5 ms a
request on two vCPUs). ``--quick`` shrinks the sizes (for CI smoke runs);
the goals are judged on full runs.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.fields import FIELD_TYPES  # noqa: E402
from engine.org.service import OrgService  # noqa: E402
from engine.packages import install_package, installed_app  # noqa: E402
from engine.records import Actor, RecordService  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.migrate import upgrade_system_tables  # noqa: E402
from runtime.app import create_app  # noqa: E402
from templates_lib.crm import PACKAGE_PATH as CRM  # noqa: E402

FILTER = {"field": "status", "op": "eq", "value": "active"}
SORT = "-updated_at"
STATUSES = ["potential", "active", "dormant", "churned"]


def set_up(folder: Path, customers: int) -> tuple[Database, int, str, list[int]]:
    """The CRM with ``customers`` customers, a team of five, and the rep's token."""
    database = Database(f"sqlite:///{folder / 'api.sqlite3'}")
    upgrade_system_tables(database)
    install_package(database, CRM, FIELD_TYPES, package="crm")
    org = OrgService(database)
    team = org.create_department("Sales East")
    people = [org.create_user(f"rep{i}", f"Rep {i}").id for i in range(5)]
    for user_id in people:
        org.add_member(user_id, team.id)
    org.create_user("other", "Someone else")
    org.create_role("rep", "Sales rep", app="crm", grants={"customer": {
        "actions": ["create", "read", "update"], "read": "department", "write": "own"}})
    for user_id in people:
        org.assign_role("crm:rep", user_id)
    token, _ = org.issue_token(people[0], "bench")
    service = RecordService(database, installed_app(database, "crm"), field_types=FIELD_TYPES)
    rng = random.Random(5)
    rows = [{"name": f"Customer {i:07d}", "status": rng.choice(STATUSES), "level": rng.choice("abc"),
             "industry": rng.choice(["retail", "finance", "software"]), "revenue": f"{rng.randint(1, 9999)}.25",
             "owner": rng.choice([*people, people[0] + 5])} for i in range(customers)]
    for start in range(0, customers, 5000):
        service.create_many("customer", rows[start:start + 5000])
    with database.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return database, people[0], token, people


class Served:
    """``qiqiao serve`` on a free loopback port, in its own process."""

    def __init__(self, database_url: str, folder: Path, options: list[str]) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        environ = {**os.environ, "QIQIAO_DATABASE_URL": database_url, "QIQIAO_SECRET_KEY": "bench"}
        self.log_path = folder / "serve.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "runtime.cli", "serve", "--port", str(self.port), *options],
                                        cwd=ROOT, env=environ, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise SystemExit(f"qiqiao serve did not start:\n{self.log_path.read_text()[-2000:]}") from None
                time.sleep(0.05)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class Curl:
    """One libcurl handle: one keep-alive connection."""

    def __init__(self, headers: dict[str, str]) -> None:
        import pycurl

        self.pycurl = pycurl
        self.handle = pycurl.Curl()
        # "Expect:" keeps curl from waiting for a 100 Continue before a body.
        self.handle.setopt(pycurl.HTTPHEADER, [f"{k}: {v}" for k, v in headers.items()] + ["Expect:"])

    def get(self, url: str) -> tuple[int, bytes]:
        self.handle.setopt(self.pycurl.HTTPGET, 1)
        return self._perform(url)

    def post(self, url: str, body: bytes) -> tuple[int, bytes]:
        self.handle.setopt(self.pycurl.POSTFIELDS, body)
        return self._perform(url)

    def _perform(self, url: str) -> tuple[int, bytes]:
        buffer = io.BytesIO()
        self.handle.setopt(self.pycurl.URL, url)
        self.handle.setopt(self.pycurl.WRITEDATA, buffer)
        self.handle.perform()
        return int(self.handle.getinfo(self.pycurl.RESPONSE_CODE)), buffer.getvalue()

    def close(self) -> None:
        self.handle.close()


def call(conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str],
         body: bytes | None = None) -> tuple[int, bytes]:
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


def pin_to_one_cpu() -> bool:
    """Run the whole process on one CPU, where the OS allows it."""
    if not hasattr(os, "sched_setaffinity"):
        return False
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    return True


def best_of(rounds: int, contenders: list[Callable[[], float]]) -> list[float]:
    """Each contender's best round, the rounds taken in turn."""
    best = [float("inf")] * len(contenders)
    for _ in range(rounds):
        for index, contender in enumerate(contenders):
            best[index] = min(best[index], contender())
    return best


def per_call(count: int, action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    for _ in range(count):
        action()
    return (time.perf_counter() - started) / count


Row = tuple[str, str, str, str, bool | None]


def measure(database: Database, served: Served, rep: int, token: str, calls: int, rounds: int) -> list[Row]:
    results: list[Row] = []
    app = create_app({"DATABASE": database, "SECRET_KEY": "bench"})  # the engine side's services
    services = app.extensions["qiqiao"]
    service = services.records.get("crm")
    actor = Actor(user_id=rep, source="api", ip="127.0.0.1", access=services.identities.access(rep, "crm"))
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    json_headers = {**headers, "Content-Type": "application/json"}
    curl = Curl(json_headers)
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)

    path = "/api/v1/apps/crm/forms/customer/records?" + urlencode(
        {"filter": json.dumps(FILTER), "sort": SORT, "limit": 50})
    status, body = curl.get(served.url(path))
    page = json.loads(body)
    assert status == 200 and len(page["records"]) == 50 and page["next"], (status, body[:300])
    engine_page = service.list("customer", filter=FILTER, sort=[SORT], limit=50, actor=actor)
    assert [r["id"] for r in engine_page["records"]] == [r["id"] for r in page["records"]]

    def get_curl() -> None:
        assert curl.get(served.url(path))[0] == 200

    def get_stdlib() -> None:
        assert call(conn, "GET", path, headers)[0] == 200

    def get_engine() -> None:
        service.list("customer", filter=FILTER, sort=[SORT], limit=50, actor=actor)

    ours, stdlib, base = best_of(rounds, [lambda: per_call(calls, get_curl), lambda: per_call(calls, get_stdlib),
                                          lambda: per_call(calls, get_engine)])
    results.append(("GET a page of 50 (filter, scope)", f"{ours * 1000:.2f} ms", f"{base * 1000:.2f} ms",
                    f"{ours / base:.2f}x (goal <= 2x)", ours / base <= 2))
    results.append(("GET requests per second", f"{1 / ours:,.0f}/s", "—", "goal > 500/s", 1 / ours > 500))
    results.append(("  (http.client)", f"{stdlib * 1000:.2f} ms", f"{base * 1000:.2f} ms", f"{stdlib / base:.2f}x",
                    None))

    counter = iter(range(10**9))
    url = served.url("/api/v1/apps/crm/forms/customer/records")

    def new_customer() -> dict[str, Any]:
        return {"name": f"New {next(counter)}", "status": "active", "level": "a", "revenue": "12.50"}

    def post_curl() -> None:
        status, answer = curl.post(url, json.dumps(new_customer()).encode())
        assert status == 201, answer[:300]

    def post_stdlib() -> None:
        status, answer = call(conn, "POST", "/api/v1/apps/crm/forms/customer/records", json_headers,
                              json.dumps(new_customer()).encode())
        assert status == 201, answer[:300]

    def post_engine() -> None:
        service.create("customer", new_customer(), actor=actor)

    creates = max(calls // 2, 50)
    ours, stdlib, base = best_of(rounds, [lambda: per_call(creates, post_curl), lambda: per_call(creates, post_stdlib),
                                          lambda: per_call(creates, post_engine)])
    results.append(("POST one customer", f"{ours * 1000:.2f} ms", f"{base * 1000:.2f} ms",
                    f"{ours / base:.2f}x (goal <= 2x)", ours / base <= 2))
    results.append(("  (http.client)", f"{stdlib * 1000:.2f} ms", f"{base * 1000:.2f} ms", f"{stdlib / base:.2f}x",
                    None))
    curl.close()
    conn.close()
    services.database.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--serve-option", action="append", default=[], metavar="OPTION",
                        help="an option for qiqiao serve, e.g. --serve-option=--threads=1 (default: its defaults)")
    parser.add_argument("--spread", action="store_true",
                        help="let the processes run on any CPU (default: all on one, see the docstring)")
    args = parser.parse_args()
    pinned = not args.spread and pin_to_one_cpu()  # before the server starts: it inherits the CPU
    customers, calls, rounds = (3_000, 100, 2) if args.quick else (100_000, 1_000, 5)
    with tempfile.TemporaryDirectory(prefix="qiqiao-bench-api-") as tmp:
        database, rep, token, _ = set_up(Path(tmp), customers)
        served = Served(str(database.engine.url), Path(tmp), args.serve_option)
        try:
            results = measure(database, served, rep, token, calls, rounds)
        finally:
            served.close()
            database.dispose()
    print(f"One CPU: {'yes' if pinned else 'no'}; {customers:,} customers; best of {rounds} rounds of {calls} calls")
    print(f"| {'measurement (qiqiao vs engine)':<34} | {'qiqiao':>12} | {'engine':>12} | {'ratio':<22} | goal |")
    print(f"|{'-' * 36}|{'-' * 14}|{'-' * 14}|{'-' * 24}|------|")
    for name, ours_text, base_text, ratio, met in results:
        verdict = "" if met is None else "met" if met else "MISSED"
        print(f"| {name:<34} | {ours_text:>12} | {base_text:>12} | {ratio:<22} | {verdict} |")
    return 0 if all(r[4] is not False for r in results) or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
