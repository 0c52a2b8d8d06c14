"""What a person does on a task (``TASK_ACTIONS``, registered explicitly):
approve, reject, return, transfer, add_sign, complete. Each writes an event
(who, comment, files, the record's field diff when ``values`` changed
fields) and moves the instance through its node type."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.model import FormDef
from engine.flows import store
from engine.flows.nodes.approval import ApprovalNode, assign
from engine.flows.run import DONE, START, FlowRun, Job
from engine.records.actor import Actor
from engine.records.values import jsonable

TASK_NODE_TYPES = ("approval", "handle")
# What the submitter may change when the flow came back to them: every field of the form.
EVERY_FIELD = "editable"


@dataclass(frozen=True)
class ActParams:
    comment: str | None = None
    files: tuple[str, ...] = ()
    values: dict[str, Any] = field(default_factory=dict)
    to: int | None = None
    users: tuple[int, ...] = ()
    position: str | None = None
    node: str | None = None


def _invalid(what: str, zh: str, en: str) -> ValidationError:
    return ValidationError(Label(zh, en), field_errors={what: [Label(zh, en)]})


class TaskAction(ABC):
    """One thing a task's assignee may do. ``needs``: what the dialog asks for."""

    key: ClassVar[str]
    label: ClassVar[Label]
    needs: ClassVar[tuple[str, ...]] = ()
    kinds: ClassVar[tuple[str, ...]] = ("approval",)

    def available(self, run: FlowRun, task: dict[str, Any]) -> bool:
        return task["kind"] in self.kinds

    def needs_for(self, run: FlowRun, task: dict[str, Any]) -> tuple[str, ...]:
        """What the dialog asks for on this task (``node``: a choice among passed nodes)."""
        return self.needs

    @abstractmethod
    def run(self, run: FlowRun, task: dict[str, Any], params: ActParams) -> None: ...

    # --- shared steps -------------------------------------------------------------
    @staticmethod
    def job_of(run: FlowRun, task: dict[str, Any]) -> Job:
        job = run.jobs.get(int(task["job_id"]))
        assert job is not None, "an open task's job is pending"
        return job

    def close(self, run: FlowRun, task: dict[str, Any], outcome: str, params: ActParams,
              detail: dict[str, Any] | None = None) -> None:
        if not self.available(run, task):
            raise _invalid("action", f"这项待办不能{self.label.zh}", f"This task cannot be used to {self.key}")
        diff = write_values(run, task, params.values)
        run.conn.execute(store.UPDATE_TASK, {"_id": task["id"], "box": "done", "outcome": outcome,
                                             "acted_at": run.now, "comment": params.comment})
        run.event(self.key, node=task["node"], task_id=int(task["id"]), comment=params.comment,
                  files=params.files, diff=diff, detail=detail)

    @staticmethod
    def settle(run: FlowRun, task: dict[str, Any]) -> None:
        job = TaskAction.job_of(run, task)
        if job.node == START:  # resubmitted: the flow runs again from its first node
            run.event("submit", task_id=int(task["id"]))
            run.complete(job)
            return
        node = run.node(job.node)
        node_type = run.engine.node_types.get(node.type)
        assert isinstance(node_type, ApprovalNode)
        if node_type.settle(run, node, job) == DONE:
            run.complete(job)
        else:
            run.conn.execute(store.UPDATE_JOB, {"_id": job.id, "result": job.result or None})


def approved(run: FlowRun, user_id: int) -> None:
    """Remember who approved (the repeated auto-pass asks the state, not the tasks)."""
    people = run.state.setdefault("approved", [])
    if user_id not in people:
        people.append(user_id)


def field_rights(run: FlowRun, node_key: str) -> dict[str, str]:
    return node_rights(run.node(node_key), run.service.form(run.flow.form)[0].form)


