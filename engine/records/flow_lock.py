"""The record lock of a running approval flow (``engine.flows``).

While a record's ``flow_status`` is ``running`` every write path (page, API,
import, rules, bulk) refuses to change or delete it: ``RecordService``
calls ``refuse_locked`` only for such records, so a record outside any flow
pays one dictionary lookup. The one exception is the flow engine writing
for the current task's assignee (``Actor.flow_fields``: the fields the node
makes editable). ``write_flow_status`` is how the engine moves the status,
audited as the flow's doing.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.core.errors import ConflictError
from engine.core.i18n import Label
from engine.records.data_versions import mark_changed
from engine.records.ending import AUDIT_INSERT, audit_row
from engine.store.driver import DriverStatement
from engine.store.models import Definition, FlowInstance

if TYPE_CHECKING:
    from engine.records.actor import Actor
    from engine.records.service import RecordService

RUNNING = "running"
_INSTANCES = cast(sa.Table, FlowInstance.__table__)
_DEFINITIONS = cast(sa.Table, Definition.__table__)
_RUNNING_INSTANCE = (
    sa.select(_INSTANCES.c.flow, _INSTANCES.c.current, _DEFINITIONS.c.body)
    .join(_DEFINITIONS, _DEFINITIONS.c.id == _INSTANCES.c.definition_id, isouter=True)
    .where(_INSTANCES.c.app == sa.bindparam("app"), _INSTANCES.c.form == sa.bindparam("form"),
           _INSTANCES.c.record_id == sa.bindparam("record"), _INSTANCES.c.status == RUNNING)
    .order_by(_INSTANCES.c.id.desc()).limit(1)
)


def refuse_locked(service: RecordService, conn: Connection, form: str, previous: Mapping[str, Any],
                  changing: Collection[str] | None, actor: Actor) -> None:
    """Refuse a write to a record under a running flow (``changing`` None: a
    delete), unless it is the engine's own write of the fields it allows."""
    allowed = actor.flow_fields
    if allowed is not None and changing is not None and set(changing) <= allowed:
        return
    record_id = int(previous["id"])
    row = conn.execute(_RUNNING_INSTANCE, {"app": service.app.key, "form": form, "record": record_id}).first()
    where_zh = where_en = ""
    if row is not None:
        body = row.body or {}
        nodes = _node_labels(body.get("nodes") or [])
        current = [nodes.get(k, {"zh": k, "en": k}) for k in row.current or ()]
        flow = _text(body.get("label"), row.flow)
        where_zh = f"（流程：{flow['zh']}，当前节点：{'、'.join(n['zh'] for n in current) or '-'}）"
        where_en = f" (flow: {flow['en']}, at: {', '.join(n['en'] for n in current) or '-'})"
    doing = ("删除", "deleted") if changing is None else ("修改", "changed")
    raise ConflictError(
        Label(f"记录 #{record_id} 正在审批中，不能{doing[0]}{where_zh}",
              f"Record #{record_id} is under approval and cannot be {doing[1]}{where_en}"),
        details={"record": record_id, "flow": row.flow if row is not None else None,
                 "nodes": list(row.current or ()) if row is not None else []},
    )


def write_flow_status(service: RecordService, conn: Connection, form: str, record_id: int,
                      before: str | None, after: str, actor: Actor) -> None:
    """Move a record's ``flow_status`` (no new version: the record's fields
    did not change), with an audit entry by the flow."""
    compiled, tables = service.form(form)
    _status_update(tables.main).execute(conn, {"_id": record_id, "_status": after})
    AUDIT_INSERT.execute(conn, audit_row(service, compiled.form.key, record_id, "flow", actor,
                                         {"flow_status": [before, after]},
                                         at=service.clock.now().astimezone(dt.UTC)))
    mark_changed(conn, service.app.key, compiled.form.key)


@functools.lru_cache(maxsize=512)
def _status_update(main: sa.Table) -> DriverStatement:
    # One statement per form table, built once: every flow step moves a status.
    return DriverStatement(main.update().where(main.c.id == sa.bindparam("_id"))
                           .values(flow_status=sa.bindparam("_status")), ["_id", "_status"])


def _text(value: Any, fallback: str) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {"zh": str(value.get("zh") or value.get("en") or fallback),
                "en": str(value.get("en") or value.get("zh") or fallback)}
    return {"zh": str(value or fallback), "en": str(value or fallback)}


def _node_labels(nodes: list[Any]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for node in nodes:
        found[str(node.get("key"))] = _text(node.get("label"), str(node.get("key")))
        for branch in node.get("branches") or ():
            found.update(_node_labels(branch.get("nodes") or []))
    return found
