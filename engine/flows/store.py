"""The flow tables as SQLAlchemy Core, the statements compiled once, and the
flow definitions an instance runs on (by published version, cached by id:
an instance keeps the version it started on)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.errors import NotFoundError
from engine.core.i18n import Label
from engine.definitions.flow_files import FlowDef
from engine.store.driver import DriverStatement
from engine.store.models import Definition, FlowEvent, FlowInstance, FlowJob, FlowTask, User

INSTANCES = cast(sa.Table, FlowInstance.__table__)
JOBS = cast(sa.Table, FlowJob.__table__)
TASKS = cast(sa.Table, FlowTask.__table__)
EVENTS = cast(sa.Table, FlowEvent.__table__)
DEFINITIONS = cast(sa.Table, Definition.__table__)
USERS = cast(sa.Table, User.__table__)

# Values go as parameters: each statement compiles once. A submit or an
# approval runs these every time: they go to the driver as SQL text (see
# engine.store.driver), with every column given.
INSERT_INSTANCE = DriverStatement(INSTANCES.insert().returning(INSTANCES.c.id),
                                  [c.key for c in INSTANCES.c if c.key != "id"])
INSERT_JOB = DriverStatement(JOBS.insert().returning(JOBS.c.id), [c.key for c in JOBS.c if c.key != "id"])
# Every task of a node in one statement, each id back with its ``seq`` (distinct
# within a node's batch): asking SQLAlchemy to sort by parameter order would
# make it insert row by row on SQLite.
INSERT_TASKS = TASKS.insert().returning(TASKS.c.id, TASKS.c.seq)
INSERT_EVENT = DriverStatement(EVENTS.insert(), [c.key for c in EVENTS.c if c.key != "id"])
# A transition moves the instance from the version it read to the next one:
# a second writer that read the same version updates nothing.
UPDATE_INSTANCE = DriverStatement(INSTANCES.update().where(
    INSTANCES.c.id == sa.bindparam("_id"), INSTANCES.c.lock_version == sa.bindparam("_version")),
    ["status", "ended_at", "current", "state", "lock_version", "_id", "_version"])
UPDATE_JOB = JOBS.update().where(JOBS.c.id == sa.bindparam("_id"))
UPDATE_TASK = TASKS.update().where(TASKS.c.id == sa.bindparam("_id"))
# FOR UPDATE on PostgreSQL; SQLite renders nothing (its writers are serialized by BEGIN IMMEDIATE).
# With the submitter's name, for the view the action answers with (only the instance row is locked).
LOCK_INSTANCE = (
    sa.select(INSTANCES, USERS.c.name.label("submitter_name"))
    .join(USERS, USERS.c.id == INSTANCES.c.submitter_id, isouter=True)
    .where(INSTANCES.c.id == sa.bindparam("id")).with_for_update(of=INSTANCES)
)
PENDING_JOBS = sa.select(JOBS).where(JOBS.c.instance_id == sa.bindparam("id"),
                                     JOBS.c.status == "pending").order_by(JOBS.c.id)
JOB_TASKS = sa.select(TASKS).where(TASKS.c.job_id == sa.bindparam("job")).order_by(TASKS.c.seq, TASKS.c.id)
# Every open task of an instance (but one) given up: a withdrawn, rejected or returned flow.
CANCEL_OPEN = TASKS.update().where(
    TASKS.c.instance_id == sa.bindparam("_instance"), TASKS.c.box.in_(("todo", "queued")),
    TASKS.c.id != sa.bindparam("_keep")).values(box="done", outcome=sa.bindparam("_outcome"),
                                                acted_at=sa.bindparam("_at"))
# The open tasks of a decided node given up.
CANCEL_TASKS = TASKS.update().where(TASKS.c.id.in_(sa.bindparam("_ids", expanding=True))).values(
    box="done", outcome="cancelled", acted_at=sa.bindparam("_at"))
TASK_BY_ID = sa.select(TASKS).where(TASKS.c.id == sa.bindparam("id"))
USER_NAMES = sa.select(USERS.c.id, USERS.c.name).where(USERS.c.id.in_(sa.bindparam("ids", expanding=True)))
DEFINITION_BODY = sa.select(DEFINITIONS.c.app, DEFINITIONS.c.body).where(
    DEFINITIONS.c.id == sa.bindparam("id"), DEFINITIONS.c.kind == "flow")
NEWEST_FLOWS = sa.select(DEFINITIONS.c.id, DEFINITIONS.c.key, DEFINITIONS.c.version, DEFINITIONS.c.body).where(
    DEFINITIONS.c.app == sa.bindparam("app"), DEFINITIONS.c.kind == "flow",
).order_by(DEFINITIONS.c.key, DEFINITIONS.c.version.desc())


def names(conn: Connection, ids: set[int]) -> dict[int, str]:
    """User display names, one query for all of them."""
    if not ids:
        return {}
    return {int(i): str(n) for i, n in conn.execute(USER_NAMES, {"ids": sorted(ids)})}


class FlowDefinitions:
    """Flows by published version (a definition row id, never changing once
    written, so cached forever) and each app's newest flows (cached by the
    app's newest definition id, which any publish moves)."""

    def __init__(self) -> None:
        self._by_id: dict[int, FlowDef] = {}
        self._newest: dict[str, tuple[int, dict[str, FlowDef]]] = {}
        self._lock = threading.Lock()

    def version(self, conn: Connection, definition_id: int) -> FlowDef:
        found = self._by_id.get(definition_id)
        if found is None:
            row = conn.execute(DEFINITION_BODY, {"id": definition_id}).first()
            if row is None:
                raise NotFoundError(Label(f"流程版本 {definition_id} 不存在",
                                          f"Flow version {definition_id} does not exist"),
                                    details={"definition": definition_id})
            found = FlowDef.from_dict(row.body, version=definition_id)
            with self._lock:
                self._by_id[definition_id] = found
        return found

    def newest(self, conn: Connection, app: str, stamp: int) -> dict[str, FlowDef]:
        """The newest version of each flow of ``app``, by key."""
        cached = self._newest.get(app)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        flows: dict[str, FlowDef] = {}
        for row in conn.execute(NEWEST_FLOWS, {"app": app}):
            if row.key not in flows:
                flows[row.key] = self._by_id.get(row.id) or FlowDef.from_dict(row.body, version=int(row.id))
        with self._lock:
            self._by_id.update({f.version: f for f in flows.values()})
            self._newest[app] = (stamp, flows)
        return flows


def as_dict(row: Mapping[str, Any] | Any) -> dict[str, Any]:
    return dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
