"""Nodes that wait for people: approval (审批), handle (办理) and cc (抄送).

An approval node resolves its ``approvers`` (resolver entries, united in
order), passes those the flow's ``auto_pass`` policy lets through (the
submitter; someone who already approved this instance), hands the rest to
their delegates when away, and opens one task each: all at once (``any``,
``all``, ``ratio``) or one after another (``sequential``; also whenever
an entry is ``department_heads``, multi-level approval). ``settle`` decides
the node after each approval.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from engine.core.i18n import Label
from engine.definitions.flow_files import NodeDef
from engine.flows import store, timeouts
from engine.flows.base import ResolveContext
from engine.flows.nodes import RunnableNode
from engine.flows.run import DONE, OPEN_BOXES, WAIT

if TYPE_CHECKING:
    from engine.flows.run import FlowRun, Job

_ENTRIES = {"type": "array", "items": {"type": "object", "required": ["type"],
                                       "properties": {"type": {"type": "string"}}}}
_DURATION = {"type": "string", "pattern": "^[0-9]+[mhd]$"}
_RIGHTS = {"type": "object", "additionalProperties": {"enum": ["hidden", "readonly", "editable", "required"]}}
_TIMEOUT = {"type": "object", "additionalProperties": False, "properties": {
    "remind_after": _DURATION, "remind_every": _DURATION, "after": _DURATION,
    "then": {"enum": ["approve", "reject", "transfer"]}, "transfer_to": _ENTRIES}}
_TASK_NODE = {
    "approvers": _ENTRIES,
    "when_none": {"enum": ["auto_pass", "admins", "reject"]},
    "fields": _RIGHTS,
    "timeout": _TIMEOUT,
}


def context(run: FlowRun, node: NodeDef) -> ResolveContext:
    chosen = run.state.get("chosen", {}).get(node.key, ())
    return ResolveContext(conn=run.conn, org=run.engine.org, app=run.instance["app"], flow=run.flow,
                          node=node, record=run.lazy_record, submitter_id=run.submitter, now=run.now,
                          chosen=tuple(int(c) for c in chosen), standins=run.standins)


def approved_before(run: FlowRun) -> set[int]:
    """Who approved in this instance since it was last sent back (a returned
    flow asks everyone again): kept in the instance's state, no query."""
    return {int(u) for u in run.state.get("approved", ())}


def assign(run: FlowRun, job: Job, node: NodeDef, people: Sequence[int], *, kind: str,
           sequential: bool = False, added_by: int | None = None, seq: int = 0,
           box: str | None = None) -> list[int]:
    """Open a task for each person (their delegate when away), notify those whose turn it is."""
    assigned = run.engine.people.delegate(run.conn, run.engine.org, list(people), run.now, run.standins)
    if not assigned:
        return []
    rows = [{
        "instance_id": run.instance["id"], "job_id": job.id, "app": run.instance["app"], "node": node.key,
        "kind": kind, "assignee_id": assignee, "box": box or ("queued" if sequential and index > 0 else "todo"),
        "outcome": None, "seq": seq + index, "delegated_from": delegated_from, "added_by": added_by,
        "comment": None, "created_at": run.now, "acted_at": None, "due_at": None, "urged_at": None, "remind_at": None,
    } for index, (assignee, delegated_from) in enumerate(assigned)]
    if timeouts.timeout_of(node):
        for row in rows:
            row.update(timeouts.deadlines(node, run.now) if row["box"] == "todo" else {})
    by_seq = {int(seq): int(i) for i, seq in run.conn.execute(store.INSERT_TASKS, rows)}
    ids = [by_seq[int(row["seq"])] for row in rows]
    for row, task_id in zip(rows, ids, strict=True):
        if row["box"] == "todo":
            tell(run, node, int(row["assignee_id"]), task_id)
    return ids


def tell(run: FlowRun, node: NodeDef, assignee: int, task_id: int) -> None:
    title = run.instance["title"]
    run.notify([assignee], Label(f"待审批：{run.flow.label.zh} · {title}（{node.label.zh}）",
                                 f"To approve: {run.flow.label.en} · {title} ({node.label.en})"),
               link=f"/inbox/{task_id}", key=f"flow-task:{task_id}")


def run_in_order(node: NodeDef) -> bool:
    from engine.flows import resolvers

    return resolvers.runs_in_order(node.setting("approvers") or ())


