"""The outbox page in a real browser: an admin finds a dead letter and
retries it (desktop, Chinese); on a phone, in English, the table becomes
cards and the channel filter works; a non-admin gets 403."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from engine.notify.outbox import DEAD, OUTBOX, enqueue
from engine.org.service import OrgService
from tests.web.conftest import PASSWORD, PHONE, Site, axe, no_problems, open_page, shot, sign_in


def _dead_letter(site: Site, channel: str = "email") -> tuple[int, str]:
    key = f"web:{uuid.uuid4().hex[:10]}"
    with site.database.transaction() as conn:
        message_id = enqueue(conn, channel=channel, recipient="<script>alert(1)</script>", key=key,
                             now=dt.datetime.now(dt.UTC),
                             payload={"to": ["x@example.com"], "subject": f"续约提醒 {key}", "text": "x"})
        assert message_id is not None
        conn.execute(OUTBOX.update().where(OUTBOX.c.id == message_id).values(
            status=DEAD, attempts=8, last_error="SMTP 550: mailbox unavailable"))
    return message_id, key


def test_an_admin_retries_a_dead_letter(browser: Any, site: Site) -> None:
    message_id, key = _dead_letter(site)
    page = open_page(browser, site)
    try:
        sign_in(page, next_path="/admin")
        page.click("a.tile[href='/admin/outbox']")
        assert page.locator("h1").inner_text() == "发件箱"
        page.click("ul.status-filter a[href*='status=dead']")
        row = page.locator(f"#message-{message_id}")
        assert "<script>alert(1)</script>" in row.inner_text()  # shown as text
        assert "SMTP 550: mailbox unavailable" in row.inner_text()
        assert "死信" in row.inner_text()
        assert axe(page) == []
        shot(page, f"admin-outbox-{site.kind}-desktop-zh")
        row.get_by_role("button", name=f"立即重试 #{message_id}").click()
        page.wait_for_url(f"**/admin/outbox?retried={message_id}&status=dead")
        assert f"消息 {message_id} 将很快重新发送" in page.locator("p.notice").inner_text()
        assert page.locator(f"#message-{message_id}").count() == 0  # no longer dead
        page.click("ul.status-filter a[href*='status=pending']")
        assert "待发送" in page.locator(f"#message-{message_id}").inner_text()
        assert key in page.locator(f"#message-{message_id}").inner_text()
        no_problems(page)
    finally:
        page.context.close()


def test_the_outbox_on_a_phone_and_closed_to_members(browser: Any, site: Site) -> None:
    message_id, _ = _dead_letter(site, channel="sms")
    login = f"admin.{uuid.uuid4().hex[:8]}"  # an admin who reads English (the demo's admin reads Chinese)
    OrgService(site.database).create_user(login, "Admin EN", password=PASSWORD, locale="en", is_admin=True)
    page = open_page(browser, site, viewport=PHONE, language="en")
    try:
        sign_in(page, login, next_path="/admin/outbox")
        assert page.locator("h1").inner_text() == "Outbox"
        page.select_option("#channel", "sms")
        page.click("#outbox-filter button[type=submit]")
        page.wait_for_url("**/admin/outbox?channel=sms")
        row = page.locator(f"#message-{message_id}")
        assert "SMS" in row.inner_text() and "Dead" in row.inner_text()
        assert page.locator("#outbox td:has-text('Email')").count() == 0
        button = row.get_by_role("button", name=f"Retry now #{message_id}")
        box = button.bounding_box()
        assert box is not None and box["height"] >= 44
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        assert axe(page) == []
        shot(page, f"admin-outbox-{site.kind}-phone-en")
        no_problems(page)
    finally:
        page.context.close()
    member = open_page(browser, site, viewport=PHONE, language="en")
    try:
        sign_in(member, "zhang.wei", next_path="/")
        response = member.goto("/admin/outbox")
        assert response is not None and response.status == 403
    finally:
        member.context.close()
