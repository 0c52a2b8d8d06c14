"""Many clients at once against ``qiqiao serve``, on SQLite and on PostgreSQL.

For each database: the demo CRM is seeded (``runtime.demo``), ``qiqiao
serve`` starts as a real process with its defaults, and N clients (one
keep-alive connection each, bearer token) run this mix for a fixed time:

* 40% create a follow-up of a random customer (which also updates the
  customer's ``last_followed_at``);
* 30% read a random customer and PATCH it with the version just read
  (a 409 when another client changed it in between is a right answer);
* 30% list 50 opportunities sorted by amount;

while one more client imports customers (a CSV of ``--import-rows`` rows,
over and over). Printed per database and per N (8, 32, 64): requests,
requests per second, 5xx, 409, p50, p95, p99.

Afterwards every write is checked (``check_writes``): each 201 is readable,
the last 200 PATCH of each customer is what the customer holds, the
follow-ups counted equal the ones created, no serial number is given twice
(``--tickets`` adds service tickets, numbered by a serial field, to the
creates). A run with any 5xx, connection error or lost write is not
reported: the script says which and exits 1. The soak test
(``tests/load/test_soak.py``) drives the same code.

Goals (on 2 quiet cores): 0 server errors and 0 lost writes at 8, 32 and 64
clients on both databases; SQLite at 8 clients at least 0.8x the requests
per second of PostgreSQL; p99 under 250 ms at 32 clients on both.
``--quick`` runs 8 clients for 3 seconds (CI smoke runs).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import Served  # noqa: E402  (qiqiao serve in a process of its own)

API = "/api/v1/apps/crm/forms"
OPPORTUNITIES = f"{API}/opportunity/records?limit=50&sort=-amount"


class Client:
    """One keep-alive connection with a token; a dropped connection is counted, then reopened."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.headers = port, {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             content_type: str = "application/json") -> tuple[int, Any]:
        headers = dict(self.headers)
        payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        if payload is not None:
            headers["Content-Type"] = content_type
        try:
            self.connection.request(method, path, body=payload, headers=headers)
            answer = self.connection.getresponse()
            data = answer.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            return 0, None  # 0: a connection error
        try:
            return answer.status, json.loads(data) if data else None
        except ValueError:
            return answer.status, None


@dataclass
class Tally:
    """What the clients saw, and the writes they were told succeeded."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    created: dict[str, list[int]] = field(default_factory=lambda: {"follow_up": [], "service_ticket": []})
    patched: dict[int, tuple[int, str]] = field(default_factory=dict)  # customer: (version, notes) of the last 200
    imported: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, started: float, what: str, status: int) -> None:
        with self.lock:
            self.latencies.append(time.perf_counter() - started)
            self.statuses[status] += 1
            if status == 0 or status >= 500:
                self.failures.append(f"{what}: {'connection error' if status == 0 else status}")


def seed(database_url: str, scale: float) -> str:
    """The demo CRM on ``database_url``; the admin's token."""
    from runtime.demo import set_up_demo

    return set_up_demo(database_url, scale=scale).token


def customer_ids(client: Client) -> list[int]:
    status, body = client.call("GET", f"{API}/customer/records?limit=200&fields=id")
    assert status == 200, (status, body)
    return [int(r["id"]) for r in body["records"]]


def one_request(client: Client, tally: Tally, customers: list[int], rng: random.Random, tickets: bool) -> None:
    roll = rng.random()
    customer = rng.choice(customers)
    started = time.perf_counter()
    if roll < 0.4:
        form = "service_ticket" if tickets and rng.random() < 0.25 else "follow_up"
        body = ({"subject": "Load", "customer": customer, "description": "From the load test"}
                if form == "service_ticket" else
                {"customer": customer, "content": f"Load {uuid.uuid4().hex[:8]}", "method": "phone"})
        status, answer = client.call("POST", f"{API}/{form}/records", body)
        tally.seen(started, f"POST {form}", status)
        if status == 201:
            with tally.lock:
                tally.created[form].append(int(answer["id"]))
    elif roll < 0.7:
        status, current = client.call("GET", f"{API}/customer/records/{customer}")
        tally.seen(started, "GET customer", status)
        if status != 200:
            return
        notes = f"Patched {uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        status, answer = client.call("PATCH", f"{API}/customer/records/{customer}",
                                     {"notes": notes, "version": current["version"]})
        tally.seen(started, "PATCH customer", status)
        if status == 200:
            with tally.lock:
                if answer["version"] > tally.patched.get(customer, (0, ""))[0]:
                    tally.patched[customer] = (int(answer["version"]), notes)
    else:
        status, _ = client.call("GET", OPPORTUNITIES)
        tally.seen(started, "GET opportunities", status)


