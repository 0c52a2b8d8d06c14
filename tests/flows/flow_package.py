"""A small package with approval flows, written to a folder: a deal form
and the roles its flows name. ``APPROVAL`` is a flow with every kind of
node; a test changes it with ``flow(...)``."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

APP = {"schema_version": 1, "key": "shop", "label": "Shop", "version": "1.0.0"}
DEAL = {
    "schema_version": 1, "key": "deal", "label": "Deal", "title_field": "name",
    "fields": [
        {"key": "name", "type": "text", "label": "Name", "required": True},
        {"key": "amount", "type": "number", "label": "Amount", "precision": 2},
        {"key": "discount", "type": "number", "label": "Discount", "precision": 2},
        {"key": "stage", "type": "text", "label": "Stage"},
        {"key": "closed_on", "type": "date", "label": "Closed on"},
        {"key": "reviewer", "type": "member", "label": "Reviewer"},
    ],
}
ROLES = {"schema_version": 1, "roles": [
    {"key": "finance", "label": "Finance", "grants": {"deal": {"actions": ["read", "update"], "read": "all"}}},
    {"key": "general_manager", "label": "GM", "grants": {"deal": {"actions": ["read"], "read": "all"}}},
]}
APPROVAL: dict[str, Any] = {
    "schema_version": 1, "key": "deal_approval", "label": {"zh": "交易审批", "en": "Deal approval"},
    "form": "deal", "trigger": {"type": "submit"}, "auto_pass": {"submitter": True, "repeated": True},
    "nodes": [
        {"key": "manager", "type": "approval", "label": "Manager",
         "approvers": [{"type": "department_head", "levels": 1}], "mode": "any",
         "fields": {"discount": "editable", "amount": "readonly"}},
        {"key": "size", "type": "exclusive", "branches": [
            {"key": "big", "condition": "amount > 1000000", "priority": 1,
             "nodes": [{"key": "gm", "type": "approval", "approvers": [{"type": "role", "role": "general_manager"}]}]},
            {"key": "normal", "default": True, "nodes": []},
        ]},
        {"key": "both", "type": "parallel", "branches": [
            {"key": "money", "nodes": [{"key": "finance_sign", "type": "approval", "mode": "all",
                                        "approvers": [{"type": "role", "role": "finance"}]}]},
            {"key": "copy", "nodes": [{"key": "tell", "type": "cc", "recipients": [{"type": "submitter"}]}]},
        ]},
        {"key": "fill", "type": "handle", "approvers": [{"type": "role", "role": "finance"}],
         "fields": {"closed_on": "required"}},
        {"key": "stamp", "type": "automation", "actions": [{"type": "update_record", "values": {"stage": '"won"'}}]},
    ],
}


def flow(**changes: Any) -> dict[str, Any]:
    """``APPROVAL`` with top-level keys replaced."""
    return {**copy.deepcopy(APPROVAL), **changes}


def write_flow_package(root: Path, flows: list[dict[str, Any]], *, roles: dict[str, Any] | None = ROLES,
                       raw: dict[str, str] | None = None) -> Path:
    """The shop package at ``root`` with ``flows`` (one file each, by key)
    and files written as given (``raw``: name -> text)."""
    (root / "forms").mkdir(parents=True, exist_ok=True)
    (root / "flows").mkdir(exist_ok=True)
    dump = lambda data: yaml.safe_dump(data, allow_unicode=True, sort_keys=False)  # noqa: E731
    (root / "app.yaml").write_text(dump(APP), encoding="utf-8")
    (root / "forms" / "deal.yaml").write_text(dump(DEAL), encoding="utf-8")
    if roles is not None:
        (root / "roles.yaml").write_text(dump(roles), encoding="utf-8")
    for item in flows:
        (root / "flows" / f"{item['key']}.yaml").write_text(dump(item), encoding="utf-8")
    for name, text in (raw or {}).items():
        (root / name).write_text(text, encoding="utf-8")
    return root
