"""Every CRM report and dashboard runs on the demo data (a small scale of
it, on both databases) with rows in its result, and the sales reports run
on a slice of the maven-crm sample imported the way docs/crm.md says.

Named so pytest does not collect it until the query, chart and dashboard
branches of issue #14 are merged (it imports their modules): rename it to
test_crm_reports.py then."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.composition import compose
from engine.fields import FIELD_TYPES
from engine.records.actor import SYSTEM
from engine.store.database import Database
from runtime.demo import set_up_demo
from templates_lib.datasets import find_dataset, import_maven_pipeline, import_maven_reference
from tests.conftest import admin_execute, postgres_schema_database

# The reports the maven sample has data for: it holds accounts, agents,
# products and opportunities, no leads, tickets, feedback or contracts.
MAVEN_REPORTS = ("pipeline_funnel", "won_by_month", "win_rate_by_agent", "win_rate_by_manager",
                 "weighted_forecast", "top_customers", "won_amount", "open_pipeline")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """The demo at a tenth of its size: a few dozen tickets, contracts, receipts and feedback."""
    schema = None
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'qiqiao.sqlite3'}")
    else:
        database, schema = postgres_schema_database(request.getfixturevalue("postgres_url"))
    try:
        set_up_demo(database.url.render_as_string(hide_password=False), seed=3, scale=0.1)
        yield database
    finally:
        database.dispose()
        if schema is not None:
            admin_execute(request.getfixturevalue("postgres_url"), f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_every_report_has_rows_on_the_demo(demo: Database) -> None:
    engine = compose(demo)
    app = engine.records.app("crm")
    assert len(app.reports) == 16
    empty = [r.key for r in app.reports if not engine.reports.report("crm", r.key, actor=SYSTEM).result.rows]
    assert empty == []


def test_every_dashboard_opens_without_an_error(demo: Database) -> None:
    engine = compose(demo)
    for dashboard in engine.records.app("crm").dashboards:
        view = engine.reports.dashboard("crm", dashboard.key, actor=SYSTEM)
        errors = [(item.report, item.error) for item in view.items if item.error is not None]
        assert errors == [], dashboard.key


def test_the_sales_reports_run_on_the_maven_sample(tmp_path: Path) -> None:
    from engine.packages import install_package
    from engine.records.service import RecordService
    from engine.store.migrate import upgrade_system_tables
    from templates_lib.crm import PACKAGE_PATH

    source = find_dataset("maven-crm")
    folder = tmp_path / "maven"
    folder.mkdir()
    for name in ("accounts.csv", "products.csv", "sales_teams.csv"):
        (folder / name).write_bytes((source / name).read_bytes())
    with (source / "sales_pipeline.csv").open(encoding="utf-8", newline="") as whole:
        rows = list(csv.reader(whole))
    with (folder / "sales_pipeline.csv").open("w", encoding="utf-8", newline="") as part:
        csv.writer(part).writerows(rows[:801])  # the header and 800 opportunities of every stage
    database = Database(f"sqlite:///{tmp_path / 'crm.sqlite3'}")
    upgrade_system_tables(database)
    service = RecordService(database, install_package(database, PACKAGE_PATH, FIELD_TYPES))
    import_maven_reference(service, folder)
    assert import_maven_pipeline(service, folder, value_map={"product": {"GTXPro": "GTX Pro"}}).created > 700
    engine = compose(database)
    empty = [key for key in MAVEN_REPORTS if not engine.reports.report("crm", key, actor=SYSTEM).result.rows]
    assert empty == []
