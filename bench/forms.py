"""How fast the form page's live evaluation answers, against the engine's own
evaluation, in one run.

On a SQLite file with the CRM, a quote being typed (a customer, ten line
items, a discount over 20% so a rule shows and requires a field):

- baseline: ``RecordService.evaluate`` with the admin's ``Actor`` on the
  values the page would decode;
- contender: ``POST /a/crm/quote/evaluate`` through Flask's test client (the
  whole request: session/token check, decoding the posted form, the same
  evaluation, the digests, rendering the changed units; the request bytes
  and their WSGI environment, a server's work, are made before the clock
  starts), the page's digests from a previous
  answer, one quantity changed each call (what a keystroke sends). Goal: <= 2x.

Timings alternate between contender and baseline and keep the best of the
rounds, so a busy machine slows both alike. ``--quick`` takes fewer rounds.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from werkzeug.test import EnvironBuilder

from engine.fields import FIELD_TYPES
from engine.org.service import OrgService
from engine.packages import install_package
from engine.records import SYSTEM
from engine.store.database import Database
from engine.store.migrate import upgrade_system_tables
from runtime.app import create_app
from runtime.auth import actor_for
from runtime.web.form_inputs import decode_values
from templates_lib.crm import PACKAGE_PATH as CRM

ROWS = 10
GOAL = 2.0


def best(rounds: int, work: Callable[[int], Any], repeat: int) -> float:
    """The best time of ``rounds`` rounds of ``repeat`` calls, per call."""
    times = []
    for round_ in range(rounds):
        started = time.perf_counter()
        for i in range(repeat):
            work(round_ * repeat + i)
        times.append((time.perf_counter() - started) / repeat)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    args = parser.parse_args()
    rounds, repeat = (3, 10) if args.quick else (7, 40)
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        upgrade_system_tables(database)
        install_package(database, CRM, FIELD_TYPES, package="crm")
        org = OrgService(database)
        admin = org.create_user("admin", "Admin", is_admin=True)
        token, _ = org.issue_token(admin.id, "bench")
        app = create_app({"DATABASE": database, "SECRET_KEY": "bench",
                          "FILES": str(Path(tmp) / "files")})
        service = app.extensions["qiqiao"].records.get("crm")
        customer = service.create("customer", {"name": "Bench Co"}, actor=SYSTEM)
        product = service.create("product", {"name": "Widget", "sales_price": "100"}, actor=SYSTEM)
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        posted: dict[str, str] = {"customer": str(customer["id"]), "items": "", "status": "draft"}
        for i in range(ROWS):
            posted.update({f"items[{i}][id]": "", f"items[{i}][product]": str(product["id"]),
                           f"items[{i}][quantity]": str(i + 1), f"items[{i}][unit_price]": "100",
                           f"items[{i}][discount]": "25"})
        page = client.get("/a/crm/quote/new", headers=headers)
        assert page.status_code == 200, page.status_code
        first = client.post("/a/crm/quote/evaluate", headers=headers,
                            data={**posted, "_digests": _digests(page.text)})
        digests = _digests(first.text)

        with app.test_request_context(headers=headers):
            from runtime.auth import authenticate_request

            authenticate_request()
            actor = actor_for("crm", source="web")
            from werkzeug.datastructures import MultiDict

            compiled, _ = service.form("quote")
            values = decode_values(compiled.form.fields, MultiDict(posted))

        def engine(n: int) -> None:
            values["items"][0]["quantity"] = str(n % 50 + 1)
            service.evaluate("quote", values, actor=actor, defaults=True)

        # The requests are encoded before the clock starts: what is timed is
        # the server answering one (auth, decoding, evaluation, rendering).
        bodies = [urlencode({**posted, "items[0][quantity]": str(n % 50 + 1), "_digests": digests}).encode()
                  for n in range(50)]

        # So are their WSGI environments: a server's parser makes those, not
        # the application; each call gets a copy with the body to read.
        environs = [EnvironBuilder(path="/a/crm/quote/evaluate", method="POST", headers=headers, data=body,
                                   content_type="application/x-www-form-urlencoded").get_environ()
                    for body in bodies]

        def page_call(n: int) -> None:
            environ = {**environs[n % 50], "wsgi.input": io.BytesIO(bodies[n % 50])}
            status: list[str] = []
            chunks = app.wsgi_app(environ, lambda s, h, e=None: status.append(s))
            text = b"".join(chunks).decode()
            assert status[0].startswith("200"), text[:500]

        engine(0)
        page_call(0)
        base, contender = [], []
        for _ in range(rounds):
            base.append(best(1, engine, repeat))
            contender.append(best(1, page_call, repeat))
        ratio = min(contender) / min(base)
        print(f"{'measure':<32}{'baseline ms':>12}{'page ms':>10}{'ratio':>8}{'goal':>7}")
        print(f"{'live evaluation (10 lines)':<32}{min(base) * 1000:>12.2f}{min(contender) * 1000:>10.2f}"
              f"{ratio:>8.2f}{GOAL:>7.1f}")
        database.dispose()
        return 0 if ratio <= GOAL else 1


def _digests(html: str) -> str:
    found = re.search(r'id="form-digests" value="([^"]+)"', html)
    assert found is not None
    return found.group(1).replace("&#34;", '"')


if __name__ == "__main__":
    sys.exit(main())
