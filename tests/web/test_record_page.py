"""The record page in a real browser: values by type, related lists with
their "add" links, the history of an edit made by someone else, escaping,
a restricted reader, delete with its confirmation; axe at both sizes."""

from __future__ import annotations

import itertools
import re
from typing import Any

from engine.records import Actor
from tests.web.conftest import PASSWORD, PHONE, Site, axe, no_problems, open_page, shot, sign_in

_unique = itertools.count(1)


def _crm(site: Site) -> Any:
    return site.app.extensions["qiqiao"].records.get("crm")


def _name(site: Site, what: str) -> str:
    return f"{what} {site.kind} {next(_unique)}"


def test_a_customer_shows_its_values_related_lists_and_history(browser: Any, site: Site) -> None:
    service = _crm(site)
    zhang = site.logins["zhang.wei"]
    parent = service.create("customer", {"name": _name(site, "母公司")})
    customer = service.create("customer", {
        "name": _name(site, "上海云杉科技"), "level": "a", "industry": "software", "subsidiary_of": parent["id"],
        "owner": zhang, "address": {"province": "上海市", "city": "上海市", "district": "浦东新区",
                                    "detail": "世纪大道 100 号"}})
    contact = service.create("contact", {"name": _name(site, "李雷"), "customer": customer["id"],
                                         "mobile": "13800138000"})
    service.create("opportunity", {"name": _name(site, "云平台采购"), "stage": "won", "customer": customer["id"],
                                   "amount": "120000", "close_value": "98765.4"})
    # Someone else edits it (through the engine, as zhang.wei): the history shows the diff.
    service.update("customer", customer["id"], {"level": "b", "employees": 320},
                   version=service.get("customer", customer["id"])["version"],
                   actor=Actor(user_id=zhang, source="web"))
    page = open_page(browser, site)
    try:
        sign_in(page, next_path=f"/a/crm/customer/{customer['id']}")
        assert page.locator("h1").inner_text() == customer["name"]

        def field(key: str) -> Any:
            return page.locator(f".record-details [data-field='{key}'] dd")

        assert field("level").locator(".tag.opt-c-fa8c16").inner_text() == "B（普通客户）"
        color = field("level").locator(".tag").evaluate("e => getComputedStyle(e).getPropertyValue('--opt')")
        assert color.strip() == "#fa8c16"
        assert field("won_amount").inner_text() == "¥98,765.40"  # money: currency and precision
        assert field("address").inner_text() == "上海市 上海市 浦东新区\n世纪大道 100 号"
        link = field("subsidiary_of").locator("a")
        assert link.inner_text() == parent["name"] and link.get_attribute("href") == f"/a/crm/customer/{parent['id']}"
        assert "张伟" in page.locator(".record-facts").inner_text()  # the owner, a member, by name
        # Related lists load as they come into view.
        contacts = page.locator("#related-contact-customer")
        contacts.scroll_into_view_if_needed()
        assert contacts.locator("tbody td:first-child a").inner_text() == contact["name"]
        assert contacts.locator("a.add").get_attribute("href") == f"/a/crm/contact/new?customer={customer['id']}"
        deals = page.locator("#related-opportunity-customer")
        deals.scroll_into_view_if_needed()
        deals.locator("tbody tr").first.wait_for()
        assert deals.locator("a.add").get_attribute("href") == f"/a/crm/opportunity/new?customer={customer['id']}"
        # The history: zhang.wei's change, old -> new, by type.
        entry = page.locator(".history-entry").first
        assert "张伟" in entry.locator(".history-head").inner_text() and "修改了" in entry.inner_text()
        level = entry.locator("tr", has_text="客户等级")
        assert level.locator("del").inner_text() == "A（重点客户）" and level.locator("ins").inner_text() == "B（普通客户）"
        assert entry.locator("tr", has_text="员工人数").locator("ins").inner_text() == "320"
        assert axe(page) == []
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, f"record-customer-{site.kind}-desktop-zh")
        no_problems(page)
        # A quote: its line items as a table, with the sums.
        product = service.create("product", {"name": _name(site, "云主机"), "sales_price": "1200"})
        quote = service.create("quote", {"customer": customer["id"], "status": "sent", "items": [
            {"product": product["id"], "quantity": 3, "unit_price": "1200", "discount": "0.05"}]})
        page.goto(f"/a/crm/quote/{quote['id']}")
        table = page.locator("[data-field='items'] table.subform-view")
        assert table.locator("tbody td a").inner_text() == product["name"]
        assert table.locator("tfoot").inner_text().split() == ["¥3,420.00"]
        assert axe(page) == []
        shot(page, f"record-quote-{site.kind}-desktop-zh")
        # On a phone a line is a card, each value under its column's name.
        page.set_viewport_size(PHONE)
        named = page.evaluate("""() => [...document.querySelectorAll("[data-field='items'] tbody td")].map(
            td => getComputedStyle(td, '::before').content)""")
        assert named[:2] == ['"产品："', '"数量："'], named
        shot(page, f"record-quote-{site.kind}-phone-zh")
        no_problems(page)
    finally:
        page.context.close()


