"""A small package with a form and flows, installed on each database, the
composed engine with a fixed clock, and people to approve."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from engine.composition import Engine, compose
from engine.core.clock import FixedClock
from engine.definitions.flow_files import FlowDef
from engine.fields import FIELD_TYPES
from engine.flows.store import DEFINITIONS
from engine.packages import install_package
from engine.records.actor import Actor
from engine.store.database import Database

APP = {"schema_version": 1, "key": "shop", "label": "Shop", "version": "1.0.0"}
FORMS: dict[str, dict[str, Any]] = {
    "contract": {
        "key": "contract", "label": "Contract", "title_field": "title",
        "fields": [
            {"key": "title", "type": "text", "label": "Title", "required": True},
            {"key": "amount", "type": "number", "label": "Amount", "precision": 2},
            {"key": "stage", "type": "text", "label": "Stage"},
            {"key": "note", "type": "text", "label": "Note"},
            {"key": "cost", "type": "number", "label": "Cost"},
            {"key": "signed_on", "type": "date", "label": "Signed on"},
        ],
    },
}
NOW = dt.datetime(2026, 12, 4, 9, 30)
PEOPLE = ("sub", "ann", "bob", "cat", "dan", "eve")


@dataclass
class World:
    engine: Engine
    users: dict[str, int]
    database: Database

    @property
    def flows(self) -> Any:
        return self.engine.flows

    def actor(self, login: str) -> Actor:
        return Actor(self.users[login], "web")

    def record(self, **values: Any) -> int:
        values.setdefault("title", "Big deal")
        return int(self.engine.service("shop").create("contract", values, actor=Actor(self.users["sub"]))["id"])

    def get(self, record_id: int) -> dict[str, Any]:
        return self.engine.service("shop").get("contract", record_id)

    def publish(self, flow: Mapping[str, Any]) -> FlowDef:
        """Publish a flow definition (the flowdefs part does this at install)."""
        body = {"schema_version": 1, "form": "contract", "label": flow["key"], **flow}
        with self.database.transaction() as conn:
            version = conn.execute(sa.select(sa.func.coalesce(sa.func.max(DEFINITIONS.c.version), 0) + 1).where(
                DEFINITIONS.c.app == "shop", DEFINITIONS.c.kind == "flow", DEFINITIONS.c.key == flow["key"])).scalar()
            conn.execute(DEFINITIONS.insert().values(app="shop", kind="flow", key=flow["key"], version=version,
                                                     body=FlowDef.from_dict(body).to_dict(),
                                                     published_at=dt.datetime.now(dt.UTC)))
        self.engine.records.invalidate()
        return FlowDef.from_dict(body)

    def todo(self, login: str) -> list[int]:
        return [int(t.id) for t in self.flows.tasks(self.users[login], "todo").items]

    def act(self, login: str, action: str = "approve", **kw: Any) -> Any:
        tasks = self.todo(login)
        assert len(tasks) == 1, (login, tasks)
        return self.flows.act(tasks[0], action, actor=self.actor(login), **kw)

    def submit(self, record_id: int, **kw: Any) -> Any:
        return self.flows.submit("shop", "contract", record_id, actor=self.actor("sub"), **kw)


def approval(key: str, *logins: str, **settings: Any) -> dict[str, Any]:
    return {"key": key, "type": "approval", "approvers": [{"type": "members", "users": list(logins)}], **settings}


def write_package(root: Path) -> Path:
    (root / "forms").mkdir(parents=True)
    (root / "app.yaml").write_text(yaml.safe_dump(APP), encoding="utf-8")
    for key, form in FORMS.items():
        (root / "forms" / f"{key}.yaml").write_text(yaml.safe_dump({"schema_version": 1, **form}), encoding="utf-8")
    return root


@pytest.fixture
def world(database: Database, tmp_path: Path) -> World:
    install_package(database, write_package(tmp_path / "shop"), FIELD_TYPES)
    engine = compose(database, clock=FixedClock(NOW))
    users = {login: engine.org.create_user(login, login.title()).id for login in PEOPLE}
    return World(engine, users, database)


Flow = Callable[..., FlowDef]
