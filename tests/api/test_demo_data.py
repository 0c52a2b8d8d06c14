"""The demo's data keeps the CRM's own model (docs/crm.md), on SQLite and
PostgreSQL, and running the demo again leaves one live demo token."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pytest
import sqlalchemy as sa

from engine.core.clock import FixedClock
from engine.fields import demo
from engine.org.errors import AuthenticationError
from engine.org.service import OrgService
from engine.store.database import Database
from runtime.demo import DEMO_TOKEN, PLAN, distinct_value, set_up_demo
from runtime.demo_titles import short_name

NOW = dt.datetime(2026, 5, 20, 9, 0, tzinfo=dt.UTC)
SCALE = 0.2
CITIES = {city for _, city, _ in demo.PLACES}
PEOPLE = {s + g for s in demo.SURNAMES for g in demo.GIVEN_NAMES}


def rows(database: Database, table: str) -> list[Mapping[str, Any]]:
    with database.engine.connect() as connection:
        reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
        return [row._mapping for row in connection.execute(sa.select(reflected))]


def test_demo_data_keeps_the_crm_model(database: Database) -> None:
    # One set-up for every check: generating the data is the slow part.
    set_up_demo(database.url.render_as_string(hide_password=False), clock=FixedClock(NOW), scale=SCALE)
    pool_customers_have_no_owner_and_owned_ones_no_pool_state(database)
    headquarters_is_a_place(database)
    a_lead_is_converted_exactly_when_its_status_says_so(database)
    job_titles_and_codes_are_not_sentences(database)
    records_have_the_titles_a_sales_team_would_write(database)
    company_names_are_distinct_names(database)
    deals_close_as_their_stage_says(database)
    products_are_priced_above_cost_and_companies_founded_in_the_past(database)


def seconds(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=0, tzinfo=None)


def pool_customers_have_no_owner_and_owned_ones_no_pool_state(demo_database: Database) -> None:
    customers = rows(demo_database, "crm_customer")
    pooled = [c for c in customers if c["in_public_pool"]]
    owned = [c for c in customers if not c["in_public_pool"]]
    assert pooled and owned  # both kinds are there to try
    for customer in pooled:
        assert customer["owner"] is None, customer
        assert customer["pool_reason"] in ("overdue", "released", "unassigned", "owner_left")
        # stamped by the form's rule when it entered, which is not before it existed
        assert customer["pool_entered_at"] is not None
        assert seconds(customer["pool_entered_at"]) >= seconds(customer["created_at"])
        if customer["pool_reason"] == "unassigned":
            assert customer["previous_owner"] is None
    for customer in owned:
        assert customer["owner"] is not None, customer
        pool_state = ("pool_entered_at", "pool_reason", "previous_owner")
        assert [customer[key] for key in pool_state] == [None, None, None], customer


def headquarters_is_a_place(demo_database: Database) -> None:
    customers = rows(demo_database, "crm_customer")
    located = [c for c in customers if c["office_location"] is not None]
    assert located
    for customer in located:
        assert customer["office_location"] in CITIES, customer["office_location"]
        if customer["address_city"]:
            assert customer["office_location"] == customer["address_city"]


def a_lead_is_converted_exactly_when_its_status_says_so(demo_database: Database) -> None:
    leads = rows(demo_database, "crm_lead")
    assert any(lead["converted"] for lead in leads) and not all(lead["converted"] for lead in leads)
    for lead in leads:
        converted = bool(lead["converted"])
        assert (lead["status"] == "converted") == converted, lead
        assert (lead["converted_at"] is not None) == converted, lead
        assert (lead["converted_customer"] is not None) == converted, lead


def job_titles_and_codes_are_not_sentences(demo_database: Database) -> None:
    titles = {c["title"] for c in rows(demo_database, "crm_contact")} - {None}
    assert titles and titles <= set(demo.JOB_TITLES)
    codes = {p["opportunity_id"] for p in rows(demo_database, "crm_opportunity")} - {None}
    assert codes and all(code.startswith("OPP-") for code in codes)


def records_have_the_titles_a_sales_team_would_write(demo_database: Database) -> None:
    """A deal is named after its customer and what it sells, not after a person."""
    customers = {c["id"]: c["name"] for c in rows(demo_database, "crm_customer")}
    deals = rows(demo_database, "crm_opportunity")
    assert len({d["name"] for d in deals}) > len(deals) // 2  # varied
    for deal in deals:
        assert deal["name"] not in PEOPLE, deal["name"]
        if deal["customer"] is not None:
            assert short_name(customers[deal["customer"]]) in deal["name"], deal


def test_running_the_demo_again_replaces_its_token(database: Database) -> None:
    url = database.url.render_as_string(hide_password=False)
    first = set_up_demo(url, clock=FixedClock(NOW), scale=0.05)
    second = set_up_demo(url, clock=FixedClock(NOW + dt.timedelta(minutes=1)), scale=0.05)
    org = OrgService(database, FixedClock(NOW + dt.timedelta(minutes=2)))
    admin = org.find_user_by_login("admin")
    assert admin is not None
    live = [t for t in org.list_tokens(admin.id) if t.name.startswith(DEMO_TOKEN) and t.revoked_at is None]
    assert len(live) == 1
    assert org.verify_token(second.token) == admin.id
    with pytest.raises(AuthenticationError) as refused:
        org.verify_token(first.token)
    assert refused.value.details == {"reason": "revoked"}


def test_the_demo_rules_have_run(database: Database) -> None:
    set_up_demo(database.url.render_as_string(hide_password=False), clock=FixedClock(NOW), scale=0.02)
    runs = rows(database, "rule_runs")
    done = {r["rule"] for r in runs if r["status"] == "done"}
    assert {"assign_new_lead", "won_opportunity_contract", "follow_up_todo"} <= done
    assert not [r for r in runs if r["status"] == "failed"]
    notices = rows(database, "notifications")
    assert any("新线索" in n["title"] for n in notices) and any("赢单" in n["title"] for n in notices)
    assert any(t["title"].startswith("跟进") for t in rows(database, "todos"))


def test_the_demo_has_approvals_in_every_state(database: Database) -> None:
    set_up_demo(database.url.render_as_string(hide_password=False), clock=FixedClock(NOW), scale=0.02)
    instances = rows(database, "flow_instances")
    assert sorted({i["status"] for i in instances}) == ["approved", "rejected", "running", "withdrawn"]
    # Where each waits (a node inside a branch comes after its branching node).
    running = {(i["flow"], i["current"][-1]) for i in instances if i["status"] == "running"}
    assert running == {("contract_approval", "manager"), ("contract_approval", "finance_sign"),
                       ("quote_discount_approval", "sales_director"), ("payment_receipt", "finance_confirm"),
                       ("ticket_escalation", "service_manager")}
    assert all(i["started_at"] < NOW.replace(tzinfo=i["started_at"].tzinfo) for i in instances)
    todo = {(t["assignee_id"], t["node"]) for t in rows(database, "flow_tasks") if t["box"] == "todo"}
    assert len(todo) >= 6  # the manager, finance (the countersign, the receipt), the director, service


def company_names_are_distinct_names(demo_database: Database) -> None:
    names = [c["name"] for c in rows(demo_database, "crm_customer")]
    assert len(set(names)) == len(names)
    assert not [n for n in names if n[-1].isdigit()]  # drawn again when taken, not numbered


def test_a_taken_value_is_drawn_again_and_numbered_only_as_a_last_resort() -> None:
    taken = {"上海华信科技有限公司"}
    again = distinct_value("上海华信科技有限公司", demo.company_name, taken)
    assert again != "上海华信科技有限公司" and again.endswith("有限公司") and again in taken
    assert distinct_value("北京", lambda rng: "北京", taken) == "北京"
    assert distinct_value("北京", lambda rng: "北京", taken) == "北京2"
    assert taken >= {"北京", "北京2"}


def deals_close_as_their_stage_says(demo_database: Database) -> None:
    deals = rows(demo_database, "crm_opportunity")
    assert {d["stage"] for d in deals} == {"prospecting", "engaging", "won", "lost"}
    for deal in deals:
        closing = (deal["close_date"], deal["close_value"], deal["lost_reason"])
        if deal["stage"] in ("prospecting", "engaging"):
            assert closing == (None, None, None), deal
        elif deal["stage"] == "won":
            assert deal["close_value"] > 0 and deal["lost_reason"] is None, deal
        else:
            assert deal["close_value"] == 0 and deal["lost_reason"] is not None, deal
        if deal["stage"] == "prospecting":
            assert deal["engage_date"] is None, deal


def products_are_priced_above_cost_and_companies_founded_in_the_past(demo_database: Database) -> None:
    products = rows(demo_database, "crm_product")
    planned = next(count for form, count, _ in PLAN if form == "product")
    assert len({p["name"] for p in products}) == len(products) == int(planned * SCALE)  # none refused
    assert not [p["name"] for p in products if p["name"][-1].isdigit()]
    assert all(p["cost_price"] is None or p["cost_price"] <= p["sales_price"] for p in products)
    years = {c["year_established"] for c in rows(demo_database, "crm_customer")} - {None}
    assert years and all(1985 <= y <= NOW.year for y in years)
