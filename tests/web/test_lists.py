"""List pages in a real browser, on SQLite and PostgreSQL: search, the filter
builder, sort by header, load more, tabs and personal views (desktop, zh);
bulk edit, bulk delete and export (phone, en); a reader with an "own" scope
and a hidden field, and a record named like a script (desktop, en).

Each test makes its own records (a unique prefix) and its own people."""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from engine.records import Actor, RecordService
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


def _records(site: Site) -> RecordService:
    return site.app.extensions["qiqiao"].records.get("crm")  # type: ignore[no-any-return]


def _person(site: Site, prefix: str, locale: str, grants: dict[str, Any] | None = None, *,
            admin: bool = False) -> int:
    """A user of this test (their own language), holding a role with ``grants`` on the CRM."""
    org = site.app.extensions["qiqiao"].org
    login = f"u{prefix}".lower()
    user = org.create_user(login, f"User {prefix}", password=PASSWORD, locale=locale, is_admin=admin)
    if grants is not None:
        role = org.create_role(f"r{prefix}".lower(), f"Role {prefix}", app="crm", grants=grants)
        org.assign_role(role.id, user.id)
    return int(user.id)


def _customers(site: Site, prefix: str, owner: int | None = None, **extra: Any) -> list[dict[str, Any]]:
    service = _records(site)
    made = []
    for letter, level in (("A", "a"), ("B", "b"), ("C", "c")):
        values = {"name": f"{prefix} {letter}", "level": level, **extra}
        if owner is not None:
            values["owner"] = owner
        made.append(service.create("customer", values, actor=Actor(None, "test")))
    return made


def _names(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("#list-rows td.title-cell").all_inner_texts()]


def test_search_filter_sort_load_more_tabs_and_a_personal_view(browser: Any, site: Site) -> None:
    prefix = f"LS{uuid.uuid4().hex[:8]}"
    _customers(site, prefix)
    page = open_page(browser, site, viewport=DESKTOP, language="zh")
    try:
        sign_in(page, "admin", next_path="/a/crm/customer")
        page.goto("/a/crm/customer?limit=2")
        # Search: two rows of three, and "load more" brings the third.
        page.fill("#list-q", prefix)
        expect(page.locator(".list-count")).to_have_text(re.compile(r"^\s*3 条"))  # not "13 条"
        assert len(_names(page)) == 2
        # htmx pushes the URL after the swap: wait for it rather than race it.
        page.wait_for_url(f"**search={prefix}**")
        assert "limit=2" in page.url
        page.click(".more-row button")
        expect(page.locator("#list-rows td.title-cell")).to_have_count(3)
        assert page.locator(".more-row").count() == 0
        # Sort by clicking the name's header: ascending, then descending.
        page.click("th a.sort:has-text('客户名称')")
        page.wait_for_selector("th[aria-sort=ascending]")
        assert _names(page)[:2] == [f"{prefix} A", f"{prefix} B"]
        page.click("th a.sort:has-text('客户名称')")
        page.wait_for_selector("th[aria-sort=descending]")
        assert _names(page)[0] == f"{prefix} C"
        # The filter builder: level is B (the operators are the select's, in Chinese).
        page.click(".filter-builder summary")
        page.select_option("#c0-field", "level")
        page.wait_for_selector("#c0-op")
        assert page.locator("#c0-op option").all_inner_texts()[:2] == ["等于", "不等于"]
        page.select_option("#c0-value", "b")
        page.click("#filter-form button[type=submit]")
        page.wait_for_selector(".chip")
        assert page.locator(".chip").inner_text().startswith("客户等级 是 B")
        assert _names(page) == [f"{prefix} B"]
        page.wait_for_url("**filter=**")
        assert axe(page) == []
        shot(page, f"list-{site.kind}-desktop-zh-filtered")
        # Saved as a personal view: a tab of its own, there after a reload.
        view_name = f"我的 B {prefix}"
        page.click(".list-more-actions summary")
        page.fill("#view-name", view_name)
        page.click(".save-view button[type=submit]")
        page.wait_for_url("**pv=*")
        page.reload()
        tab = page.locator(".list-tabs a[aria-current=page]")
        assert tab.inner_text() == view_name
        page.fill("#list-q", prefix)
        expect(page.locator(".list-count")).to_have_text(re.compile(r"^\s*1 条"))  # not "13 条"
        assert _names(page) == [f"{prefix} B"]
        # Another tab (key accounts: level A) keeps the search, drops the view's filter.
        page.click(".list-tabs a:has-text('重点客户')")
        page.wait_for_selector(".list-tabs a[aria-current=page]:has-text('重点客户')")
        assert _names(page) == [f"{prefix} A"]
        shot(page, f"list-{site.kind}-desktop-zh-tab")
        # The personal view is deleted by its owner.
        page.click(f".list-tabs a:has-text('{view_name}')")
        page.wait_for_selector(".remove-view")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click(".remove-view")
        expect(page.locator(".list-tabs")).not_to_contain_text(view_name)
        no_problems(page)
    finally:
        page.context.close()


