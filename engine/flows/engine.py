"""``FlowEngine``: what pages, the API, rules and the worker call.

Every method that moves an instance runs in one transaction (or the
caller's ``connection``): it locks the instance row (``FOR UPDATE`` on
PostgreSQL; SQLite writers are serialized already), builds a ``FlowRun``
over the pending jobs, lets a task action or the runner move it, and saves
it with ``lock_version`` compared and set — two approvers acting at once
on one node: one transition, the other "already handled". Reading (views,
inbox, graph) lives in ``engine.flows.queries``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.actions.base import ACTIONS, ActionContext
from engine.core.clock import Clock
from engine.core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDenied,
    QiqiaoError,
    ValidationError,
)
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.flow_files import FlowDef, FlowPlace, NodeDef
from engine.definitions.rule_files import RuleDef, StepDef
from engine.flows import resolvers, store
from engine.flows.base import ResolveContext
from engine.flows.instance_actions import InstanceActions
from engine.flows.nodes import NODE_TYPES, RunnableNode
from engine.flows.queries import FlowQueries
from engine.flows.run import FlowRun, Job, already_handled
from engine.flows.task_actions import TASK_ACTIONS, ActParams, TaskAction
from engine.flows.views import BatchResult, InstanceView
from engine.notify.notifier import Notifier
from engine.org.service import OrgService
from engine.records import RecordService
from engine.records.actor import Actor
from engine.records.events import FLOW_SUBMITTED


class People(Protocol):
    """Who approves: ``engine.flows.resolvers`` (a test may hand another)."""

    def resolve_people(self, ctx: ResolveContext, entries: Sequence[Mapping[str, Any]]) -> list[int]: ...

    def runs_in_order(self, entries: Sequence[Mapping[str, Any]]) -> bool: ...

    def choices(self, ctx: ResolveContext, entries: Sequence[Mapping[str, Any]]) -> list[int] | None: ...

    def choice_is_multiple(self, entries: Sequence[Mapping[str, Any]]) -> bool: ...

    def check_choice(self, ctx: ResolveContext, entries: Sequence[Mapping[str, Any]],
                     picked: Sequence[int]) -> list[int]: ...

    def delegate(self, conn: Connection, org: OrgService, user_ids: Sequence[int], at: dt.datetime,
                 known: Mapping[int, int | None] | None = None) -> list[tuple[int, int | None]]: ...

    def app_admins(self, conn: Connection, app: str) -> list[int]: ...


class FlowEngine(FlowQueries, InstanceActions):
    """Runs the approval flows of every installed app (module docstring)."""

    def __init__(self, records: Any, org: OrgService, clock: Clock, notifier: Notifier, *,
                 node_types: Registry[RunnableNode] = NODE_TYPES,
                 task_actions: Registry[TaskAction] = TASK_ACTIONS, people: People | None = None) -> None:
        # ``records`` is the composition's RecordServices: ``get(app)``, ``cached(app)``, ``stamps()``.
        self.records = records
        self.org = org
        self.clock = clock
        self.notifier = notifier
        self.node_types = node_types
        self.task_actions = task_actions
        self.people: People = people or cast(People, resolvers)
        self.definitions = store.FlowDefinitions()
        self._places: dict[int, tuple[FlowDef, dict[str, FlowPlace]]] = {}


    def places_of(self, flow: FlowDef) -> dict[str, Any]:
        return self.places(flow)

    def places(self, flow: FlowDef) -> dict[str, FlowPlace]:
        cached = self._places.get(id(flow))
        if cached is None or cached[0] is not flow:
            cached = self._places[id(flow)] = (flow, flow.places())
        return cached[1]

    # --- flows ---------------------------------------------------------------
    def newest(self, conn: Connection, app: str) -> dict[str, FlowDef]:
        return self.definitions.newest(conn, app, self.records.stamps().get(app, 0))

    def flows_for(self, app: str, form: str, *, connection: Connection | None = None) -> list[FlowDef]:
        """The enabled flows of ``form`` that a person starts (trigger ``submit``)."""
        with self._reading(connection) as conn:
            return [f for f in self.newest(conn, app).values()
                    if f.form == form and f.enabled and f.trigger.type == "submit"]

    def pick(self, conn: Connection, app: str, form: str, flow: str | None) -> FlowDef | None:
        flows = self.flows_for(app, form, connection=conn)
        if flow is None:
            return flows[0] if flows else None
        found = next((f for f in flows if f.key == flow), None)
        if found is None:
            raise NotFoundError(Label(f"表单 {form} 没有可提交的流程 {flow}", f"Form {form} has no flow {flow} to submit"),
                                details={"flow": flow})
        return found

    # --- starting ---------------------------------------------------------------
    def submit(self, app: str, form: str, record_id: int, *, actor: Actor, flow: str | None = None,
               chosen: Mapping[str, Sequence[int]] | None = None, comment: str | None = None,
               files: Sequence[str] = (), connection: Connection | None = None) -> InstanceView:
        """Start ``flow`` (the form's first when None) on the record."""
        service = self.records.get(app)
        with service.transaction(connection) as conn:
            chosen_flow = self.pick(conn, app, form, flow)
            if chosen_flow is None:
                raise NotFoundError(Label(f"表单 {form} 没有审批流程", f"Form {form} has no approval flow"),
                                    details={"form": form})
            return self.start(service, conn, chosen_flow, record_id, actor=actor, chosen=chosen or {},
                              comment=comment, files=files)

    def start(self, service: RecordService, conn: Connection, flow: FlowDef, record_id: int, *, actor: Actor,
              chosen: Mapping[str, Sequence[int]] = {}, comment: str | None = None,
              files: Sequence[str] = (), check_rights: bool = True) -> InstanceView:
        """Start ``flow`` in the caller's transaction (``submit``; flowtime's create/condition triggers)."""
        if not self.records.database.is_sqlite:
            # Two submits of one record at once: the second waits here and then sees it running.
            main = service.form(flow.form)[1].main
            conn.execute(sa.select(main.c.id).where(main.c.id == record_id).with_for_update(key_share=True))
        record = service.get(flow.form, record_id, connection=conn)
        if check_rights:
            self.require_submitter(service, conn, flow.form, record, actor)
        if record.get("flow_status") == "running":
            raise ConflictError(Label("这条记录的审批正在进行中", "An approval of this record is already running"),
                                details={"record": record_id})
        self.check_files(conn, files)
        compiled, _ = service.form(flow.form)
        title_field = compiled.form.title_field
        title = str(record.get(title_field) or "") if title_field else ""
        now = self.clock.now().astimezone(dt.UTC)
        instance: dict[str, Any] = {
            "app": service.app.key, "flow": flow.key, "definition_id": flow.version, "form": flow.form,
            "record_id": record_id, "title": (title or f"#{record_id}")[:300], "status": "running",
            "submitter_id": actor.user_id, "started_at": now, "ended_at": None, "current": [],
            "state": {"chosen": {k: [int(u) for u in v] for k, v in chosen.items()}}, "lock_version": 1,
        }
        instance["id"] = int(store.INSERT_INSTANCE.execute(conn, instance).scalar_one())
        run = FlowRun(self, conn, service, flow, instance, actor)
        run._record = record
        self.check_chosen(run, chosen)
        run.event("submit", comment=comment, files=files)
        run.set_flow_status("running")
        run.published(FLOW_SUBMITTED)
        run.start()
        run.save()
        return self.view_of(conn, _with_name(run.instance, actor), flow)

    def check_chosen(self, run: FlowRun, chosen: Mapping[str, Sequence[int]]) -> None:
        """What the submitter picked (自选) for each node on the record's path that asks for it."""
        from engine.flows.inspect import walk
        from engine.flows.nodes.approval import context

        if not chosen and not any(_chooses(p.node) for p in run.flow.walk()):
            return
        path: list[Any] = []
        walk(self, run, run.flow.nodes, [], path)
        picked: dict[str, list[int]] = {}
        for step in path:
            node = run.node(step.node)
            if _chooses(node) or step.node in chosen:
                entries = node.setting("approvers") or node.setting("recipients") or []
                picked[step.node] = self.people.check_choice(context(run, node), entries, chosen.get(step.node, ()))
        run.state["chosen"] = picked

    def require_submitter(self, service: RecordService, conn: Connection, form: str,
                          record: Mapping[str, Any], actor: Actor) -> None:
        """Who may submit: someone who may update the record, or its owner."""
        if actor.access is None or record.get("owner") == actor.user_id:
            return
        policy = actor.policy(service, form)
        try:
            service._writable(conn, policy, int(record["id"]), "update")
        except (PermissionDenied, NotFoundError):
            raise PermissionDenied(Label("没有提交这条记录审批的权限", "You may not submit this record for approval"),
                                   details={"form": form, "record": record["id"]}) from None

    # --- moving an instance ---------------------------------------------------------
    @contextmanager
    def moving(self, instance_id: int, actor: Actor,
               connection: Connection | None = None) -> Iterator[FlowRun]:
        """Lock the instance and give its run; saved when the block ends."""
        with self._writing(connection) as conn:
            row = conn.execute(store.LOCK_INSTANCE, {"id": instance_id}).mappings().first()
            if row is None:
                raise NotFoundError(Label(f"流程实例 #{instance_id} 不存在", f"Flow instance #{instance_id} does not exist"),
                                    details={"instance": instance_id})
            instance = dict(row)
            instance["state"] = dict(instance["state"] or {})
            service = self.records.get(instance["app"])
            flow = self.definitions.version(conn, int(instance["definition_id"]))
            jobs = [Job.of(dict(j)) for j in conn.execute(store.PENDING_JOBS, {"id": instance_id}).mappings()]
            run = FlowRun(self, conn, service, flow, instance, actor, jobs=jobs)
            yield run
            run.save()

    def act(self, task_id: int, action: str, *, actor: Actor, comment: str | None = None,
            files: Sequence[str] = (), values: Mapping[str, Any] | None = None, version: int | None = None,
            to: int | None = None, users: Sequence[int] = (), position: str | None = None,
            node: str | None = None, connection: Connection | None = None) -> InstanceView:
        """Do ``action`` (a key of ``TASK_ACTIONS``) on a task."""
        handler = self.task_actions.get(action)
        params = ActParams(comment=comment, files=tuple(files), values=dict(values or {}), to=to,
                           users=tuple(users), position=position, node=node)
        with self._writing(connection) as conn:
            task = conn.execute(store.TASK_BY_ID, {"id": task_id}).mappings().first()
            if task is None or (actor.user_id is not None and task["assignee_id"] != actor.user_id):
                if task is not None and task["box"] != "todo":
                    raise already_handled(int(task["instance_id"]), task_id)
                raise _no_task(task_id)
            with self.moving(int(task["instance_id"]), actor, conn) as run:
                # PostgreSQL: the task as it is now that we hold the instance (another
                # approver may have moved it while we waited). SQLite's writers are
                # serialized from BEGIN, so what we read is current already.
                fresh = task if self.records.database.is_sqlite else \
                    conn.execute(store.TASK_BY_ID, {"id": task_id}).mappings().first()
                assert fresh is not None
                if fresh["box"] != "todo" or run.instance["status"] != "running" or (
                        version is not None and int(version) != int(run.instance["lock_version"])):
                    raise already_handled(int(task["instance_id"]), task_id)
                self.check_files(conn, files)
                handler.run(run, dict(fresh), params)
            return self.view_of(conn, run.instance, run.flow)

    def act_many(self, task_ids: Sequence[int], action: str, *, actor: Actor,
                 comment: str | None = None) -> list[BatchResult]:
        """The same action on many tasks, each in its own transaction."""
        results = []
        for task_id in task_ids:
            try:
                self.act(int(task_id), action, actor=actor, comment=comment)
                results.append(BatchResult(int(task_id), True))
            except QiqiaoError as exc:
                results.append(BatchResult(int(task_id), False, exc.message))
        return results

    # --- what nodes ask of the engine ---------------------------------------------------
    def action_context(self, run: FlowRun, node: NodeDef | None = None, job: Job | None = None) -> ActionContext:
        service = run.service
        compiled, _ = service.form(run.flow.form)
        # The flow writes its own record (which it otherwise locks) as itself.
        fields = frozenset(f.key for f in compiled.form.fields) | {"owner"}
        actor = Actor(None, "flow", rule=f"{run.instance['app']}.{run.flow.key}", flow_fields=fields)
        rule = RuleDef(key=run.flow.key, label=run.flow.label, form=run.flow.form, trigger=StepDef("flow"),
                       actions=tuple(StepDef.from_dict(a) for a in (node.setting("actions") if node else ()) or ()))
        return ActionContext(conn=run.conn, service=service, org=self.org, rule=rule,
                             run_id=job.id if job else 0, actor=actor, now=run.now, record=run.record,
                             service_of=self.records.get, extras={"notifier": self.notifier},
                             user_id=run.submitter)

    def holds(self, run: FlowRun, condition: str) -> bool:
        """A branch's condition over the record (an error value is false)."""
        try:
            return bool(self.action_context(run).evaluate(condition))
        except ValueError:
            return False

    def automate(self, run: FlowRun, node: NodeDef, job: Job) -> list[dict[str, Any]]:
        """An automation node's actions, in order, as the flow (the synthetic rule of the node)."""
        ctx = self.action_context(run, node, job)
        results = []
        for step in ctx.rule.actions:
            results.append(ACTIONS.get(step.type).run(ctx, step.settings).as_json(step.type))
            ctx.record = run._record = run.service.get(run.flow.form, int(run.instance["record_id"]),
                                                       connection=run.conn)
        return results

    def check_files(self, conn: Connection, files: Sequence[str]) -> None:
        if not files:
            return
        from engine.store.models import StoredFile

        table = cast(sa.Table, StoredFile.__table__)
        wanted = [str(f) for f in files]
        known = {str(i) for i in conn.execute(sa.select(table.c.id).where(table.c.id.in_(wanted))).scalars()}
        missing = [f for f in wanted if f not in known]
        if missing:
            raise ValidationError(Label(f"附件不存在：{missing}", f"No such attached file(s): {missing}"),
                                  field_errors={"files": [Label("附件不存在", "No such file")]})

    # --- connections ---------------------------------------------------------------
    @contextmanager
    def _writing(self, connection: Connection | None) -> Iterator[Connection]:
        if connection is not None:
            yield connection
            return
        with self.records.database.transaction() as conn:
            yield conn

    @contextmanager
    def _reading(self, connection: Connection | None) -> Iterator[Connection]:
        if connection is not None:
            yield connection
            return
        with self.records.database.reading() as conn:
            yield conn


def _with_name(instance: dict[str, Any], actor: Actor) -> dict[str, Any]:
    # The submitter is the signed-in actor: their principal knows their name (no query).
    if actor.access is None or actor.user_id != instance["submitter_id"] or not actor.access.principal.name:
        return instance
    return {**instance, "submitter_name": actor.access.principal.name}


def _chooses(node: NodeDef) -> bool:
    return any(e.get("type") == "chosen" for e in node.setting("approvers") or node.setting("recipients") or ())


def _no_task(task_id: int) -> NotFoundError:
    return NotFoundError(Label(f"待办 #{task_id} 不存在或不是你的", f"Task #{task_id} does not exist or is not yours"),
                         details={"task": task_id})

