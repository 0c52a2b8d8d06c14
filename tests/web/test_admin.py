"""The administration pages in a real browser: an admin makes a role and a
user, the user sees only what the role allows, deactivation ends their
session; a non-admin gets 403; the departments and token pages on a phone."""

from __future__ import annotations

import re
import uuid
from typing import Any

from engine.org.service import OrgService
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


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def test_a_role_made_here_decides_what_a_new_user_sees_and_deactivation_ends_their_session(
        browser: Any, site: Site) -> None:
    admin = open_page(browser, site)
    try:
        sign_in(admin, next_path="/admin")
        assert admin.locator("h1").inner_text() == "系统管理"
        assert axe(admin) == []
        shot(admin, f"admin-index-{site.kind}-desktop-zh")

        # A role of the CRM that may only read customers.
        key = _unique("r")
        admin.goto("/admin/roles/crm")
        admin.fill("#key", key)
        admin.fill("#label_zh", f"只看客户{key}")
        admin.click("#role-form button[type=submit]")
        admin.wait_for_url(re.compile(r"/admin/roles/crm/\d+"))
        role_id = re.search(r"/admin/roles/crm/(\d+)", admin.url).group(1)  # type: ignore[union-attr]
        admin.check("#a-customer-read")
        follow(admin, "#save-role")
        assert admin.locator("#a-customer-read").is_checked()
        assert not admin.locator("#a-contact-read").is_checked()
        assert axe(admin) == []
        shot(admin, f"admin-role-{site.kind}-desktop-zh")

        # A user holding it, with a password generated and shown once.
        login = _unique("u.")
        admin.goto("/admin/users/new")
        admin.fill("#login", login)
        admin.fill("#name", "<script>alert(1)</script>")
        admin.check(f"#roles input[value='{role_id}']")
        admin.click("#departments-ts-control")  # the searching picker, by keyboard
        admin.keyboard.type("销售")
        # Enter picks the active option: wait until the search has narrowed the list to it.
        admin.wait_for_function("() => [...document.querySelectorAll('.ts-dropdown .option')]"
                                ".every(o => o.textContent.includes('销售'))")
        admin.keyboard.press("Enter")
        admin.click("#user-form button[type=submit]")
        password = admin.locator("#secret").inner_text().strip()
        assert len(password) >= 12
        assert admin.locator("h1").inner_text().startswith("<script>")  # shown as text
        assert axe(admin) == []
        shot(admin, f"admin-user-created-{site.kind}-desktop-zh")
        admin.goto(f"/admin/users?q={login}")
        assert admin.locator("#users tbody tr").count() == 1
        row = admin.locator("#users tbody tr").inner_text()
        assert f"只看客户{key}" in row and "销售部" in row
        user_url = admin.locator("#users tbody a").first.get_attribute("href")

        person = open_page(browser, site)
        try:
            sign_in(person, login, password)
            assert person.url.endswith("/a/crm")
            assert person.locator("nav#sidebar li a").all_inner_texts() == ["客户"]
            assert person.locator("details.user-menu a[href='/admin']").count() == 0
            no_problems(person)

            admin.goto(user_url)
            admin.click("#deactivate")
            assert admin.locator("#activate").is_visible()
            person.goto("/a/crm")
            assert "/auth/login" in person.url
        finally:
            person.context.close()
        no_problems(admin)
    finally:
        admin.context.close()


def test_a_non_admin_gets_403_and_an_admin_manages_departments_and_tokens_on_a_phone(
        browser: Any, site: Site) -> None:
    member = open_page(browser, site, viewport=PHONE, language="en")
    try:
        sign_in(member, "zhang.wei")
        response = member.goto("/admin/users")
        assert response.status == 403
        assert member.goto("/admin").status == 403
        assert member.locator("h1").inner_text() == "你没有访问权限"  # zhang.wei reads Chinese
    finally:
        member.context.close()

    # An administrator of their own who reads English (the demo's admin stays as others expect it).
    login = _unique("admin.")
    OrgService(site.database).create_user(login, "Admin EN", password=PASSWORD, locale="en", is_admin=True)
    admin = open_page(browser, site, viewport=PHONE, language="en")
    try:
        sign_in(admin, login)
        admin.goto("/admin/users")
        assert admin.locator("h1").inner_text() == "Users"
        assert admin.locator("#users tbody tr").count() >= 5
        assert axe(admin) == []
        shot(admin, f"admin-users-{site.kind}-phone-en")

        # A bad department name: the engine's message at its field.
        admin.goto("/admin/departments")
        admin.fill("#name", "a/b")
        admin.click("#department-form button[type=submit]")
        assert admin.locator("#name").get_attribute("aria-invalid") == "true"
        assert admin.locator("#name-problem").is_visible()
        assert admin.input_value("#name") == "a/b"
        name = _unique("Dept ")
        admin.fill("#name", name)
        admin.click("#department-form button[type=submit]")
        admin.wait_for_url(re.compile(r"/admin/departments/\d+"))
        assert admin.locator("h1").inner_text() == name
        assert axe(admin) == []
        shot(admin, f"admin-department-{site.kind}-phone-en")
        department_id = re.search(r"/admin/departments/(\d+)", admin.url).group(1)  # type: ignore[union-attr]
        admin.goto("/admin/departments")
        admin.fill("#name", f"{name} East")
        admin.select_option("#parent_id", department_id)
        admin.click("#department-form button[type=submit]")
        admin.wait_for_url(re.compile(r"/admin/departments/\d+"))
        assert admin.locator(".crumbs").inner_text().endswith(f"{name}/{name} East")
        admin.goto("/admin/departments")
        node = admin.locator(".dept-tree > li", has=admin.locator(".dept-line a", has_text=name)).first
        child = node.locator(".dept-kids a", has_text=f"{name} East")
        assert child.is_visible()
        node.locator(".dept-kids > summary").click()  # a branch folds away on a small screen
        assert not child.is_visible()
        assert axe(admin) == []
        shot(admin, f"admin-departments-{site.kind}-phone-en")

        admin.goto("/admin/roles")  # one app: its roles
        assert admin.url.endswith("/admin/roles/crm")
        assert axe(admin) == []
        shot(admin, f"admin-roles-{site.kind}-phone-en")

        admin.goto("/admin/tokens")
        admin.fill("#name", "nightly export")
        admin.fill("#expires_in_days", "30")
        admin.click("#token-form button[type=submit]")
        assert admin.locator("#secret").inner_text().startswith("qq_")
        assert admin.locator("#tokens", has_text="nightly export").count() == 1
        assert axe(admin) == []
        shot(admin, f"admin-tokens-{site.kind}-phone-en")
        # The one 400 is the refused department name, on purpose.
        assert [m for m in admin.problems.messages if "status of 400" not in m] == []
    finally:
        admin.context.close()
