"""The list page's answers without a browser (Flask test client): the first
page's weight, the htmx parts, refused parameters, exports, bulk answers and
personal views; ``world`` runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import gzip
import io
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from engine.records import RecordService
from tests.api.conftest import World, admin, world  # noqa: F401 (fixtures)

HTMX = {"HX-Request": "true"}
BUDGET = 250 * 1024  # the first page, compressed (HTML + every CSS and JS it loads)


def _service(app: Flask) -> RecordService:
    return app.extensions["qiqiao"].records.get("crm")  # type: ignore[no-any-return]


def _seed(app: Flask, prefix: str, count: int = 3) -> list[dict[str, Any]]:
    service = _service(app)
    return [service.create("customer", {"name": f"{prefix} {i}", "level": "abc"[i % 3]}) for i in range(count)]


def test_the_first_page_weighs_under_250_kb_compressed(app: Flask, client: FlaskClient,
                                                       admin: dict[str, str]) -> None:  # noqa: F811
    _seed(app, "Weight", 60)
    page = client.get("/a/crm/customer", headers=admin)
    assert page.status_code == 200
    html = page.get_data()
    assets = re.findall(rb'<(?:link rel="stylesheet"|script) (?:href|src)="([^"]+)"', html)
    assert any(b"lists.js" in a for a in assets) and any(b"lists.css" in a for a in assets)
    total = len(gzip.compress(html))
    for url in assets:
        answer = client.get(url.decode(), headers=admin)
        assert answer.status_code == 200, url
        total += len(gzip.compress(answer.get_data()))
    assert total < BUDGET, f"{total} bytes"


def test_the_rows_part_pushes_its_url_and_load_more_answers_rows_only(world: World) -> None:  # noqa: F811
    _seed(world.app, "Part", 5)
    headers = {**world.auth(), **HTMX}
    region = world.client.get("/a/crm/customer/rows?search=Part&limit=2&sort=name", headers=headers)
    assert region.status_code == 200
    assert region.headers["HX-Push-Url"] == "/a/crm/customer?view=all&sort=name&search=Part&limit=2"
    body = region.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="list-region"') and "Part 0" in body and "Part 2" not in body
    after = re.search(r'hx-get="([^"]*after=[^"]+)"', body)
    assert after is not None
    more = world.client.get(after.group(1).replace("&amp;", "&"), headers=headers).get_data(as_text=True)
    assert more.lstrip().startswith("<tr>") and "Part 2" in more and "list-region" not in more


def test_a_bad_parameter_is_a_page_naming_it(world: World) -> None:  # noqa: F811
    headers = {**world.auth(), "Accept": "text/html"}
    for query, named in (("colour=red", "colour"), ("view=nope", "nope"), ("filter=%7B", "filter"),
                         ("sort=nope", "nope"), ("pv=x", "pv"), ("limit=9999", "limit")):
        answer = world.client.get(f"/a/crm/customer?{query}", headers=headers)
        assert answer.status_code == 400, query
        text = answer.get_data(as_text=True)
        assert answer.mimetype == "text/html" and named in text and "Traceback" not in text
    assert world.client.get("/a/crm/nope", headers=headers).status_code == 404


def test_the_filter_builder_makes_a_filter_and_export_gives_what_is_shown(world: World) -> None:  # noqa: F811
    _seed(world.app, "Export", 3)
    query = "view=all&search=Export&match=or&c0-field=level&c0-op=eq&c0-value=a&c1-field=level&c1-op=eq&c1-value=b"
    answer = world.client.get(f"/a/crm/customer/filter?{query}", headers=world.auth())
    assert answer.status_code == 302
    target = answer.headers["Location"]
    assert '"or"' in re.sub("%22", '"', target) or "%22or%22" in target
    page = world.client.get(target, headers=world.auth()).get_data(as_text=True)
    assert "Export 0" in page and "Export 1" in page and "Export 2" not in page
    export = world.client.get(target.replace("/a/crm/customer?", "/a/crm/customer/export?format=csv&"),
                              headers=world.auth())
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert sorted(r[0] for r in rows[1:]) == ["Export 0", "Export 1"]
    assert world.client.get("/a/crm/customer/export?format=pdf", headers=world.auth()).status_code == 400
    # A chip names people by name, not by id.
    owner = f'{{"field":"owner","op":"eq","value":{world.people.admin_id}}}'
    mine = world.client.get(f"/a/crm/customer?filter={owner}", headers=world.auth()).get_data(as_text=True)
    assert '<li class="chip">负责人 是 管理员' in mine


def test_bulk_answers_report_each_record(world: World) -> None:  # noqa: F811
    made = _seed(world.app, "Bulk", 2)
    headers = {**world.auth(), **HTMX}
    ids = [f"{r['id']}:{r['version']}" for r in made]
    stale = f"{made[1]['id']}:{made[1]['version'] + 5}"
    answer = world.client.post("/a/crm/customer/bulk/edit", headers=headers,
                               data={"ids": [ids[0], stale], "field": "level", "value": "c"})
    assert answer.status_code == 200 and answer.headers["HX-Trigger"] == "list-changed"
    text = answer.get_data(as_text=True)
    assert "已修改 1 条记录。" in text and f"#{made[1]['id']}" in text
    assert _service(world.app).get("customer", made[0]["id"])["level"] == "c"
    assert _service(world.app).get("customer", made[1]["id"])["level"] == "b"
    refused = world.client.post("/a/crm/customer/bulk/edit", headers=headers,
                                data={"ids": ids, "field": "won_amount", "value": "1"})
    assert refused.status_code == 400  # a computed field is no choice
    assert world.client.post("/a/crm/customer/bulk/delete", headers=headers, data={}).status_code == 400
    gone = world.client.post("/a/crm/customer/bulk/delete", headers=headers, data={"ids": [stale]})
    assert "已删除 0 条记录。" in gone.get_data(as_text=True)


def test_personal_views_are_saved_once_per_name_and_deleted(world: World) -> None:  # noqa: F811
    _seed(world.app, "Mine", 2)
    headers = {**world.auth(), **HTMX}
    filtered = '/a/crm/customer/views?view=all&filter={"field":"level","op":"eq","value":"a"}&sort=-name'
    saved = world.client.post(filtered, headers=headers, data={"name": "Level A"})
    assert saved.status_code == 204
    view_id = int(saved.headers["HX-Redirect"].split("pv=")[1].split("&")[0])
    again = world.client.post(filtered, headers=headers, data={"name": "Level A"})
    assert again.status_code == 409 and "Level A" in again.get_json()["error"]["message"]
    page = world.client.get(f"/a/crm/customer?pv={view_id}", headers=world.auth()).get_data(as_text=True)
    assert 'aria-current="page">Level A</a>' in page and 'aria-sort="descending"' in page
    deleted = world.client.post(f"/a/crm/customer/views/{view_id}/delete", headers=headers)
    assert deleted.status_code == 204
    assert world.client.get(f"/a/crm/customer?pv={view_id}", headers=world.auth()).status_code == 404
