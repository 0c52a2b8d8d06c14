"""The report endpoints (runtime/api/reports.py) on both databases: a few
opportunities made through the record service, then the dashboards, a
report, an ad-hoc query, a drill-down and an export, each checked against
numbers worked out here from the same records; bad input is a 400 naming
the parameter or the query's path, an unknown report a 404, no right a 403."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import openpyxl
import pytest
from flask.testing import FlaskClient

from tests.api.conftest import World

DEALS = (("prospecting", "1000"), ("engaging", "2500"), ("won", "4000"), ("won", "6000.50"), ("lost", "700"))


@pytest.fixture
def deals(world: World) -> World:
    service = world.app.extensions["qiqiao"].records.get("crm")
    customer = service.create("customer", {"name": "Report customer"})["id"]
    for i, (stage, amount) in enumerate(DEALS):
        service.create("opportunity", {"name": f"Deal {i}", "customer": customer, "stage": stage, "amount": amount,
                                       "engage_date": f"2026-0{i + 1}-01", "close_date": f"2026-0{i + 1}-15"})
    return world


def _by_stage() -> dict[str, tuple[int, Decimal]]:
    found: dict[str, tuple[int, Decimal]] = {}
    for stage, amount in DEALS:
        count, total = found.get(stage, (0, Decimal(0)))
        found[stage] = (count + 1, total + Decimal(amount))
    return found


def _rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    keys = [c["key"] for c in result["columns"]]
    return [dict(zip(keys, row, strict=True)) for row in result["rows"]]


def test_dashboards_list_and_one_dashboard_with_its_filters(deals: World) -> None:
    client, auth = deals.client, deals.auth()
    listed = client.get("/api/v1/apps/crm/dashboards", headers=auth)
    assert listed.status_code == 200, listed.get_json()
    body = listed.get_json()
    assert {"sales", "service", "collections"} <= {d["key"] for d in body["dashboards"]}
    assert body["default"] in {d["key"] for d in body["dashboards"]}
    sales = client.get("/api/v1/apps/crm/dashboards/sales?period=all&stage=won,engaging", headers=auth)
    assert sales.status_code == 200, sales.get_json()
    view = sales.get_json()
    assert view["filters"] == {"period": "all", "stage": "won,engaging"}
    items = {i["report"]: i for i in view["items"]}
    assert [i["report"] for i in view["items"]] == [i["report"] for i in view["dashboard"]["items"]]
    won = items["won_amount"]["view"]
    assert won["presentation"]["kind"] == "number"
    assert Decimal(str(won["result"]["rows"][0][0])) == _by_stage()["won"][1]
    funnel = {r["stage"]: r for r in _rows(items["pipeline_funnel"]["view"]["result"])}
    # The stage filter (won, engaging) narrows the funnel; prospecting is left out.
    assert set(funnel) == {"won", "engaging"}
    assert funnel["won"]["count"] == 2 and funnel["engaging"]["count"] == 1


def test_a_report_and_an_ad_hoc_query_count_the_records(deals: World) -> None:
    client, auth = deals.client, deals.auth()
    report = client.get("/api/v1/apps/crm/reports/pipeline_funnel", headers=auth)
    assert report.status_code == 200, report.get_json()
    shown = {r["stage"]: (r["count"], Decimal(str(r["amount"]))) for r in _rows(report.get_json()["result"])}
    expected = {k: v for k, v in _by_stage().items() if k != "lost"}
    assert shown == expected
    query = {"form": "opportunity", "measures": [{"key": "n", "agg": "count"},
                                                 {"key": "total", "agg": "sum", "field": "amount"}],
             "dimensions": [{"key": "stage", "field": "stage"}]}
    ran = client.post("/api/v1/apps/crm/query", json=query, headers=auth)
    assert ran.status_code == 200, ran.get_json()
    result = ran.get_json()["result"]
    assert {r["stage"]: (r["n"], Decimal(str(r["total"]))) for r in _rows(result)} == _by_stage()
    stage_labels = {e["value"]: e["label"]["en"] for e in result["labels"]["stage"]}
    assert stage_labels["won"] == "Won"


def test_drill_down_lists_exactly_the_records_behind_a_number(deals: World) -> None:
    client, auth = deals.client, deals.auth()
    drilled = client.post("/api/v1/apps/crm/reports/pipeline_funnel/drill", headers=auth,
                          json={"point": {"stage": "won"}, "measure": "amount"})
    assert drilled.status_code == 200, drilled.get_json()
    target = drilled.get_json()
    assert target["form"] == "opportunity"
    url = urlsplit(target["url"])
    assert url.path == "/a/crm/opportunity"
    assert json.loads(parse_qs(url.query)["filter"][0]) == target["filter"]
    listed = client.get("/api/v1/apps/crm/forms/opportunity/records", headers=auth,
                        query_string={"filter": json.dumps(target["filter"]), "limit": 100})
    assert listed.status_code == 200, listed.get_json()
    names = sorted(r["name"] for r in listed.get_json()["records"])
    assert names == ["Deal 2", "Deal 3"]


def test_export_is_a_workbook_of_the_result(deals: World) -> None:
    answer = deals.client.get("/api/v1/apps/crm/reports/pipeline_funnel/export", headers=deals.auth())
    assert answer.status_code == 200
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in answer.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(answer.data)).active
    assert sheet is not None
    numbers = [c for row in sheet.iter_rows(values_only=True) for c in row if isinstance(c, int | float)]
    assert sum(Decimal(str(n)) for n in numbers) >= _by_stage()["won"][1]


@pytest.mark.parametrize(("method", "path", "body", "status", "where"), [
    ("get", "/api/v1/apps/crm/reports/nope", None, 404, None),
    ("get", "/api/v1/apps/nope/dashboards", None, 404, None),
    ("get", "/api/v1/apps/crm/dashboards/nope", None, 404, None),
    ("get", "/api/v1/apps/crm/dashboards/sales?colour=red", None, 400, "colour"),
    ("get", "/api/v1/apps/crm/dashboards/sales?period=someday", None, 400, "period"),
    ("get", "/api/v1/apps/crm/reports/won_amount?period=all", None, 400, "period"),
    ("post", "/api/v1/apps/crm/query", {"form": "opportunity", "measures": [{"key": "x", "agg": "sum",
                                                                            "field": "nope"}]}, 400,
     "query.measures[0].field"),
    ("post", "/api/v1/apps/crm/reports/pipeline_funnel/drill", {"point": [1]}, 400, "point"),
    ("post", "/api/v1/apps/crm/reports/pipeline_funnel/drill", {"point": {}, "colour": 1}, 400, "colour"),
])
def test_bad_requests_say_what_and_where(client: FlaskClient, admin: dict[str, str], method: str, path: str,
                                         body: Any, status: int, where: str | None) -> None:
    answer = getattr(client, method)(path, headers=admin, json=body)
    assert answer.status_code == status, answer.get_json()
    error = answer.get_json()["error"]
    assert error["message"]
    if where is not None:
        assert where in json.dumps(error, ensure_ascii=False)


def test_no_right_is_a_403(client: FlaskClient, alice: dict[str, str]) -> None:
    """Alice has no role in the CRM: she may not run its reports nor query its forms."""
    assert client.get("/api/v1/apps/crm/reports/pipeline_funnel", headers=alice).status_code == 403
    query = {"form": "opportunity", "measures": [{"key": "n", "agg": "count"}]}
    assert client.post("/api/v1/apps/crm/query", json=query, headers=alice).status_code == 403
    listed = client.get("/api/v1/apps/crm/dashboards", headers=alice)
    assert listed.status_code == 200 and listed.get_json()["dashboards"] == []


def test_the_openapi_document_describes_the_report_endpoints(client: FlaskClient, admin: dict[str, str]) -> None:
    paths = client.get("/api/v1/openapi.json", headers=admin).get_json()["paths"]
    for path in ("/api/v1/apps/crm/dashboards", "/api/v1/apps/crm/dashboards/sales", "/api/v1/apps/crm/query",
                 "/api/v1/apps/crm/reports/{key}", "/api/v1/apps/crm/reports/{key}/drill",
                 "/api/v1/apps/crm/reports/{key}/export"):
        assert path in paths, path
    params = {p["name"] for p in paths["/api/v1/apps/crm/dashboards/sales"]["get"]["parameters"]}
    assert params == {"period", "owner", "department", "stage"}
