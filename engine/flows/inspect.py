"""Looking into one instance: its graph (where it stands, who did what),
the actions the viewer may take, the record as they may see it in the flow,
and what submitting a record would need (``start_options``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.errors import NotFoundError, PermissionDenied
from engine.core.i18n import Label
from engine.definitions.flow_files import FlowDef, NodeDef
from engine.flows import store
from engine.flows.nodes.approval import context
from engine.flows.run import START, START_NODE, FlowRun
from engine.flows.task_actions import node_rights, passed_nodes
from engine.flows.views import (
    AvailableAction,
    Choice,
    GraphBranch,
    GraphNode,
    GraphView,
    PathStep,
    Person,
    StartOptions,
)
from engine.records.actor import SYSTEM, Actor

if TYPE_CHECKING:
    from engine.flows.engine import FlowEngine

_J, _T = store.JOBS, store.TASKS
_JOBS = sa.select(_J.c.id, _J.c.node, _J.c.status, _J.c.result).where(
    _J.c.instance_id == sa.bindparam("id")).order_by(_J.c.id)
_TASKS = sa.select(_T).where(_T.c.instance_id == sa.bindparam("id")).order_by(_T.c.seq, _T.c.id)
_STATES = {"pending": "current", "done": "done", "rejected": "rejected", "returned": "done", "cancelled": "skipped"}
WITHDRAW = Label("撤回", "Withdraw")
URGE = Label("催办", "Urge")
COMMENT = Label("评论", "Comment")
PEOPLE_TYPES = ("approval", "handle", "cc")


def graph(engine: FlowEngine, conn: Connection, row: dict[str, Any]) -> GraphView:
    flow = engine.definitions.version(conn, int(row["definition_id"]))
    latest: dict[str, dict[str, Any]] = {}
    for job in conn.execute(_JOBS, {"id": row["id"]}).mappings():
        latest[job["node"]] = dict(job)
    tasks: dict[int, list[dict[str, Any]]] = {}
    for task in conn.execute(_TASKS, {"id": row["id"]}).mappings():
        tasks.setdefault(int(task["job_id"]), []).append(dict(task))
    names = store.names(conn, {int(t["assignee_id"]) for ts in tasks.values() for t in ts})

    def node_of(node: NodeDef, reachable: bool) -> GraphNode:
        job = latest.get(node.key) if reachable else None
        if job is None:
            state = "waiting" if reachable and row["status"] == "running" else "skipped"
        else:
            state = _STATES.get(job["status"], "done")
        people = [Person(int(t["assignee_id"]), names.get(int(t["assignee_id"]), ""), t["outcome"], t["box"],
                         int(t["id"])) for t in tasks.get(int(job["id"]), [])] if job else []
        taken = (job["result"] or {}).get("branch") if job else None
        branches = [GraphBranch(b.key, b.label, bool(job) and (node.type == "parallel" or b.key == taken),
                                [node_of(n, bool(job) and (node.type == "parallel" or b.key == taken))
                                 for n in b.nodes]) for b in node.branches]
        return GraphNode(node.key, node.type, node.label, state, people, branches)

    return GraphView(int(row["id"]), row["status"], [node_of(n, True) for n in flow.nodes])


def available(engine: FlowEngine, conn: Connection, row: dict[str, Any], actor: Actor) -> list[AvailableAction]:
    """What the viewer may press: their open tasks' actions, then withdraw/urge/comment."""
    found: list[AvailableAction] = []
    running = row["status"] == "running"
    if running and actor.user_id is not None:
        service = engine.records.get(row["app"])
        flow = engine.definitions.version(conn, int(row["definition_id"]))
        run = FlowRun(engine, conn, service, flow, row, actor)
        mine = conn.execute(sa.select(_T).where(_T.c.instance_id == row["id"], _T.c.box == "todo",
                                                _T.c.assignee_id == actor.user_id)).mappings()
        for task in (dict(t) for t in mine):
            for action in engine.task_actions:
                if not action.available(run, task):
                    continue
                needs = action.needs_for(run, task)
                nodes = [{"key": k, "label": _label(run, k)}
                         for k in ["start", *passed_nodes(run, task)] if k == "start" or k in run.places] \
                    if "node" in needs else []
                found.append(AvailableAction(action.key, action.label, int(task["id"]), needs, nodes))
    if row["submitter_id"] == actor.user_id and running:
        if withdrawable(conn, row, engine.definitions.version(conn, int(row["definition_id"]))):
            found.append(AvailableAction("withdraw", WITHDRAW, None, ("comment",)))
        found.append(AvailableAction("urge", URGE, None, ("comment",)))
    found.append(AvailableAction("comment", COMMENT, None, ("comment", "files")))
    return found


