"""The record page without a browser (Flask's test client, bearer tokens):
the parts of the page and its partials for an admin and for a restricted
reader, and what is refused."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.api.conftest import People
from tests.api.test_printing import tiny_png

HTML = {"Accept": "text/html"}


def _crm(app: Flask) -> Any:
    return app.extensions["qiqiao"].records.get("crm")


def _admin(people: People, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {people.admin_token}", **HTML, **headers}


def _alice(people: People) -> dict[str, str]:
    return {"Authorization": f"Bearer {people.user_token}", **HTML}


def test_fields_related_lists_and_history_of_a_customer(app: Flask, client: FlaskClient, people: People) -> None:
    service = _crm(app)
    customer = service.create("customer", {"name": "Acme <b>Ltd</b>", "level": "a", "industry": "retail",
                                           "address": {"province": "上海市", "city": "上海市", "district": "浦东新区",
                                                       "detail": "世纪大道 100 号"}})
    service.create("contact", {"name": "Ann", "customer": customer["id"]})
    service.update("customer", customer["id"], {"level": "b"}, version=customer["version"])
    url = f"/a/crm/customer/{customer['id']}"
    html = client.get(url, headers=_admin(people)).get_data(as_text=True)
    assert "Acme &lt;b&gt;Ltd&lt;/b&gt;" in html and "<b>Ltd" not in html
    assert '<span class="address">上海市 上海市 浦东新区<br>世纪大道 100 号</span>' in html
    assert f'hx-get="{url}/related/contact/customer"' in html
    assert f'href="{url}/edit"' in html and 'data-open-dialog="delete-dialog"' in html
    # The history: the change of level, old -> new, as tags.
    assert 'class="tag opt-c-cf1322">A（重点客户）</span></del>' in html
    assert 'class="tag opt-c-fa8c16">B（普通客户）</span></ins>' in html
    body = client.get(f"{url}/related/contact/customer", headers=_admin(people)).get_data(as_text=True)
    assert ">Ann</a>" in body and f'href="/a/crm/contact/new?customer={customer["id"]}"' in body
    # Not a relation to a customer: no such list.
    assert client.get(f"{url}/related/contact/name", headers=_admin(people)).status_code == 404
    assert client.get(f"{url}/related/nope/customer", headers=_admin(people)).status_code == 404


def test_history_pages_with_show_more(app: Flask, client: FlaskClient, people: People) -> None:
    service = _crm(app)
    record = service.create("customer", {"name": "Busy Co"})
    for n in range(21):
        record = service.update("customer", record["id"], {"employees": n + 1}, version=record["version"])
    url = f"/a/crm/customer/{record['id']}"
    html = client.get(url, headers=_admin(people)).get_data(as_text=True)
    assert html.count('class="history-entry"') == 20 and "history?before=" in html
    before = html.split("history?before=")[1].split('"')[0]
    more = client.get(f"{url}/history?before={before}", headers=_admin(people)).get_data(as_text=True)
    assert more.count('class="history-entry"') == 2 and "history?before=" not in more  # the rest, and the creation


def test_a_restricted_reader_sees_no_hidden_field_and_no_one_elses_record(
        app: Flask, client: FlaskClient, people: People) -> None:
    service = _crm(app)
    org = app.extensions["qiqiao"].org
    org.create_role("own_no_revenue", "自己的客户", {
        "customer": {"actions": ["read", "update"], "read": "own", "write": "own", "fields": {"revenue": "hidden"}},
        "contact": {"actions": ["read"], "read": "own", "fields": {"mobile": "hidden"}}}, app="crm")
    org.assign_role("own_no_revenue", people.user_id)
    mine = service.create("customer", {"name": "Mine Co", "revenue": "12345.67", "owner": people.user_id})
    service.update("customer", mine["id"], {"revenue": "76543.21", "employees": 9}, version=mine["version"])
    service.create("contact", {"name": "My contact", "customer": mine["id"], "mobile": "13800138000",
                               "owner": people.user_id})
    theirs = service.create("customer", {"name": "Not yours", "owner": people.admin_id})
    html = client.get(f"/a/crm/customer/{mine['id']}", headers=_alice(people)).get_data(as_text=True)
    assert "Mine Co" in html and "12,345.67" not in html and "76,543.21" not in html
    assert 'data-field="revenue"' not in html and 'data-field="employees"' in html
    assert ">Annual revenue" not in html and "data-open-dialog" not in html  # no delete right
    body = client.get(f"/a/crm/customer/{mine['id']}/related/contact/customer",
                      headers=_alice(people)).get_data(as_text=True)
    assert "My contact" in body and "13800138000" not in body and "Mobile" not in body
    assert "/a/crm/contact/new" not in body  # no create right: no "add"
    refused = client.get(f"/a/crm/customer/{theirs['id']}", headers=_alice(people))
    assert refused.status_code == 404 and "text/html" in refused.content_type
    assert client.get(f"/a/crm/customer/{theirs['id']}/history", headers=_alice(people)).status_code == 404


def test_delete_goes_back_to_the_list_with_a_notice(app: Flask, client: FlaskClient, people: People) -> None:
    service = _crm(app)
    doomed = service.create("customer", {"name": "Doomed <i>Co</i>"})
    kept = service.create("customer", {"name": "Kept Co"})
    service.create("contact", {"name": "Holds on", "customer": kept["id"]})
    headers = _admin(people)
    gone = client.post(f"/a/crm/customer/{doomed['id']}/delete", data={"version": doomed["version"]}, headers=headers)
    assert gone.status_code == 302 and gone.headers["Location"] == "/a/crm/customer"
    assert client.get(f"/a/crm/customer/{doomed['id']}", headers=headers).status_code == 404
    # A customer its contacts still point at stays, and its page says why.
    refused = client.post(f"/a/crm/customer/{kept['id']}/delete", data={"version": kept["version"]}, headers=headers)
    assert refused.headers["Location"] == f"/a/crm/customer/{kept['id']}"
    page = client.get(f"/a/crm/customer/{kept['id']}", headers=headers).get_data(as_text=True)
    assert '<p class="notice error" role="alert">客户 #' in page and "仍被引用" in page


def test_subform_rows_show_as_a_table_with_totals(app: Flask, client: FlaskClient, people: People) -> None:
    service = _crm(app)
    customer = service.create("customer", {"name": "Quote Co"})
    pen = service.create("product", {"name": "Pen <i>", "sales_price": "2.50"})
    ink = service.create("product", {"name": "Ink", "sales_price": "10"})
    quote = service.create("quote", {"customer": customer["id"], "items": [
        {"product": pen["id"], "quantity": 4, "unit_price": "2.50", "discount": 0},
        {"product": ink["id"], "quantity": 1, "unit_price": "10", "discount": "0.1"}]})
    html = client.get(f"/a/crm/quote/{quote['id']}", headers=_admin(people)).get_data(as_text=True)
    table = html.split('<table class="subform-view">')[1].split("</table>")[0]
    assert f'<a href="/a/crm/product/{pen["id"]}">Pen &lt;i&gt;</a>' in table  # child relations named and linked
    # The column the form sums (total = SUM(items.subtotal)) has its total; unit prices have none.
    assert table.split("<tfoot>")[1].count("<strong>") == 1
    assert ('<tfoot><tr><td></td><td></td><td></td><td></td><td data-label="小计"><strong><span class="num">¥19.00'
            '</span></strong>') in table
    assert '<td data-label="数量"><span class="num">4.00</span></td>' in table  # a phone's card names each cell
    assert 'data-field="total"' in html and "¥19.00" in html.split('data-field="total"')[1][:200]
    # The quote has a print template: print view and PDF (the print API's addresses).
    printed = f"/api/v1/apps/crm/forms/quote/records/{quote['id']}/print/quote"
    assert f'href="{printed}"' in html and f'href="{printed}?format=pdf"' in html
    customer_page = client.get(f"/a/crm/customer/{customer['id']}", headers=_admin(people)).get_data(as_text=True)
    assert "/print/" not in customer_page  # no template for customers, no print action


def test_unknown_forms_and_ids_are_not_found_pages(client: FlaskClient, people: People) -> None:
    for url in ("/a/crm/nope/1", "/a/crm/customer/99999999999", "/a/nope/customer/1", "/a/crm/customer/424242"):
        answer = client.get(url, headers=_admin(people))
        assert answer.status_code == 404 and "text/html" in answer.content_type, url


def test_images_show_as_thumbnails_and_attachments_download(app: Flask, client: FlaskClient,
                                                            people: People) -> None:
    def upload(name: str, content: bytes, kind: str) -> Any:
        answer = client.post("/api/v1/files", headers=_admin(people),
                             data={"file": (io.BytesIO(content), name, kind)})
        assert answer.status_code == 201, answer.get_data(as_text=True)
        return answer.get_json()

    service = _crm(app)
    picture = upload("dot <1>.png", tiny_png(), "image/png")
    product = service.create("product", {"name": "Dot", "sales_price": "1", "images": [picture]})
    html = client.get(f"/a/crm/product/{product['id']}", headers=_admin(people)).get_data(as_text=True)
    src = f"/api/v1/apps/crm/forms/product/records/{product['id']}/files/{picture['id']}"
    assert f'<a class="thumb" href="{src}"><img src="{src}" alt="dot _1_.png" loading="lazy"></a>' in html
    image = client.get(src, headers=_admin(people))
    assert image.status_code == 200 and image.mimetype == "image/png"
    sheet = upload("terms.csv", b"a,b\n1,2\n", "text/csv")
    customer = service.create("customer", {"name": "Visited Co"})
    follow_up = service.create("follow_up", {"method": "visit", "followed_at": "2026-12-01T10:00:00+08:00",
                                             "content": "Visited", "customer": customer["id"],
                                             "next_step": "Call back", "attachments": [sheet]})
    html = client.get(f"/a/crm/follow_up/{follow_up['id']}", headers=_admin(people)).get_data(as_text=True)
    href = f"/api/v1/apps/crm/forms/follow_up/records/{follow_up['id']}/files/{sheet['id']}?download=1"
    assert f'<a href="{href}" download>terms.csv</a>' in html
    assert client.get(href, headers=_admin(people)).status_code == 200



def test_addresses_and_locations_in_full_on_the_record_page_short_in_lists(app: Flask) -> None:
    from engine.core.i18n import Label
    from engine.definitions.model import FieldDef
    from runtime.web.display import Shown

    service = _crm(app)
    spot = FieldDef(key="spot", type="location", label=Label("位置", "Location"))
    place = {"lat": "31.2397", "lng": "121.4998", "address": "外滩 <1>"}
    address = service.form("customer")[0].form.field("address")
    parts = {"province": "上海市", "city": "上海市", "district": None, "detail": "中山东一路 1 号"}
    with app.test_request_context("/"):
        full = Shown(service, "crm", "customer", compact=False)
        assert str(full.value(spot, place)) == '外滩 &lt;1&gt;<br><span class="num muted">31.2397, 121.4998</span>'
        assert str(full.value(address, parts)) == '<span class="address">上海市 上海市<br>中山东一路 1 号</span>'
        short = Shown(service, "crm", "customer")
        assert str(short.value(spot, place)) == "外滩 &lt;1&gt; (31.2397,121.4998)"
        assert str(short.value(address, parts)) == "上海市 上海市 中山东一路 1 号"
