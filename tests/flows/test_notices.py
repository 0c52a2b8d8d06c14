"""Who hears of a flow: a new task's assignee (linked to the task), the
copied, the submitter at the end (linked to the record); flow_status moves
are audited as the flow's doing."""

from __future__ import annotations

from typing import Any, cast

import sqlalchemy as sa

from engine.records.access import AppAccess
from engine.records.actor import Actor
from engine.store.models import AuditEntry, Notification
from tests.flows.conftest import World, approval

NOTICES = cast(sa.Table, Notification.__table__)
AUDIT = cast(sa.Table, AuditEntry.__table__)


def notices(world: World, login: str) -> list[dict[str, Any]]:
    with world.database.reading() as conn:
        return [dict(r) for r in conn.execute(sa.select(NOTICES.c.title, NOTICES.c.link, NOTICES.c.record_id)
                                              .where(NOTICES.c.user_id == world.users[login])
                                              .order_by(NOTICES.c.id)).mappings()]


def test_assignees_the_copied_and_the_submitter_are_told(world: World) -> None:
    world.publish({"key": "deal", "label": {"zh": "合同审批", "en": "Contract approval"}, "nodes": [
        approval("manager", "ann"),
        {"key": "copy", "type": "cc", "recipients": [{"type": "members", "users": ["eve"]}]}]})
    record = world.record(title="Big deal")
    world.submit(record)
    task = world.todo("ann")[0]
    assert notices(world, "ann") == [{"title": "待审批：合同审批 · Big deal（manager）", "link": f"/inbox/{task}",
                                      "record_id": record}]
    world.act("ann")
    copy = world.flows.tasks(world.users["eve"], "cc").items[0]
    assert [n["link"] for n in notices(world, "eve")] == [f"/inbox/{copy.id}"]
    assert notices(world, "sub") == [{"title": "合同审批已通过：Big deal", "link": f"/a/shop/contract/{record}",
                                      "record_id": record}]


def test_flow_status_moves_are_audited_as_the_flow(world: World) -> None:
    world.publish({"key": "deal", "nodes": [approval("manager", "ann")]})
    record = world.record()
    world.submit(record)
    world.act("ann", "reject", comment="no")
    with world.database.reading() as conn:
        rows = conn.execute(sa.select(AUDIT.c.action, AUDIT.c.changes, AUDIT.c.source, AUDIT.c.rule, AUDIT.c.user_id)
                            .where(AUDIT.c.record_id == record, AUDIT.c.action == "flow")
                            .order_by(AUDIT.c.id)).all()
    assert [(r.changes, r.source, r.rule, r.user_id) for r in rows] == [
        ({"flow_status": [None, "running"]}, "flow", "shop.deal", None),
        ({"flow_status": ["running", "rejected"]}, "flow", "shop.deal", None),
    ]


def test_a_submit_writes_its_notices_and_tasks_in_one_statement_each(world: World) -> None:
    world.publish({"key": "deal", "nodes": [approval("board", "ann", "bob", "cat", mode="all")]})
    record = world.record()
    sub = world.users["sub"]
    signed_in = Actor(sub, "web", access=AppAccess(world.engine.org.principal(sub, app="shop"), (), app="shop"))
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()[:3]))

    sa.event.listen(world.database.engine, "before_cursor_execute", count)
    try:
        view = world.flows.submit("shop", "contract", record, actor=signed_in)
    finally:
        sa.event.remove(world.database.engine, "before_cursor_execute", count)
    assert view.submitter_name == "Sub"  # from the principal: no query for it
    assert [n["title"] for login in ("ann", "bob", "cat") for n in notices(world, login)] == \
        ["待审批：deal · Big deal（board）"] * 3
    for table in ("flow_tasks", "flow_events", "notifications"):
        assert seen.count(f"INSERT INTO {table}") == 1, seen
    # No account is read for the notices or for the name: the only read of
    # users is the resolver's, from the logins its node names to their ids.
    assert [s for s in seen if s.startswith("SELECT users.")] == ["SELECT users.login, users.id"], seen
