"""Department heads: the submitter's heads up the tree, and the head of a
department a record names.

The tree is climbed in the database, one recursive query per resolution
(the departments from a start up to the top, each with its head, whether
that head is active and their delegate in force), so a head three levels up
in a large organization costs one round trip, not one per level, and the
whole tree is never loaded; the heads' tasks need no second one to learn
who stands in for them (``ResolveContext.standins``).

A department without an active head (none named, or the head deactivated)
counts as headed by the nearest active head above it: work never stops at
an empty chair, and never falls through to "nobody found" while someone
above could decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from engine.actions.people import ids_of, record_field
from engine.core.i18n import Label
from engine.definitions.issues import Path
from engine.flows.base import FlowChecker, ResolveContext, Resolver
from engine.flows.resolvers.people import one_setting
from engine.flows.resolvers.standins import moment_of, standin_of
from engine.org.base import DEPARTMENTS, MEMBERSHIPS, USERS

# Deeper than any real organization; a cycle in stored data stops here.
MAX_DEPTH = 64
DEPARTMENT_TYPES = ("department",)


def _climb_query(start: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """The departments from each one ``start`` selects up to the top: (origin,
    head id, head active, head's delegate at ``moment``), nearest first."""
    d = DEPARTMENTS
    seed = sa.select(d.c.id.label("origin"), d.c.id, d.c.parent_id, d.c.head_id,
                     sa.literal(0).label("depth")).where(start)
    chain = seed.cte("chain", recursive=True)
    up = d.alias("up")
    chain = chain.union_all(
        sa.select(chain.c.origin, up.c.id, up.c.parent_id, up.c.head_id, chain.c.depth + 1)
        .join_from(chain, up, up.c.id == chain.c.parent_id).where(chain.c.depth < MAX_DEPTH))
    return (sa.select(chain.c.origin, chain.c.head_id, USERS.c.active, standin_of(chain.c.head_id))
            .join_from(chain, USERS, USERS.c.id == chain.c.head_id, isouter=True)
            .order_by(chain.c.origin, chain.c.depth))


# Built once: making a recursive select costs more than running it.
FROM_DEPARTMENTS = _climb_query(DEPARTMENTS.c.id.in_(sa.bindparam("departments", expanding=True)))
FROM_MAIN_DEPARTMENT = _climb_query(DEPARTMENTS.c.id == (
    sa.select(MEMBERSHIPS.c.department_id)
    .where(MEMBERSHIPS.c.user_id == sa.bindparam("user"), MEMBERSHIPS.c.is_main.is_(True))
    .scalar_subquery()))


def climb(ctx: ResolveContext, query: sa.Select[Any], **params: Any) -> dict[int, list[int | None]]:
    """For each start department of ``query`` (``FROM_DEPARTMENTS`` with
    ``departments=[ids]``, ``FROM_MAIN_DEPARTMENT`` with ``user=id``), the
    effective head of it and of every department above it, nearest first
    (None where nobody active heads it or anything above it). The active
    heads' delegates go to ``ctx.standins``."""
    found: dict[int, list[int | None]] = {}
    for origin, head, active, standin in ctx.conn.execute(query, {**params, "moment": moment_of(ctx.org, ctx.now)}):
        effective = int(head) if head is not None and active else None
        found.setdefault(int(origin), []).append(effective)
        if effective is not None:
            ctx.standins[effective] = int(standin) if standin is not None else None
    return {origin: _filled(heads) for origin, heads in found.items()}


def _filled(heads: list[int | None]) -> list[int | None]:
    # An empty chair is taken by the nearest active head above it.
    result: list[int | None] = []
    above: int | None = None
    for head in reversed(heads):
        above = head if head is not None else above
        result.append(above)
    return result[::-1]


def submitter_ladder(ctx: ResolveContext) -> list[int]:
    """The submitter's heads, level 1 first: the head of their main
    department, then of each department above. A submitter who heads their
    own department starts one level up (they do not approve themselves)."""
    if ctx.submitter_id is None:
        return []
    chains = climb(ctx, FROM_MAIN_DEPARTMENT, user=ctx.submitter_id)
    heads = next(iter(chains.values()), [])
    while heads and heads[0] == ctx.submitter_id:
        heads = heads[1:]
    # Past the top of the tree there is nobody (None only remains where no active head is above).
    return [h for h in heads if h is not None]


def _levels(settings: Mapping[str, Any]) -> int:
    return int(settings.get("levels", 1))


LEVELS_SCHEMA = {"type": "integer", "minimum": 1, "maximum": 20,
                 "description": "How many levels up: 1 is the submitter's direct head."}


class DepartmentHead(Resolver):
    key = "department_head"
    label = Label("部门主管", "Department head")
    description = Label(
        "发起人主部门往上第 N 级的主管（1 = 直属主管；发起人本身是部门主管时从上一级算起）",
        "The head N levels above the submitter in their main department (1: their direct head; "
        "a submitter who heads their own department starts one level up)")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False, "properties": {"levels": LEVELS_SCHEMA}}

    def resolve(self, ctx: ResolveContext, settings: Mapping[str, Any]) -> list[int]:
        ladder = submitter_ladder(ctx)
        level = _levels(settings)
        # Levels count departments: one head over two levels is still found once at each.
        return [ladder[level - 1]] if len(ladder) >= level else []


class DepartmentHeads(Resolver):
    key = "department_heads"
    label = Label("连续多级主管", "Heads up to a level")
    description = Label(
        "发起人从直属主管起往上每一级的主管，直到第 N 级或最高级，依次审批",
        "Every head above the submitter from their direct head up to level N or to the top, "
        "approving one after another")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {"levels": LEVELS_SCHEMA,
                       "top": {"const": True, "description": "Every head up to the top of the tree."}},
        "oneOf": [{"required": ["levels"]}, {"required": ["top"]}],
    }
    sequential = True

    def resolve(self, ctx: ResolveContext, settings: Mapping[str, Any]) -> list[int]:
        ladder = submitter_ladder(ctx)
        if not settings.get("top"):
            ladder = ladder[:_levels(settings)]
        return list(dict.fromkeys(ladder))


class DepartmentFieldHead(Resolver):
    key = "department_field_head"
    label = Label("部门字段的主管", "Head of a department field")
    description = Label("记录中部门字段所选部门的主管（多选时每个部门的主管）",
                        "The head of the department a field of the record names (each one's, "
                        "when the field holds several)")
    settings_schema: ClassVar[dict[str, Any]] = one_setting(
        "field", "A department field of the flow's form.")

    def check(self, checker: FlowChecker, settings: Mapping[str, Any], path: Path) -> None:
        record_field(checker, (*path, "field"), settings["field"], DEPARTMENT_TYPES)

    def resolve(self, ctx: ResolveContext, settings: Mapping[str, Any]) -> list[int]:
        departments = ids_of(ctx.record.get(settings["field"]))
        if not departments:
            return []
        chains = climb(ctx, FROM_DEPARTMENTS, departments=departments)
        heads = (chains.get(d, [None])[0] for d in departments)
        return _unique(h for h in heads if h is not None)


def _unique(ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(ids))
