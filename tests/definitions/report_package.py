"""A small package with reports and dashboards, written to a folder: a deal
form, a role, two reports and a dashboard. A test changes them with
``report(...)`` / ``dashboard(...)``."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

APP = {"schema_version": 1, "key": "shop", "label": "Shop", "version": "1.0.0"}
DEAL = {
    "schema_version": 1, "key": "deal", "label": "Deal", "title_field": "name",
    "fields": [
        {"key": "name", "type": "text", "label": "Name"},
        {"key": "amount", "type": "money", "label": "Amount"},
        {"key": "stage", "type": "select", "label": "Stage",
         "options": [{"key": "open"}, {"key": "won"}, {"key": "lost"}]},
        {"key": "closed_on", "type": "date", "label": "Closed on"},
    ],
}
ROLES = {"schema_version": 1, "roles": [
    {"key": "seller", "label": "Seller", "grants": {"deal": {"actions": ["read"], "read": "all"}}},
]}
WON: dict[str, Any] = {
    "schema_version": 1, "key": "won", "label": {"zh": "赢单", "en": "Won"},
    "query": {"form": "deal",
              "measures": [{"key": "amount", "agg": "sum", "field": "amount"}, {"key": "count", "agg": "count"}],
              "dimensions": [{"key": "month", "field": "closed_on", "grain": "month"}],
              "filter": {"field": "stage", "op": "eq", "value": "won"}, "order": ["month"], "limit": 120},
    "chart": {"type": "table"},
    "alerts": [{"key": "low", "measure": "amount", "op": "lt", "value": 10, "every": "1d",
                "notify": {"to": [{"role": "seller"}], "title": "Low", "text": "Won amount is low"}}],
}
BY_STAGE: dict[str, Any] = {
    "schema_version": 1, "key": "by_stage", "label": "By stage",
    "query": {"form": "deal", "measures": [{"key": "count", "agg": "count"}],
              "dimensions": [{"key": "stage", "field": "stage"}]},
    "chart": {"type": "table"},
}
BOARD: dict[str, Any] = {
    "schema_version": 1, "key": "board", "label": "Board", "roles": ["seller"],
    "filters": [{"key": "period", "type": "date_range", "default": "this_year",
                 "fields": {"won": "closed_on"}},
                {"key": "stage", "type": "select", "options_from": "deal.stage", "fields": {"by_stage": "stage"}}],
    "items": [{"report": "won", "x": 0, "y": 0, "w": 6, "h": 4},
              {"report": "by_stage", "x": 6, "y": 0, "w": 6, "h": 4}],
}
MENUS = {"schema_version": 1, "groups": [{"key": "main", "label": "Main",
                                          "items": ["deal", {"dashboard": "board"}]}]}


def report(**changes: Any) -> dict[str, Any]:
    """``WON`` with top-level keys replaced."""
    return {**copy.deepcopy(WON), **changes}


def dashboard(**changes: Any) -> dict[str, Any]:
    """``BOARD`` with top-level keys replaced."""
    return {**copy.deepcopy(BOARD), **changes}


def write_report_package(root: Path, reports: list[dict[str, Any]] | None = None,
                         dashboards: list[dict[str, Any]] | None = None, *,
                         menus: dict[str, Any] | None = MENUS, raw: dict[str, str] | None = None) -> Path:
    """The shop package at ``root`` with ``reports`` and ``dashboards`` (one
    file each, by key; by default ``WON``, ``BY_STAGE`` and ``BOARD``) and
    ``raw`` files (name -> text) as written."""
    reports = [WON, BY_STAGE] if reports is None else reports
    dashboards = [BOARD] if dashboards is None else dashboards
    for folder in ("forms", "reports", "dashboards"):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for old in (root / folder).glob("*.yaml"):
            old.unlink()
    files: dict[str, Any] = {"app.yaml": APP, "forms/deal.yaml": DEAL, "roles.yaml": ROLES}
    if menus is not None:
        files["menus.yaml"] = menus
    files.update({f"reports/{r['key']}.yaml": r for r in reports})
    files.update({f"dashboards/{d['key']}.yaml": d for d in dashboards})
    for name, data in files.items():
        (root / name).write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    for name, text in (raw or {}).items():
        (root / name).write_text(text, encoding="utf-8")
    return root
