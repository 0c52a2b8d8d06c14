"""The create and edit forms in a real browser: the address cascade, the
relation picker, a quote's line items with the total computed live, a form
rule, errors at their fields, a stale version, uploads, the keyboard."""

from __future__ import annotations

import re
import uuid
from typing import Any

from engine.records import SYSTEM
from tests.web.conftest import (
    DESKTOP,
    PASSWORD,
    PHONE,
    Site,
    axe,
    no_problems,
    open_page,
    shot,
    sign_in,
)


def _records(site: Site) -> Any:
    return site.app.extensions["qiqiao"].records.get("crm")


def _saved_id(page: Any, form: str) -> int:
    page.wait_for_url(re.compile(rf"/a/crm/{form}/\d+$"))
    # The record page is the records part's (not on this branch yet): its 404 is not ours.
    page.problems.messages.clear()
    return int(page.url.rsplit("/", 1)[1])


def _pick(page: Any, select_id: str, text: str) -> None:
    """Search a Tom Select picker and take the first option that shows ``text``."""
    page.click(f"#{select_id}-ts-control")
    page.keyboard.type(text)
    page.locator(f"#{select_id}-ts-dropdown .option", has_text=text).first.click()


def _refused(page: Any, status: int) -> None:
    """The page answered ``status`` as it should (a refused save is a 4xx page); nothing else went wrong."""
    assert all(f"status of {status}" in m for m in page.problems.messages), page.problems.messages
    page.problems.messages.clear()


def _sign_in_english(page: Any, site: Site, next_path: str) -> None:
    """An administrator who reads English (the demo's admin reads Chinese)."""
    org = site.app.extensions["qiqiao"].org
    login = "forms.en"
    if org.find_user_by_login(login) is None:
        org.create_user(login, "Forms Tester", password=PASSWORD, locale="en", is_admin=True)
    sign_in(page, login, next_path=next_path)


def _settled(page: Any) -> None:
    page.wait_for_timeout(450)
    page.wait_for_load_state("networkidle")


def test_a_customer_with_an_address_then_a_contact_linked_to_it(browser: Any, site: Site) -> None:
    page = open_page(browser, site, viewport=DESKTOP, language="zh")
    name = f"上海测试客户 {uuid.uuid4().hex[:6]}"
    try:
        sign_in(page, next_path="/a/crm/customer/new")
        assert page.locator("h1").inner_text() == "新建客户"
        page.fill("#i-name", name)
        page.select_option("#i-address-province", "上海市")
        page.select_option("#i-address-city", "市辖区")
        page.select_option("#i-address-district", "浦东新区")
        page.fill("#i-address-detail", "世纪大道100号")
        assert axe(page) == []
        shot(page, f"form-customer-{site.kind}-desktop-zh")
        page.click("#save")
        customer_id = _saved_id(page, "customer")
        saved = _records(site).get("customer", customer_id, actor=SYSTEM)
        assert saved["address"] == {"province": "上海市", "city": "市辖区", "district": "浦东新区",
                                    "detail": "世纪大道100号"}
        page.goto("/a/crm/contact/new")
        page.fill("#i-name", "王小明")
        _pick(page, "i-customer", name.split()[-1])
        _settled(page)
        no_problems(page)
        page.click("#save")
        contact_id = _saved_id(page, "contact")
        assert _records(site).get("contact", contact_id, actor=SYSTEM)["customer"] == customer_id
    finally:
        page.context.close()


def test_a_quote_total_follows_its_line_items_as_they_are_typed(browser: Any, site: Site) -> None:
    page = open_page(browser, site, viewport=PHONE, language="en")
    try:
        _sign_in_english(page, site, "/a/crm/quote/new")
        assert page.locator("h1").inner_text() == "New Quote"
        _pick(page, "i-customer", "")  # the first customer the reader may see
        for index, (quantity, price) in enumerate([("1", "100"), ("2", "200"), ("3", "300")]):
            page.click("[data-row-add]")
            _pick(page, f"i-items-{index}-product", "")
            _settled(page)
            page.fill(f"#i-items-{index}-quantity", quantity)
            page.fill(f"#i-items-{index}-unit_price", price)
            page.fill(f"#i-items-{index}-discount", "0")
        page.locator("#i-items-2-subtotal").filter(has_text="900").wait_for()
        assert page.locator("#i-items-1-subtotal").inner_text() == "¥400.00"
        page.locator("#i-total").filter(has_text="1,400.00").wait_for()
        assert page.locator("#i-items-2-quantity").input_value().startswith("3")
        assert axe(page) == []
        shot(page, f"form-quote-{site.kind}-phone-en")
        # The second row goes; the third moves up to the top.
        page.click("#f-items-1-product >> xpath=ancestor::tr//button[@data-row-remove]")
        page.locator("#i-total").filter(has_text="1,000.00").wait_for()
        page.click("#f-items-1-product >> xpath=ancestor::tr//button[@data-row-up]")
        _settled(page)
        assert page.locator("#i-items-0-quantity").input_value().startswith("3")
        assert page.locator("#i-items-0-subtotal").inner_text() == "¥900.00"
        no_problems(page)
        page.click("#save")
        quote_id = _saved_id(page, "quote")
        quote = _records(site).get("quote", quote_id, actor=SYSTEM)
        assert [str(row["quantity"]) for row in quote["items"]] == ["3.00", "1.00"]
        assert str(quote["total"]) == "1000.00"
    finally:
        page.context.close()


