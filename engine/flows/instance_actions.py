"""What the submitter and the others taking part do on a whole instance:
withdraw (撤回), urge (催办, once an hour), comment; the instance's graph,
actions, record view and submit options; and the worker's wake-ups of
pending jobs (a delay's end)."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.errors import ConflictError, NotFoundError, PermissionDenied
from engine.core.i18n import Label
from engine.flows import inspect, store
from engine.flows.nodes.approval import tell
from engine.flows.run import FlowRun
from engine.flows.views import AvailableAction, GraphView, InstanceView, StartOptions
from engine.records.actor import SYSTEM, Actor

if TYPE_CHECKING:
    from engine.flows.engine import FlowEngine

URGE_EVERY = dt.timedelta(hours=1)
_T = store.TASKS


def _not_submitter(what: Label) -> PermissionDenied:
    return PermissionDenied(Label(f"只有发起人可以{what.zh}", f"Only the submitter may {what.en.lower()}"))


class InstanceActions(ABC):
    """The instance-wide half of ``FlowEngine``."""

    def _engine(self) -> FlowEngine:
        return self  # type: ignore[return-value]

    def _running(self, run: FlowRun) -> None:
        if run.instance["status"] != "running":
            raise ConflictError(Label("流程已经结束", "The flow has ended"), details={"instance": run.instance["id"]})

    def withdraw(self, instance_id: int, *, actor: Actor, comment: str | None = None) -> InstanceView:
        engine = self._engine()
        with engine._writing(None) as conn, engine.moving(instance_id, actor, conn) as run:
            self._running(run)
            if actor.user_id is not None and actor.user_id != run.submitter:
                raise _not_submitter(inspect.WITHDRAW)
            if not inspect.withdrawable(conn, run.instance, run.flow):
                raise ConflictError(Label("已有人处理过，不能撤回", "Someone has acted already: it cannot be withdrawn"),
                                    details={"instance": instance_id})
            run.event("withdraw", comment=comment)
            run.finish("withdrawn")
        with engine._reading(None) as conn:
            return engine.view_of(conn, engine.instance_row(conn, instance_id))

    def urge(self, instance_id: int, *, actor: Actor, comment: str | None = None) -> InstanceView:
        engine = self._engine()
        with engine._writing(None) as conn, engine.moving(instance_id, actor, conn) as run:
            self._running(run)
            if actor.user_id is not None and actor.user_id != run.submitter:
                raise _not_submitter(inspect.URGE)
            last = run.state.get("urged_at")
            if last and run.now - dt.datetime.fromisoformat(last) < URGE_EVERY:
                raise ConflictError(Label("一小时内只能催办一次", "You may urge once an hour"),
                                    details={"instance": instance_id, "urged_at": last})
            run.state["urged_at"] = run.now.isoformat()
            todo = [dict(t) for t in conn.execute(sa.select(_T).where(
                _T.c.instance_id == instance_id, _T.c.box == "todo")).mappings()]
            for task in todo:
                conn.execute(store.UPDATE_TASK, {"_id": task["id"], "urged_at": run.now})
                tell(run, run.node(task["node"]), int(task["assignee_id"]), int(task["id"]))
            run.event("urge", comment=comment, detail={"users": [t["assignee_id"] for t in todo]})
        with engine._reading(None) as conn:
            return engine.view_of(conn, engine.instance_row(conn, instance_id))

    def comment(self, instance_id: int, *, actor: Actor, comment: str,
                files: Sequence[str] = ()) -> InstanceView:
        """A comment (with stored files) by anyone taking part; it moves nothing."""
        engine = self._engine()
        if not (comment or "").strip():
            raise _blank()
        with engine._writing(None) as conn:
            row = engine.instance_row(conn, instance_id)
            engine.require_part(conn, row, actor)
            engine.check_files(conn, files)
            store.INSERT_EVENT.execute(conn, {
                "instance_id": instance_id, "at": engine.clock.now().astimezone(dt.UTC), "action": "comment", "node": None,
                "task_id": None, "user_id": actor.user_id, "comment": comment, "files": [str(f) for f in files] or None,
                "diff": None, "detail": None})
            return engine.view_of(conn, row)

    # --- looking in ----------------------------------------------------------------
    def graph(self, instance_id: int, *, actor: Actor) -> GraphView:
        engine = self._engine()
        with engine._reading(None) as conn:
            row = engine.instance_row(conn, instance_id)
            engine.require_part(conn, row, actor)
            return inspect.graph(engine, conn, row)

    def actions_for(self, instance_id: int, *, actor: Actor) -> list[AvailableAction]:
        engine = self._engine()
        with engine._reading(None) as conn:
            row = engine.instance_row(conn, instance_id)
            engine.require_part(conn, row, actor)
            return inspect.available(engine, conn, row, actor)

    def record_view(self, instance_id: int, *, actor: Actor) -> tuple[dict[str, Any], dict[str, str]]:
        engine = self._engine()
        with engine._reading(None) as conn:
            row = engine.instance_row(conn, instance_id)
            engine.require_part(conn, row, actor)
            return inspect.record_view(engine, conn, row, actor)

    def start_options(self, app: str, form: str, record_id: int, *, actor: Actor,
                      flow: str | None = None) -> StartOptions:
        engine = self._engine()
        with engine._reading(None) as conn:
            return inspect.start_options(engine, conn, app, form, record_id, actor, flow)

    # --- the worker --------------------------------------------------------------------
    def resume(self, job_id: int, *, connection: Connection | None = None) -> bool:
        """Wake a pending job (a delay that ended): True when it moved the instance."""
        engine = self._engine()
        with engine._writing(connection) as conn:
            row = conn.execute(sa.select(store.JOBS.c.instance_id).where(store.JOBS.c.id == job_id)).first()
            if row is None:
                raise NotFoundError(Label(f"节点任务 #{job_id} 不存在", f"Job #{job_id} does not exist"))
            with engine.moving(int(row.instance_id), SYSTEM, conn) as run:
                job = run.jobs.get(job_id)
                if job is None or run.ended:
                    return False
                node = run.node(job.node)
                if not engine.node_types.get(node.type).resume(run, node, job):
                    return False
                run.complete(job)
                return True

    def run_due(self, now: dt.datetime) -> int:
        """What the worker does each tick: ``engine.flows.timeouts.run_due``
        (delays that ended, reminders, time-outs)."""
        from engine.flows import timeouts

        return timeouts.run_due(self._engine(), now)

    @abstractmethod
    def _writing(self, connection: Connection | None) -> AbstractContextManager[Connection]:
        """A writing transaction (``FlowEngine`` gives it)."""


def _blank() -> Any:
    from engine.core.errors import ValidationError

    message = Label("评论不能为空", "A comment cannot be empty")
    return ValidationError(message, field_errors={"comment": [message]})
