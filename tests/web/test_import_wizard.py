"""The import wizard in a real browser: 3,000 customers (a few of them bad)
uploaded, the proposed mapping checked and one column mapped by hand, a dry
run's per-row report, the import with its progress bar polled until done,
the failed rows downloaded; a user without the import right refused; axe
and screenshots on each step, desktop in Chinese and a phone in English."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from pathlib import Path
from typing import Any

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

WIZARD = "/a/crm/customer/import"
ROWS = 3000
BAD_LEVEL = range(2, ROWS, 500)  # these rows' level is not an option
BLANK_NAME = 1234  # and this row has no name (required)
_unique = itertools.count(1)


def _customers_csv(tmp: Path, prefix: str) -> Path:
    path = tmp / f"customers-{prefix}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["客户名称", "客户等级", "电话", "Headcount"])
        for n in range(ROWS):
            name = "" if n == BLANK_NAME else f"{prefix} 客户 {n:04d}"
            out.writerow([name, "Z" if n in BAD_LEVEL else "ABC"[n % 3], f"021-{60000000 + n}", str(10 + n)])
    return path


def _selected(page: Any, select: str) -> str:
    return str(page.eval_on_selector(select, "s => s.value"))


def _wait_until_finished(page: Any) -> list[str]:
    """The progress texts seen while htmx polls, until the job's page is loaded again, finished."""
    seen: list[str] = []
    for _ in range(240):
        if page.locator(".job-status.status-done, .job-status.status-failed").count():
            break
        text = page.locator("#progress-text")
        if text.count():
            try:
                current = text.inner_text(timeout=500)
            except Exception:  # swapped out between count and read
                continue
            if not seen or seen[-1] != current:
                seen.append(current)
        page.wait_for_timeout(100)
    page.wait_for_load_state("networkidle")
    assert page.locator(".job-status.status-done").count() == 1, page.locator("main").inner_text()
    return seen