def withdrawable(conn: Connection, row: dict[str, Any], flow: FlowDef) -> bool:
    """The submitter may withdraw while nobody has acted (and the flow allows it)."""
    if not flow.setting("withdraw", True):
        return False
    acted = conn.execute(sa.select(_T.c.id).where(
        _T.c.instance_id == row["id"], _T.c.outcome.in_(("approved", "rejected", "returned", "transferred")),
        _T.c.acted_at.is_not(None)).limit(1)).first()
    return acted is None


def record_view(engine: FlowEngine, conn: Connection, row: dict[str, Any],
                actor: Actor) -> tuple[dict[str, Any], dict[str, str]]:
    service = engine.records.get(row["app"])
    flow = engine.definitions.version(conn, int(row["definition_id"]))
    compiled, _ = service.form(row["form"])
    task = None
    if actor.user_id is not None:
        task = conn.execute(sa.select(_T.c.node).where(
            _T.c.instance_id == row["id"], _T.c.assignee_id == actor.user_id,
            _T.c.box.in_(("todo", "queued"))).order_by(_T.c.id.desc()).limit(1)).first()
    node: str | None = task.node if task is not None else None
    if task is None:
        try:
            record = service.get(row["form"], int(row["record_id"]), actor=actor, connection=conn)
            return record, {f.key: "readonly" for f in compiled.form.fields if f.key in record}
        except (NotFoundError, PermissionDenied):
            # Someone taking part who may not read the record (a submitter without read rights, a cc
            # recipient, an approver done with it) sees it as their own step of the flow showed it, read-only.
            node = _own_node(conn, row, actor)
            if node is None:
                raise
    given = node_rights(START_NODE if node == START else flow.node(str(node)), compiled.form)
    if task is None:
        given = {k: ("hidden" if r == "hidden" else "readonly") for k, r in given.items()}
    record = service.get(row["form"], int(row["record_id"]), actor=SYSTEM, connection=conn)
    hidden = {k for k, r in given.items() if r == "hidden"}
    if actor.access is not None:
        hidden |= actor.policy(service, row["form"]).hidden_everywhere()
    rights = {k: r for k, r in given.items() if k not in hidden}
    return {k: v for k, v in record.items() if k not in hidden}, rights


def _own_node(conn: Connection, row: dict[str, Any], actor: Actor) -> str | None:
    """The reader's newest step in an instance (a task of any box; the start for its submitter)."""
    mine = conn.execute(sa.select(_T.c.node).where(_T.c.instance_id == row["id"], _T.c.assignee_id == actor.user_id)
                        .order_by(_T.c.id.desc()).limit(1)).first()
    if mine is not None:
        return str(mine.node)
    return START if row["submitter_id"] is not None and row["submitter_id"] == actor.user_id else None


def start_options(engine: FlowEngine, conn: Connection, app: str, form: str, record_id: int,
                  actor: Actor, flow_key: str | None) -> StartOptions:
    service = engine.records.get(app)
    flow = engine.pick(conn, app, form, flow_key)
    if flow is None:
        return StartOptions(None, False, Label("这个表单没有审批流程", "This form has no approval flow"))
    record = service.get(form, record_id, connection=conn)
    reason: Label | None = None
    if record.get("flow_status") == "running":
        reason = Label("审批正在进行中", "An approval is already running")
    else:
        try:
            engine.require_submitter(service, conn, form, record, actor)
        except (PermissionDenied, NotFoundError) as exc:
            reason = exc.message
    instance = {"id": 0, "app": app, "form": form, "record_id": record_id, "title": "", "state": {},
                "submitter_id": actor.user_id, "current": [], "status": "running", "lock_version": 0}
    run = FlowRun(engine, conn, service, flow, instance, actor)
    run._record = record
    choices: list[Choice] = []
    path: list[PathStep] = []
    walk(engine, run, flow.nodes, choices, path)
    return StartOptions(flow, reason is None, reason, choices, path)


def walk(engine: FlowEngine, run: FlowRun, nodes: Sequence[NodeDef], choices: list[Choice],
         path: list[PathStep]) -> None:
    """The nodes the record would pass now, with their people (the submit dialog's preview)."""
    from engine.flows.nodes.branches import ExclusiveNode

    for node in nodes:
        people: list[int] = []
        if node.type in PEOPLE_TYPES:
            entries = node.setting("approvers") or node.setting("recipients") or []
            ctx = context(run, node)
            allowed = engine.people.choices(ctx, entries)
            if allowed is not None:
                choices.append(Choice(node.key, node.label, allowed, engine.people.choice_is_multiple(entries)))
            people = engine.people.resolve_people(ctx, entries)
        path.append(PathStep(node.key, node.type, node.label, people))
        if node.type == "exclusive":
            taken = ExclusiveNode.choose(run, node)
            if taken is not None:
                walk(engine, run, taken.nodes, choices, path)
        else:
            for branch in node.branches:
                walk(engine, run, branch.nodes, choices, path)
        if node.type == "end":
            return


def _label(run: FlowRun, key: str) -> dict[str, str]:
    label = run.node(key).label
    return {"zh": label.zh, "en": label.en}
