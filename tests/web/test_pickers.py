"""The searching pickers in a real browser, on SQLite and PostgreSQL: a
service ticket's customer (relation) and assignee (member) found by typing,
saved, and shown on the record page as a link and a name; then the ticket
list filtered by that customer with the same picker in the filter builder."""

from __future__ import annotations

import uuid
from typing import Any

from engine.records import SYSTEM
from tests.web.conftest import DESKTOP, Site, axe, no_problems, open_page, shot, sign_in
from tests.web.test_forms import _pick, _saved_id, _settled


def test_a_ticket_picks_its_customer_and_assignee_by_search_then_the_list_filters_by_it(
        browser: Any, site: Site) -> None:
    records = site.app.extensions["qiqiao"].records.get("crm")
    mark = uuid.uuid4().hex[:6]
    customer = records.create("customer", {"name": f"Picker Co {mark}"}, actor=SYSTEM)
    records.create("customer", {"name": f"Other Co {mark}"}, actor=SYSTEM)  # found too, not chosen
    page = open_page(browser, site, viewport=DESKTOP, language="en")
    try:
        sign_in(page, next_path="/a/crm/service_ticket/new")
        page.fill("#i-subject", f"Scanner offline {mark}")
        page.fill("#i-description", "It does not connect.")
        _pick(page, "i-customer", f"Picker Co {mark}")
        _pick(page, "i-assignee", "李娜")
        _settled(page)
        assert page.locator("#i-customer option:checked").inner_text() == f"Picker Co {mark}"
        shot(page, f"picker-ticket-{site.kind}-desktop")
        page.click("#save")
        ticket_id = _saved_id(page, "service_ticket")
        saved = records.get("service_ticket", ticket_id, actor=SYSTEM)
        assert saved["customer"] == customer["id"]
        assert saved["assignee"] == site.app.extensions["qiqiao"].org.find_user_by_login("li.na").id
        page.goto(f"/a/crm/service_ticket/{ticket_id}")
        link = page.locator(f"a[href='/a/crm/customer/{customer['id']}']").first
        assert link.inner_text() == f"Picker Co {mark}"
        assert page.get_by_text("李娜").count() >= 1
        # The list's filter builder offers the same searching picker for the relation.
        page.goto("/a/crm/service_ticket")
        page.click(".filter-builder summary")
        page.select_option("#c0-field", "customer")
        page.wait_for_selector("#c0-value-ts-control")
        _pick(page, "c0-value", f"Picker Co {mark}")
        page.click("#filter-form button[type=submit]")
        page.wait_for_selector(".chip")
        page.wait_for_url("**filter=**")
        assert f"Picker Co {mark}" in page.locator(".chip").first.inner_text()  # its name, not its id
        titles = page.locator(".list-table tbody .title-cell").all_inner_texts()
        assert [t for t in titles if mark in t] == [f"Scanner offline {mark}"]
        assert axe(page) == []
        shot(page, f"picker-filter-{site.kind}-desktop")
        no_problems(page)
    finally:
        page.context.close()
