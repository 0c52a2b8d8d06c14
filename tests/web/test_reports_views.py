"""The dashboard pages without a browser: the filter bar's URL folding (a
custom range and several picks become one parameter per filter), the pages
a reader reaches from the menu and the home page, drill-down's redirect, the
xlsx download, and bad links answered with a page that says what is wrong."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from engine.core.i18n import Label
from engine.definitions.report_files import DashboardDef, DashboardFilter, DashboardItem
from runtime.web.reports_filters import canonical_args, raw_filters
from tests.api.conftest import People

DASHBOARD = DashboardDef("d", Label("看板", "Board"), (DashboardItem("r"),), filters=(
    DashboardFilter("period", "date_range", Label("期间", "Period"), {"r": "close_date"}),
    DashboardFilter("owner", "member", Label("负责人", "Owner"), {"r": "owner"})))


@pytest.mark.parametrize(("query", "folded"), [
    ("period=this_year&owner=me", None),
    ("period=range&period_from=2026-01-01&period_to=2026-03-31", "period=2026-01-01..2026-03-31"),
    ("period=range&period_from=2026-01-01&period_to=", "period=2026-01-01.."),
    ("period=range&period_from=&period_to=", ""),
    ("owner=3&owner=7&period=all", "owner=3%2C7&period=all"),
    ("owner=&period=all", "period=all"),
])
def test_the_bar_folds_its_values_into_one_parameter_per_filter(query: str, folded: str | None) -> None:
    args: MultiDict[str, str] = MultiDict(parse_qs(query, keep_blank_values=True))
    assert canonical_args(DASHBOARD, args) == folded
    if folded is not None:
        again: MultiDict[str, str] = MultiDict(parse_qs(folded, keep_blank_values=True))
        assert canonical_args(DASHBOARD, again) is None
        assert set(raw_filters(DASHBOARD, again)) <= {"period", "owner"}


def test_pages_from_the_home_page_to_the_records_behind_a_number(client: FlaskClient, people: People) -> None:
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {people.admin_token}"
    home = client.get("/a/crm").get_data(as_text=True)
    assert "/a/crm/dashboards/" in home  # the reader's dashboard, and the menu's
    listed = client.get("/a/crm/dashboards").get_data(as_text=True)
    assert "/a/crm/dashboards/sales" in listed
    board = client.get("/a/crm/dashboards/sales?period=all")
    assert board.status_code == 200
    assert board.get_data(as_text=True).count('<section class="dash-card ') == 9
    folded = client.get("/a/crm/dashboards/sales?period=range&period_from=2026-01-01&period_to=")
    assert folded.status_code == 303 and folded.headers["Location"].endswith("?period=2026-01-01..")
    report = client.get("/a/crm/reports/pipeline_funnel?dashboard=sales&period=all")
    assert report.status_code == 200 and "pipeline_funnel.xlsx?dashboard=sales" in report.get_data(as_text=True)
    point = json.dumps({"stage": "won"})
    drill = client.get("/a/crm/reports/pipeline_funnel/drill", query_string={"point": point, "measure": "amount"})
    assert drill.status_code == 303
    target = urlsplit(drill.headers["Location"])
    assert target.path == "/a/crm/opportunity"
    assert "won" in json.dumps(json.loads(parse_qs(target.query)["filter"][0]))
    workbook = client.get("/a/crm/reports/pipeline_funnel.xlsx")
    assert workbook.status_code == 200 and workbook.data[:2] == b"PK"


@pytest.mark.parametrize(("path", "status"), [
    ("/a/crm/reports/nope", 404),
    ("/a/crm/dashboards/nope", 404),
    ("/a/crm/reports/pipeline_funnel/drill?point=%7Bnot", 400),
    ("/a/crm/dashboards/sales?period=someday", 400),
])
def test_bad_links_get_a_page_saying_what_is_wrong(client: FlaskClient, people: People, path: str,
                                                  status: int) -> None:
    answer = client.get(path, headers={"Authorization": f"Bearer {people.admin_token}", "Accept": "text/html"})
    assert answer.status_code == status
    assert "<html" in answer.get_data(as_text=True)
