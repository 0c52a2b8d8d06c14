"""Printing records (docs/printing.md) on SQLite and PostgreSQL: the CRM's
quote and contract through the API, as HTML and PDF, with the reader's
rights; and the engine's PrintService on a template of the test's own."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zlib
from dataclasses import replace
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient
from pypdf import PdfReader

from engine.core.errors import DefinitionError
from engine.core.i18n import label
from engine.definitions.model import PrintTemplateDef
from engine.org.service import OrgService
from engine.printing import PrintService
from engine.records import RecordService
from runtime.services import current_services
from tests.api.conftest import World

FORMS = "/api/v1/apps/crm/forms"
SECRET_TERMS = "Secret terms 机密条款"


def create(world: World, form: str, values: dict[str, Any]) -> dict[str, Any]:
    response = world.client.post(f"{FORMS}/{form}/records", json=values, headers=world.auth())
    assert response.status_code == 201, response.get_data(as_text=True)
    return dict(response.get_json())


def quote_for(world: World, owner: int) -> dict[str, Any]:
    customer = create(world, "customer", {"name": f"<script>alert({owner})</script>"})
    products = [create(world, "product", {"name": f"{name} {owner}", "sales_price": "100"})
                for name in ("扫描仪", "Printer", "Toner")]
    return create(world, "quote", {
        "customer": customer["id"], "owner": owner, "quote_date": "2026-12-04", "valid_until": "2027-01-03",
        "terms": SECRET_TERMS,
        "items": [{"product": p["id"], "quantity": n, "unit_price": "1000.50", "discount": "0.1"}
                  for n, p in enumerate(products, start=1)]})


def print_url(form: str, record_id: int, template: str) -> str:
    return f"{FORMS}/{form}/records/{record_id}/print/{template}"


def test_a_quote_prints_what_its_reader_may_read(world: World) -> None:
    people = world.people
    org = OrgService(world.database)
    org.create_role("quoter", "Quoter", app="crm", grants={
        "quote": {"actions": ["read"], "read": "own", "fields": {"terms": "hidden"}}})
    org.assign_role("crm:quoter", people.user_id)
    theirs, mine = quote_for(world, people.admin_id), quote_for(world, people.user_id)

    page = world.client.get(print_url("quote", theirs["id"], "quote"), headers=world.auth())
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    for shown in (theirs["code"], "报价单", f"&lt;script&gt;alert({people.admin_id})&lt;/script&gt;", "扫描仪 ", "管理员",
                  "2026年12月4日", "2027年1月3日", "¥1,000.50", "10.00%", "3.00", "¥5,402.70",
                  "伍仟肆佰零贰元柒角", SECRET_TERMS):
        assert shown in html, shown
    assert "<script>alert" not in html

    english = world.client.get(print_url("quote", theirs["id"], "quote"), headers=world.auth(),
                               query_string={"locale": "en"}).get_data(as_text=True)
    assert "QUOTATION" in english and "4 December 2026" in english

    alice = world.auth(people.user_token)
    own = world.client.get(print_url("quote", mine["id"], "quote"), headers=alice)
    assert own.status_code == 200 and mine["code"] in own.get_data(as_text=True)
    assert "QUOTATION" in own.get_data(as_text=True)  # in the reader's own language
    # Alice may not read customers: the quote's customer prints as its id, not its name.
    assert f"#{mine['customer']}" in own.get_data(as_text=True)
    assert f"alert({people.user_id})" not in own.get_data(as_text=True)
    assert SECRET_TERMS not in own.get_data(as_text=True)  # a hidden field is not printed, nor its label
    assert "Terms" not in own.get_data(as_text=True) and "报价条款" not in own.get_data(as_text=True)
    assert world.client.get(print_url("quote", theirs["id"], "quote"), headers=alice).status_code == 404
    assert world.client.get(print_url("quote", 999_999, "quote"), headers=alice).status_code == 404
    assert world.client.get(print_url("contract", 1, "contract"), headers=alice).status_code == 403

    listed = world.client.get(f"{FORMS}/quote/print", headers=alice).get_json()["templates"]
    assert [(t["key"], t["label"], t["paper"]) for t in listed] == [
        ("quote", {"zh": "报价单", "en": "Quote"}, "A4")]
    assert listed[0]["pdf"] == "/api/v1/apps/crm/forms/quote/records/{id}/print/quote?format=pdf"
    assert world.client.get(f"{FORMS}/contract/print", headers=alice).status_code == 403


def test_print_parameters_and_names_are_checked(client: FlaskClient, admin: dict[str, str]) -> None:
    for query, status, code in (({"format": "docx"}, 400, "validation_error"),
                                ({"locale": "fr"}, 400, "validation_error"),
                                ({"tz": "Mars/Olympus"}, 400, "validation_error"),
                                ({"colour": "red"}, 400, "invalid_query")):
        response = client.get(print_url("quote", 1, "quote"), headers=admin, query_string=query)
        assert response.status_code == status, response.get_data(as_text=True)
        assert response.get_json()["error"]["code"] == code
    for url in (print_url("quote", 1, "quote"), print_url("quote", 1, "invoice"), print_url("lead", 1, "quote"),
                print_url("nowhere", 1, "quote"), print_url("quote", 2**40, "quote"),
                "/api/v1/apps/erp/forms/quote/records/1/print/quote"):
        response = client.get(url, headers=admin)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found", url
    unknown = client.get(print_url("quote", 1, "invoice"), headers=admin).get_json()["error"]["message"]
    assert "invoice" in unknown and "quote" in unknown
    assert client.get(print_url("quote", 1, "quote")).status_code == 401


def test_a_contract_prints_as_pdf_with_its_amount_in_words_and_payment_plan(world: World) -> None:
    customer = create(world, "customer", {"name": "七巧科技有限公司"})
    contract = create(world, "contract", {"name": "年度服务合同", "customer": customer["id"], "amount": "1234.56",
                                          "signed_on": "2026-12-01", "start_on": "2026-12-01",
                                          "end_on": "2027-11-30", "status": "executing"})
    for number, (due, amount) in enumerate((("2026-12-31", "600.00"), ("2027-06-30", "634.56")), start=1):
        create(world, "payment_plan", {"contract": contract["id"], "installment": number, "due_on": due,
                                       "amount": amount})

    response = world.client.get(print_url("contract", contract["id"], "contract"), headers=world.auth(),
                                query_string={"format": "pdf"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('inline; filename="')
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == f"合同-{contract['id']}.pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    squeezed = "".join(text.split())
    for shown in (contract["code"], "年度服务合同", "七巧科技有限公司", "壹仟贰佰叁拾肆元伍角陆分", "¥1,234.56",
                  "2026-12-31", "¥600.00", "¥634.56", "甲方"):
        assert shown in squeezed, (shown, text)
    assert PdfReader(io.BytesIO(response.data)).pages[0].mediabox.width == pytest.approx(595.28, abs=1)  # A4
    print_service_embeds_images_and_keeps_its_sandbox(world)


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


def print_service_embeds_images_and_keeps_its_sandbox(world: World) -> None:
    """The engine's PrintService on templates of the test's own (on the same world: installing one costs)."""
    upload = world.client.post("/api/v1/files", headers=world.auth(),
                               data={"file": (io.BytesIO(tiny_png()), "dot.png", "image/png")})
    assert upload.status_code == 201, upload.get_data(as_text=True)
    product = create(world, "product", {"name": "Dot", "sales_price": "1", "images": [upload.get_json()]})
    with world.app.app_context():
        base = current_services().records.get("crm")
        files = current_services().files
    pictures = PrintTemplateDef(key="card", form="product", label=label("卡片"), source=(
        "{% for p in images.images %}<img alt='{{ p.name }}' src='{{ p.src }}'>{% endfor %}"
        "{{ values.sales_price|money }} {{ record.created_at }} {{ now|date }}"))
    # Past the loader's checks (a name built at render time): the sandbox still says no.
    escape = PrintTemplateDef(key="escape", form="product", label=label("x"), source=(
        "{% set name = '__cla' ~ 'ss__' %}{{ (values|attr(name)).__name__ }}"))
    service = RecordService(world.database, replace(base.app, prints=(pictures, escape)),
                            field_types=base.field_types, clock=base.clock)
    printer = PrintService(service, files)
    html = printer.render("product", product["id"], "card", locale="en", time_zone="UTC")
    assert "alt='dot.png' src='data:image/png;base64," in html and "¥1.00" in html
    assert printer.pdf("product", product["id"], "card").startswith(b"%PDF")
    created = dt.datetime.fromisoformat(product["created_at"])
    for zone in ("UTC", "America/New_York", "Asia/Shanghai"):
        moment = created.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
        assert moment in printer.render("product", product["id"], "card", time_zone=zone), zone
    with pytest.raises(DefinitionError, match="could not be rendered"):
        printer.render("product", product["id"], "escape")
