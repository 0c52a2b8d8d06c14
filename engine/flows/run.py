"""One transition of one instance: ``FlowRun`` walks the tree.

A node is entered by creating its job and asking its type (``enter``):
``DONE`` goes on to the next node, ``WAIT`` leaves the job pending and the
instance suspended there until an action (or the worker) resumes it. When a
sequence ends, its branching node hears it (``branch_done``); the end of the
top sequence approves the flow. Everything one transition writes (jobs,
tasks, events, the instance with its ``lock_version`` compared and set,
``flow_status``) is in the caller's transaction; history rows are written
together at ``save``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from engine.core.errors import ConflictError
from engine.core.i18n import Label
from engine.definitions.flow_files import FlowDef, FlowPlace, NodeDef
from engine.flows import store
from engine.notify.notifier import Notice
from engine.records import RecordService
from engine.records.actor import Actor
from engine.records.events import (
    FLOW_APPROVED,
    FLOW_NODE_REACHED,
    FLOW_REJECTED,
    FLOW_WITHDRAWN,
    RecordEvent,
)
from engine.records.flow_lock import write_flow_status
from engine.records.service import SYSTEM

if TYPE_CHECKING:
    from engine.flows.engine import FlowEngine

# The submitter's own step a flow returned "to the start" waits at: they
# edit the record and resubmit (a task of theirs), and the flow runs again
# from its first node. It is no node of the file, so its key is reserved.
START = "start"
START_NODE = NodeDef(START, START, Label("发起人", "Submitter"))
DONE = "done"
WAIT = "wait"
OPEN_BOXES = ("todo", "queued")
END_KINDS = {"approved": FLOW_APPROVED, "rejected": FLOW_REJECTED, "withdrawn": FLOW_WITHDRAWN}


class LazyRecord(Mapping[str, Any]):
    """The run's record, read only when something looks at it: most
    transitions (an approval that opens the next node's tasks) never do."""

    def __init__(self, run: FlowRun) -> None:
        self._run = run

    def _data(self) -> dict[str, Any]:
        return self._run.record

    def __getitem__(self, key: str) -> Any:
        return self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())


@dataclass
class Job:
    """A pending job as the run keeps it (``result``: what its node type keeps between steps)."""

    id: int
    node: str
    node_type: str
    visit: int
    branch: str | None
    result: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> Job:
        return cls(int(row["id"]), str(row["node"]), str(row["node_type"]), int(row["visit"]),
                   row["branch"], dict(row["result"] or {}))


