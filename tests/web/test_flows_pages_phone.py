"""The CRM's contract approval on a phone in English (the scenario is in
``approval_scenario``; a module of its own so that it runs on another test
worker than the desktop's run, ``test_flows_pages``)."""

from __future__ import annotations

from typing import Any

from tests.web.approval_scenario import scenario
from tests.web.conftest import PHONE, Site


def test_contract_approval_on_a_phone_in_english(browser: Any, site: Site) -> None:
    scenario(browser, site, PHONE, "en", "Phone contract")
