"""A package's flows are read from ``flows/*.yaml``, published with the
app on install (kind ``flow``), read back with the definition row as their
version, and published again on upgrade only when they changed: a running
instance's version stays readable."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.core.errors import NotFoundError
from engine.definitions import load_package
from engine.definitions.flow_files import FlowDef
from engine.fields import FIELD_TYPES
from engine.packages import install_package, installed_app
from engine.packages.install import flow_definition
from engine.packages.parts import upgrade_parts
from engine.store.database import Database
from tests.flows.flow_package import APPROVAL, flow, write_flow_package


def test_the_loader_reads_the_flows_into_the_app(tmp_path: Path) -> None:
    app = load_package(write_flow_package(tmp_path / "shop", [APPROVAL]), FIELD_TYPES)
    found = app.flow("deal_approval")
    assert found is not None and app.flow("nope") is None
    assert found.file == "flows/deal_approval.yaml" and found.form == "deal" and found.version == 0
    assert found.trigger.type == "submit" and found.setting("auto_pass") == {"submitter": True, "repeated": True}
    assert [p.node.key for p in found.walk()] == ["manager", "size", "gm", "both", "finance_sign", "tell",
                                                   "fill", "stamp"]
    assert found.node("gm") is not None and found.places()["gm"].branch == "big"
    assert FlowDef.from_dict(found.to_dict(), found.file) == found


def test_install_publishes_flows_and_upgrade_publishes_only_changes(database: Database, tmp_path: Path) -> None:
    root = write_flow_package(tmp_path / "shop", [APPROVAL, flow(key="quick", nodes=[])])
    installed = install_package(database, root, FIELD_TYPES)
    app = installed_app(database, "shop")
    first = app.flow("deal_approval")
    assert first is not None and first.version > 0
    assert first == installed.flow("deal_approval")  # versions and files are not part of equality
    assert [f.key for f in app.flows] == ["deal_approval", "quick"]

    unchanged = upgrade_parts(database, root, FIELD_TYPES)
    assert unchanged.flows_published == []
    assert installed_app(database, "shop").flow("deal_approval").version == first.version  # type: ignore[union-attr]

    write_flow_package(root, [flow(label="Deal approval v2"), flow(key="quick", nodes=[]),
                              flow(key="extra", enabled=False, nodes=[])])
    report = upgrade_parts(database, root, FIELD_TYPES)
    assert report.flows_published == ["deal_approval", "extra"]
    now = installed_app(database, "shop")
    second = now.flow("deal_approval")
    assert second is not None and second.version > first.version and second.label.en == "Deal approval v2"
    assert now.flow("extra") is not None and now.flow("extra").enabled is False  # type: ignore[union-attr]
    # The instance that started on the first version still reads it.
    assert flow_definition(database, first.version) == first
    assert flow_definition(database, first.version).version == first.version
    with pytest.raises(NotFoundError):
        flow_definition(database, second.version + 1000)