def import_file(rows: int) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    content = "客户名称\n" + "".join(f"Imported {uuid.uuid4().hex[:12]}\n" for _ in range(rows))
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"load.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n{content}\r\n--{boundary}--\r\n").encode()
    return body, f"multipart/form-data; boundary={boundary}"


def drive(port: int, token: str, clients: int, seconds: float, *, import_rows: int = 500,
          tickets: bool = False) -> Tally:
    """``clients`` clients running the mix, and one importing, for ``seconds``."""
    tally = Tally()
    customers = customer_ids(Client(port, token))
    stop = threading.Event()

    def work(number: int) -> None:
        client, rng = Client(port, token), random.Random(number)
        while not stop.is_set():
            one_request(client, tally, customers, rng, tickets)

    def importing() -> None:
        client = Client(port, token)
        while not stop.is_set():
            raw, kind = import_file(import_rows)
            started = time.perf_counter()
            status, report = client.call("POST", f"{API}/customer/import", raw=raw, content_type=kind)
            tally.seen(started, "POST import", status)
            if status == 200:
                with tally.lock:
                    tally.imported += int(report["totals"]["created"])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    threads.append(threading.Thread(target=importing))
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return tally


def check_writes(port: int, token: str, tally: Tally, before: dict[str, int]) -> list[str]:
    """Lost writes and duplicate serial numbers, as sentences (none: all is well)."""
    client, lost = Client(port, token), []
    for form, ids in tally.created.items():
        for record_id in ids:
            status, _ = client.call("GET", f"{API}/{form}/records/{record_id}")
            if status != 200:
                lost.append(f"{form} {record_id} was created (201) but reads {status}")
        counted = count(client, form)
        if counted != before[form] + len(ids):
            lost.append(f"{form}: {counted} records, expected {before[form]} + {len(ids)} created")
    for customer, (version, notes) in tally.patched.items():
        status, record = client.call("GET", f"{API}/customer/records/{customer}")
        if status != 200 or record["version"] < version or (record["version"] == version
                                                             and record["notes"] != notes):
            lost.append(f"customer {customer}: the PATCH that made version {version} is not visible")
    codes = serials(client)
    duplicates = sorted(code for code, times in Counter(codes).items() if times > 1)
    if duplicates:
        lost.append(f"serial numbers given twice: {duplicates[:10]}")
    return lost


def count(client: Client, form: str) -> int:
    status, body = client.call("GET", f"{API}/{form}/records?limit=1&count=true")
    assert status == 200 and body["count_exact"], (status, body)
    return int(body["count"])


def serials(client: Client) -> list[str]:
    codes, after = [], None
    while True:
        path = f"{API}/service_ticket/records?limit=200&fields=code" + (f"&after={after}" if after else "")
        status, body = client.call("GET", path)
        assert status == 200, (status, body)
        codes += [r["code"] for r in body["records"]]
        after = body.get("next")
        if not after:
            return codes


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0.0


@dataclass
class Run:
    database: str
    clients: int
    seconds: float
    tally: Tally
    lost: list[str]

    @property
    def requests(self) -> int:
        return sum(self.tally.statuses.values())

    def row(self) -> str:
        t = self.tally
        return (f"| {self.database} | {self.clients} | {self.requests} | {self.requests / self.seconds:.0f} | "
                f"{sum(n for s, n in t.statuses.items() if s >= 500)} | {t.statuses[409]} | "
                f"{percentile(t.latencies, 0.5):.0f} | {percentile(t.latencies, 0.95):.0f} | "
                f"{percentile(t.latencies, 0.99):.0f} |")


