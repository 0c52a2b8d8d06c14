"""Who owns a record: assign it, and move customers to and from the public pool.

``assign_owner`` sets the record's owner (or another member field) by a
*strategy*, a registry of its own:

- ``fixed``: a member named by login or user id;
- ``round_robin``: the next active member of a department or a role, in user
  id order, after the one this rule chose last. The last choice is a row of
  ``rule_cursors`` (``assign:<rule>``, or ``assign:<cursor>`` to share one
  rotation between rules), read and written in the rule's transaction with
  an upsert that locks it: two records created at the same moment queue on
  that row (PostgreSQL) or on the database (SQLite serialises writers), so
  the second sees the first's choice. Over any run of assignments to a fixed
  team, no member gets a second record before every other got one;
- ``least_loaded``: the active member of the department or role with the
  fewest records of the form (optionally only the "open" ones, a filter),
  counted in one grouped SQL query; ties go round-robin, under the same lock;
- ``trigger_user``: the person whose write or click fired the rule.

The write goes through the record service as the rule's actor, so the owner
change is audited "by rule X" and fires the rules that follow.

``move_to_pool`` and ``claim_from_pool`` are the CRM's public pool (公海):
the field names are settings, with the CRM customer's as defaults.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from engine.actions.base import Action, ActionContext, ActionResult, RuleChecker
from engine.actions.people import (
    department_members,
    ids_of,
    member_id,
    record_field,
    role_members,
)
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.issues import Path
from engine.records.filters import FilterCompiler, PathResolver
from engine.store.models import RuleCursor

CURSORS = cast(sa.Table, RuleCursor.__table__)

_MEMBER_REF = {"type": ["string", "integer"], "description": "A login or a user id."}
_TEAM = {
    "department": {"type": "string", "minLength": 1, "description": "A department's path, code or name."},
    "sub_departments": {"type": "boolean", "description": "Include the departments below it (default false)."},
    "role": {"type": "string", "minLength": 1, "description": "A role key (or app:key)."},
    "open": {"type": "object", "description": "least_loaded: which records count as open (a filter)."},
    "cursor": {"type": "string", "minLength": 1, "description": "Share the rotation of another rule by name."},
}
STRATEGY_SETTINGS: dict[str, Any] = {
    "strategy": {"enum": ["fixed", "round_robin", "least_loaded", "trigger_user"]},
    "member": _MEMBER_REF, **_TEAM,
}
# What each strategy needs: a member, or a team (a department or a role, not both).
_NEEDS = [
    {"if": {"properties": {"strategy": {"const": "fixed"}}, "required": ["strategy"]},
     "then": {"required": ["member"]}},
    {"if": {"properties": {"strategy": {"enum": ["round_robin", "least_loaded"]}}, "required": ["strategy"]},
     "then": {"oneOf": [{"required": ["department"]}, {"required": ["role"]}]}},
]


class Strategy(ABC):
    """How to choose a member for a record."""

    key: ClassVar[str]

    @abstractmethod
    def choose(self, ctx: ActionContext, settings: Mapping[str, Any], field: str) -> int | None:
        ...


class Fixed(Strategy):
    key = "fixed"

    def choose(self, ctx: ActionContext, settings: Mapping[str, Any], field: str) -> int | None:
        return member_id(ctx.conn, settings["member"])


class TriggerUser(Strategy):
    key = "trigger_user"

    def choose(self, ctx: ActionContext, settings: Mapping[str, Any], field: str) -> int | None:
        return ctx.user_id


def team(ctx: ActionContext, settings: Mapping[str, Any]) -> list[int]:
    if "department" in settings:
        return department_members(ctx, settings["department"], sub_departments=bool(settings.get("sub_departments")))
    return role_members(ctx, settings["role"])


def locked_cursor(ctx: ActionContext, settings: Mapping[str, Any]) -> tuple[str, int | None]:
    """The rotation's key and its last choice, the row locked until the transaction ends."""
    key = f"assign:{settings.get('cursor') or ctx.rule.key}"
    insert = postgresql.insert if ctx.conn.dialect.name == "postgresql" else sqlite.insert
    # An upsert rather than SELECT ... FOR UPDATE: it also locks the row when two
    # transactions create it at once (the second waits, then updates the first's).
    value = ctx.conn.execute(
        insert(CURSORS).values(app=ctx.app, key=key, value={}, updated_at=ctx.now)
        .on_conflict_do_update(index_elements=["app", "key"], set_={"updated_at": ctx.now})
        .returning(CURSORS.c.value)).scalar_one()
    last = value.get("last") if isinstance(value, Mapping) else None
    return key, int(last) if last is not None else None


