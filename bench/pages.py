"""How much a list page costs next to the REST API call it shows, in one run.

The same set-up as ``bench/api.py`` (its code is reused): the CRM on a SQLite
file with 100,000 customers written through the engine's bulk path
(``RecordService.create_many``), a sales rep whose role reads their
department's customers, ``qiqiao serve`` in its own process on loopback,
one keep-alive libcurl connection with the rep's bearer token.

1. GET the customers' list page, 50 rows (the "all customers" view's
   columns, a filter, the row count capped at 10,000) versus
   ``GET .../records`` with the same view, filter, limit and ``count=true``.
   Goal: <= 2x.
2. GET the rows part alone (what htmx asks for on a sort, search or tab),
   versus the same API call. For information.
3. The first page's weight: the HTML and every CSS and JS file it loads,
   gzip-compressed as served. Goal: < 250 KB.

Timings take the contenders in turn and keep each one's best round; every
process runs on one CPU unless ``--spread``. ``--quick`` shrinks the sizes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api import FILTER, Curl, Row, Served, best_of, per_call, pin_to_one_cpu, set_up  # noqa: E402
from engine.store.database import Database  # noqa: E402

BUDGET = 250 * 1024


def measure(served: Served, token: str, calls: int, rounds: int) -> list[Row]:
    results: list[Row] = []
    curl = Curl({"Authorization": f"Bearer {token}", "Accept": "text/html"})
    api_curl = Curl({"Authorization": f"Bearer {token}", "Accept": "application/json"})
    query = {"view": "all", "filter": json.dumps(FILTER, separators=(",", ":"))}
    page_url = served.url("/a/crm/customer?" + urlencode(query))
    rows_url = served.url("/a/crm/customer/rows?" + urlencode(query))
    api_url = served.url("/api/v1/apps/crm/forms/customer/records?" + urlencode({**query, "limit": 50, "count": "true"}))

    status, html = curl.get(page_url)
    assert status == 200 and html.count(b"data-row-select") == 50, (status, html[:300])
    status, body = api_curl.get(api_url)
    assert status == 200 and len(json.loads(body)["records"]) == 50, (status, body[:300])

    def page() -> None:
        assert curl.get(page_url)[0] == 200

    def rows() -> None:
        assert curl.get(rows_url)[0] == 200

    def api() -> None:
        assert api_curl.get(api_url)[0] == 200

    ours, part, base = best_of(rounds, [lambda: per_call(calls, page), lambda: per_call(calls, rows),
                                        lambda: per_call(calls, api)])
    results.append(("list page, 50 rows + count", f"{ours * 1000:.2f} ms", f"{base * 1000:.2f} ms",
                    f"{ours / base:.2f}x (goal <= 2x)", ours / base <= 2))
    results.append(("  rows part (htmx)", f"{part * 1000:.2f} ms", f"{base * 1000:.2f} ms",
                    f"{part / base:.2f}x", None))

    total = len(gzip.compress(html))
    for asset in re.findall(rb'<(?:link rel="stylesheet"|script) (?:href|src)="([^"]+)"', html):
        status, content = curl.get(served.url(asset.decode()))
        assert status == 200, asset
        total += len(gzip.compress(content))
    results.append(("first page weight (gzip)", f"{total / 1024:.1f} KB", "—", "goal < 250 KB", total < BUDGET))
    curl.close()
    api_curl.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--serve-option", action="append", default=[], metavar="OPTION",
                        help="an option for qiqiao serve, e.g. --serve-option=--threads=1")
    parser.add_argument("--spread", action="store_true", help="let the processes run on any CPU")
    args = parser.parse_args()
    pinned = not args.spread and pin_to_one_cpu()
    customers, calls, rounds = (3_000, 20, 2) if args.quick else (100_000, 200, 5)
    with tempfile.TemporaryDirectory(prefix="qiqiao-bench-pages-") as tmp:
        database: Database
        database, _rep, token, _ = set_up(Path(tmp), customers)
        served = Served(str(database.engine.url), Path(tmp), args.serve_option)
        try:
            results = measure(served, token, calls, rounds)
        finally:
            served.close()
            database.dispose()
    print(f"One CPU: {'yes' if pinned else 'no'}; {customers:,} customers; best of {rounds} rounds of {calls} calls")
    print(f"| {'measurement (page vs API)':<34} | {'page':>12} | {'API':>12} | {'ratio':<22} | goal |")
    print(f"|{'-' * 36}|{'-' * 14}|{'-' * 14}|{'-' * 24}|------|")
    for name, ours_text, base_text, ratio, met in results:
        verdict = "" if met is None else "met" if met else "MISSED"
        print(f"| {name:<34} | {ours_text:>12} | {base_text:>12} | {ratio:<22} | {verdict} |")
    return 0 if all(r[4] is not False for r in results) or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