def test_bulk_edit_bulk_delete_and_export_on_a_phone(browser: Any, site: Site) -> None:
    prefix = f"LB{uuid.uuid4().hex[:8]}"
    _person(site, prefix, "en", admin=True)
    made = _customers(site, prefix)
    page = open_page(browser, site, viewport=PHONE, language="en")
    try:
        sign_in(page, f"u{prefix}".lower(), next_path="/a/crm/customer")
        page.goto(f"/a/crm/customer?search={prefix}&sort=name")
        assert page.locator(".list-count").inner_text().startswith("3 records")
        assert axe(page) == []
        shot(page, f"list-{site.kind}-phone-en")
        # Bulk edit: two records get level C.
        boxes = page.locator("[data-row-select]")
        boxes.nth(0).check()
        boxes.nth(1).check()
        assert page.locator(".bulk-count").inner_text() == "2 selected"
        page.select_option("#bulk-field", "level")
        page.wait_for_selector("#bulk-value-input")
        page.select_option("#bulk-value-input", "c")
        page.click("#bulk-form button[type=submit]")
        page.wait_for_selector("#bulk-result:has-text('2 records changed.')")
        expect(page.locator("[data-row-select]:checked")).to_have_count(0)
        levels = [_records(site).get("customer", r["id"])["level"] for r in made]
        assert levels == ["c", "c", "c"]
        shot(page, f"list-{site.kind}-phone-en-bulk")
        # Export what is shown, as CSV: the three rows, the columns' labels.
        page.click(".list-more-actions summary")
        with page.expect_download() as download:
            page.click(".export-links a:has-text('CSV')")
        text = Path(download.value.path()).read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        form = _records(site).form("customer")[0].form
        assert rows[0][:3] == [form.get_field(k).label.en for k in ("name", "industry", "level")]
        assert sorted(r[0] for r in rows[1:]) == [f"{prefix} A", f"{prefix} B", f"{prefix} C"]
        # Bulk delete, after a confirmation.
        page.keyboard.press("Escape")
        page.locator("[data-row-select]").nth(2).check()
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#bulk-form button.danger")
        page.wait_for_selector("#bulk-result:has-text('1 record deleted.')")
        expect(page.locator(".list-count")).to_have_text(re.compile(r"^\s*2 records"))  # not "13 条"
        assert f"{prefix} C" not in _names(page)
        no_problems(page)
    finally:
        page.context.close()


def test_an_own_scope_reader_sees_neither_others_records_nor_a_hidden_field(browser: Any, site: Site) -> None:
    prefix = f"LR{uuid.uuid4().hex[:8]}"
    grants = {"customer": {"actions": ["read", "update", "export"], "read": "own",
                           "fields": {"notes": "hidden"}}}
    reader = _person(site, prefix, "en", grants)
    service = _records(site)
    secret = f"SECRET{prefix}"
    mine = service.create("customer", {"name": f"{prefix} mine", "owner": reader, "notes": secret})
    service.create("customer", {"name": "<script>alert(1)</script>", "owner": reader, "notes": f"{prefix} x"})
    service.create("customer", {"name": f"{prefix} theirs", "owner": site.logins["zhang.wei"]})
    page = open_page(browser, site, viewport=DESKTOP, language="en")
    try:
        sign_in(page, f"u{prefix}".lower(), next_path="/a/crm/customer")
        page.goto(f"/a/crm/customer?view=all&search={prefix}")
        assert _names(page) == [f"{prefix} mine"]
        page.goto("/a/crm/customer?view=all")
        names = _names(page)
        assert f"{prefix} theirs" not in names and "<script>alert(1)</script>" in names  # text, not a script
        html = page.content()
        assert secret not in html and "<script>alert(1)</script>" not in html
        # The hidden field is no column, no filter field, no bulk-edit field, no search hit.
        headers = page.locator(".list-table th").all_inner_texts()
        assert not any("Notes" in h for h in headers)
        assert page.locator("#c0-field option[value=notes]").count() == 0
        assert page.locator("#bulk-field option[value=notes]").count() == 0
        page.goto(f"/a/crm/customer?search={secret}")
        assert page.locator(".empty-state").is_visible()
        response = page.goto("/a/crm/customer?sort=notes")
        assert response.status == 403
        page.problems.messages.clear()  # the 403 just asked for
        # The export leaves the hidden column out and holds only the reader's records.
        response = page.request.get(f"/a/crm/customer/export?format=csv&view=all&search={prefix}")
        rows = list(csv.reader(io.StringIO(response.text().lstrip("\ufeff"))))
        assert [r[0] for r in rows[1:]] == [f"{prefix} mine"]
        assert "Notes" not in rows[0] and secret not in response.text()
        assert mine["id"]
        page.goto("/a/crm/customer?view=all")
        assert axe(page) == []
        shot(page, f"list-{site.kind}-desktop-en-restricted")
        no_problems(page)
    finally:
        page.context.close()