class ApprovalNode(RunnableNode):
    key = "approval"
    label = Label("审批", "Approval")
    description = Label("审批人同意或驳回；或签、会签、依次审批或按比例通过",
                        "Approvers approve or reject: any of them, all, one after another, or a ratio")
    tasks = True
    kind = "approval"
    settings_schema: ClassVar[dict[str, Any]] = {"type": "object", "required": ["approvers"], "properties": {
        **_TASK_NODE,
        "mode": {"enum": ["any", "all", "sequential", "ratio"]},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "reject": {"enum": ["end", "start", "previous", "choose"]},
    }}

    def enter(self, run: FlowRun, node: NodeDef, job: Job) -> str:
        entries = node.setting("approvers") or []
        people = run.engine.people.resolve_people(context(run, node), entries)
        if not people:
            when_none = node.setting("when_none", "auto_pass")
            if when_none == "reject":
                run.event("auto_reject", node=node.key, detail={"reason": "no_approver"}, by_engine=True)
                run.close_job(job, "rejected")
                run.finish("rejected", node=node.key)
                return WAIT
            if when_none == "admins":
                people = run.engine.people.app_admins(run.conn, run.instance["app"])
            if not people:
                run.event("auto_pass", node=node.key, detail={"reason": "no_approver"}, by_engine=True)
                return DONE
        mode = self.mode(node)
        passing = self.auto_passing(run, people)
        if passing:
            run.event("auto_pass", node=node.key, detail={"users": passing, "reason": "policy"},
                      by_engine=True)
            if mode == "any" or len(passing) == len(people):
                return DONE
            job.result["auto"] = passing
            people = [p for p in people if p not in passing]
            if mode == "ratio" and len(passing) / (len(passing) + len(people)) >= self.ratio(node):
                return DONE
        assign(run, job, node, people, kind=self.kind, sequential=mode == "sequential")
        return WAIT

    def mode(self, node: NodeDef) -> str:
        """The node's mode; multi-level heads approve in order whatever it says."""
        if run_in_order(node):
            return "sequential"
        return str(node.setting("mode", "any"))

    @staticmethod
    def ratio(node: NodeDef) -> float:
        return float(node.setting("ratio", 1.0))

    @staticmethod
    def auto_passing(run: FlowRun, people: Sequence[int]) -> list[int]:
        policy: dict[str, Any] = run.flow.setting("auto_pass") or {}
        passing: set[int] = set()
        if policy.get("submitter", True) and run.submitter in people:
            passing.add(int(run.submitter))  # type: ignore[arg-type]
        if policy.get("repeated", True):
            passing |= approved_before(run) & set(people)
        return [p for p in people if p in passing]

    def settle(self, run: FlowRun, node: NodeDef, job: Job) -> str:
        """After an approval: DONE when the node's mode is satisfied (the
        others' tasks cancelled), else WAIT (the next sequential approver's
        turn comes; an add-signed approver before someone hands back)."""
        tasks = [dict(r._mapping) for r in run.conn.execute(store.JOB_TASKS, {"job": job.id})]
        waiting: dict[str, list[int]] = job.result.get("before", {})
        for adder, added in list(waiting.items()):
            if all(t["box"] == "done" for t in tasks if t["id"] in added):
                waiting.pop(adder)
                self.promote(run, node, next(t for t in tasks if t["id"] == int(adder)))
                return WAIT
        open_tasks = [t for t in tasks if t["box"] in OPEN_BOXES]
        if any(t["added_by"] is not None and t["box"] == "todo" for t in open_tasks):
            return WAIT
        mode = self.mode(node)
        approved = sum(1 for t in tasks if t["outcome"] == "approved") + len(job.result.get("auto", ()))
        counted = approved + len(open_tasks)
        satisfied = (mode == "any" and approved > 0) or not open_tasks or (
            mode == "ratio" and counted and approved / counted >= self.ratio(node))
        if satisfied:
            if open_tasks:
                run.conn.execute(store.CANCEL_TASKS, {"_ids": [t["id"] for t in open_tasks], "_at": run.now})
            return DONE
        if not any(t["box"] == "todo" for t in open_tasks):
            self.promote(run, node, min(open_tasks, key=lambda t: (t["seq"], t["id"])))
        return WAIT

    @staticmethod
    def promote(run: FlowRun, node: NodeDef, task: dict[str, Any]) -> None:
        run.conn.execute(store.UPDATE_TASK, {"_id": task["id"], "box": "todo",
                                             **timeouts.deadlines(node, run.now)})
        tell(run, node, int(task["assignee_id"]), int(task["id"]))


class HandleNode(ApprovalNode):
    key = "handle"
    label = Label("办理", "Handle")
    description = Label("办理人填写或修改字段后提交", "The assignee fills in or edits fields, then completes")
    kind = "handle"
    settings_schema: ClassVar[dict[str, Any]] = {"type": "object", "required": ["approvers"], "properties": {
        **_TASK_NODE, "mode": {"enum": ["any", "all", "sequential"]}}}

    @staticmethod
    def auto_passing(run: FlowRun, people: Sequence[int]) -> list[int]:
        return []  # handling is work to do, not a judgement someone already gave


class CcNode(RunnableNode):
    key = "cc"
    label = Label("抄送", "Copy")
    description = Label("抄送给相关人员，不需要他们处理", "Copies the record to people; nobody waits for them")
    settings_schema: ClassVar[dict[str, Any]] = {"type": "object", "required": ["recipients"], "properties": {"recipients": _ENTRIES}}

    def enter(self, run: FlowRun, node: NodeDef, job: Job) -> str:
        people = run.engine.people.resolve_people(context(run, node), node.setting("recipients") or [])
        ids = assign(run, job, node, people, kind="cc", box="cc")
        title = run.instance["title"]
        for person, task_id in zip(people, ids, strict=False):
            run.notify([person], Label(f"抄送：{run.flow.label.zh} · {title}", f"Copy: {run.flow.label.en} · {title}"),
                       link=f"/inbox/{task_id}", key=f"flow-task:{task_id}")
        job.result["recipients"] = people
        return DONE


APPROVAL_NODES = (ApprovalNode(), HandleNode(), CcNode())