def node_rights(node: Any, form: FormDef) -> dict[str, str]:
    """The rights a node gives on the form's fields (unlisted: read-only);
    the submitter's own step may change everything."""
    if node is not None and node.key == START:
        return {f.key: EVERY_FIELD for f in form.fields}
    given = dict(node.setting("fields") or {}) if node is not None else {}
    return {f.key: str(given.get(f.key, "readonly")) for f in form.fields}


def write_values(run: FlowRun, task: dict[str, Any], values: dict[str, Any]) -> dict[str, Any] | None:
    """The field changes the node allows, written through the record service
    for the assignee; their diff for the event."""
    rights = field_rights(run, task["node"])
    editable = {k for k, r in rights.items() if r in ("editable", "required")}
    if values:
        refused = sorted(set(values) - editable)
        if refused:
            raise _invalid("values", f"此节点不能修改字段：{'、'.join(refused)}",
                           f"This step may not change: {', '.join(refused)}")
        actor = Actor(task["assignee_id"], "flow", rule=f"{run.instance['app']}.{run.flow.key}",
                      flow_fields=frozenset(editable))
        before = run.record
        after = run.service.update(run.instance["form"], int(run.instance["record_id"]), values, version=None,
                                   actor=actor, connection=run.conn)
        run._record = dict(after)
        diff = {k: [before.get(k), after.get(k)] for k in values if before.get(k) != after.get(k)}
    else:
        diff = {}
    missing = [k for k, r in rights.items() if r == "required" and run.record.get(k) in (None, "", [])]
    if missing and task["kind"] != "cc":
        raise ValidationError(Label(f"请先填写：{'、'.join(missing)}", f"Fill in first: {', '.join(missing)}"),
                              field_errors={k: [Label("必填", "Required")] for k in missing})
    return jsonable(diff) or None


class Approve(TaskAction):
    key = "approve"
    label = Label("同意", "Approve")

    def run(self, run: FlowRun, task: dict[str, Any], params: ActParams) -> None:
        self.close(run, task, "approved", params)
        approved(run, int(task["assignee_id"]))
        self.settle(run, task)


class Complete(Approve):
    key = "complete"
    label = Label("提交", "Complete")
    kinds = ("handle", START)

    def run(self, run: FlowRun, task: dict[str, Any], params: ActParams) -> None:
        self.close(run, task, "approved", params)  # handling is work done, not an approval to repeat
        self.settle(run, task)


class Reject(TaskAction):
    key = "reject"
    label = Label("驳回", "Reject")
    needs = ("comment",)

    def needs_for(self, run: FlowRun, task: dict[str, Any]) -> tuple[str, ...]:
        if run.node(task["node"]).setting("reject") == "choose":
            return ("comment", "node")
        return self.needs

    def run(self, run: FlowRun, task: dict[str, Any], params: ActParams) -> None:
        if not (params.comment or "").strip():
            raise _invalid("comment", "驳回时请填写意见", "Say why when you reject")
        how = str(run.node(task["node"]).setting("reject", "end"))
        if how == "choose" and not params.node:
            raise _invalid("node", "请选择驳回到哪个节点", "Choose the step to send it back to")
        if how == "choose" and params.node:
            self.close(run, task, "rejected", params, {"to": params.node})
            return_to(run, task, params.node)
        elif how in ("start", "previous"):
            self.close(run, task, "rejected", params, {"to": how})
            return_to(run, task, how)
        else:
            self.close(run, task, "rejected", params)
            job = self.job_of(run, task)
            run.close_job(job, "rejected")
            run.finish("rejected", node=task["node"])


class Return(TaskAction):
    key = "return"
    label = Label("退回", "Return")
    needs = ("node",)
    kinds = TASK_NODE_TYPES

    def run(self, run: FlowRun, task: dict[str, Any], params: ActParams) -> None:
        target = params.node or "previous"
        resolved = resolve_target(run, task, target)
        self.close(run, task, "returned", params, {"to": resolved})
        return_to(run, task, resolved)


