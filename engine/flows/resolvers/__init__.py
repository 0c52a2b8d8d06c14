"""Approver resolution: the resolver registry and what the flow engine asks of it.

A node names its people as a list of resolver entries (``approvers:``,
``recipients:``, ``transfer_to:``), each ``{type: <resolver key>,
...settings}``. ``resolve_people`` unites them in order, no one twice, only
active users; ``choices`` is the set a submitter picks from when an entry is
``chosen`` (自选), and ``check_choice`` checks what they picked;
``check_entries`` checks a list against each resolver's schema and
``check``. ``delegate`` puts an away person's delegate in their place and
``app_admins`` names who takes a node that found nobody.

Every resolver answers in a handful of queries whatever the size of the
organization (see ``heads`` for the department tree).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa

from engine.core.errors import ValidationError
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.issues import Path, did_you_mean, join
from engine.definitions.schema_check import make_validator, schema_errors
from engine.flows.base import FlowChecker, ResolveContext, Resolver
from engine.flows.resolvers.heads import DepartmentFieldHead, DepartmentHead, DepartmentHeads
from engine.flows.resolvers.people import (
    MemberField,
    Members,
    RoleHolders,
    Submitter,
    active_in_order,
)
from engine.flows.resolvers.standins import app_admins, delegate
from engine.org.base import USERS

NESTED_CHOICE = Label("自选的范围里不能再有自选", "A choice cannot offer another choice")


def _settings(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "type"}


class Chosen(Resolver):
    key = "chosen"
    label = Label("发起人自选", "Chosen by the submitter")
    description = Label("发起人提交时自己选择审批人，可限定范围（from）和是否多选",
                        "The submitter picks the approvers when submitting, optionally from a set "
                        "(from) and one or several (multiple)")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {
            "from": {"type": "array", "minItems": 1,
                     "items": {"type": "object", "required": ["type"],
                               "properties": {"type": {"type": "string"}}},
                     "description": "Resolver entries naming whom the submitter may pick; anyone when absent."},
            "multiple": {"type": "boolean", "description": "Whether several people may be picked."},
        },
    }
    choosable = True

    def check(self, checker: FlowChecker, settings: Mapping[str, Any], path: Path) -> None:
        check_entries(checker, settings.get("from", ()), (*path, "from"), choosable=False)

    def resolve(self, ctx: ResolveContext, settings: Mapping[str, Any]) -> list[int]:
        picked = list(dict.fromkeys(ctx.chosen))
        if "from" in settings:
            allowed = set(self.candidates(ctx, settings))
            picked = [p for p in picked if p in allowed]
        picked = active_in_order(ctx.conn, picked)
        return picked if settings.get("multiple") else picked[:1]

    def candidates(self, ctx: ResolveContext, settings: Mapping[str, Any]) -> list[int]:
        if "from" in settings:
            return resolve_people(dataclasses.replace(ctx, chosen=()), settings["from"])
        return [int(u) for u in ctx.conn.execute(
            sa.select(USERS.c.id).where(USERS.c.active.is_(True)).order_by(USERS.c.id)).scalars()]


def build_resolvers() -> Registry[Resolver]:
    registry: Registry[Resolver] = Registry("resolver")
    registry.register_all([Members(), RoleHolders(), DepartmentHead(), DepartmentHeads(),
                           DepartmentFieldHead(), MemberField(), Chosen(), Submitter()])
    return registry


RESOLVERS: Registry[Resolver] = build_resolvers()


def resolve_people(ctx: ResolveContext, entries: Sequence[Mapping[str, Any]]) -> list[int]:
    """The people ``entries`` name, united in order, no one twice, only
    active users (empty: nobody found, the node's ``when_none`` decides).
    Called when a node is entered, and for the submit dialog's path."""
    people: dict[int, None] = {}
    for entry in entries:
        for user_id in RESOLVERS.get(entry["type"]).resolve(ctx, _settings(entry)):
            people.setdefault(user_id)
    return list(people)


def runs_in_order(entries: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the people ``entries`` name approve one after another whatever
    the node's ``mode`` says (multi-level heads, as DingTalk's 连续多级主管)."""
    return any(RESOLVERS.get(e["type"]).sequential for e in entries)


def choices(ctx: ResolveContext, entries: Sequence[Mapping[str, Any]]) -> list[int] | None:
    """Whom the submitter may pick for a node whose ``entries`` include a
    ``chosen`` one (united over such entries, in order), or None when the
    node asks for no choice."""
    choosing = [e for e in entries if RESOLVERS.get(e["type"]).choosable]
    if not choosing:
        return None
    allowed: dict[int, None] = {}
    for entry in choosing:
        allowed.update(dict.fromkeys(RESOLVERS.get(entry["type"]).candidates(ctx, _settings(entry))))
    return list(allowed)


def choice_is_multiple(entries: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the submitter may pick several people for a node (any of its
    ``chosen`` entries says ``multiple: true``)."""
    return any(RESOLVERS.get(e["type"]).choosable and e.get("multiple") for e in entries)


def check_choice(ctx: ResolveContext, entries: Sequence[Mapping[str, Any]],
                 picked: Sequence[int]) -> list[int]:
    """What the submitter picked for the node ``ctx.node`` (whose approvers
    are ``entries``), checked: someone, from the allowed set, one person
    unless several are allowed. ``ValidationError`` on ``chosen.<node>``
    otherwise. A node that asks for no choice takes none."""
    allowed = choices(ctx, entries)
    node = ctx.node.label
    where = f"chosen.{ctx.node.key}"
    picked = list(dict.fromkeys(int(p) for p in picked))
    problem: Label | None = None
    if allowed is None:
        problem = Label(f"“{node.zh}”不需要选择审批人", f"\"{node.en}\" takes no chosen approvers") \
            if picked else None
    elif not picked:
        problem = Label(f"请为“{node.zh}”选择审批人", f"Choose the approvers of \"{node.en}\"")
    elif len(picked) > 1 and not choice_is_multiple(entries):
        problem = Label(f"“{node.zh}”只能选择一人", f"\"{node.en}\" takes one person")
    elif outside := [p for p in picked if p not in set(allowed)]:
        problem = Label(f"“{node.zh}”不能选择用户 {outside}",
                        f"\"{node.en}\" cannot be given users {outside}")
    if problem is not None:
        raise ValidationError(problem, field_errors={where: [problem]})
    return picked


def check_entries(checker: FlowChecker, entries: Sequence[Any], path: Path,
                  resolvers: Registry[Resolver] = RESOLVERS, *, choosable: bool = True) -> None:
    """Report what is wrong with a list of resolver entries at ``path``: an
    unknown type (with the closest known ones), settings against the
    resolver's schema, then its ``check`` (roles, fields). Without
    ``choosable`` (the set a choice offers) a ``chosen`` entry is wrong too."""
    for i, entry in enumerate(entries):
        kind = resolvers.find(str(entry.get("type", ""))) if isinstance(entry, Mapping) else None
        if kind is None:
            given = entry.get("type") if isinstance(entry, Mapping) else entry
            checker.report((*path, i, "type"), join(
                Label(f"没有审批人类型 '{given}'", f"there is no approver type '{given}'"),
                did_you_mean(str(given), resolvers.keys())))
            continue
        if kind.choosable and not choosable:
            checker.report((*path, i, "type"), NESTED_CHOICE)
            continue
        settings = _settings(entry)
        errors = schema_errors(make_validator(kind.settings_schema), settings)
        for where, message in errors:
            checker.report((*path, i, *where), message)
        if not errors:
            kind.check(checker, settings, (*path, i))


__all__ = ["RESOLVERS", "Chosen", "app_admins", "build_resolvers", "check_choice", "check_entries",
           "choice_is_multiple", "choices", "delegate", "resolve_people", "runs_in_order"]
