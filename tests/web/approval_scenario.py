"""The CRM's contract approval in a real browser, as three people of the
demo company: a new sales rep submits a contract from its record page (the
dialog previews who approves), the sales manager approves it from the
approvals inbox, finance countersigns from the task page (one of them is refused an approval
another tab made already), and the contract is approved; the rep finds it
on the flow's own page from "Submitted by me". ``test_flows_pages`` runs it
on a desktop in Chinese, ``test_flows_pages_phone`` on a phone in English: two
modules, so that the two long runs go to different test workers."""

from __future__ import annotations

import itertools
from typing import Any

from tests.web.conftest import (
    DESKTOP,
    PASSWORD,
    Site,
    axe,
    follow,
    no_problems,
    open_page,
    shot,
    sign_in,
)

_unique = itertools.count(1)
TEXT = {"zh": {"submit": "提交审批", "running": "审批中", "approved": "已通过", "approve": "同意", "manager": "赵磊",
               "handled": "该审批已被处理"},
        "en": {"submit": "Submit for approval", "running": "In approval", "approved": "Approved", "approve": "Approve",
               "manager": "赵磊", "handled": "Already handled"}}


def _contract(site: Site, name: str, owner: int) -> int:
    service = site.app.extensions["qiqiao"].records.get("crm")
    customer = service.create("customer", {"name": f"{name} customer", "owner": owner})["id"]
    return int(service.create("contract", {"name": name, "status": "draft", "amount": "80000",
                                           "customer": customer, "owner": owner})["id"])


def _people(site: Site, language: str) -> str:
    """A new sales rep of the demo's sales department reading ``language``
    (its login), and the sales manager and the accountant of the demo,
    reading it too for this scenario (nobody else signs in as them)."""
    org = site.app.extensions["qiqiao"].org
    for login in ("zhao.lei", "sun.li", "he.jing"):
        user = org.find_user_by_login(login)
        assert user is not None
        if login not in site.logins:
            org.set_password(user.id, PASSWORD)
            site.logins[login] = user.id
        org.update_user(user.id, locale=language)
    login = f"rep.{language}.{site.kind}.{next(_unique)}"
    rep = org.create_user(login, f"Rep {language}", password=PASSWORD, locale=language)
    sales = org.find_department_by_path("销售部")
    assert sales is not None
    org.add_member(rep.id, sales.id, main=True, position="销售代表")
    org.assign_role("crm:sales", rep.id)
    site.logins[login] = rep.id
    return login


def _as(browser: Any, site: Site, login: str, viewport: dict[str, int], language: str, path: str,
        storage_state: Any = None) -> Any:
    page = open_page(browser, site, viewport=viewport, language=language, storage_state=storage_state)
    if storage_state is None:
        sign_in(page, login, next_path=path)
    else:
        page.goto(path)
    return page


def _approve_from_inbox(page: Any, title: str, words: dict[str, str]) -> None:
    page.goto(f"/inbox?search={title}")
    follow(page, page.locator(".task-link", has_text=title).first)
    page.fill("#task-comment", "OK")
    follow(page, "button.flow-primary[value='approve']")
    assert page.url.endswith("/inbox")


def scenario(browser: Any, site: Site, viewport: dict[str, int], language: str, name: str) -> None:
    login = _people(site, language)
    words = TEXT[language]
    title = f"{name} {site.kind} {next(_unique)}"
    record = _contract(site, title, site.logins[login])
    url = f"/a/crm/contract/{record}"
    tag = f"{'desktop' if viewport == DESKTOP else 'phone'}-{language}-{site.kind}"

    rep = _as(browser, site, login, viewport, language, url)
    try:
        panel = rep.locator("#approval")
        panel.locator("button[data-open-dialog='submit-dialog']").click()
        dialog = rep.locator("#submit-dialog")
        assert words["manager"] in dialog.locator(".flow-path").inner_text()
        assert axe(rep) == []
        shot(rep, f"flows-submit-{tag}")
        follow(rep, dialog.locator("button[type=submit]"))
        assert words["running"] in rep.locator("#approval-title").inner_text()
        assert rep.locator("#approval .is-current").count() == 1
        no_problems(rep)
        signed_in = rep.context.storage_state()  # the rep comes back at the end
    finally:
        rep.context.close()

    manager = _as(browser, site, "zhao.lei", viewport, language, "/inbox")
    try:
        assert manager.locator("#approval-link .inbox-badge").inner_text().strip() != ""
        assert manager.locator(".task-link", has_text=title).count() == 1
        # The filter button stands level with the search box beside it.
        search, button = (manager.locator(f".inbox-filters {s}").bounding_box()
                          for s in ("input[type=search]", "button[type=submit]"))
        assert abs(search["y"] + search["height"] - button["y"] - button["height"]) < 2, (search, button)
        assert axe(manager) == []
        shot(manager, f"flows-inbox-{tag}")
        follow(manager, manager.locator(".task-link", has_text=title).first)
        assert axe(manager) == []
        shot(manager, f"flows-task-{tag}")
        # The transfer dialog searches the people (Tom Select over /inbox/people).
        manager.locator("button[data-open-dialog='act-transfer']").click()
        accountant = site.app.extensions["qiqiao"].org.get_user(site.logins["sun.li"]).name
        manager.locator("#act-transfer-to-ts-control").fill(accountant[-1])
        option = manager.locator("#act-transfer .ts-dropdown .option", has_text=accountant).first
        option.wait_for()
        assert axe(manager) == []
        shot(manager, f"flows-transfer-{tag}")
        manager.locator("#act-transfer [data-close-dialog]").click()
        _approve_from_inbox(manager, title, words)
        no_problems(manager)
    finally:
        manager.context.close()

    finance = _as(browser, site, "sun.li", viewport, language, f"/inbox?search={title}")
    try:
        follow(finance, finance.locator(".task-link", has_text=title).first)
        # The same task approved meanwhile in another tab: this tab's approve is refused, in words.
        other = finance.context.new_page()
        other.goto(finance.url)
        follow(other, "button.flow-primary[value='approve']")
        other.close()
        follow(finance, "button.flow-primary[value='approve']")
        assert "/inbox/" in finance.url and words["handled"] in finance.content()
        finance.goto("/inbox?box=done")
        assert finance.locator(".task-link", has_text=title).count() == 1
        no_problems(finance)
    finally:
        finance.context.close()
    second = _as(browser, site, "he.jing", viewport, language, "/inbox")  # a countersign: both of finance
    try:
        _approve_from_inbox(second, title, words)
    finally:
        second.context.close()

    rep = _as(browser, site, login, viewport, language, url, signed_in)
    try:
        assert words["approved"] in rep.locator("#approval-title").inner_text()
        assert rep.locator("#approval .flow-node.state-done").count() >= 2
        assert axe(rep) == []
        shot(rep, f"flows-approved-{tag}")
        rep.goto("/inbox?box=submitted")  # "Submitted by me" opens the flow's own page
        follow(rep, rep.locator(".task-link", has_text=title).first)
        assert "/inbox/flows/" in rep.url and rep.locator("#approval .flow-node.state-done").count() >= 2
        assert axe(rep) == []
        shot(rep, f"flows-instance-{tag}")
        no_problems(rep)
    finally:
        rep.context.close()

