"""What the worker does for flows each tick (``run_due``): delays that
ended go on, open tasks past a reminder moment remind their assignee, and
tasks past their node's ``timeout.after`` are decided as the engine
(``then``: approve, reject or transfer).

A task's two moments are written when it becomes someone's to do
(``deadlines``): ``due_at`` (the time-out) and ``remind_at`` (the next
reminder), each found through an index on (``box``, moment). Several
workers may run: a reminder is claimed by moving ``remind_at`` from the
value read to the next one (compare-and-set: the second worker updates
nothing, on PostgreSQL after waiting for the first to commit), and a
time-out locks the instance and re-reads the task (a task no longer to do
is somebody else's work already). Reminders leave the instance's
``lock_version`` alone: a reminder is not a change anybody must reload for.
Moments are kept in UTC (SQLite keeps no offset).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.errors import ConflictError, QiqiaoError
from engine.core.i18n import Label
from engine.definitions.flow_files import NodeDef
from engine.flows import store
from engine.flows.nodes.simple import duration
from engine.notify.notifier import Notice
from engine.records.actor import SYSTEM

if TYPE_CHECKING:
    from engine.flows.engine import FlowEngine
    from engine.flows.run import FlowRun

LOG = logging.getLogger("qiqiao.flows")
BATCH = 200
_T = store.TASKS
_J = store.JOBS
_I = store.INSTANCES
_DUE_JOBS = sa.select(_J.c.id).where(_J.c.status == "pending", _J.c.wake_at <= sa.bindparam("now")) \
    .order_by(_J.c.wake_at, _J.c.id).limit(BATCH)
_DUE_REMINDERS = sa.select(_T.c.id, _T.c.remind_at).where(
    _T.c.box == "todo", _T.c.remind_at <= sa.bindparam("now")).order_by(_T.c.remind_at, _T.c.id).limit(BATCH)
_DUE_TIMEOUTS = sa.select(_T.c.id).where(
    _T.c.box == "todo", _T.c.due_at <= sa.bindparam("now")).order_by(_T.c.due_at, _T.c.id).limit(BATCH)
_REMIND_TASK = (
    sa.select(_T.c.id, _T.c.instance_id, _T.c.node, _T.c.assignee_id, _T.c.due_at, _T.c.created_at,
              _I.c.app, _I.c.form, _I.c.record_id, _I.c.title, _I.c.definition_id)
    .join(_I, _I.c.id == _T.c.instance_id).where(_T.c.id == sa.bindparam("id"))
)
_CLAIM_REMINDER = _T.update().where(_T.c.id == sa.bindparam("_id"), _T.c.box == "todo",
                                    _T.c.remind_at == sa.bindparam("_seen"))
# A time-out's verdict says why in the history (the worker has no words of its own).
_WHY = Label("超时自动处理", "Timed out: decided automatically")


def utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _stored(moment: dt.datetime | None) -> dt.datetime | None:
    """A moment read back (naive on SQLite, where it was written in UTC)."""
    return None if moment is None else utc(moment)


def timeout_of(node: NodeDef) -> dict[str, Any]:
    return dict(node.setting("timeout") or {})


def deadlines(node: NodeDef, since: dt.datetime) -> dict[str, dt.datetime | None]:
    """A task of ``node`` that became someone's to do at ``since``: when it
    times out and when it first reminds (None: never)."""
    timeout = timeout_of(node)
    due = utc(since) + duration(timeout["after"]) if timeout.get("after") else None
    first = timeout.get("remind_after") or timeout.get("remind_every")
    remind = utc(since) + duration(first) if first else None
    if remind is not None and due is not None and remind >= due:
        remind = None  # the time-out comes first: no reminder would be heard
    return {"due_at": due, "remind_at": remind}


def run_due(flows: FlowEngine, now: dt.datetime) -> int:
    """Everything due at ``now``; returns how many things it did."""
    now = utc(now)
    done = 0
    with flows._reading(None) as conn:
        jobs = list(conn.execute(_DUE_JOBS, {"now": now}).scalars())
        reminders = [(int(r.id), r.remind_at) for r in conn.execute(_DUE_REMINDERS, {"now": now})]
        timeouts = list(conn.execute(_DUE_TIMEOUTS, {"now": now}).scalars())
    for job_id in jobs:
        done += _safely(lambda j=job_id: int(flows.resume(int(j))), f"job {job_id}")
    for task_id, seen in reminders:
        done += _safely(lambda t=task_id, s=seen: remind(flows, t, s, now), f"reminder of task {task_id}")
    for task_id in timeouts:
        try:
            done += time_out(flows, int(task_id))
        except ConflictError:
            continue
        except QiqiaoError as exc:
            # e.g. a handle task whose required fields nobody filled: it stays
            # the assignee's, and the worker does not retry it every tick.
            LOG.warning("flow time-out of task %s failed: %s", task_id, exc.message.en)
            with flows._writing(None) as conn:
                conn.execute(store.UPDATE_TASK, {"_id": int(task_id), "due_at": None})
    return done


def _safely(step: Any, what: str) -> int:
    try:
        return int(step())
    except ConflictError:
        return 0  # another worker (or a person) got there first
    except QiqiaoError as exc:
        LOG.warning("flow %s failed: %s", what, exc.message.en)
        return 0


def remind(flows: FlowEngine, task_id: int, seen: dt.datetime, now: dt.datetime) -> int:
    """Remind a task's assignee once (claimed by moving ``remind_at``)."""
    with flows._writing(None) as conn:
        row = conn.execute(_REMIND_TASK, {"id": task_id}).mappings().first()
        if row is None:
            return 0
        flow = flows.definitions.version(conn, int(row["definition_id"]))
        node = flow.node(str(row["node"]))
        if node is None:
            return 0
        if conn.execute(_CLAIM_REMINDER, {"_id": task_id, "_seen": seen,
                                          "remind_at": next_reminder(node, utc(seen), now,
                                                                     _stored(row["due_at"]))}).rowcount != 1:
            return 0
        store.INSERT_EVENT.execute(conn, {
            "instance_id": row["instance_id"], "at": now, "action": "remind", "node": node.key,
            "task_id": task_id, "user_id": None, "comment": None, "files": None, "diff": None,
            "detail": {"assignee": int(row["assignee_id"])}})
        _tell(flows, conn, row, flow.label, node, now)
        return 1


