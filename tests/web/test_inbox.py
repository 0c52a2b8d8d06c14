"""The header's bell and todo icon, the notification centre, the todo list and
the channel choices, in a real browser (desktop in Chinese, a phone in English)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from engine.core.clock import SystemClock
from engine.notify.inbox import Inbox
from engine.notify.notifier import Notice, Notifier
from engine.notify.todos import add_todo
from tests.web.conftest import (
    PASSWORD,
    PHONE,
    Site,
    axe,
    follow,
    no_problems,
    open_page,
    shot,
    sign_in,
)

_unique = itertools.count(1)


def _fresh_start(site: Site, login: str) -> int:
    """The user with nothing unread and no open todo, so the counts are this test's."""
    services = site.app.extensions["qiqiao"]
    if login not in site.logins:  # a member who reads English (the demo's people read Chinese)
        found = services.org.find_user_by_login(login)
        site.logins[login] = (found or services.org.create_user(login, "Inbox Tester", password=PASSWORD,
                                                                 locale="en")).id
    user_id = site.logins[login]
    Inbox(site.database, services.clock).mark_all_read(user_id)
    with site.database.transaction() as conn:
        conn.exec_driver_sql(f"UPDATE todos SET done_at = created_at WHERE user_id = {user_id} AND done_at IS NULL")
    return user_id


def test_a_notification_and_a_todo_from_the_header(browser: Any, site: Site) -> None:
    zhang = _fresh_start(site, "zhang.wei")
    service = site.app.extensions["qiqiao"].records.get("crm")
    n = next(_unique)
    customer = service.create("customer", {"name": f"上海云杉 {site.kind} {n}", "owner": zhang})
    now = SystemClock().now()
    with site.database.transaction() as conn:
        notifier = Notifier(SystemClock())
        notifier.send(conn, Notice(key=f"web:{site.kind}:{n}:1", title="旧的通知 <b>不加粗</b>", text="先到的",
                                   users=(zhang,), source="rule:crm.test"))
        notifier.send(conn, Notice(key=f"web:{site.kind}:{n}:2", title=f"新客户分配给你：{customer['name']}",
                                   text="请在今天内联系。", users=(zhang,), app="crm", form="customer",
                                   record_id=customer["id"], link=f"/a/crm/customer/{customer['id']}"))
        add_todo(conn, user_id=zhang, title=f"回访 {customer['name']}", now=now, due_at=now - dt.timedelta(hours=2),
                 app="crm", form="customer", record_id=customer["id"], source="rule:crm.test")
        add_todo(conn, user_id=zhang, title="写周报", now=now, due_at=now + dt.timedelta(days=1))
    page = open_page(browser, site)
    try:
        sign_in(page, "zhang.wei", next_path="/a/crm")
        assert page.locator("#unread-badge [aria-hidden]").inner_text() == "2"
        assert page.locator("#todo-badge [aria-hidden]").inner_text() == "2"
        assert page.locator("#unread-badge .visually-hidden").inner_text() == "2 条未读"

        page.click("#notification-menu summary")
        panel = page.locator("#notification-menu .inbox-panel")
        panel.locator(".notice-item").first.wait_for()
        # Newest first (the demo's rules told zhang.wei of earlier things: read, further down).
        assert [t.replace("\n", " ") for t in panel.locator(".notice-title").all_inner_texts()][:2] == [
            f"未读： 新客户分配给你：{customer['name']}", "未读： 旧的通知 <b>不加粗</b>"]  # text, not markup
        assert axe(page) == []
        shot(page, f"inbox-bell-{site.kind}-desktop-zh")
        panel.locator(".notice-open").first.click()
        page.wait_for_url(f"**/a/crm/customer/{customer['id']}")
        assert page.locator("h1").inner_text() == customer["name"]
        assert page.locator("#unread-badge [aria-hidden]").inner_text() == "1"

        page.click("#todo-menu summary")
        todos = page.locator("#todo-menu .inbox-panel")
        todos.locator(".todo-item").first.wait_for()
        first = todos.locator(".todo-item").first
        assert "回访" in first.inner_text() and "已逾期" in first.inner_text()  # overdue first
        shot(page, f"inbox-todos-panel-{site.kind}-desktop-zh")
        first.locator("input[type=checkbox]").check()
        todos.locator(".todo-item.done").wait_for()
        assert page.locator("#todo-badge [aria-hidden]").inner_text() == "1"

        page.goto("/notifications")
        items = page.locator(".notice-list .notice-item")
        assert items.count() >= 2 and "unread" not in (items.first.get_attribute("class") or "")
        assert "先到的" in items.nth(1).inner_text()
        assert axe(page) == []
        shot(page, f"inbox-centre-{site.kind}-desktop-zh")
        follow(page, "#read-all")
        assert page.locator("#unread-badge").get_attribute("class") == "inbox-badge empty"
        no_problems(page)
    finally:
        page.context.close()


def test_the_todo_list_and_channel_choices_on_a_phone(browser: Any, site: Site) -> None:
    li = _fresh_start(site, "inbox.en")
    now = SystemClock().now()
    with site.database.transaction() as conn:
        add_todo(conn, user_id=li, title="Call the customer back", now=now, due_at=now - dt.timedelta(days=1),
                 note="Ask about the budget")
    page = open_page(browser, site, viewport=PHONE, language="en")
    try:
        sign_in(page, "inbox.en", next_path="/todos")
        page.click(".add-todo summary")
        page.click(".add-todo-form button[type=submit]")  # no title: refused, with the reason
        assert page.locator("#todo-title-problem").inner_text() == "A todo needs a title"
        assert page.locator("#todo-title").get_attribute("aria-invalid") == "true"
        page.problems.messages.clear()  # the browser logs the refusal's 400: expected here
        page.fill("#todo-title", "Send the <quote>")
        page.fill("#todo-due", "2030-01-02T09:30")
        page.click(".add-todo-form button[type=submit]")
        page.wait_for_url("**/todos")
        rows = page.locator(".todo-list .todo-item")
        assert rows.count() == 2
        assert "Overdue" in rows.first.inner_text()
        assert "Send the <quote>" in rows.nth(1).inner_text() and "2030-01-02 09:30" in rows.nth(1).inner_text()
        assert axe(page) == []
        shot(page, f"inbox-todos-{site.kind}-phone-en")
        rows.first.locator("input[type=checkbox]").check()
        page.locator(".todo-item.done").wait_for()
        page.click(".inbox-tabs a:has-text('Done')")
        assert page.locator(".todo-list .todo-item label").all_inner_texts() == ["Call the customer back"]
        page.click("#todo-menu summary")
        page.locator("#todo-menu .todo-item").first.wait_for()
        shot(page, f"inbox-todo-panel-{site.kind}-phone-en")
        page.keyboard.press("Escape")

        page.goto("/account#notifications")
        switch = page.locator("#channel-in_app")
        assert switch.is_checked()
        switch.uncheck()
        page.click("#channels-form button[type=submit]")
        page.locator("#notifications .notice").wait_for()
        assert not page.locator("#channel-in_app").is_checked()
        assert axe(page) == []
        shot(page, f"inbox-account-{site.kind}-phone-en")
        with site.database.transaction() as conn:
            report = Notifier(SystemClock()).send(conn, Notice(key=f"off:{site.kind}:{next(_unique)}", title="t",
                                                               text="", users=(li,)))
        assert report.in_app == 0
        page.locator("#channel-in_app").check()
        page.click("#channels-form button[type=submit]")
        page.locator("#notifications .notice").wait_for()
        assert page.locator("#channel-in_app").is_checked()
        no_problems(page)
    finally:
        page.context.close()