def test_user_text_and_rich_text_show_as_text(browser: Any, site: Site) -> None:
    service = _crm(site)
    article = service.create("knowledge_article", {
        "title": "<script>alert(1)</script>", "category": "faq",
        "body": '<p>Hello <b>there</b></p><script>alert(2)</script>'
                '<a href="javascript:alert(3)" onclick="alert(4)">link</a>'})
    page = open_page(browser, site, viewport=PHONE, language="en")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        sign_in(page, "admin", next_path=f"/a/crm/knowledge_article/{article['id']}")
        assert page.locator("h1").inner_text() == "<script>alert(1)</script>"
        body = page.locator(".record-details [data-field='body'] .rich-text")
        assert body.locator("b").inner_text() == "there"
        html = body.inner_html()
        assert body.locator("script").count() == 0 and "javascript:" not in html and "onclick" not in html
        assert dialogs == []
        no_problems(page)
    finally:
        page.context.close()


def test_a_restricted_reader_on_a_phone(browser: Any, site: Site) -> None:
    service = _crm(site)
    org = site.app.extensions["qiqiao"].org
    login = f"reader.{site.kind}.{next(_unique)}"
    li = org.create_user(login, "Lin Yi", password=PASSWORD, locale="en").id
    role = f"own_customers_{site.kind}_{next(_unique)}"
    org.create_role(role, "Own customers", {
        "customer": {"actions": ["read", "update"], "read": "own", "write": "own", "fields": {"revenue": "hidden"}},
        "contact": {"actions": ["read", "create"], "read": "own", "fields": {"mobile": "hidden"}}}, app="crm")
    org.assign_role(role, li)
    mine = service.create("customer", {"name": _name(site, "Lin Yi's account"), "owner": li, "revenue": "4321.5"})
    service.update("customer", mine["id"], {"revenue": "8765.25", "employees": 12}, version=mine["version"])
    service.create("contact", {"name": _name(site, "Han Meimei"), "customer": mine["id"], "owner": li,
                               "mobile": "13900139000"})
    theirs = service.create("customer", {"name": _name(site, "Not Lin Yi's"), "owner": site.logins["admin"]})
    page = open_page(browser, site, viewport=PHONE, language="en")
    try:
        sign_in(page, login, next_path=f"/a/crm/customer/{mine['id']}")
        assert page.locator("h1").inner_text() == mine["name"]
        # On a phone a bar under the top bar jumps to each part, which starts below both bars.
        page.click(".record-tabs a[href='#history']")
        page.wait_for_function("() => window.scrollY > 0")
        bars = page.locator(".record-tabs").bounding_box()
        heading = page.locator("#history-title").bounding_box()
        assert bars["y"] >= 44 and heading["y"] >= bars["y"] + bars["height"]
        contacts = page.locator("#related-contact-customer")
        contacts.scroll_into_view_if_needed()
        contacts.locator("tbody tr").first.wait_for()
        assert contacts.locator("a.add").get_attribute("href") == f"/a/crm/contact/new?customer={mine['id']}"
        text = page.locator("main").inner_text()
        # The hidden field nowhere: values, history diff, related lists.
        for hidden in ("Annual revenue", "4,321.50", "8,765.25", "Mobile", "13900139000", "13800138000"):
            assert hidden not in text, hidden
        assert "Employees" in page.locator(".history-entry").first.inner_text()
        assert re.search(r"\bEdit\b", page.locator(".record-actions").inner_text())
        assert page.locator("[data-open-dialog]").count() == 0  # no delete right
        assert axe(page) == []
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, f"record-restricted-{site.kind}-phone-en")
        no_problems(page)
        # Someone else's record: a 404 page, as if it did not exist.
        response = page.goto(f"/a/crm/customer/{theirs['id']}")
        assert response.status == 404 and theirs["name"] not in page.content()
    finally:
        page.context.close()


def test_delete_asks_first(browser: Any, site: Site) -> None:
    service = _crm(site)
    doomed = service.create("customer", {"name": _name(site, "To be deleted")})
    page = open_page(browser, site, viewport=PHONE, language="zh")
    try:
        sign_in(page, next_path=f"/a/crm/customer/{doomed['id']}")
        page.click("[data-open-dialog='delete-dialog']")
        dialog = page.locator("#delete-dialog")
        assert dialog.is_visible() and doomed["name"] in dialog.inner_text()
        assert axe(page) == []
        shot(page, f"record-delete-{site.kind}-phone-zh")
        page.click("#delete-dialog [data-close-dialog]")  # cancel: nothing happens
        assert not dialog.is_visible() and service.get("customer", doomed["id"])["id"] == doomed["id"]
        no_problems(page)
        page.click("[data-open-dialog='delete-dialog']")
        page.click("#delete-dialog button[type=submit]")
        page.wait_for_url(re.compile(r"/a/crm/customer$"))
        assert f"已删除 {doomed['name']}" in page.locator(".notice").inner_text()
        assert service.count("customer", filter={"field": "name", "op": "eq", "value": doomed["name"]})[0] == 0
    finally:
        page.context.close()
