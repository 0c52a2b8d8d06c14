"""Navigation: the apps and menu items a viewer may open, by their CRM roles
(and what those roles let them do with records), on both databases."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

import pytest

from engine.composition import compose
from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.org.permissions import parse_role
from engine.org.service import OrgService
from engine.packages.navigation import AppNav, navigation
from engine.records.access import AppAccess
from engine.records.actor import Actor
from engine.store.database import Database

_logins = itertools.count()
ALL_GROUPS = {
    "reports": ["sales", "service", "collections"],
    "customers": ["customer", "contact", "follow_up"],
    "sales": ["opportunity", "quote", "contract", "payment_plan", "payment_receipt", "product"],
    "service": ["service_ticket", "knowledge_article", "feedback"],
    "marketing": ["campaign", "lead"],
    "settings": ["sales_agent"],
}


def person(database: Database, *roles: str, admin: bool = False) -> Callable[[str], AppAccess]:
    """A new user holding ``roles`` of the CRM; their access per app, as the web app builds it."""
    org = OrgService(database)
    user = org.create_user(f"user{next(_logins)}", "Someone", is_admin=admin)
    for role in roles:
        org.assign_role(f"crm:{role}", user.id)

    def access(app: str) -> AppAccess:
        held = tuple(parse_role(r.key, r.grants, r.label) for r in org.roles_of(user.id, app=app))
        return AppAccess(org.principal(user.id, app=app), held, app=app)

    return access


def menu(database: Database, access_for: Callable[[str], AppAccess | None]) -> dict[str, list[str]]:
    records = compose(database).records
    found = navigation([records.app(k) for k in records.app_keys()], access_for)
    if not found:
        return {}
    (crm,) = found
    return {g.key: [i.key for i in g.items] for g in crm.groups}


def test_admins_and_the_system_see_every_form_in_the_packages_order(crm_database: Database) -> None:
    assert menu(crm_database, person(crm_database, admin=True)) == ALL_GROUPS
    assert menu(crm_database, lambda app: None) == ALL_GROUPS


def test_a_sales_rep_sees_no_finance_or_marketing_forms(crm_database: Database) -> None:
    assert menu(crm_database, person(crm_database, "sales")) == {
        # A dashboard shows to whoever reads one of its reports' forms (contracts, tickets).
        "reports": ["sales", "service", "collections"],
        "customers": ["customer", "contact", "follow_up"],
        "sales": ["opportunity", "quote", "contract", "product"],  # no payment plans or receipts
        "service": ["service_ticket", "knowledge_article"],
        "marketing": ["lead"],
        "settings": ["sales_agent"],
    }


def test_groups_with_nothing_visible_disappear(crm_database: Database) -> None:
    assert menu(crm_database, person(crm_database, "finance")) == {
        "reports": ["collections"],
        "customers": ["customer"],
        "sales": ["quote", "contract", "payment_plan", "payment_receipt", "product"],
    }
    assert menu(crm_database, person(crm_database, "service_agent")) == {
        "reports": ["service"], "customers": ["customer", "contact"], "sales": ["product"],
        "service": ["service_ticket", "knowledge_article", "feedback"],
    }
    assert menu(crm_database, person(crm_database, "marketing")) == {
        "reports": ["sales"], "customers": ["customer"], "sales": ["product"], "marketing": ["campaign", "lead"]}


def test_roles_combine_and_management_reads_everything(crm_database: Database) -> None:
    assert menu(crm_database, person(crm_database, "management")) == ALL_GROUPS
    both = menu(crm_database, person(crm_database, "finance", "marketing"))
    assert both["sales"] == ["quote", "contract", "payment_plan", "payment_receipt", "product"]
    assert both["marketing"] == ["campaign", "lead"]


def test_someone_without_a_role_sees_no_app(crm_database: Database) -> None:
    assert menu(crm_database, person(crm_database)) == {}


def test_items_and_groups_carry_their_labels(crm_database: Database) -> None:
    records = compose(crm_database).records
    (crm,) = navigation([records.app("crm")], person(crm_database, "sales"))
    assert isinstance(crm, AppNav) and (crm.key, crm.label) == ("crm", Label("客户关系管理", "CRM"))
    reports, customers = crm.groups[:2]
    assert (customers.label, customers.icon) == (Label("客户", "Customers"), "users")
    assert customers.items[0].label == Label("客户", "Customer") and customers.items[0].kind == "form"
    assert (reports.label, reports.items[0].kind) == (Label("报表", "Reports"), "dashboard")
    assert reports.items[0].label == Label("销售看板", "Sales dashboard")


def test_navigation_takes_well_under_a_millisecond(crm_database: Database) -> None:
    records = compose(crm_database).records
    access_for = person(crm_database, "sales", "service_agent")
    accesses = {"crm": access_for("crm")}
    apps = [records.app(k) for k in records.app_keys()]
    timings = []
    for _ in range(300):
        # A new AppAccess each time: its rights are worked out anew, as on a request's first look.
        fresh = {k: AppAccess(a.principal, a.roles, app=a.app) for k, a in accesses.items()}
        start = time.perf_counter()
        navigation([records.app(k) for k in records.app_keys()], fresh.__getitem__)
        timings.append(time.perf_counter() - start)
    timings.sort()
    assert apps and timings[len(timings) // 2] < 0.001, timings[len(timings) // 2]


def test_a_sales_rep_sees_their_customers_and_the_pool_but_no_cost(crm_database: Database) -> None:
    service = compose(crm_database).service("crm")
    access_for = person(crm_database, "sales")
    access = access_for("crm")
    me = access.principal.user_id
    other = OrgService(crm_database).create_user(f"user{next(_logins)}", "Other").id
    mine = service.create("customer", {"name": f"Mine {me}", "owner": me})
    pool = service.create("customer", {"name": f"Pool {me}", "owner": None, "in_public_pool": True})
    theirs = service.create("customer", {"name": f"Theirs {me}", "owner": other})
    service.create("product", {"name": f"Widget {me}", "sales_price": "10", "cost_price": "4"})
    actor = Actor(user_id=me, access=access)
    seen = {r["id"] for r in service.list("customer", actor=actor, limit=1000)["records"]}
    assert {mine["id"], pool["id"]} <= seen and theirs["id"] not in seen
    products = service.list("product", actor=actor, limit=1000)["records"]
    assert products and all("cost_price" not in p and "sales_price" in p for p in products)
    # Claiming a pool customer makes it theirs; giving it to someone else is refused (no assign).
    claimed = service.update("customer", pool["id"], {"owner": me, "in_public_pool": False},
                             version=pool["version"], actor=actor)
    assert claimed["owner"] == me
    with pytest.raises(ValidationError) as refused:
        service.update("customer", mine["id"], {"owner": other}, version=mine["version"], actor=actor)
    assert "owner" in refused.value.field_errors