def test_a_rule_shows_a_field_and_another_becomes_required_as_the_stage_changes(browser: Any, site: Site) -> None:
    page = open_page(browser, site, viewport=DESKTOP, language="en")
    try:
        _sign_in_english(page, site, "/a/crm/opportunity/new")
        assert page.locator("#f-lost_reason").is_hidden()
        assert page.locator("#f-customer .required-mark").count() == 0
        page.select_option("#i-stage", "lost")
        page.locator("#f-lost_reason").wait_for(state="visible")
        page.select_option("#i-stage", "won")
        page.locator("#f-lost_reason").wait_for(state="hidden")
        page.locator("#f-customer .required-mark").wait_for()
        assert page.locator("#i-customer").get_attribute("aria-required") == "true"
        assert page.locator("#i-probability").inner_text().startswith("100")
        assert axe(page) == []
        shot(page, f"form-opportunity-rule-{site.kind}-desktop-en")
        no_problems(page)
    finally:
        page.context.close()


def test_a_failed_save_shows_the_errors_at_their_fields_and_keeps_the_input(browser: Any, site: Site) -> None:
    page = open_page(browser, site, viewport=PHONE, language="zh")
    try:
        sign_in(page, next_path="/a/crm/customer/new")
        page.fill("#i-office_location", "<script>alert(1)</script>")
        page.fill("#i-year_established", "一九九九")
        page.click("#save")
        page.locator("#f-name .error").wait_for()
        assert page.locator("#i-name").get_attribute("aria-invalid") == "true"
        assert page.locator("#f-year_established .error").inner_text()
        assert page.input_value("#i-office_location") == "<script>alert(1)</script>"
        assert page.input_value("#i-year_established") == "一九九九"
        assert axe(page) == []
        shot(page, f"form-errors-{site.kind}-phone-zh")
        _refused(page, 400)
    finally:
        page.context.close()


def test_a_stale_version_shows_the_conflict_and_offers_a_reload(browser: Any, site: Site) -> None:
    name = f"Conflict Co {uuid.uuid4().hex[:6]}"
    record = _records(site).create("customer", {"name": name}, actor=SYSTEM)
    first = open_page(browser, site, viewport=DESKTOP, language="en")
    try:
        _sign_in_english(first, site, f"/a/crm/customer/{record['id']}/edit")
        # A second tab of the same session: the same person, editing twice.
        second = first.context.new_page()
        second.problems = type(first.problems)()
        second.problems.watch(second)
        second.goto(f"/a/crm/customer/{record['id']}/edit")
        first.fill("#i-office_location", "Berlin")
        no_problems(first)
        first.click("#save")
        _saved_id(first, "customer")
        second.fill("#i-office_location", "Paris")
        second.click("#save")
        second.locator(".notice.conflict").wait_for()
        assert "Berlin" in second.locator(".notice.conflict").inner_text()
        assert second.input_value("#i-office_location") == "Paris"
        assert axe(second) == []
        shot(second, f"form-conflict-{site.kind}-desktop-en")
        _refused(second, 409)
        second.click(".notice.conflict a[role=button]")
        assert second.input_value("#i-office_location") == "Berlin"
        no_problems(second)
    finally:
        first.context.close()


def test_uploads_are_checked_by_type_and_keyboard_alone_fills_a_form(browser: Any, site: Site) -> None:
    page = open_page(browser, site, viewport=DESKTOP, language="en")
    try:
        _sign_in_english(page, site, "/a/crm/product/new")
        page.set_input_files("#i-images", files=[{"name": "notes.txt", "mimeType": "text/plain",
                                                   "buffer": b"not a picture"}])
        page.locator("#f-images .upload-status.error").wait_for()
        assert "notes.txt" in page.locator("#f-images .upload-status").inner_text()
        png = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
               b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND"
               b"\xaeB`\x82")
        page.set_input_files("#i-images", files=[{"name": "dot.png", "mimeType": "image/png", "buffer": png}])
        _refused(page, 400)
        page.locator("#f-images .file-item img").wait_for()
        # Keyboard only: the name, then Enter submits.
        page.focus("#i-name")
        name = f"Keyboard product {uuid.uuid4().hex[:6]}"
        page.keyboard.type(name)
        page.keyboard.press("Tab")
        page.keyboard.type(f"KB-{uuid.uuid4().hex[:6]}")
        for _ in range(40):  # Tab on to the list price
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "i-sales_price":
                break
        page.keyboard.type("99.5")
        no_problems(page)
        page.keyboard.press("Enter")
        product_id = _saved_id(page, "product")
        product = _records(site).get("product", product_id, actor=SYSTEM)
        assert product["name"] == name
        assert [f["name"] for f in product["images"]] == ["dot.png"]
    finally:
        page.context.close()