def soak(url: str, folder: Path, clients: int, seconds: float, *, scale: float, import_rows: int,
         tickets: bool, serve_options: list[str] | None = None) -> tuple[Tally, list[str]]:
    """A freshly seeded database, ``qiqiao serve`` on it, the clients, then
    the checks: what the clients saw, and the writes lost."""
    token = seed(url, scale)
    server = Served(url, folder, serve_options or [])
    try:
        client = Client(server.port, token)
        before = {form: count(client, form) for form in ("follow_up", "service_ticket")}
        tally = drive(server.port, token, clients, seconds, import_rows=import_rows, tickets=tickets)
        lost = check_writes(server.port, token, tally, before)
    finally:
        server.close()
    errors = [line for line in server.log_path.read_text().splitlines() if "Traceback" in line]
    if errors:
        lost.append(f"the server logged {len(errors)} traceback(s), see {server.log_path}")
    return tally, lost


def measure(database: str, url: str, folder: Path, clients: int, seconds: float, **options: Any) -> Run:
    tally, lost = soak(url, folder, clients, seconds, **options)
    return Run(database, clients, seconds, tally, lost)


def postgres_database(base: str | None) -> tuple[str, Any]:
    """A fresh PostgreSQL database: on ``base`` (a server URL), or on a server of our own."""
    from tests.conftest import PostgresServer, admin_execute

    server = None
    if base is None:
        server = PostgresServer()
        server.start()
        base = server.url()
    name = f"qiqiao_load_{uuid.uuid4().hex[:8]}"
    admin_execute(base, f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + f"/{name}", server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 clients, 3 seconds, small data")
    parser.add_argument("--clients", default="8,32,64", help="client counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=os.environ.get("QIQIAO_TEST_POSTGRES_URL"),
                        help="a PostgreSQL server URL (default: start one)")
    parser.add_argument("--import-rows", type=int, default=2000)
    parser.add_argument("--scale", type=float, default=1.0, help="demo data scale")
    parser.add_argument("--tickets", action="store_true", help="also create service tickets (serial numbers)")
    parser.add_argument("--serve-option", action="append", default=[],
                        help="an option for qiqiao serve (--serve-option=--workers=2); default: its defaults")
    options = parser.parse_args()
    if options.quick:
        options.clients, options.seconds, options.import_rows, options.scale = "8", 3.0, 200, 0.1
    counts = [int(n) for n in options.clients.split(",")]
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="qiqiao-load-") as folder:
        for database in options.databases.split(","):
            for clients in counts:
                if database == "sqlite":
                    url, server = f"sqlite:///{Path(folder) / f'load-{clients}.sqlite3'}", None
                else:
                    url, server = postgres_database(options.postgres)
                try:
                    runs.append(measure(database, url, Path(folder), clients, options.seconds, scale=options.scale,
                                        import_rows=options.import_rows, tickets=options.tickets,
                                        serve_options=options.serve_option))
                finally:
                    if server is not None:
                        server.stop()
    return report(runs)


def report(runs: list[Run]) -> int:
    bad = [(run, problem) for run in runs
           for problem in [*sorted(set(run.tally.failures)), *run.lost]]
    if bad:
        for run, problem in bad:
            print(f"NOT REPORTED: {run.database} at {run.clients} clients: {problem}")
        return 1
    print("qiqiao load: the CRM mix over HTTP (latencies in ms)\n")
    print("| database | clients | requests | req/s | 5xx | 409 | p50 | p95 | p99 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        print(run.row())
    rate = {(r.database, r.clients): r.requests / r.seconds for r in runs}
    if ("sqlite", 8) in rate and ("postgresql", 8) in rate:
        ratio = rate["sqlite", 8] / rate["postgresql", 8]
        print(f"\nSQLite / PostgreSQL at 8 clients: {ratio:.2f}x (goal >= 0.8x)")
    for run in runs:
        if run.clients == 32:
            p99 = percentile(run.tally.latencies, 0.99)
            print(f"p99 at 32 clients on {run.database}: {p99:.0f} ms (goal < 250 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
