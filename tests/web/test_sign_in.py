"""Signing in and out, the language, the home pages and the error pages, in a real browser."""

from __future__ import annotations

from typing import Any

import pytest

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


@pytest.fixture
def page(browser: Any, site: Site) -> Any:
    opened = open_page(browser, site)
    yield opened
    opened.context.close()


def test_the_root_goes_to_the_sign_in_page_and_then_home(page: Any, site: Site) -> None:
    page.goto("/")
    assert page.url.endswith("/auth/login")
    assert page.locator("h1").inner_text() == "七巧"
    assert axe(page) == []
    shot(page, f"sign-in-{site.kind}-desktop-zh")
    sign_in(page)
    # One app (the CRM): straight into it, with its menu.
    assert page.url.endswith("/a/crm")
    assert page.locator("nav#sidebar a", has_text="客户").count() >= 1
    assert axe(page) == []
    shot(page, f"app-home-{site.kind}-desktop-zh")
    no_problems(page)


def test_a_wrong_password_shows_the_form_again_with_the_reason(page: Any) -> None:
    page.goto("/auth/login")
    page.fill("#login", "zhang.wei")
    page.fill("#password", "not-the-password")
    page.click("form[action='/auth/login'] button[type=submit]")
    assert page.locator("#login-error").is_visible()
    assert page.input_value("#login") == "zhang.wei"  # what was typed is kept
    assert page.url.endswith("/auth/login")
    assert axe(page) == []


def test_a_page_asked_for_signed_out_comes_back_after_sign_in(page: Any) -> None:
    page.goto("/account")
    assert "/auth/login?next=/account" in page.url
    page.fill("#login", "zhang.wei")
    page.fill("#password", PASSWORD)
    page.click("form[action='/auth/login'] button[type=submit]")
    page.wait_for_url("**/account")
    assert page.locator("h1").inner_text() == "设置"


def test_the_language_switch_is_remembered_on_the_account(browser: Any, site: Site) -> None:
    page = open_page(browser, site, viewport=PHONE, language="en")
    try:
        page.goto("/auth/login")
        assert page.locator("button[type=submit]").first.inner_text() == "Sign in"
        sign_in(page, "li.na")
        page.goto("/account")
        page.select_option("#language", "zh")
        page.click("#preferences-form button[type=submit]")
        assert page.locator("h1").inner_text() == "设置"
        assert axe(page) == []
        shot(page, f"settings-{site.kind}-phone-zh")
        # Another browser, asking for English: the account's choice wins.
        other = open_page(browser, site, viewport=DESKTOP, language="en")
        sign_in(other, "li.na")
        other.goto("/account")
        assert other.locator("h1").inner_text() == "设置"
        other.select_option("#language", "en")
        other.click("#preferences-form button[type=submit]")
        assert other.locator("h1").inner_text() == "Settings"
        other.context.close()
    finally:
        page.context.close()


def test_sign_out_ends_the_session(page: Any) -> None:
    sign_in(page, "zhang.wei")
    page.click("details.user-menu summary")
    page.click("form[action='/auth/logout'] button")
    page.wait_for_url("**/auth/login")
    page.goto("/account")
    assert "/auth/login" in page.url


def test_the_phone_menu_opens_and_closes(browser: Any, site: Site) -> None:
    page = open_page(browser, site, viewport=PHONE, language="en")
    try:
        sign_in(page)
        menu = page.locator("nav#sidebar")
        assert not menu.is_visible()
        page.click("[data-toggle-nav]")
        assert menu.is_visible()
        assert axe(page) == []
        shot(page, f"app-home-{site.kind}-phone-en-menu")
        page.keyboard.press("Escape")
        assert not menu.is_visible()
        no_problems(page)
    finally:
        page.context.close()


def test_error_pages_are_pages_with_a_request_id(page: Any, site: Site) -> None:
    sign_in(page)
    response = page.goto("/a/no-such-app")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "页面不存在"
    assert page.locator("code").inner_text().strip()
    assert "Traceback" not in page.content()
    assert axe(page) == []
    shot(page, f"error-404-{site.kind}")


def test_the_menu_is_grouped_by_the_package_and_shows_only_what_the_role_opens(page: Any, site: Site) -> None:
    sign_in(page, "zhang.wei")  # a sales rep (the CRM's sales role)
    groups = page.locator("nav#sidebar .menu-group-title").all_inner_texts()
    assert groups[:3] == ["报表", "客户", "销售"]  # the dashboards first (the CRM menu)
    menu = page.locator("nav#sidebar").inner_text()
    assert "客户" in menu and "商机" in menu
    assert "回款计划" not in menu and "市场活动" not in menu  # finance's and marketing's forms
    page.goto("/a/crm")
    assert page.locator("main .tile", has_text="回款计划").count() == 0
