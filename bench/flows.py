"""What flows cost, in one run (issue #13). On SQLite files (WAL):

1. lifecycle: submit a record, then two approvals by two people (an or-sign
   node each), persisted with their history and tasks, through
   ``FlowEngine``, versus SpiffWorkflow running the equivalent BPMN process
   (a start, two user tasks, an end) in memory and completing both user
   tasks. Goal: at least 1.0x Spiff's rate (a ratio of times <= 1.0x).
2. inbox: ``FlowEngine.tasks(user, "todo", limit=50)`` for one user among
   100,000 open tasks of 1,000 users (``--quick``: 20,000 of 200), filled by
   bulk SQL, versus a hand-written query on the same index (the page of
   tasks joined to their instances and submitters). Goal: <= 1.5x.
3. submit: ``FlowEngine.submit`` on a form whose flow's approvers are the
   submitter's heads three levels up (``department_heads``, levels 3) in a
   10,000-user department tree (``--quick``: 2,000), versus
   ``RecordService.create`` of the same record by the same person. Goal: <= 2x.

Reference rows (no goal) show the floor under goals 1 and 3: three bare
committed transactions, and the very SQL our lifecycle, submit and create
send, recorded and sent again through ``sqlite3`` with none of our Python
(``bench/replay.py``).

Rounds alternate between contender and baseline and keep the best of each,
so a busy machine slows both alike.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.replay import Recording, count_rows, recording, replay  # noqa: E402
from bench.rules import best  # noqa: E402  (the same alternating rounds)
from engine.composition import Engine, compose  # noqa: E402
from engine.core.clock import FixedClock  # noqa: E402
from engine.fields import FIELD_TYPES  # noqa: E402
from engine.org.base import DEPARTMENTS, MEMBERSHIPS, USERS  # noqa: E402
from engine.org.permissions import parse_role  # noqa: E402
from engine.packages import install_package  # noqa: E402
from engine.records.access import AppAccess  # noqa: E402
from engine.records.actor import Actor  # noqa: E402
from engine.store.database import Database  # noqa: E402
from engine.store.migrate import upgrade_system_tables  # noqa: E402
from engine.store.models import FlowInstance, FlowJob, FlowTask  # noqa: E402

NOW = dt.datetime(2026, 12, 4, 9, 30)
APP = "office"
FORM = {"key": "expense", "label": "Expense", "title_field": "title", "fields": [
    {"key": "title", "type": "text", "label": "Title", "required": True},
    {"key": "amount", "type": "number", "label": "Amount", "precision": 2},
    {"key": "note", "type": "text", "label": "Note"}]}
STAFF = {"key": "staff", "label": "Staff",
         "grants": {"expense": {"actions": ["create", "read", "update"], "read": "all", "write": "all"}}}
TWO_APPROVALS = {
    "schema_version": 1, "key": "expense_approval", "label": {"zh": "报销审批", "en": "Expense approval"},
    "form": "expense", "trigger": {"type": "submit"},
    "nodes": [
        {"key": "manager", "type": "approval", "label": {"zh": "经理审批", "en": "Manager approval"},
         "approvers": [{"type": "members", "users": ["manager"]}], "mode": "any"},
        {"key": "finance", "type": "approval", "label": {"zh": "财务审批", "en": "Finance approval"},
         "approvers": [{"type": "members", "users": ["finance"]}], "mode": "any"},
    ]}
THREE_HEADS = {
    "schema_version": 1, "key": "expense_approval", "label": {"zh": "报销审批", "en": "Expense approval"},
    "form": "expense", "trigger": {"type": "submit"},
    "nodes": [{"key": "heads", "type": "approval", "label": {"zh": "三级主管审批", "en": "Three heads"},
               "approvers": [{"type": "department_heads", "levels": 3}]}]}

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="expense"
                  targetNamespace="http://qiqiao.example/bench">
  <bpmn:process id="expense_approval" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>to_manager</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="manager" name="Manager approval">
      <bpmn:incoming>to_manager</bpmn:incoming><bpmn:outgoing>to_finance</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="finance" name="Finance approval">
      <bpmn:incoming>to_finance</bpmn:incoming><bpmn:outgoing>to_end</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>to_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="to_manager" sourceRef="start" targetRef="manager"/>
    <bpmn:sequenceFlow id="to_finance" sourceRef="manager" targetRef="finance"/>
    <bpmn:sequenceFlow id="to_end" sourceRef="finance" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

INSTANCES = cast(sa.Table, FlowInstance.__table__)
JOBS = cast(sa.Table, FlowJob.__table__)
TASKS = cast(sa.Table, FlowTask.__table__)


def package(root: Path, flow: dict[str, Any]) -> Path:
    (root / "forms").mkdir(parents=True)
    (root / "flows").mkdir()
    (root / "app.yaml").write_text(yaml.safe_dump(
        {"schema_version": 1, "key": APP, "label": "Office", "version": "1.0.0"}), encoding="utf-8")
    (root / "forms" / "expense.yaml").write_text(yaml.safe_dump({"schema_version": 1, **FORM}), encoding="utf-8")
    (root / "roles.yaml").write_text(yaml.safe_dump({"schema_version": 1, "roles": [STAFF]}), encoding="utf-8")
    (root / "flows" / f"{flow['key']}.yaml").write_text(yaml.safe_dump(flow, allow_unicode=True),
                                                         encoding="utf-8")
    return root


def installed(folder: Path, name: str, flow: dict[str, Any]) -> Engine:
    database = Database(f"sqlite:///{folder / name}.sqlite3")
    upgrade_system_tables(database)
    install_package(database, package(folder / name, flow), FIELD_TYPES)
    return compose(database, clock=FixedClock(NOW))


def actor(engine: Engine, user_id: int) -> Actor:
    """The actor a signed-in person acts as (the runtime caches the same per user)."""
    principal = engine.org.principal(user_id, app=APP)
    roles = tuple(parse_role(r.key, r.grants, r.label) for r in engine.org.roles_of(user_id, app=APP))
    return Actor(user_id, "web", access=AppAccess(principal, roles, app=APP))


def people(engine: Engine, logins: list[str]) -> dict[str, int]:
    ids = {login: engine.org.create_user(login, login.title()).id for login in logins}
    engine.org.assign_role(f"{APP}:staff", ids[logins[0]])
    return ids


def row(goal: str, ours: float, base: float, target: str, met: bool) -> dict[str, Any]:
    return {"goal": goal, "contender_s": ours, "baseline_s": base, "ratio": ours / base, "target": target,
            "met": met}


# --- 1. the lifecycle against SpiffWorkflow ------------------------------------------------------------
def spiff_lifecycles(count: int) -> Callable[[int], float]:
    from SpiffWorkflow.bpmn.parser import BpmnParser
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    parser = BpmnParser()
    parser.add_bpmn_str(BPMN.encode())
    spec = parser.get_spec("expense_approval")

    def run(_: int) -> float:
        started = time.perf_counter()
        for i in range(count):
            workflow = BpmnWorkflow(spec)
            workflow.data["record_id"] = i
            workflow.do_engine_steps()
            for who in ("manager", "finance"):
                ready = workflow.get_tasks(state=TaskState.READY, manual=True)
                assert len(ready) == 1 and ready[0].task_spec.name == who, ready
                ready[0].data["approved_by"] = who
                ready[0].run()
                workflow.do_engine_steps()
            assert workflow.is_completed()
        return time.perf_counter() - started

    return run


def open_task(engine: Engine, instance_id: int, assignee: int) -> int:
    with engine.database.reading() as conn:
        return int(conn.execute(sa.select(TASKS.c.id).where(
            TASKS.c.instance_id == instance_id, TASKS.c.assignee_id == assignee, TASKS.c.box == "todo",
        )).scalar_one())


def lifecycle(folder: Path, quick: bool) -> list[dict[str, Any]]:
    count, rounds = (50, 2) if quick else (300, 5)
    engine = installed(folder, "lifecycle", TWO_APPROVALS)
    ids = people(engine, ["submitter", "manager", "finance"])
    submitter, manager, finance = (actor(engine, ids[k]) for k in ("submitter", "manager", "finance"))
    service = engine.service(APP)
    records = [service.create("expense", {"title": f"trip {i}", "amount": 100 + i}, actor=submitter)["id"]
               for i in range(count * (rounds + 1) + 1)]
    flows: Any = engine.flows  # type: ignore[attr-defined]

    def one(record_id: int) -> float:
        # The task lookups stand for the approvers opening their inbox: not timed, as Spiff's are free.
        started = time.perf_counter()
        instance = flows.submit(APP, "expense", record_id, actor=submitter)
        spent = time.perf_counter() - started
        for person in (manager, finance):
            task = open_task(engine, instance.id, person.user_id)
            started = time.perf_counter()
            instance = flows.act(task, "approve", actor=person)
            spent += time.perf_counter() - started
        assert instance.status == "approved", instance
        return spent

    def ours(round_: int) -> float:
        return sum(one(records[1 + round_ * count + i]) for i in range(count))

    one(records[0])  # warm: compiled form, statements, the flow
    spiff = spiff_lifecycles(count)
    spiff(0)
    mine, theirs = best(rounds, ours, spiff)
    floor = bare_floor(engine, count)
    floor(0)
    bare, theirs_again = best(rounds, floor, spiff)
    with recording(engine.database, folder / "lifecycle-before.sqlite3") as recorded:
        for record_id in records[1 + rounds * count:]:
            one(record_id)
    approved = "SELECT count(*) FROM flow_instances WHERE status = 'approved'"
    again = replayer(recorded, folder / "lifecycle-replay.sqlite3")
    before = count_rows(recorded.snapshot, approved)
    again(0)
    assert count_rows(folder / "lifecycle-replay.sqlite3", approved) == before + count  # the same work, again
    sql, theirs_third = best(rounds, again, spiff)
    return [row(f"lifecycle: submit + 2 approvals on a SQLite file vs Spiff in memory, {count} runs",
                mine, theirs, "<= 1.0x", mine <= theirs),
            row(f"reference: 3 bare committed one-row transactions on the same file vs Spiff, {count} runs",
                bare, theirs_again, "(floor)", True),
            row(f"reference: the lifecycle's own SQL ({per_run(recorded, count)} statements in 3 transactions) "
                f"sent again through sqlite3 vs Spiff, {count} runs", sql, theirs_third, "(floor)", True)]


def replayer(recorded: Recording, into: Path) -> Callable[[int], float]:
    return lambda _: replay(recorded, into)


def per_run(recorded: Recording, count: int) -> int:
    """Statements per unit of work, the BEGIN of each transaction not counted."""
    return round((recorded.statements - len(recorded.transactions)) / count)


def bare_floor(engine: Engine, count: int) -> Callable[[int], float]:
    """What three committed transactions cost on that file and nothing else
    (a lifecycle commits three: submit, approve, approve): the floor under
    the lifecycle row, whatever the flow engine does in between."""
    floor = sa.Table("bench_floor", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("n", sa.Integer))
    floor.create(engine.database.engine, checkfirst=True)
    insert = floor.insert()

    def run(_: int) -> float:
        started = time.perf_counter()
        for i in range(count):
            for _ in range(3):
                with engine.database.transaction() as conn:
                    conn.execute(insert, {"n": i})
        return time.perf_counter() - started

    return run


# --- 2. the inbox against a hand-written query --------------------------------------------------------
def bulk_users(engine: Engine, count: int, prefix: str) -> list[int]:
    """``count`` active users, inserted at once (ids returned in order)."""
    with engine.database.transaction() as conn:
        first = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(USERS.c.id), 0))).scalar_one()) + 1
        ids = list(range(first, first + count))
        conn.execute(USERS.insert(), [
            {"id": i, "login": f"{prefix}{i}", "name": f"{prefix.title()} {i}", "active": True, "locale": "zh",
             "is_admin": False, "created_at": NOW} for i in ids])
    return ids


def fill_tasks(engine: Engine, definition_id: int, users: list[int], tasks: int, submitter: int) -> None:
    """``tasks`` open tasks (10 per instance, one job each: a countersign
    node) spread evenly over ``users``, by bulk INSERTs."""
    instances = tasks // 10
    with engine.database.transaction() as conn:
        conn.execute(INSTANCES.insert(), [
            {"id": i, "app": APP, "flow": "expense_approval", "definition_id": definition_id, "form": "expense",
             "record_id": i, "title": f"trip {i}", "status": "running", "submitter_id": submitter,
             "started_at": NOW, "current": ["manager"], "state": {}, "lock_version": 1}
            for i in range(1, instances + 1)])
        conn.execute(JOBS.insert(), [
            {"id": i, "instance_id": i, "node": "manager", "node_type": "approval", "visit": 1,
             "status": "pending", "started_at": NOW} for i in range(1, instances + 1)])
        conn.execute(TASKS.insert(), [
            {"instance_id": i, "job_id": i, "app": APP, "node": "manager", "kind": "approval",
             "assignee_id": users[(i * 10 + k) % len(users)], "box": "todo", "seq": 0, "created_at": NOW}
            for i in range(1, instances + 1) for k in range(10)])
    with engine.database.transaction() as conn:
        conn.exec_driver_sql("ANALYZE")


def inbox(folder: Path, quick: bool) -> dict[str, Any]:
    tasks, users, calls, rounds = (20_000, 200, 100, 3) if quick else (100_000, 1_000, 300, 7)
    engine = installed(folder, "inbox", TWO_APPROVALS)
    ids = people(engine, ["submitter", "manager", "finance"])
    flows: Any = engine.flows  # type: ignore[attr-defined]
    definition_id = flows.flows_for(APP, "expense")[0].version
    assignees = bulk_users(engine, users, "clerk")
    fill_tasks(engine, definition_id, assignees, tasks, ids["submitter"])
    me = assignees[len(assignees) // 2]
    t, i, submitter = TASKS, INSTANCES, USERS.alias("submitter")
    hand = (sa.select(t.c.id, t.c.instance_id, t.c.app, t.c.node, t.c.kind, t.c.assignee_id, t.c.box,
                      t.c.outcome, t.c.created_at, t.c.acted_at, t.c.due_at, i.c.flow, i.c.form, i.c.record_id,
                      i.c.title, i.c.status, i.c.submitter_id, submitter.c.name.label("submitter_name"))
            .join_from(t, i, i.c.id == t.c.instance_id)
            .join(submitter, submitter.c.id == i.c.submitter_id, isouter=True)
            .where(t.c.assignee_id == sa.bindparam("user"), t.c.box == "todo")
            .order_by(t.c.id.desc()).limit(50))
    found: dict[str, list[int]] = {}

    def ours(_: int) -> float:
        started = time.perf_counter()
        for _ in range(calls):
            page = flows.tasks(me, "todo", limit=50)
        found["engine"] = [item.id for item in page.items]
        return time.perf_counter() - started

    def baseline(_: int) -> float:
        started = time.perf_counter()
        for _ in range(calls):
            with engine.database.reading() as conn:
                rows = [dict(r) for r in conn.execute(hand, {"user": me}).mappings()]
        found["hand"] = [r["id"] for r in rows]
        return time.perf_counter() - started

    ours(0)
    baseline(0)
    mine, theirs = best(rounds, ours, baseline)
    assert found["engine"] == found["hand"] and len(found["hand"]) == 50, found
    return row(f"inbox: a page of 50 among {tasks:,} open tasks of {users:,} users vs hand SQL, {calls} pages",
               mine, theirs, "<= 1.5x", mine / theirs <= 1.5)


# --- 3. submit with heads three levels up against a create ------------------------------------------
@dataclass
class Tree:
    """A department tree filled by bulk INSERTs: a root, then ``fanout``
    levels (divisions, regions, teams), ``team_size`` members per team. A
    department is headed by a member of its first team, a different one at
    each level (the team's first member heads the team, its second the
    region ...), so three levels up are three people."""

    members: dict[int, list[int]]
    heads: dict[int, int]
    parents: dict[int, int | None]

    def ladder(self, team: int, levels: int) -> list[int]:
        found: list[int] = []
        department: int | None = team
        while department is not None and len(found) < levels:
            found.append(self.heads[department])
            department = self.parents[department]
        return found


def build_tree(engine: Engine, fanout: tuple[int, ...], team_size: int) -> Tree:
    with engine.database.transaction() as conn:
        root = int(conn.execute(sa.select(
            sa.func.coalesce(sa.func.max(DEPARTMENTS.c.id), 0))).scalar_one()) + 1
    parents: dict[int, int | None] = {root: None}
    levels = [[root]]
    for width in fanout:
        levels.append([])
        for parent in levels[-2]:
            for _ in range(width):
                levels[-1].append(root + len(parents))
                parents[levels[-1][-1]] = parent
    teams = levels[-1]
    users = bulk_users(engine, len(teams) * team_size, "staff")
    members = {team: users[k * team_size:(k + 1) * team_size] for k, team in enumerate(teams)}
    first_team = {team: team for team in teams}
    for depth in range(len(fanout) - 1, -1, -1):
        for department in levels[depth]:
            first_team[department] = first_team[next(d for d in levels[depth + 1] if parents[d] == department)]
    heads = {d: members[first_team[d]][len(fanout) - depth] for depth, level in enumerate(levels) for d in level}
    with engine.database.transaction() as conn:
        conn.execute(DEPARTMENTS.insert(), [
            {"id": d, "name": f"department {d}", "parent_id": parent, "head_id": heads[d], "sort": 0}
            for d, parent in parents.items()])
        conn.execute(MEMBERSHIPS.insert(), [
            {"user_id": u, "department_id": team, "is_main": True} for team in teams for u in members[team]])
        conn.exec_driver_sql("ANALYZE")
    return Tree(members, heads, parents)


def submit_vs_create(folder: Path, quick: bool) -> dict[str, Any]:
    fanout, count, rounds = ((4, 5, 10), 50, 3) if quick else ((10, 10, 10), 200, 5)
    engine = installed(folder, "submit", THREE_HEADS)
    tree = build_tree(engine, fanout, 10)
    team = list(tree.members)[len(tree.members) // 2]
    me = tree.members[team][5]
    engine.org.assign_role(f"{APP}:staff", me)
    person = actor(engine, me)
    ladder = tree.ladder(team, 3)
    assert len(set(ladder)) == 3 and me not in ladder
    service = engine.service(APP)
    values = {"title": "laptop", "amount": 8000, "note": "for the new hire"}
    records = [service.create("expense", values, actor=person)["id"] for _ in range(count * (rounds + 1) + 1)]
    flows: Any = engine.flows  # type: ignore[attr-defined]

    def ours(round_: int) -> float:
        started = time.perf_counter()
        for i in range(count):
            flows.submit(APP, "expense", records[1 + round_ * count + i], actor=person)
        return time.perf_counter() - started

    def baseline(_: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            service.create("expense", values, actor=person)
        return time.perf_counter() - started

    first = flows.submit(APP, "expense", records[0], actor=person)  # warm, and check whom it asks
    with engine.database.reading() as conn:
        asked = [int(a) for a in conn.execute(sa.select(TASKS.c.assignee_id).where(
            TASKS.c.instance_id == first.id).order_by(TASKS.c.seq, TASKS.c.id)).scalars()]
    assert asked and asked == ladder[:len(asked)], (asked, ladder)
    baseline(0)
    mine, theirs = best(rounds, ours, baseline)
    users = sum(len(m) for m in tree.members.values())
    with recording(engine.database, folder / "submit-before.sqlite3") as submits:
        for record_id in records[1 + rounds * count:]:
            flows.submit(APP, "expense", record_id, actor=person)
    with recording(engine.database, folder / "create-before.sqlite3") as creates:
        baseline(0)
    submit_sql = replayer(submits, folder / "submit-replay.sqlite3")
    create_sql = replayer(creates, folder / "create-replay.sqlite3")
    submit_sql(0)
    create_sql(0)
    sql, sql_base = best(rounds, submit_sql, create_sql)
    sql_again, theirs_again = best(rounds, submit_sql, baseline)
    return [row(f"submit, heads 3 levels up in a {users:,}-user tree vs create, {count} records",
                mine, theirs, "<= 2x", mine / theirs <= 2.0),
            row(f"reference: a submit's own SQL ({per_run(submits, count)} statements) vs a create's own SQL "
                f"({per_run(creates, count)}), both sent again through sqlite3, {count} records",
                sql, sql_base, "(floor)", True),
            row(f"reference: a submit's own SQL sent again through sqlite3 vs create, {count} records",
                sql_again, theirs_again, "(floor)", True)]


def measure(quick: bool) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="qiqiao-bench-") as tmp:
        folder = Path(tmp)
        return [*lifecycle(folder, quick), inbox(folder, quick), *submit_vs_create(folder, quick)]


# A reference row (the floor) has no goal to meet.
MARK = {(False, True): "met", (False, False): "MISSED", (True, True): "ref", (True, False): "ref"}


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a Markdown table (what the closing note quotes)."""
    width = max(len(r["goal"]) for r in rows)
    lines = [f"| {'measurement':<{width}} | qiqiao | baseline | ratio | goal | |",
             f"|{'-' * (width + 2)}|-------:|---------:|------:|------|---|"]
    lines += [f"| {r['goal']:<{width}} | {r['contender_s']:.4f} s | {r['baseline_s']:.4f} s | {r['ratio']:.2f}x "
              f"| {r['target']} | {MARK[r['target'] == '(floor)', r['met']]} |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    rows = measure(args.quick)
    print(table(rows))
    return 0 if args.quick or all(r["met"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
