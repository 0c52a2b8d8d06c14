"""The CRM's contract approval on a desktop in Chinese (the scenario is in
``approval_scenario``; the phone's run is ``test_flows_pages_phone``)."""

from __future__ import annotations

from typing import Any

from tests.web.approval_scenario import scenario
from tests.web.conftest import DESKTOP, Site


def test_contract_approval_on_a_desktop_in_chinese(browser: Any, site: Site) -> None:
    scenario(browser, site, DESKTOP, "zh", "审批合同")