def test_import_3000_customers_with_a_dry_run_and_a_progress_bar(browser: Any, site: Site, tmp_path: Path) -> None:
    prefix = f"导入-{site.kind}-{uuid.uuid4().hex[:6]}"
    source = _customers_csv(tmp_path, prefix)
    page = open_page(browser, site)  # desktop, Chinese
    polls: list[str] = []
    page.on("response", lambda r: polls.append(r.url) if r.url.endswith("/progress") else None)
    try:
        sign_in(page, next_path="/a/crm/customer")
        page.click(f".list-head a[href='{WIZARD}']")  # the list's Import button
        assert page.locator("h1").inner_text() == "导入客户"
        assert axe(page) == []
        page.set_input_files("#file", str(source))
        follow(page, "form.import-upload button[type=submit]")
        # Step 2: proposed from the column names; Headcount is not a field's name.
        assert _selected(page, "#map-0") == "name" and _selected(page, "#map-1") == "level"
        assert _selected(page, "#map-2") == "phone" and _selected(page, "#map-3") == ""
        assert "客户 0001" in page.locator(".import-mapping tbody tr").first.inner_text()
        page.select_option("#map-3", "employees")
        assert page.locator("#on-duplicate input").first.is_disabled()  # no key field: no duplicates
        page.select_option("#key_field", "name")
        assert page.locator("#on-duplicate input").first.is_enabled()
        page.check("input[name=on_duplicate][value=skip]")
        assert axe(page) == []
        shot(page, f"import-mapping-{site.kind}-desktop-zh")
        page.click("button[name=action][value=dry_run]")
        _wait_until_finished(page)
        # Step 3: the dry run's report, nothing written.
        counts = page.locator(".import-counts").inner_text()
        assert "将新建\n2,993" in counts and "将失败\n7" in counts, counts
        failures = page.locator(".import-failures tbody tr")
        assert failures.count() == 7
        first = failures.first.inner_text()
        assert first.startswith("4\t客户等级\tZ\t"), first  # the third data row: the header is row 1
        assert "1236" in page.locator(".import-failures").inner_text()  # the blank name's row
        services = site.app.extensions["qiqiao"]
        crm = services.records.get("crm")
        mine = {"field": "name", "op": "starts_with", "value": prefix}
        assert crm.count("customer", filter=mine)[0] == 0
        assert axe(page) == []
        shot(page, f"import-dry-run-{site.kind}-desktop-zh")
        no_problems(page)
        # Step 4: the import itself, its progress polled until it is done.
        polls.clear()
        page.click("form[action$='/run'] button[type=submit]")
        page.wait_for_selector("#import-bar")
        seen = _wait_until_finished(page)
        assert len(polls) >= 2, polls  # the bar was asked for more than once
        assert seen and all(" / " in s for s in seen), seen
        bar = page.locator("#import-bar")
        assert bar.get_attribute("value") == bar.get_attribute("max") == str(ROWS)
        assert page.locator("#progress-text").inner_text() == "3,000 / 3,000"
        counts = page.locator(".import-counts").inner_text()
        assert "新建\n2,993" in counts and "失败\n7" in counts, counts
        assert crm.count("customer", filter=mine)[0] == 2993
        one = crm.list("customer", filter={"field": "name", "op": "eq", "value": f"{prefix} 客户 0007"})
        assert one["records"] and one["records"][0]["employees"] == 17  # the column mapped by hand
        with page.expect_download() as download:
            page.click("a[href$='/failed-rows.csv']")
        text = Path(download.value.path()).read_text(encoding="utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["客户名称", "客户等级", "电话", "Headcount", "错误原因"]
        assert len(rows) == 8 and rows[1][1] == "Z" and rows[1][4], rows[1]
        assert any(r[0] == "" for r in rows[1:])  # the row without a name
        assert axe(page) == []
        shot(page, f"import-done-{site.kind}-desktop-zh")
        no_problems(page)
    finally:
        page.context.close()


def test_errors_refusal_and_a_small_import_on_a_phone(browser: Any, site: Site, tmp_path: Path) -> None:
    org = site.app.extensions["qiqiao"].org
    login = f"importer.{site.kind}.{next(_unique)}"
    user = org.create_user(login, "Ivy Importer", password=PASSWORD, locale="en").id
    role = f"customer_importer_{site.kind}_{next(_unique)}"
    org.create_role(role, "Customer importer", {
        "customer": {"actions": ["create", "read", "update", "import"], "read": "all"}}, app="crm")
    org.assign_role(role, user)
    # zhang.wei, a sales rep, may create customers but not import them.
    refused = open_page(browser, site, viewport=PHONE, language="en")
    try:
        sign_in(refused, "zhang.wei")
        response = refused.goto(WIZARD)
        assert response.status == 403 and refused.locator("#file").count() == 0
    finally:
        refused.context.close()
    prefix = f"Phone {site.kind} {uuid.uuid4().hex[:6]}"
    small = tmp_path / "few.csv"
    small.write_text("Customer name,Level\n" + "".join(
        f"{prefix} {n},{'Q' if n == 3 else 'B'}\n" for n in range(12)), encoding="utf-8")
    wrong = tmp_path / "notes.docx"
    wrong.write_bytes(b"PK\x03\x04 not a sheet")
    page = open_page(browser, site, viewport=PHONE, language="en")
    try:
        sign_in(page, login, next_path=WIZARD)
        page.set_input_files("#file", str(wrong))
        follow(page, "form.import-upload button[type=submit]")
        problem = page.locator("#file-problem")
        assert "notes.docx" in problem.inner_text() and page.get_attribute("#file", "aria-invalid") == "true"
        assert axe(page) == []
        shot(page, f"import-upload-error-{site.kind}-phone-en")
        # The refused upload answers 422, which the browser logs; nothing else went wrong.
        assert [m for m in page.problems.messages if "422" not in m] == []
        page.problems.messages.clear()
        page.set_input_files("#file", str(small))
        follow(page, "form.import-upload button[type=submit]")
        assert _selected(page, "#map-0") == "name" and _selected(page, "#map-1") == "level"
        assert page.locator("input[name=on_error][value=skip]").is_checked()
        assert axe(page) == []
        shot(page, f"import-mapping-{site.kind}-phone-en")
        page.click("button[name=action][value=run]")
        _wait_until_finished(page)
        counts = page.locator(".import-counts").inner_text()
        assert "New records\n11" in counts and "Failed records\n1" in counts, counts
        assert "Q" in page.locator(".import-failures").inner_text()
        assert page.locator("a[href='/a/crm/customer']").count() >= 1
        assert axe(page) == []
        shot(page, f"import-done-{site.kind}-phone-en")
        # The upload step lists the import, to come back to.
        page.goto(WIZARD)
        assert "few.csv" in page.locator(".import-recent").inner_text()
        shot(page, f"import-recent-{site.kind}-phone-en")
        no_problems(page)
    finally:
        page.context.close()
