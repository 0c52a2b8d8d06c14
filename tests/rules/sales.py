"""A sales team and a small lead/account package for the assignment, pool,
notify, todo and webhook actions: forms with options, money, member, e-mail
and phone fields, and an organization (a sales department with a
sub-department, a role, a deactivated member)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.composition import Engine, compose
from engine.core.clock import FixedClock
from engine.fields import FIELD_TYPES
from engine.packages import install_package
from engine.store.database import Database
from tests.rules.conftest import NOW, write_package

FORMS: dict[str, dict[str, Any]] = {
    "lead": {
        "key": "lead", "label": "Lead", "title_field": "name",
        "fields": [
            {"key": "name", "type": "text", "label": "Name", "required": True},
            {"key": "status", "type": "select", "label": "Status", "options": [
                {"key": "open", "label": {"zh": "跟进中", "en": "Open"}},
                {"key": "converted", "label": {"zh": "已转化", "en": "Converted"}}]},
            {"key": "amount", "type": "money", "label": "Amount", "precision": 2},
            {"key": "email", "type": "email", "label": "E-mail"},
            {"key": "phone", "type": "phone", "label": "Phone"},
            {"key": "rep", "type": "member", "label": "Rep"},
            {"key": "follow_up", "type": "date", "label": "Follow up on"},
            {"key": "account", "type": "relation", "target": "account", "label": "Account"},
            {"key": "note", "type": "textarea", "label": "Note"},
            {"key": "external_id", "type": "text", "label": "External id"},
        ],
    },
    "account": {
        "key": "account", "label": "Account", "title_field": "name",
        "fields": [
            {"key": "name", "type": "text", "label": "Name", "required": True},
            {"key": "in_public_pool", "type": "boolean", "label": "In pool", "default": False},
            {"key": "pool_entered_at", "type": "datetime", "label": "Entered pool", "readonly": True},
            {"key": "pool_reason", "type": "select", "label": "Why", "options": [
                {"key": "overdue", "label": {"zh": "超期未跟进", "en": "Overdue"}},
                {"key": "released", "label": {"zh": "主动放弃", "en": "Released"}}]},
            {"key": "previous_owner", "type": "member", "label": "Previous owner", "readonly": True},
            {"key": "assigned_at", "type": "datetime", "label": "Assigned at", "readonly": True},
        ],
    },
}


@dataclass
class Team:
    """The people of the sales organization, by login: ann, bob, cat (sales),
    dan (sales / east), eve (deactivated, sales), max (head of sales)."""

    ids: dict[str, int]

    def __getitem__(self, login: str) -> int:
        return self.ids[login]

    def login(self, user_id: int | None) -> str | None:
        return next((k for k, v in self.ids.items() if v == user_id), None)


def build_team(engine: Engine) -> Team:
    org = engine.org
    ids = {login: org.create_user(login, name, email=f"{login}@example.com").id
           for login, name in (("ann", "Ann Li"), ("bob", "Bob Wu"), ("cat", "Cat Xu"), ("dan", "Dan Ma"),
                               ("eve", "Eve Qi"), ("max", "Max Zhou"))}
    sales = org.create_department("销售部", code="sales", head_id=ids["max"])
    east = org.create_department("华东", parent_id=sales.id, code="east")
    for login in ("ann", "bob", "cat", "eve"):
        org.add_member(ids[login], sales.id)
    org.add_member(ids["dan"], east.id)
    org.create_role("rep", "Rep")
    for login in ("bob", "cat"):
        org.assign_role("rep", ids[login])
    org.deactivate_user(ids["eve"])
    return Team(ids)


Setup = Callable[[list[dict[str, Any]]], tuple[Engine, Team]]


def installer(database: Database, root: Path) -> Setup:
    def setting_up(rules: list[dict[str, Any]]) -> tuple[Engine, Team]:
        install_package(database, write_package(root / "shop", rules, FORMS), FIELD_TYPES)
        engine = compose(database, clock=FixedClock(NOW))
        return engine, build_team(engine)

    return setting_up


def rule(key: str, actions: list[dict[str, Any]], *, form: str = "lead", trigger: str = "record_created",
         **more: Any) -> dict[str, Any]:
    return {"key": key, "label": key, "form": form, "trigger": {"type": trigger}, "actions": actions, **more}
