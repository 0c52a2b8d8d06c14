"""docs/reports.md documents every registered aggregation, grain, chart
type and global filter (a new one without its ``### key`` heading fails
here), every key of the report and dashboard files, and shows the CRM's
won_by_month report as it is.

Named so pytest does not collect it until the query, chart and dashboard
branches of issue #14 are merged (it imports their modules): rename it to
test_reports_docs.py then."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.core.registry import Registry
from engine.definitions.report_files import dashboard_schema, report_schema
from engine.reports.charts import CHART_TYPES
from engine.reports.dates import GRAINS
from engine.reports.filters import GLOBAL_FILTERS
from engine.reports.measures import AGGREGATIONS
from templates_lib.crm import PACKAGE_PATH

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "reports.md").read_text(encoding="utf-8")
SECTIONS: list[tuple[Registry[Any], str]] = [(AGGREGATIONS, "aggregations"), (GRAINS, "grains"),
                                             (CHART_TYPES, "chart types"), (GLOBAL_FILTERS, "global filters")]
# The entries: a heading that is a registry key (the others are capitalised words).
DOCUMENTED = re.findall(r"^### ([a-z_]+)\s*$", DOCS, re.MULTILINE)


def section(title: str, level: str = "##") -> str:
    found = re.search(rf"^{level} {re.escape(title)}\n(.*?)(?=^#{{1,{len(level)}}} |\Z)", DOCS,
                      re.MULTILINE | re.DOTALL)
    assert found, f"docs/reports.md has no '{level} {title}' section"
    return found.group(1)


@pytest.mark.parametrize(("registry", "title"), SECTIONS, ids=[t for _, t in SECTIONS])
def test_every_registered_key_has_its_heading(registry: Registry[Any], title: str) -> None:
    keys: list[str] = list(registry.keys())
    missing = [key for key in keys if key not in DOCUMENTED]
    assert missing == [], f"docs/reports.md has no '### key' for: {', '.join(missing)} ({title})"


def test_no_heading_documents_a_key_that_is_not_registered() -> None:
    known = {key for registry, _ in SECTIONS for key in list(registry.keys())}
    assert [key for key in DOCUMENTED if key not in known] == []


def test_every_key_of_the_files_is_in_a_table() -> None:
    report_table, dashboard_table = section("The report file"), section("Dashboards")
    assert [k for k in report_schema()["properties"] if f"| `{k}` |" not in report_table] == []
    assert [k for k in dashboard_schema()["properties"] if f"| `{k}` |" not in dashboard_table] == []
    alerts = section("Alerts (警报)")
    assert [k for k in report_schema()["$defs"]["alert"]["properties"] if f"| `{k}` |" not in alerts] == []


def test_the_example_is_the_crm_report() -> None:
    example = re.search(r"```yaml\n(.*?)```", section("The report file"), re.DOTALL)
    assert example is not None
    real = (PACKAGE_PATH / "reports" / "won_by_month.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(example.group(1)) == yaml.safe_load(real)


def test_every_crm_report_and_dashboard_is_listed() -> None:
    crm = section("The CRM's dashboards")
    for folder in ("reports", "dashboards"):
        for file in sorted((PACKAGE_PATH / folder).glob("*.yaml")):
            assert f"`{file.stem}`" in crm, f"docs/reports.md does not list the CRM's {folder[:-1]} {file.stem}"