def save_cursor(ctx: ActionContext, key: str, chosen: int) -> None:
    ctx.conn.execute(CURSORS.update().where(CURSORS.c.app == ctx.app, CURSORS.c.key == key)
                     .values(value={"last": chosen}, updated_at=ctx.now))


def rotation(candidates: list[int], last: int | None) -> list[int]:
    """``candidates`` (sorted) starting after ``last``."""
    after = [c for c in candidates if last is None or c > last]
    return after + [c for c in candidates if c not in after]


class RoundRobin(Strategy):
    key = "round_robin"

    def choose(self, ctx: ActionContext, settings: Mapping[str, Any], field: str) -> int | None:
        candidates = team(ctx, settings)
        if not candidates:
            return None
        key, last = locked_cursor(ctx, settings)
        chosen = self.pick(ctx, settings, field, rotation(candidates, last))
        save_cursor(ctx, key, chosen)
        return chosen

    def pick(self, ctx: ActionContext, settings: Mapping[str, Any], field: str, ordered: list[int]) -> int:
        return ordered[0]


class LeastLoaded(RoundRobin):
    key = "least_loaded"

    def pick(self, ctx: ActionContext, settings: Mapping[str, Any], field: str, ordered: list[int]) -> int:
        loads = open_counts(ctx, field, ordered, settings.get("open"))
        return min(ordered, key=lambda user: loads.get(user, 0))  # min keeps the first of a tie: round-robin


def open_counts(ctx: ActionContext, field: str, users: list[int], open_filter: Mapping[str, Any] | None) -> dict[int, int]:
    """Per member, how many of the form's records (the open ones) they hold in
    ``field`` — one grouped query, the triggering record left out."""
    compiled, tables = ctx.service.form(ctx.rule.form)
    main = tables.main
    holder = main.c[field]
    query = (sa.select(holder, sa.func.count()).select_from(main)
             .where(holder.in_(users)).group_by(holder))
    if ctx.record is not None:
        query = query.where(main.c.id != int(ctx.record["id"]))
    if open_filter:
        resolver = PathResolver(compiled.form, ctx.service.app, ctx.service.field_types, tables)
        query = query.where(FilterCompiler(resolver, today=ctx.service.clock.today(), user_id=None)
                            .compile(open_filter))
    return {int(user): int(count) for user, count in ctx.conn.execute(query)}


def build_strategies() -> Registry[Strategy]:
    registry: Registry[Strategy] = Registry("assignment strategy")
    registry.register_all((Fixed(), RoundRobin(), LeastLoaded(), TriggerUser()))
    return registry


STRATEGIES = build_strategies()


def check_strategy(checker: RuleChecker, settings: Mapping[str, Any], path: Path, field: str) -> None:
    found = record_field(checker, (*path, "field"), field, ("member",))
    if found is not None and found.setting("multiple"):
        checker.report((*path, "field"), Label(f"字段 '{field}' 应为单个成员", f"field '{field}' must hold one member"))
    if "open" in settings and settings.get("strategy") != "least_loaded":
        checker.report((*path, "open"), Label("open 只用于 least_loaded", "open is only for least_loaded"))


def assign(ctx: ActionContext, settings: Mapping[str, Any], field: str,
           extra: Mapping[str, Any] | None = None) -> ActionResult:
    """Choose by ``settings["strategy"]`` and write ``field`` (and ``extra``) on the triggering record."""
    if ctx.record is None:
        return ActionResult("skipped", {"reason": "no record"})
    chosen = STRATEGIES.get(settings["strategy"]).choose(ctx, settings, field)
    if chosen is None:
        return ActionResult("skipped", {"reason": "no active member to choose", "strategy": settings["strategy"]})
    record_id = int(ctx.record["id"])
    values = {field: chosen, **(extra or {})}
    ctx.service.update(ctx.rule.form, record_id, values, version=None, actor=ctx.actor, connection=ctx.conn)
    before = ids_of(ctx.record.get(field))
    return ActionResult(detail={field: chosen, "record": record_id, "before": before[0] if before else None})