class FlowRun:
    """The instance being moved, with everything its nodes may use."""

    def __init__(self, engine: FlowEngine, conn: Connection, service: RecordService, flow: FlowDef,
                 instance: dict[str, Any], actor: Actor, *, jobs: Sequence[Job] = ()) -> None:
        self.engine = engine
        self.conn = conn
        self.service = service
        self.flow = flow
        self.instance = instance
        self.actor = actor
        # Stored in UTC: SQLite keeps no offset, and every system timestamp is UTC.
        self.now = engine.clock.now().astimezone(dt.UTC)
        self.places: dict[str, FlowPlace] = engine.places(flow)
        self.jobs: dict[int, Job] = {job.id: job for job in jobs}
        self.ended = False
        self._events: list[dict[str, Any]] = []
        self._record: dict[str, Any] | None = None
        self._published: list[tuple[str, str | None]] = []
        # Who stands in for whom at ``now``, as far as resolving read it (ResolveContext.standins).
        self.standins: dict[int, int | None] = {}
        self._notices: list[Notice] = []

    # --- what nodes read -----------------------------------------------------
    @property
    def record(self) -> dict[str, Any]:
        if self._record is None:
            self._record = self.service.get(self.instance["form"], int(self.instance["record_id"]),
                                            connection=self.conn)
        return self._record

    @property
    def lazy_record(self) -> Mapping[str, Any]:
        return self._record if self._record is not None else LazyRecord(self)

    @property
    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = self.instance["state"]
        return state

    @property
    def submitter(self) -> int | None:
        submitter = self.instance["submitter_id"]
        return int(submitter) if submitter is not None else None

    @property
    def user_id(self) -> int | None:
        return self.actor.user_id

    def node(self, key: str) -> NodeDef:
        return START_NODE if key == START else self.places[key].node

    def pending_job(self, node: str) -> Job | None:
        return next((j for j in self.jobs.values() if j.node == node), None)

    # --- walking ---------------------------------------------------------------
    def start(self) -> None:
        if self.flow.nodes:
            self.enter(self.flow.nodes[0].key)
        else:
            self.finish("approved")

    def back_to_start(self) -> None:
        """Wait for the submitter to edit and resubmit (``complete`` on their task)."""
        from engine.flows.nodes.approval import assign

        job = self.new_job(START_NODE, None)
        assert self.submitter is not None
        assign(self, job, START_NODE, [self.submitter], kind=START)

    def new_job(self, node: NodeDef, branch: str | None) -> Job:
        visits = self.state.setdefault("visits", {})
        visits[node.key] = int(visits.get(node.key, 0)) + 1
        job_id = store.INSERT_JOB.execute(self.conn, {
            "instance_id": self.instance["id"], "node": node.key, "node_type": node.type, "visit": visits[node.key],
            "branch": branch, "status": "pending", "result": None,
            "started_at": self.now, "ended_at": None, "wake_at": None,
        }).scalar_one()
        job = Job(int(job_id), node.key, node.type, visits[node.key], branch)
        self.jobs[job.id] = job
        self.current_add(node.key)
        return job

    def enter(self, key: str) -> None:
        if self.ended:
            return
        node = self.node(key)
        job = self.new_job(node, self.branch_path(self.places[key]))
        self.event("node", node=key, by_engine=True)
        self._published.append((FLOW_NODE_REACHED, key))
        if self.engine.node_types.get(node.type).enter(self, node, job) == DONE:
            self.complete(job)
        elif job.result and job.id in self.jobs:
            self.conn.execute(store.UPDATE_JOB, {"_id": job.id, "result": job.result})

    def complete(self, job: Job, status: str = "done") -> None:
        """The job's node is finished: close the job and go on after it."""
        self.close_job(job, status)
        if status == "done":
            self.after(job.node)

    def close_job(self, job: Job, status: str) -> None:
        self.conn.execute(store.UPDATE_JOB, {"_id": job.id, "status": status, "ended_at": self.now,
                                             "result": job.result or None, "wake_at": None})
        self.jobs.pop(job.id, None)
        self.current_remove(job.node)

    def after(self, key: str) -> None:
        if self.ended:
            return
        if key == START:
            self.start()
            return
        place = self.places[key]
        if place.index + 1 < len(place.sequence):
            self.enter(place.sequence[place.index + 1])
            return
        if place.parent is None:
            self.finish("approved")
            return
        parent_job = self.pending_job(place.parent)
        if parent_job is None:  # a returned flow re-entered the branch without its node: go on after it
            self.after(place.parent)
            return
        parent = self.node(place.parent)
        if self.engine.node_types.get(parent.type).branch_done(self, parent, parent_job, str(place.branch)):
            self.complete(parent_job)

    def branch_path(self, place: FlowPlace) -> str | None:
        parts: list[str] = []
        while place.parent is not None:
            parts.append(f"{place.parent}/{place.branch}")
            place = self.places[place.parent]
        return ">".join(reversed(parts)) or None

    def current_add(self, key: str) -> None:
        if key not in self.instance["current"]:
            self.instance["current"] = [*self.instance["current"], key]

    def current_remove(self, key: str) -> None:
        self.instance["current"] = [k for k in self.instance["current"] if k != key]

    # --- ending --------------------------------------------------------------
    def cancel_open(self, *, outcome: str = "cancelled", keep: int | None = None) -> None:
        """Cancel every pending job and open task (a withdrawn, rejected or returned flow)."""
        for job in list(self.jobs.values()):
            self.close_job(job, "cancelled")
        self.conn.execute(store.CANCEL_OPEN, {"_instance": self.instance["id"], "_keep": keep or 0,
                                              "_outcome": outcome, "_at": self.now})
        self.state.pop("joins", None)

    def finish(self, status: str, *, node: str | None = None) -> None:
        if self.ended:
            return
        self.cancel_open()
        self.ended = True
        self.instance.update(status=status, ended_at=self.now, current=[])
        self.event("end", node=node, detail={"status": status}, by_engine=True)
        self.set_flow_status(status)
        self._published.append((END_KINDS[status], node))
        if self.submitter is not None and status != "withdrawn":
            word = {"approved": ("已通过", "approved"), "rejected": ("被驳回", "rejected")}[status]
            self.notify([self.submitter], Label(f"{self.flow.label.zh}{word[0]}：{self.instance['title']}",
                                                f"{self.flow.label.en} {word[1]}: {self.instance['title']}"),
                        link=f"/a/{self.instance['app']}/{self.instance['form']}/{self.instance['record_id']}",
                        key=f"flow:{self.instance['id']}:end")

    def set_flow_status(self, status: str) -> None:
        # A running instance's record is running (the lock keeps it so): no need to read it.
        before = self._record.get("flow_status") if self._record is not None else "running"
        if before == status:
            return
        actor = Actor(None, "flow", rule=f"{self.instance['app']}.{self.flow.key}")
        write_flow_status(self.service, self.conn, self.instance["form"], int(self.instance["record_id"]),
                          before, status, actor)
        if self._record is not None:
            self._record = {**self._record, "flow_status": status}

    # --- history, notices, saving ---------------------------------------------------
    def event(self, action: str, *, node: str | None = None, task_id: int | None = None,
              user_id: int | None = None, comment: str | None = None, files: Sequence[str] = (),
              diff: Mapping[str, Any] | None = None, detail: Mapping[str, Any] | None = None,
              by_engine: bool = False) -> None:
        self._events.append({
            "instance_id": self.instance["id"], "at": self.now, "action": action, "node": node,
            "task_id": task_id, "user_id": None if by_engine else (user_id or self.actor.user_id),
            "comment": comment, "files": [str(f) for f in files] or None, "diff": dict(diff) if diff else None,
            "detail": dict(detail) if detail else None,
        })

    def notify(self, users: Sequence[int], title: Label, *, link: str, key: str, text: Label | None = None) -> None:
        if not users:
            return
        # Written at ``save``, all in one statement (in this transaction: they commit with the tasks).
        self._notices.append(Notice(
            key=key, title=title.zh, text=(text or title).zh, users=tuple(users), app=self.instance["app"],
            form=self.instance["form"], record_id=int(self.instance["record_id"]), link=link, source="flow"))

    def save(self) -> None:
        """Write the instance (compare-and-set on ``lock_version``), the
        history and the notices, then tell the bus what happened."""
        version = int(self.instance["lock_version"])
        values = {k: self.instance[k] for k in ("status", "ended_at", "current", "state")}
        result = store.UPDATE_INSTANCE.execute(self.conn, {**values, "lock_version": version + 1,
                                                           "_id": self.instance["id"], "_version": version})
        if result.rowcount != 1:
            raise already_handled(self.instance["id"])
        self.instance["lock_version"] = version + 1
        if self._events:
            store.INSERT_EVENT.execute(self.conn, self._events)
            self._events = []
        if self._notices:
            self.engine.notifier.post(self.conn, self._notices)
            self._notices = []
        self.publish()

    def publish(self) -> None:
        bus = self.service.bus
        if not bus:
            self._published = []
            return
        for kind, node in self._published:
            bus.publish(RecordEvent(
                kind=kind, app=self.instance["app"], form=self.instance["form"],
                record_id=int(self.instance["record_id"]), changed=frozenset(), record=self.lazy_record,
                previous=None, user_id=self.actor.user_id, connection=self.conn, source="flow",
                actor=dataclasses.replace(SYSTEM, source="flow"),
                detail={"flow": self.flow.key, "instance": self.instance["id"], "node": node,
                        "status": self.instance["status"]},
            ))
        self._published = []

    def published(self, kind: str, node: str | None = None) -> None:
        self._published.append((kind, node))

    def wake(self, job: Job, at: dt.datetime) -> None:
        """The worker looks at the job again at ``at`` (a delay's end)."""
        # In UTC: the worker compares it with its UTC now (SQLite keeps no offset).
        self.conn.execute(store.UPDATE_JOB, {"_id": job.id, "wake_at": at.astimezone(dt.UTC), "status": "pending",
                                             "ended_at": None, "result": job.result or None})


def already_handled(instance_id: int, task_id: int | None = None) -> ConflictError:
    return ConflictError(
        Label("该审批已被处理（或流程已变化），请刷新后再看",
              "Already handled: the approval moved on meanwhile; reload to see where it stands"),
        details={"instance": instance_id, "task": task_id},
    )