def next_reminder(node: NodeDef, seen: dt.datetime, now: dt.datetime,
                  due: dt.datetime | None) -> dt.datetime | None:
    """After the reminder due at ``seen``: every ``remind_every`` (past
    moments a stopped worker missed are skipped, not sent in a burst)."""
    every = timeout_of(node).get("remind_every")
    if not every:
        return None
    step = duration(every)
    following = seen + step
    while following <= now:
        following += step
    return None if due is not None and following >= due else following


def _tell(flows: FlowEngine, conn: Connection, row: Any, flow_label: Label, node: NodeDef,
          now: dt.datetime) -> None:
    title = row["title"]
    flows.notifier.send(conn, Notice(
        key=f"flow-remind:{row['id']}:{now.isoformat()}",
        title=f"催办提醒：{flow_label.zh} · {title}（{node.label.zh}）",
        text=f"你有一项待审批还未处理：{flow_label.zh} · {title}（{node.label.zh}）",
        users=(int(row["assignee_id"]),), app=row["app"], form=row["form"], record_id=int(row["record_id"]),
        link=f"/inbox/{row['id']}", source="flow"))


def time_out(flows: FlowEngine, task_id: int) -> int:
    """Decide a task past its time-out as its node's ``then`` says."""
    with flows._writing(None) as conn:
        task = conn.execute(store.TASK_BY_ID, {"id": task_id}).mappings().first()
        if task is None:
            return 0
        with flows.moving(int(task["instance_id"]), SYSTEM, conn) as run:
            fresh = conn.execute(store.TASK_BY_ID, {"id": task_id}).mappings().first()
            if fresh is None or fresh["box"] != "todo" or run.ended:
                from engine.flows.run import already_handled

                raise already_handled(int(task["instance_id"]), task_id)  # rolls back: nothing moved
            decide(run, dict(fresh))
        return 1


def decide(run: FlowRun, task: dict[str, Any]) -> None:
    from engine.flows.task_actions import ActParams

    node = run.node(str(task["node"]))
    then = str(timeout_of(node).get("then", "approve"))
    run.event("timeout", node=node.key, task_id=int(task["id"]), by_engine=True,
              detail={"then": then, "assignee": int(task["assignee_id"])})
    params = ActParams(comment=_WHY.zh)
    if then == "transfer":
        transfer(run, node, task)
        return
    action = "reject" if then == "reject" else ("complete" if task["kind"] == "handle" else "approve")
    run.engine.task_actions.get(action).run(run, task, params)


def transfer(run: FlowRun, node: NodeDef, task: dict[str, Any]) -> None:
    """To the people ``transfer_to`` names (the app's admins when nobody)."""
    from engine.flows.nodes.approval import assign, context

    entries = timeout_of(node).get("transfer_to") or []
    people = [p for p in run.engine.people.resolve_people(context(run, node), entries)
              if p != task["assignee_id"]]
    if not people:
        people = [p for p in run.engine.people.app_admins(run.conn, run.instance["app"])
                  if p != task["assignee_id"]]
    if not people:  # nobody else to hand it to: it stays theirs, without a time-out
        run.conn.execute(store.UPDATE_TASK, {"_id": task["id"], "due_at": None})
        return
    run.conn.execute(store.UPDATE_TASK, {"_id": task["id"], "box": "done", "outcome": "transferred",
                                         "acted_at": run.now, "comment": _WHY.zh})
    run.event("transfer", node=node.key, task_id=int(task["id"]), by_engine=True,
              comment=_WHY.zh, detail={"to": people, "timeout": True})
    job = run.jobs[int(task["job_id"])]
    assign(run, job, node, people, kind=str(task["kind"]), seq=int(task["seq"]), added_by=task["added_by"])