class AssignOwner(Action):
    key = "assign_owner"
    label = Label("分配负责人", "Assign an owner")
    description = Label("按固定成员、轮流或最少负载，把记录分配给部门或角色中的成员",
                        "Give the record to a fixed member, or round-robin or least-loaded within a department or role")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "required": ["strategy"], "additionalProperties": False,
        "properties": {**STRATEGY_SETTINGS, "field": {"type": "string", "description": "A member field (default owner)."}},
        "allOf": _NEEDS,
    }

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        check_strategy(checker, settings, path, settings.get("field", "owner"))

    def run(self, ctx: ActionContext, settings: Mapping[str, Any]) -> ActionResult:
        return assign(ctx, settings, settings.get("field", "owner"))


POOL_FIELDS = {"flag": "in_public_pool", "entered_at": "pool_entered_at", "reason_field": "pool_reason",
               "previous_owner": "previous_owner", "assigned_at": "assigned_at"}
_POOL_FIELD_SETTINGS = {key: {"type": "string", "description": f"The field (default {default})."}
                        for key, default in POOL_FIELDS.items()}


def pool_field(settings: Mapping[str, Any], name: str) -> str:
    return str(settings.get(name, POOL_FIELDS[name]))


def check_pool_fields(checker: RuleChecker, settings: Mapping[str, Any], path: Path, names: tuple[str, ...]) -> None:
    for name in names:
        checker.field((*path, name), pool_field(settings, name))


class MoveToPool(Action):
    key = "move_to_pool"
    label = Label("退回公海", "Move to the public pool")
    description = Label("清空负责人，记下前负责人、进入公海的时间和原因",
                        "Clear the owner, keeping the previous owner, when and why it entered the pool")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {"reason": {"type": "string", "description": "The pool reason (an option key of the field)."},
                       **{k: v for k, v in _POOL_FIELD_SETTINGS.items() if k != "assigned_at"}},
    }

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        names = ("flag", "entered_at", "previous_owner") + (("reason_field",) if "reason" in settings else ())
        check_pool_fields(checker, settings, path, names)

    def run(self, ctx: ActionContext, settings: Mapping[str, Any]) -> ActionResult:
        if ctx.record is None:
            return ActionResult("skipped", {"reason": "no record"})
        flag = pool_field(settings, "flag")
        if ctx.record.get(flag):
            return ActionResult("skipped", {"reason": "already in the pool"})
        owner = ctx.record.get("owner")
        values: dict[str, Any] = {flag: True, pool_field(settings, "entered_at"): ctx.now, "owner": None,
                                  pool_field(settings, "previous_owner"): owner}
        if "reason" in settings:
            values[pool_field(settings, "reason_field")] = settings["reason"]
        record_id = int(ctx.record["id"])
        ctx.service.update(ctx.rule.form, record_id, values, version=None, actor=ctx.actor, connection=ctx.conn)
        return ActionResult(detail={"record": record_id, "previous_owner": owner})


class ClaimFromPool(Action):
    key = "claim_from_pool"
    label = Label("从公海领取", "Claim from the public pool")
    description = Label("把公海中的记录分配给触发的用户或按分配方式选出的成员",
                        "Give a pool record to the user who fired the rule, or to a member chosen by a strategy")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {**STRATEGY_SETTINGS, "flag": _POOL_FIELD_SETTINGS["flag"],
                       "reason_field": _POOL_FIELD_SETTINGS["reason_field"],
                       "entered_at": _POOL_FIELD_SETTINGS["entered_at"],
                       "assigned_at": _POOL_FIELD_SETTINGS["assigned_at"]},
        "allOf": _NEEDS,
    }

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        check_strategy(checker, settings, path, "owner")
        check_pool_fields(checker, settings, path, ("flag", "reason_field", "entered_at", "assigned_at"))

    def run(self, ctx: ActionContext, settings: Mapping[str, Any]) -> ActionResult:
        if ctx.record is not None and not ctx.record.get(pool_field(settings, "flag")):
            return ActionResult("skipped", {"reason": "not in the pool"})
        reset = {pool_field(settings, "flag"): False, pool_field(settings, "reason_field"): None,
                 pool_field(settings, "entered_at"): None, pool_field(settings, "assigned_at"): ctx.now}
        return assign(ctx, {"strategy": "trigger_user", **settings}, "owner", reset)


ASSIGN_ACTIONS: tuple[Action, ...] = (AssignOwner(), MoveToPool(), ClaimFromPool())
