"""The rule pages in a real browser: on a customer's page a manual rule's
button asks its question and runs, and the page lists the rules that ran;
an admin turns the rule off and on and reads its run log (desktop, Chinese);
on a phone, in English, a failed run is found in the run log and retried.
The rules are published into the demo CRM for this module and turned off
after it, so other tests' pages show no rule buttons."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from engine.rules.admin import RuleAdmin
from engine.store.models import Definition
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

DEFINITIONS: Any = Definition.__table__
MARK = {"schema_version": 1, "key": "web_mark_key", "label": {"zh": "标为重点客户", "en": "Mark as key account"},
        "form": "customer", "enabled": True, "on_import": False,
        "trigger": {"type": "manual", "confirm": {"zh": "把这个客户标为 A 级重点客户？", "en": "Make this an A-level key account?"}},
        "actions": [{"type": "update_record", "values": {"level": '"a"'}}]}
BREAK = {"schema_version": 1, "key": "web_count_staff", "label": {"zh": "重算员工数", "en": "Recount staff"},
         "form": "customer", "enabled": True, "on_import": False, "trigger": {"type": "manual"},
         "actions": [{"type": "update_record", "values": {"employees": "1 / 0"}}]}
_unique = itertools.count(1)


def _publish(site: Site, *bodies: dict[str, Any]) -> None:
    with site.database.transaction() as conn:
        for body in bodies:
            newest = conn.execute(sa.select(sa.func.max(DEFINITIONS.c.version)).where(
                DEFINITIONS.c.app == "crm", DEFINITIONS.c.kind == "rule", DEFINITIONS.c.key == body["key"])).scalar()
            conn.execute(DEFINITIONS.insert(), {"app": "crm", "kind": "rule", "key": body["key"],
                                                "version": (newest or 0) + 1, "body": body,
                                                "published_at": dt.datetime.now(dt.UTC), "published_by": None})
    site.app.extensions["qiqiao"].records.invalidate("crm")


@pytest.fixture
def rules(site: Site) -> Iterator[RuleAdmin]:
    _publish(site, MARK, BREAK)
    admin = RuleAdmin(site.app.extensions["qiqiao"].rules)
    yield admin
    for key in (MARK["key"], BREAK["key"]):
        admin.set_enabled("crm", key, False, user_id=None)


def _customer(site: Site, name: str) -> int:
    service = site.app.extensions["qiqiao"].records.get("crm")
    return int(service.create("customer", {"name": f"{name} {site.kind} {next(_unique)}",
                                           "owner": site.logins["admin"]})["id"])


def test_a_manual_rule_runs_from_the_record_page_and_an_admin_turns_it_off(
        browser: Any, site: Site, rules: RuleAdmin) -> None:
    customer = _customer(site, "<script>alert(1)</script> 规则客户")
    page = open_page(browser, site)
    try:
        sign_in(page, next_path=f"/a/crm/customer/{customer}")
        page.click("button[data-open-dialog='rule-dialog-web_mark_key']")
        dialog = page.locator("#rule-dialog-web_mark_key")
        assert "把这个客户标为 A 级重点客户？" in dialog.inner_text()
        assert axe(page) == []
        follow(page, dialog.locator("button[type=submit]"))
        assert "“标为重点客户”已运行。" in page.locator("main .notice").first.inner_text()
        ran = page.locator("#rules")
        assert "标为重点客户" in ran.inner_text() and "完成" in ran.inner_text()
        assert "A（重点客户）" in page.locator(".record-tags").inner_text()
        shot(page, f"rules-record-desktop-zh-{site.kind}")

        ran.locator("a[href*='/admin/rules/crm/web_mark_key']").click()
        assert page.locator("h1").inner_text() == "标为重点客户"
        assert "在客户记录页上手动运行" in page.locator(".rule-facts").inner_text()
        assert page.locator("#runs tbody tr").count() >= 1 and "完成" in page.locator("#runs").inner_text()
        page.click("nav.admin-tabs a[href='/admin/rules']")
        row = page.locator("#rule-crm-web_mark_key")
        assert "完成" in row.inner_text()
        follow(page, row.locator("button.rule-switch"))
        assert page.locator("#rule-crm-web_mark_key button.rule-switch").get_attribute("aria-checked") == "false"
        assert not rules.rules.rule("crm", "web_mark_key").rule.enabled
        assert axe(page) == []
        shot(page, f"rules-list-desktop-zh-{site.kind}")
        page.goto(f"/a/crm/customer/{customer}")
        assert page.locator("button[data-open-dialog='rule-dialog-web_mark_key']").count() == 0
        page.goto("/admin/rules")
        follow(page, "#rule-crm-web_mark_key button.rule-switch")
        assert page.locator("#rule-crm-web_mark_key button.rule-switch").get_attribute("aria-checked") == "true"
        no_problems(page)
    finally:
        page.context.close()


def test_on_a_phone_a_failed_run_is_found_and_retried(browser: Any, site: Site, rules: RuleAdmin) -> None:
    customer = _customer(site, "Phone customer")
    # An owner of the CRM (not an admin) who reads English manages its rules.
    org = site.app.extensions["qiqiao"].org
    login = f"rules.owner.{site.kind}.{next(_unique)}"
    owner = org.create_user(login, "Rule Owner", password=PASSWORD, locale="en").id
    org.add_app_owner("crm", owner)
    page = open_page(browser, site, viewport=PHONE, language="en")
    try:
        sign_in(page, login, next_path=f"/a/crm/customer/{customer}")
        page.click("button[data-open-dialog='rule-dialog-web_count_staff']")
        assert "Run “Recount staff”" in page.locator("#rule-dialog-web_count_staff").inner_text()
        follow(page, "#rule-dialog-web_count_staff button[type=submit]")
        assert "“Recount staff” failed" in page.locator("main .notice.error").first.inner_text()
        page.goto("/admin/rule-runs?status=failed")
        run = rules.run_log("crm", user_id=None, rule="web_count_staff", status="failed", limit=1)[0]
        row = page.locator(f"#run-{run.id}")
        assert "Failed" in row.inner_text() and "Recount staff" in row.inner_text()
        assert axe(page) == []
        shot(page, f"rules-runs-phone-en-{site.kind}")
        follow(page, row.locator("button[type=submit]"))
        assert f"Run {run.id} was retried" in page.locator("main .notice").first.inner_text()
        assert page.locator("h1").inner_text() == "Recount staff"
        box = page.locator("#runs button[type=submit]").first.bounding_box()
        assert box is not None and box["height"] >= 44
        shot(page, f"rules-rule-phone-en-{site.kind}")
        page.click("a.record-crumbs, nav.record-crumbs a")
        assert page.locator("#rule-crm-web_count_staff").is_visible()
        assert axe(page) == []
        shot(page, f"rules-list-phone-en-{site.kind}")
        no_problems(page)
    finally:
        page.context.close()
