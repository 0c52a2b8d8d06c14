"""One composition root (engine/composition.py): the web app and the CLI get
their services from ``compose``, so a subscriber registered once hears the
writes of both."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.composition import Engine, on_compose
from engine.records.events import RecordEvent
from engine.store.database import Database
from runtime.app import create_app
from runtime.cli import main
from runtime.services import Services


@pytest.fixture
def heard() -> Iterator[list[RecordEvent]]:
    events: list[RecordEvent] = []

    def install(engine: Engine) -> None:
        engine.bus.subscribe(events.append)

    remove = on_compose(install)
    yield events
    remove()


def qiqiao(url: str, *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env={"QIQIAO_DATABASE_URL": url}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_cli_import_reaches_the_subscribers_the_web_app_has(tmp_path: Path, heard: list[RecordEvent]) -> None:
    url = f"sqlite:///{tmp_path / 'qiqiao.sqlite3'}"
    qiqiao(url, "init")
    qiqiao(url, "template", "install", "crm")
    source = tmp_path / "products.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["product", "sales_price"], ["GTX Basic", "550"], ["GTX Pro", "4821"]])
    qiqiao(url, "import", "crm", "product", str(source), "--map", "product=name",
           "--map", "sales_price=sales_price", "--locale", "en")
    assert [(e.form, e.kind, e.source) for e in heard] == [("product", "record.created", "import")] * 2
    assert [e.record["name"] for e in heard] == ["GTX Basic", "GTX Pro"]

    app = create_app({"DATABASE": Database(url), "TESTING": True})
    services: Services = app.extensions["qiqiao"]
    services.records.get("crm").create("product", {"name": "From the web", "sales_price": 1})
    assert heard[-1].record["name"] == "From the web"
    assert services.records.get("crm").bus is services.bus
