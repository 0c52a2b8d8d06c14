"""Reading flows: instances, history, the inbox, counts and the record as
a task's assignee sees it. The inbox is one index range per page
(``assignee_id, box, id``), keyset by ``before``; names come in one query."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.errors import NotFoundError, PermissionDenied
from engine.core.i18n import Label
from engine.definitions.flow_files import FlowDef
from engine.flows import store
from engine.flows.run import START, START_NODE
from engine.flows.views import EventView, InstanceView, TaskPage, TaskView
from engine.records.actor import Actor
from engine.records.reader import utc

if TYPE_CHECKING:
    from engine.flows.store import FlowDefinitions

_T, _I = store.TASKS, store.INSTANCES
_SUBMITTER = store.USERS.alias("submitter")
_TASK_ROWS = sa.select(
    _T.c.id, _T.c.instance_id, _T.c.app, _T.c.node, _T.c.kind, _T.c.assignee_id, _T.c.box, _T.c.outcome,
    _T.c.created_at, _T.c.acted_at, _T.c.due_at, _I.c.flow, _I.c.definition_id, _I.c.form, _I.c.record_id,
    _I.c.title, _I.c.submitter_id, _I.c.status.label("instance_status"), _SUBMITTER.c.name.label("submitter_name"),
).join(_I, _I.c.id == _T.c.instance_id).join(_SUBMITTER, _SUBMITTER.c.id == _I.c.submitter_id, isouter=True)
_SUBMITTED_ROWS = sa.select(_I, _SUBMITTER.c.name.label("submitter_name")).join(
    _SUBMITTER, _SUBMITTER.c.id == _I.c.submitter_id, isouter=True)
# One compiled statement per shape of inbox query: (box, app?, search?, before?).
_PAGES: dict[tuple[str, bool, bool, bool], sa.Select[Any]] = {}


def _page(box: str, app: bool, search: bool, before: bool) -> sa.Select[Any]:
    key = (box, app, search, before)
    found = _PAGES.get(key)
    if found is not None:
        return found
    if box == "submitted":
        query, id_, app_column = _SUBMITTED_ROWS.where(_I.c.submitter_id == sa.bindparam("user")), _I.c.id, _I.c.app
    else:
        query = _TASK_ROWS.where(_T.c.assignee_id == sa.bindparam("user"), _T.c.box == box)
        if box == "done":
            query = query.where(_T.c.outcome != "cancelled")
        id_, app_column = _T.c.id, _T.c.app
    if app:
        query = query.where(app_column == sa.bindparam("app"))
    if search:
        query = query.where(_I.c.title.like(sa.bindparam("search"), escape="/"))
    if before:
        query = query.where(id_ < sa.bindparam("before"))
    found = _PAGES[key] = query.order_by(id_.desc()).limit(sa.bindparam("limit"))
    return found
_INSTANCE = sa.select(_I).where(_I.c.id == sa.bindparam("id"))
_HISTORY = sa.select(store.EVENTS).where(store.EVENTS.c.instance_id == sa.bindparam("id")).order_by(
    store.EVENTS.c.id)
_PART = sa.select(_T.c.id).where(_T.c.instance_id == sa.bindparam("id"), _T.c.assignee_id == sa.bindparam("user"))


def _utc(moment: dt.datetime) -> dt.datetime:
    found = utc(moment)
    assert found is not None
    return found


class FlowQueries(ABC):
    """The reading half of ``FlowEngine``."""

    definitions: FlowDefinitions
    records: Any

    @abstractmethod
    def _reading(self, connection: Connection | None) -> AbstractContextManager[Connection]:
        """A reading connection (``FlowEngine`` gives it)."""

    # --- instances ------------------------------------------------------------
    def view_of(self, conn: Connection, row: Mapping[str, Any], flow: FlowDef | None = None) -> InstanceView:
        flow = flow or self.definitions.version(conn, int(row["definition_id"]))
        places = self.places_of(flow)
        labels = [START_NODE.label if k == START else places[k].node.label if k in places else Label(k, k)
                  for k in row["current"] or []]
        submitter = row["submitter_id"]
        if "submitter_name" in row:
            names = {submitter: row["submitter_name"]}
        else:
            names = store.names(conn, {int(submitter)} if submitter is not None else set())
        return InstanceView(
            id=int(row["id"]), app=row["app"], flow=row["flow"], flow_label=flow.label, form=row["form"],
            record_id=int(row["record_id"]), title=row["title"], status=row["status"], submitter_id=submitter,
            submitter_name=names.get(submitter) if submitter is not None else None,
            started_at=_utc(row["started_at"]), ended_at=utc(row["ended_at"]), current=list(row["current"] or []),
            current_labels=labels,
            lock_version=int(row["lock_version"]),
        )

    def instance_row(self, conn: Connection, instance_id: int) -> dict[str, Any]:
        row = conn.execute(_INSTANCE, {"id": instance_id}).mappings().first()
        if row is None:
            raise NotFoundError(Label(f"流程实例 #{instance_id} 不存在", f"Flow instance #{instance_id} does not exist"),
                                details={"instance": instance_id})
        return dict(row)

    def app_of(self, instance_id: int, *, connection: Connection | None = None) -> str:
        """The app an instance belongs to: the caller builds the reader's ``Actor`` for it (it reveals nothing else)."""
        with self._reading(connection) as conn:
            return str(self.instance_row(conn, instance_id)["app"])

    def require_part(self, conn: Connection, row: Mapping[str, Any], actor: Actor) -> None:
        """Who may look at an instance: the engine, its submitter, anyone with
        a task in it, or someone who may read the record."""
        user = actor.user_id
        if user is None or actor.access is None or row["submitter_id"] == user:
            return
        if conn.execute(_PART, {"id": row["id"], "user": user}).first() is not None:
            return
        try:
            self.records.get(row["app"]).get(row["form"], int(row["record_id"]), actor=actor, connection=conn)
        except (NotFoundError, PermissionDenied):
            raise NotFoundError(Label(f"流程实例 #{row['id']} 不存在", f"Flow instance #{row['id']} does not exist"),
                                details={"instance": row["id"]}) from None

    def instance(self, instance_id: int, *, actor: Actor, connection: Connection | None = None) -> InstanceView:
        with self._reading(connection) as conn:
            row = self.instance_row(conn, instance_id)
            self.require_part(conn, row, actor)
            return self.view_of(conn, row)

    def instances(self, app: str, form: str, record_id: int, *, actor: Actor,
                  connection: Connection | None = None) -> list[InstanceView]:
        """The record's instances, newest first (the record must be readable)."""
        with self._reading(connection) as conn:
            if actor.access is not None:
                self.records.get(app).get(form, record_id, actor=actor, connection=conn)
            rows = conn.execute(_SUBMITTED_ROWS.where(_I.c.app == app, _I.c.form == form,
                                                      _I.c.record_id == record_id).order_by(_I.c.id.desc())).mappings()
            return [self.view_of(conn, dict(row)) for row in rows]

    def history(self, instance_id: int, *, actor: Actor, connection: Connection | None = None) -> list[EventView]:
        with self._reading(connection) as conn:
            row = self.instance_row(conn, instance_id)
            self.require_part(conn, row, actor)
            places = self.places_of(self.definitions.version(conn, int(row["definition_id"])))
            events = [dict(e) for e in conn.execute(_HISTORY, {"id": instance_id}).mappings()]
            names = store.names(conn, {int(e["user_id"]) for e in events if e["user_id"] is not None})
            return [EventView(
                id=int(e["id"]), at=_utc(e["at"]), action=e["action"], node=e["node"],
                node_label=places[e["node"]].node.label if e["node"] in places else None,
                user_id=e["user_id"], user_name=names.get(e["user_id"]) if e["user_id"] is not None else None,
                comment=e["comment"], files=list(e["files"] or []), diff=e["diff"], detail=e["detail"],
            ) for e in events]

    # --- the inbox -----------------------------------------------------------------
    def tasks(self, user_id: int, box: str, *, app: str | None = None, search: str | None = None,
              before: int | None = None, limit: int = 50, connection: Connection | None = None) -> TaskPage:
        """One page of a user's box, newest first; ``submitted``: the instances they started."""
        limit = max(1, min(int(limit), 200))
        if box not in ("todo", "done", "cc", "submitted"):
            raise NotFoundError(Label(f"没有 {box} 这个分类", f"No box {box} (todo, done, cc, submitted)"),
                                details={"box": box})
        query = _page(box, bool(app), bool(search), before is not None)
        pattern = "%" + (search or "").replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
        params = {"user": user_id, "app": app, "search": pattern, "before": before, "limit": limit + 1}
        with self._reading(connection) as conn:
            # The rows as they come (read-only mappings): a page copies nothing twice.
            rows = conn.execute(query, params).mappings().all()
            more = len(rows) > limit
            rows = rows[:limit]
            items = list(self._task_views(conn, rows, box))
            return TaskPage(items=items, next_before=int(rows[-1]["id"]) if more else None)

    def places_of(self, flow: FlowDef) -> dict[str, Any]:
        return flow.places()  # FlowEngine caches them

    def _task_views(self, conn: Connection, rows: Sequence[Mapping[Any, Any]], box: str) -> Iterator[TaskView]:
        # A page's rows mostly share a few flow versions: look each up once.
        flows: dict[int, tuple[FlowDef, dict[str, Any]]] = {}
        submitted = box == "submitted"
        for r in rows:
            definition = int(r["definition_id"])
            if definition not in flows:
                flow = self.definitions.version(conn, definition)
                flows[definition] = (flow, self.places_of(flow))
            flow, places = flows[definition]
            node = None if submitted else r["node"]
            place = places.get(node) if node else None
            yield TaskView(
                id=None if submitted else int(r["id"]), instance_id=int(r["id"] if submitted else r["instance_id"]),
                app=r["app"], flow=r["flow"], flow_label=flow.label, form=r["form"], record_id=int(r["record_id"]),
                title=r["title"], node=node, node_label=place.node.label if place else None,
                kind=None if submitted else r["kind"], assignee_id=None if submitted else r["assignee_id"],
                box=box, outcome=None if submitted else r["outcome"],
                created_at=_utc(r["started_at"] if submitted else r["created_at"]),
                acted_at=utc(r["ended_at"] if submitted else r["acted_at"]),
                due_at=None if submitted else utc(r["due_at"]),
                submitter_id=r["submitter_id"], submitter_name=r["submitter_name"],
                instance_status=r["status"] if submitted else r["instance_status"],
            )

    def counts(self, user_id: int, *, connection: Connection | None = None) -> dict[str, int]:
        """The badge numbers: open tasks, unread copies."""
        with self._reading(connection) as conn:
            todo = conn.execute(sa.select(sa.func.count()).select_from(_T).where(
                _T.c.assignee_id == user_id, _T.c.box == "todo")).scalar_one()
            cc = conn.execute(sa.select(sa.func.count()).select_from(_T).where(
                _T.c.assignee_id == user_id, _T.c.box == "cc", _T.c.outcome.is_(None))).scalar_one()
            return {"todo": int(todo), "cc": int(cc)}

    def task_view(self, conn: Connection, task_id: int, actor: Actor) -> TaskView:
        row = conn.execute(_TASK_ROWS.where(_T.c.id == task_id)).mappings().first()
        if row is None or (actor.user_id is not None and row["assignee_id"] != actor.user_id):
            raise NotFoundError(Label(f"待办 #{task_id} 不存在或不是你的", f"Task #{task_id} does not exist or is not yours"),
                                details={"task": task_id})
        return next(self._task_views(conn, [row], row["box"]))

    def read_task(self, task_id: int, *, actor: Actor, connection: Connection | None = None) -> TaskView:
        """The task (a copy is marked read)."""
        with self._writing(connection) as conn:  # type: ignore[attr-defined]
            view = self.task_view(conn, task_id, actor)
            if view.box == "cc" and view.outcome is None:
                conn.execute(store.UPDATE_TASK, {"_id": task_id, "outcome": "read",
                                                 "acted_at": self.clock.now().astimezone(dt.UTC)})  # type: ignore[attr-defined]
                view = self.task_view(conn, task_id, actor)
            return view
