"""How fast the outbox delivers mail, against raw ``smtplib``, in one run.

N messages (2,000; ``--quick``: 300) go to an aiosmtpd server on loopback,
running in a process of its own as a mail server would:

- contender: the messages wait in the outbox of a SQLite file (WAL); the
  timed part is a worker draining it (``Deliverer.run``: claiming batches,
  building each mail, sending it over one SMTP connection per batch, and
  recording each one as sent in its own transaction). Enqueuing is not timed.
- baseline: raw ``smtplib`` sending the same messages, built by the same
  function, over one connection, recording nothing.

Goal (issue #12): the outbox's rate >= 0.7x raw smtplib's. Rounds alternate
between the two and keep the best of each, so a busy machine slows both alike.
``measure(quick)`` returns the table's rows; run alone, the script prints them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.core.clock import SystemClock  # noqa: E402
from engine.notify.channels import Delivery  # noqa: E402
from engine.notify.delivery import Deliverer  # noqa: E402
from engine.notify.email import build_message, from_header, recipients_of  # noqa: E402
from engine.notify.outbox import OUTBOX  # noqa: E402
from engine.notify.settings import NotifySettings  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.migrate import upgrade_system_tables  # noqa: E402

GOAL = 0.7
SINK = """
import sys, time
from aiosmtpd.controller import Controller
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"
Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1])).start()
print("ready", flush=True)
sys.stdin.read()
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def payload(n: int) -> dict[str, Any]:
    return {"to": [f"user{n}@example.com"], "subject": f"合同即将到期 #{n}",
            "text": f"您好，合同 HT-{n:05d} 将于 30 天后到期，请跟进续约。\n" * 3,
            "html": f"<p>您好，合同 <b>HT-{n:05d}</b> 将于 30 天后到期，请跟进续约。</p>"}


def fill(database: Database, count: int, run: int) -> None:
    now = dt.datetime.now(dt.UTC)
    with database.transaction() as conn:
        conn.execute(OUTBOX.delete())
        conn.execute(OUTBOX.insert(), [{
            "channel": "email", "recipient": f"user{n}@example.com", "idempotency_key": f"bench:{run}:{n}",
            "payload": payload(n), "status": "pending", "attempts": 0, "next_attempt_at": now,
            "created_at": now} for n in range(count)])


def raw_smtplib(port: int, count: int, run: int) -> float:
    sender = from_header("七巧 <crm@example.com>")
    started = time.perf_counter()
    client = smtplib.SMTP("127.0.0.1", port)
    for n in range(count):
        delivery = Delivery(id=n, channel="email", recipient=f"user{n}@example.com", payload=payload(n),
                            idempotency_key=f"raw:{run}:{n}", attempts=1)
        recipients = recipients_of(delivery)
        client.sendmail("crm@example.com", recipients, build_message(delivery, sender, recipients))
    client.quit()
    return time.perf_counter() - started


def outbox(database: Database, settings: NotifySettings, count: int, run: int) -> float:
    fill(database, count, run)
    deliverer = Deliverer(database, SystemClock(), settings, name="bench")
    started = time.perf_counter()
    done = deliverer.run(max_batches=10**6)
    elapsed = time.perf_counter() - started
    assert done == count, f"delivered {done} of {count}"
    return elapsed


def measure(quick: bool) -> list[dict[str, Any]]:
    count, rounds = (300, 2) if quick else (2_000, 5)
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        settings = NotifySettings.from_env({"QIQIAO_SMTP_URL": f"smtp://127.0.0.1:{port}",
                                            "QIQIAO_MAIL_FROM": "七巧 <crm@example.com>"})
        with tempfile.TemporaryDirectory(prefix="qiqiao-bench-") as tmp:
            database = Database(f"sqlite:///{os.path.join(tmp, 'outbox.sqlite3')}")
            upgrade_system_tables(database)
            ours, base = [], []
            for run in range(rounds):
                base.append(raw_smtplib(port, count, run))
                ours.append(outbox(database, settings, count, run))
            database.dispose()
    finally:
        if sink.stdin is not None:
            sink.stdin.close()
        sink.wait(10)
    best_ours, best_base = min(ours), min(base)
    return [{"goal": f"outbox to loopback SMTP, {count:,} mails: rate vs raw smtplib",
             "baseline_s": best_base, "contender_s": best_ours, "ratio": best_base / best_ours,
             "target": f">= {GOAL}x"}]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    rows = measure(args.quick)
    print(f"| {'measurement':<56} | {'qiqiao':>12} | {'baseline':>12} | {'ratio':<16} | goal |")
    print(f"|{'-' * 58}|{'-' * 14}|{'-' * 14}|{'-' * 18}|------|")
    met = True
    for row in rows:
        ok = row["ratio"] >= GOAL
        met = met and ok
        print(f"| {row['goal']:<56} | {row['contender_s']:>10.3f} s | {row['baseline_s']:>10.3f} s | "
              f"{row['ratio']:.2f}x ({row['target']}) | {'met' if ok else 'MISSED'} |")
    return 0 if met or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