def passed_nodes(run: FlowRun, task: dict[str, Any]) -> list[str]:
    """Task nodes this instance finished before, newest first (return targets)."""
    rows = run.conn.execute(store.JOBS.select().with_only_columns(store.JOBS.c.node).where(
        store.JOBS.c.instance_id == run.instance["id"], store.JOBS.c.status == "done",
        store.JOBS.c.node_type.in_(TASK_NODE_TYPES)).order_by(store.JOBS.c.id.desc())).scalars()
    seen: list[str] = []
    for node in rows:
        if node != task["node"] and node not in seen and node in run.places:
            seen.append(str(node))
    return seen


def resolve_target(run: FlowRun, task: dict[str, Any], target: str) -> str:
    if target == START:
        return START
    passed = passed_nodes(run, task)
    if target == "previous":
        return passed[0] if passed else "start"
    if target not in passed:
        raise _invalid("node", f"只能退回到已经过的节点（{'、'.join(passed) or '发起人'}）",
                       f"Return only to a step already passed ({', '.join(passed) or 'start'})")
    return target


def return_to(run: FlowRun, task: dict[str, Any], target: str) -> None:
    """Back to an earlier node (a new visit there) or the start of the flow."""
    target = resolve_target(run, task, target)
    run.cancel_open(keep=int(task["id"]))
    run.state["approved"] = []
    run.instance["current"] = []
    run.event("return", node=task["node"], detail={"to": target}, by_engine=True)
    if target == START:
        run.back_to_start()
    else:
        run.enter(target)


class Transfer(TaskAction):
    key = "transfer"
    label = Label("转交", "Transfer")
    needs = ("to",)
    kinds = TASK_NODE_TYPES

    def run(self, run: FlowRun, task: dict[str, Any], params: ActParams) -> None:
        if params.to is None or params.to == task["assignee_id"]:
            raise _invalid("to", "请选择转交给谁（不能是自己）", "Choose whom to transfer to (not yourself)")
        self.close(run, task, "transferred", params, {"to": params.to})
        job = self.job_of(run, task)
        assign(run, job, run.node(job.node), [int(params.to)], kind=task["kind"], seq=int(task["seq"]),
               added_by=task["added_by"])


class AddSign(TaskAction):
    key = "add_sign"
    label = Label("加签", "Add approvers")
    needs = ("users", "position")

    def run(self, run: FlowRun, task: dict[str, Any], params: ActParams) -> None:
        users = [int(u) for u in params.users if int(u) != task["assignee_id"]]
        if not users or params.position not in ("before", "after"):
            raise _invalid("users", "请选择加签人和加签方式（之前/之后）",
                           "Choose whom to add, and before or after you")
        job = self.job_of(run, task)
        node = run.node(job.node)
        run.event(self.key, node=task["node"], task_id=int(task["id"]), comment=params.comment,
                  files=params.files, detail={"users": users, "position": params.position})
        if params.position == "before":
            # The added approvers act first; this task waits for them, then comes back.
            run.conn.execute(store.UPDATE_TASK, {"_id": task["id"], "box": "queued"})
            added = assign(run, job, node, users, kind=task["kind"], added_by=int(task["assignee_id"]),
                           seq=int(task["seq"]))
            job.result.setdefault("before", {})[str(task["id"])] = added
            run.conn.execute(store.UPDATE_JOB, {"_id": job.id, "result": job.result})
            return
        # After: this approval stands and the node needs the added approvers too.
        run.conn.execute(store.UPDATE_TASK, {"_id": task["id"], "box": "done", "outcome": "approved",
                                             "acted_at": run.now, "comment": params.comment})
        approved(run, int(task["assignee_id"]))
        assign(run, job, node, users, kind=task["kind"], added_by=int(task["assignee_id"]),
               seq=int(task["seq"]) + 1)


def build_task_actions() -> Registry[TaskAction]:
    registry: Registry[TaskAction] = Registry("task action")
    registry.register_all((Approve(), Reject(), Return(), Transfer(), AddSign(), Complete()))
    return registry


TASK_ACTIONS: Registry[TaskAction] = build_task_actions()
