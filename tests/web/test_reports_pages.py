"""The sales dashboard in a real browser, as a sales rep of the demo company
(张伟, who sees only his own opportunities): from the app's home to his
dashboard, the filter bar's values kept in the URL, the charts drawn by
ECharts, the bar's fields alike, a report's own page and its table, and a drill-down from a table
row to the opportunity list with the filter shown as a chip. Once on a
desktop in Chinese, once on a phone in English (the grid is one column)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.web.conftest import DESKTOP, PHONE, Site, axe, no_problems, open_page, shot, sign_in

TEXT = {"zh": {"mine": "打开我的看板", "apply": "应用", "data": "数据", "export": "导出 Excel"},
        "en": {"mine": "Open my dashboard", "apply": "Apply", "data": "Data", "export": "Export to Excel"}}


def _scenario(browser: Any, site: Site, viewport: dict[str, int], language: str) -> None:
    page = open_page(browser, site, viewport=viewport, language=language)
    words = TEXT[language]
    tag = f"{'desktop' if viewport == DESKTOP else 'phone'}-{language}-{site.kind}"
    services = site.app.extensions["qiqiao"]
    rep = site.logins["zhang.wei"]
    before = services.org.get_user(rep).locale
    # As the account page does: the profile, then the server's cached view of the person.
    services.org.update_user(rep, locale=language)
    services.identities.forget_user(rep)
    try:
        sign_in(page, "zhang.wei", next_path="/a/crm")
        assert page.locator("html").get_attribute("lang").startswith(language)
        page.get_by_role("button", name=words["mine"]).click()
        page.wait_for_url("**/a/crm/dashboards/sales**")
        # The period filter: a preset submits the bar; the value lands in the URL to be shared.
        page.select_option("#rf-period", "this_year")
        page.wait_for_url("**period=this_year**")
        page.wait_for_function("() => document.querySelectorAll('.report-chart canvas').length >= 3")
        assert page.locator(".card-error").count() == 0, page.locator(".card-error").all_inner_texts()
        # The bar's fields look alike, the people picker too: as tall, with the same corners
        # (Pico would draw a search form as one pill-shaped group).
        fields = page.evaluate("""() => [...document.querySelectorAll(
            '.report-filters select:not(.ts-hidden-accessible), .report-filters .ts-control')].map(e => {
              const s = getComputedStyle(e);
              return [Math.round(e.getBoundingClientRect().height), s.borderTopLeftRadius, s.borderTopRightRadius];
            })""")
        assert len(fields) == 4 and len({tuple(f) for f in fields}) == 1, fields
        cards = page.locator(".dash-card")
        assert cards.count() == 9
        grid = page.locator(".dash-grid").bounding_box()
        first = cards.nth(2).bounding_box()
        assert grid is not None and first is not None
        if viewport == PHONE:  # one column: every card as wide as the grid
            assert abs(first["width"] - grid["width"]) < 2
        else:
            assert first["width"] < grid["width"] * 0.6
        assert axe(page) == []
        shot(page, f"reports-dashboard-{tag}")
        # A card's title opens the report, with the dashboard's filters.
        page.locator(".dash-card h2 a").nth(3).click()
        page.wait_for_url("**/a/crm/reports/pipeline_funnel?**")
        assert "period=this_year" in page.url
        page.get_by_role("heading", name=words["data"]).wait_for()
        assert page.get_by_role("button", name=words["export"]).get_attribute("href").startswith(
            "/a/crm/reports/pipeline_funnel.xlsx?")
        assert axe(page) == []
        shot(page, f"reports-report-{tag}")
        # Drill down from the table's first row: the list page, filtered, says so in a chip.
        row = page.locator(".report-data tbody tr th a").first
        stage = row.inner_text()
        row.click()
        page.wait_for_url("**/a/crm/opportunity?filter=**")
        shown = parse_qs(urlsplit(page.url).query)["filter"][0]
        assert "stage" in shown
        chips = page.locator("ul.chips").inner_text()
        assert stage in chips, (stage, chips)
        shot(page, f"reports-drill-{tag}")
        no_problems(page)
    finally:
        page.context.close()
        services.org.update_user(rep, locale=before)
        services.identities.forget_user(rep)


def test_sales_dashboard_on_a_desktop_in_chinese(browser: Any, site: Site) -> None:
    _scenario(browser, site, DESKTOP, "zh")


def test_sales_dashboard_on_a_phone_in_english(browser: Any, site: Site) -> None:
    _scenario(browser, site, PHONE, "en")
