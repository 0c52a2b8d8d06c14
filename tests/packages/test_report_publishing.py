"""A package's reports and dashboards are published with the app on
install (kinds ``report`` and ``dashboard``), read back with the definition
row as their version, and published again on upgrade only when they
changed — a new version, so no result cached for the old one is served."""

from __future__ import annotations

from pathlib import Path

from engine.fields import FIELD_TYPES
from engine.packages import install_package, installed_app
from engine.packages.parts import upgrade_parts
from engine.store.database import Database
from tests.definitions.report_package import BY_STAGE, WON, dashboard, report, write_report_package


def test_install_publishes_reports_and_upgrade_publishes_only_changes(database: Database, tmp_path: Path) -> None:
    root = write_report_package(tmp_path / "shop")
    installed = install_package(database, root, FIELD_TYPES)
    app = installed_app(database, "shop")
    won, board = app.report("won"), app.dashboard("board")
    assert won is not None and board is not None and won.version > 0 and board.version > 0
    assert won.to_dict() == installed.report("won").to_dict()  # type: ignore[union-attr]
    assert board.to_dict() == installed.dashboard("board").to_dict()  # type: ignore[union-attr]
    assert board.items[1].report == "by_stage" and [r.key for r in app.reports] == ["by_stage", "won"]

    unchanged = upgrade_parts(database, root, FIELD_TYPES)
    assert unchanged.reports_published == [] and unchanged.dashboards_published == []
    assert installed_app(database, "shop").report("won").version == won.version  # type: ignore[union-attr]

    write_report_package(root, [report(label="Won v2"), BY_STAGE, report(key="extra")],
                         [dashboard(roles=[])])
    changed = upgrade_parts(database, root, FIELD_TYPES)
    assert changed.reports_published == ["extra", "won"] and changed.dashboards_published == ["board"]
    now = installed_app(database, "shop")
    second = now.report("won")
    assert second is not None and second.version > won.version and second.label.en == "Won v2"
    assert now.report("extra") is not None and now.dashboard("board").roles == ()  # type: ignore[union-attr]
    assert now.report("by_stage").version == app.report("by_stage").version  # type: ignore[union-attr]
    assert WON["alerts"][0]["every"] == second.alerts[0].every
