"""Branching nodes: exclusive (条件分支: the first branch whose condition
holds, by priority; else the default) and parallel (并行分支: every branch
runs; the node is finished when all of them are)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from engine.core.i18n import Label
from engine.definitions.flow_files import BranchDef, NodeDef
from engine.flows.nodes import RunnableNode
from engine.flows.run import DONE, WAIT

if TYPE_CHECKING:
    from engine.flows.run import FlowRun, Job

_NO_SETTINGS = {"type": "object", "properties": {}}


def _launch(run: FlowRun, branch: BranchDef) -> None:
    run.enter(branch.nodes[0].key)


class ExclusiveNode(RunnableNode):
    key = "exclusive"
    label = Label("条件分支", "Exclusive branch")
    description = Label("按优先级取第一个条件成立的分支，都不成立时走默认分支",
                        "Takes the first branch whose condition holds, by priority; else the default one")
    branching = True
    settings_schema: ClassVar[dict[str, Any]] = _NO_SETTINGS

    def enter(self, run: FlowRun, node: NodeDef, job: Job) -> str:
        taken = self.choose(run, node)
        job.result["branch"] = taken.key if taken is not None else None
        run.event("branch", node=node.key, detail={"branch": job.result["branch"]}, by_engine=True)
        if taken is None or not taken.nodes:
            return DONE
        _launch(run, taken)
        return WAIT

    @staticmethod
    def choose(run: FlowRun, node: NodeDef) -> BranchDef | None:
        ordered = sorted((b for b in node.branches if not b.default), key=lambda b: b.priority)
        for branch in ordered:
            if branch.condition and run.engine.holds(run, branch.condition):
                return branch
        return next((b for b in node.branches if b.default), None)


class ParallelNode(RunnableNode):
    key = "parallel"
    label = Label("并行分支", "Parallel branches")
    description = Label("所有分支同时进行，全部完成后继续", "Every branch runs at once; goes on when all are finished")
    branching = True
    settings_schema: ClassVar[dict[str, Any]] = _NO_SETTINGS

    def enter(self, run: FlowRun, node: NodeDef, job: Job) -> str:
        started = [b for b in node.branches if b.nodes]
        joins = run.state.setdefault("joins", {})
        joins[node.key] = [b.key for b in started]
        if not started:
            joins.pop(node.key)
            return DONE
        for branch in started:
            if run.ended or node.key not in joins:
                break
            _launch(run, branch)
        return WAIT

    def branch_done(self, run: FlowRun, node: NodeDef, job: Job, branch: str) -> bool:
        joins = run.state.setdefault("joins", {})
        waiting = [b for b in joins.get(node.key, []) if b != branch]
        if waiting:
            joins[node.key] = waiting
            return False
        joins.pop(node.key, None)
        return True


BRANCH_NODES = (ExclusiveNode(), ParallelNode())
