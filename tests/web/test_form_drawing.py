"""Drawing a form's units (``runtime/web/form_drawing.py``): what a live
evaluation's answer swaps as a rule changes a field's state or the form's
messages, the display of a value the reader may not change, and the digests
the page keeps, on both databases."""

from __future__ import annotations

import re
from typing import Any

from engine.org.service import OrgService
from engine.records import SYSTEM
from runtime.web.form_page import read_digests, write_digests
from tests.api.conftest import world  # noqa: F401 (fixture)

_DIGESTS = re.compile(r'id="form-digests" value="([^"]+)"')
_SWAPPED = re.compile(r'<(?:div|input)[^>]*id="([^"]+)"[^>]*hx-swap-oob="true"')


def _unit(html: str, unit: str) -> str:
    """The opening tag of ``unit``'s wrapper in an answer."""
    found = re.search(rf'<div id="{unit}"[^>]*>', html)
    assert found is not None, f"{unit} not in {html[:300]}"
    return found.group(0)


def test_a_live_answer_swaps_what_a_rule_changes(world: Any) -> None:  # noqa: F811
    client, admin = world.client, world.auth(**{"Accept-Language": "en"})
    page = client.get("/a/crm/quote/new", headers=admin)
    assert page.status_code == 200
    digests = _DIGESTS.search(page.text).group(1)
    assert 'id="f-discount_reason" class="field field-textarea"' in page.text
    assert re.search(r'<div id="f-discount_reason"[^>]*\shidden>', page.text)
    row = {"items": "", "items[0][id]": "", "items[0][quantity]": "2", "items[0][unit_price]": "10"}

    # A discount over 20% shows the reason and makes it required.
    answer = client.post("/a/crm/quote/evaluate", headers=admin,
                         data={**row, "items[0][discount]": "25", "_digests": digests})
    assert answer.status_code == 200
    swapped = _SWAPPED.findall(answer.text)
    assert {"f-discount_reason", "f-items-0-subtotal", "f-total"} <= set(swapped)
    assert swapped[-1] == "form-digests" and "form-messages" not in swapped
    wrapper = _unit(answer.text, "f-discount_reason")
    assert " hidden" not in wrapper and 'hx-swap-oob="true"' in wrapper
    assert 'aria-required="true"' in answer.text.split('id="f-discount_reason"')[1]
    assert "¥15.00" in answer.text  # 2 x 10 less 25%

    # Back to no discount: hidden again; a cell nobody touched is not drawn.
    digests = _DIGESTS.search(answer.text).group(1)
    answer = client.post("/a/crm/quote/evaluate", headers=admin,
                         data={**row, "items[0][discount]": "0", "_digests": digests})
    assert re.search(r'\shidden hx-swap-oob="true">', _unit(answer.text, "f-discount_reason"))
    assert "f-items-0-quantity" not in _SWAPPED.findall(answer.text)

    # A rule's error is the form's own message, swapped in, then out.
    digests = _DIGESTS.search(answer.text).group(1)
    dates = {"quote_date": "2026-12-04", "valid_until": "2026-12-01"}
    answer = client.post("/a/crm/quote/evaluate", headers=admin,
                         data={**row, **dates, "items[0][discount]": "0", "_digests": digests})
    assert re.search(r'<div id="form-messages" class="form-messages" role="alert" hx-swap-oob="true">\s*'
                     r'<ul><li>[^<]*(Valid until cannot be before the quote date|有效期不能早于报价日期)</li></ul></div>',
                     answer.text)
    digests = _DIGESTS.search(answer.text).group(1)
    same = client.post("/a/crm/quote/evaluate", headers=admin,
                       data={**row, **dates, "items[0][discount]": "0", "_digests": digests})
    assert _SWAPPED.findall(same.text) == ["form-digests"]
    fixed = client.post("/a/crm/quote/evaluate", headers=admin,
                        data={**row, "quote_date": "2026-12-04", "valid_until": "2026-12-31",
                              "items[0][discount]": "0", "_digests": _DIGESTS.search(same.text).group(1)})
    assert '<div id="form-messages" class="form-messages" role="alert" hx-swap-oob="true"></div>' in fixed.text


def test_a_read_only_picker_shows_the_names_it_holds(world: Any) -> None:  # noqa: F811
    """A relation the reader may not change is text: the record's title, not its id."""
    org = OrgService(world.database)
    org.create_role("contact_rep", "Rep", app="crm", grants={
        "contact": {"actions": ["create", "read", "update"], "read": "all", "write": "all",
                    "fields": {"customer": "readonly"}},
        "customer": {"actions": ["read"], "read": "all"}})
    org.assign_role("crm:contact_rep", world.people.user_id)
    records = world.app.extensions["qiqiao"].records.get("crm")
    customer = records.create("customer", {"name": "Drawn <Co>"}, actor=SYSTEM)
    contact = records.create("contact", {"name": "Li Lei", "customer": customer["id"]}, actor=SYSTEM)
    page = world.client.get(f"/a/crm/contact/{contact['id']}/edit", headers=world.auth(world.people.user_token))
    assert page.status_code == 200
    wrapper = _unit(page.text, "f-customer")
    assert "readonly" in wrapper and 'name="customer"' not in page.text
    assert re.search(r'<output data-part="control" id="i-customer" class="computed" '
                     r'aria-labelledby="i-customer-label">Drawn &lt;Co&gt;</output>', page.text)


def test_the_digests_written_read_back_as_written() -> None:
    digests = {"f-name": "111", "f-items-0-subtotal": "1004ab3c5d6e7", "form-messages": "0"}
    text = write_digests(digests)
    assert text == "f-name.111.f-items-0-subtotal.1004ab3c5d6e7.form-messages.0"
    digests["f-name"] = "000"  # what was written is kept as it was
    assert read_digests(text) == {"f-name": "111", "f-items-0-subtotal": "1004ab3c5d6e7", "form-messages": "0"}
    # Digests another process wrote read the same; anything else as none (every unit is drawn).
    assert read_digests("f-a.101.f-b.100") == {"f-a": "101", "f-b": "100"}
    assert read_digests("f-a.101.f-b") == {} and read_digests("") == {}
