"""Whom an action reaches: members named in the rule or found on the record,
a role's holders, a department's members or head, addresses in fields,
group robots.

A rule names them as a ``to`` list whose items are a word (``owner``,
``trigger_user``) or a one-key mapping (``{role: sales}``). Each kind is a
``Recipient`` in the ``RECIPIENTS`` registry: its JSON Schema, a ``check``
against the rule's form, and ``resolve`` to a ``Reach`` (member ids,
addresses, robot names) in the rule's transaction. Deactivated members are
left out here, once, for every action.

The same module finds the candidates of an assignment (the active members of
a department, optionally with its sub-departments, or of a role).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engine.actions.base import ActionContext, RuleChecker
from engine.core.errors import NotFoundError, ValidationError
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.issues import Path
from engine.definitions.model import FieldDef
from engine.org.base import MEMBERSHIPS, USERS
from engine.org.model import DepartmentInfo
from engine.records.columns import system_field

# Field types whose values reach someone, and how.
MEMBER_TYPES = ("member",)
ADDRESS_TYPES = ("email", "phone")


@dataclass
class Reach:
    """Who a ``to`` list reaches: member ids, addresses (e-mail, phone) and robots, in order, once each."""

    users: list[int] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    robots: list[str] = field(default_factory=list)

    def add(self, other: Reach) -> None:
        self.users.extend(u for u in other.users if u not in self.users)
        self.addresses.extend(a for a in other.addresses if a not in self.addresses)
        self.robots.extend(r for r in other.robots if r not in self.robots)


def active_ids(conn: Connection, ids: Iterable[int]) -> list[int]:
    """``ids`` without the deactivated and unknown users, sorted."""
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return []
    return [int(u) for u in conn.execute(sa.select(USERS.c.id).where(
        USERS.c.id.in_(wanted), USERS.c.active.is_(True)).order_by(USERS.c.id)).scalars()]


def member_id(conn: Connection, ref: int | str) -> int:
    """A member named by user id or login (NotFoundError when there is none)."""
    column = USERS.c.id if isinstance(ref, int) else USERS.c.login
    key = ref if isinstance(ref, int) else ref.strip().lower()
    found = conn.execute(sa.select(USERS.c.id).where(column == key)).scalar()
    if found is None:
        raise NotFoundError(Label(f"没有成员 '{ref}'", f"there is no member '{ref}'"), details={"member": ref})
    return int(found)


def department(ctx: ActionContext, ref: str) -> DepartmentInfo:
    """A department by path (``总部/销售部``), code or name; a name two departments share is an error."""
    index = ctx.org.within(ctx.conn).department_index()
    found = index.find(ref) if "/" in ref else None
    if found is not None:
        return found
    matches = [d for d in index.by_id.values() if d.code == ref] or \
              [d for d in index.by_id.values() if d.name == ref]
    if not matches:
        raise NotFoundError(Label(f"没有部门 '{ref}'", f"there is no department '{ref}'"), details={"department": ref})
    if len(matches) > 1:
        raise ValidationError(Label(f"有多个部门叫 '{ref}'：请写部门路径或编码",
                                    f"several departments are called '{ref}': give its path or code"))
    return matches[0]


def department_members(ctx: ActionContext, ref: str, *, sub_departments: bool = False) -> list[int]:
    """The active members of a department (and of those below it), sorted by id."""
    found = department(ctx, ref)
    ids = {found.id}
    if sub_departments:
        ids = ctx.org.within(ctx.conn).department_index().subtree_ids([found.id])
    members = ctx.conn.execute(sa.select(MEMBERSHIPS.c.user_id).where(
        MEMBERSHIPS.c.department_id.in_(sorted(ids)))).scalars()
    return active_ids(ctx.conn, members)


def role_members(ctx: ActionContext, role: str) -> list[int]:
    """The active holders of a role (directly or through a department), sorted by id."""
    return sorted(ctx.org.within(ctx.conn).users_with_role(role))


class FieldChecker(Protocol):
    """What ``record_field`` asks of a checker: a rule's, or a flow's (its approvers' fields)."""

    def report(self, path: Path, message: Label) -> None: ...

    def field(self, path: Path, key: str, *, form: str | None = None) -> FieldDef | None: ...


def record_field(checker: FieldChecker, path: Path, key: str, types: tuple[str, ...]) -> FieldDef | None:
    """A field of the checked form (or a system field) whose type is one of ``types``."""
    found = checker.field(path, key) or system_field(key)
    if found is not None and found.type not in types:
        checker.report(path, Label(f"字段 '{key}' 的类型应为 {' / '.join(types)}",
                                   f"field '{key}' must be of type {' / '.join(types)}"))
        return None
    return found


def ids_of(value: Any) -> list[int]:
    """The member ids a member field's value holds (one id or a list of them)."""
    if value is None or value == "":
        return []
    items = value if isinstance(value, list) else [value]
    return [int(i["id"] if isinstance(i, Mapping) else i) for i in items]


class Recipient(ABC):
    """One kind of ``to`` item (see the module docstring)."""

    key: ClassVar[str]
    schema: ClassVar[dict[str, Any]]
    # Whether a todo (which belongs to a member) may name this kind (a field
    # may: ``check`` then wants a member field).
    members_only: ClassVar[bool] = True

    def check(self, checker: RuleChecker, value: Any, path: Path, *, members_only: bool = False) -> None:
        """Report what is wrong with ``value`` beyond its schema (``members_only``: for a todo)."""
        return  # a kind whose settings name no field or form needs nothing more

    @abstractmethod
    def resolve(self, ctx: ActionContext, value: Any) -> Reach:
        ...


class Owner(Recipient):
    key = "owner"
    schema: ClassVar[dict[str, Any]] = {"const": True}

    def resolve(self, ctx: ActionContext, value: Any) -> Reach:
        owner = ctx.record.get("owner") if ctx.record is not None else None
        return Reach(users=active_ids(ctx.conn, ids_of(owner)))


class TriggerUser(Recipient):
    key = "trigger_user"
    schema: ClassVar[dict[str, Any]] = {"const": True}

    def resolve(self, ctx: ActionContext, value: Any) -> Reach:
        return Reach(users=active_ids(ctx.conn, [ctx.user_id] if ctx.user_id is not None else []))


class Member(Recipient):
    key = "member"
    schema: ClassVar[dict[str, Any]] = {"anyOf": [
        {"type": ["string", "integer"]}, {"type": "array", "items": {"type": ["string", "integer"]}}]}

    def resolve(self, ctx: ActionContext, value: Any) -> Reach:
        refs = value if isinstance(value, list) else [value]
        return Reach(users=active_ids(ctx.conn, [member_id(ctx.conn, r) for r in refs]))


class Field(Recipient):
    key = "field"
    schema: ClassVar[dict[str, Any]] = {"type": "string"}

    def check(self, checker: RuleChecker, value: Any, path: Path, *, members_only: bool = False) -> None:
        record_field(checker, path, value, MEMBER_TYPES if members_only else MEMBER_TYPES + ADDRESS_TYPES)

    def resolve(self, ctx: ActionContext, value: Any) -> Reach:
        held = ctx.record.get(value) if ctx.record is not None else None
        f = ctx.service.app.get_form(ctx.rule.form).field(value) or system_field(value)
        if f is not None and f.type in MEMBER_TYPES:
            return Reach(users=active_ids(ctx.conn, ids_of(held)))
        texts = held if isinstance(held, list) else [held]
        return Reach(addresses=[str(t).strip() for t in texts if t not in (None, "")])


class Role(Recipient):
    key = "role"
    schema: ClassVar[dict[str, Any]] = {"type": "string", "minLength": 1}

    def resolve(self, ctx: ActionContext, value: Any) -> Reach:
        return Reach(users=role_members(ctx, value))


class Department(Recipient):
    key = "department"
    schema: ClassVar[dict[str, Any]] = {"type": "string", "minLength": 1}

    def resolve(self, ctx: ActionContext, value: Any) -> Reach:
        return Reach(users=department_members(ctx, value))


class DepartmentHead(Recipient):
    key = "department_head"
    schema: ClassVar[dict[str, Any]] = {"type": "string", "minLength": 1}

    def resolve(self, ctx: ActionContext, value: Any) -> Reach:
        head = department(ctx, value).head_id
        return Reach(users=active_ids(ctx.conn, [head] if head is not None else []))


class Robot(Recipient):
    key = "robot"
    schema: ClassVar[dict[str, Any]] = {"type": "string", "minLength": 1}
    members_only = False

    def resolve(self, ctx: ActionContext, value: Any) -> Reach:
        return Reach(robots=[value])


def build_recipients() -> Registry[Recipient]:
    registry: Registry[Recipient] = Registry("recipient")
    registry.register_all((Owner(), TriggerUser(), Member(), Field(), Role(), Department(), DepartmentHead(),
                           Robot()))
    return registry


RECIPIENTS = build_recipients()
WORDS = tuple(r.key for r in RECIPIENTS if r.schema == {"const": True})


def to_schema(*, members_only: bool = False) -> dict[str, Any]:
    """The JSON Schema of a ``to`` list (``members_only``: kinds that reach members)."""
    kinds = [r for r in RECIPIENTS if not members_only or r.members_only]
    item = {"anyOf": [
        {"enum": [r.key for r in kinds if r.key in WORDS]},
        {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
         "properties": {r.key: r.schema for r in kinds}},
    ]}
    return {"type": "array", "minItems": 1, "items": item,
            "description": "Whom to reach: owner, trigger_user, {member}, {field}, {role}, {department}, "
                           "{department_head}, {robot}."}


def _kind(item: str | Mapping[str, Any]) -> tuple[Recipient, Any]:
    if isinstance(item, str):
        return RECIPIENTS.get(item), True
    (key, value), = item.items()
    return RECIPIENTS.get(key), value


def check_to(checker: RuleChecker, items: list[Any], path: Path, *, members_only: bool = False) -> None:
    for i, item in enumerate(items):
        kind, value = _kind(item)
        kind.check(checker, value, (*path, i), members_only=members_only)


def resolve_to(ctx: ActionContext, items: list[Any]) -> Reach:
    reach = Reach()
    for item in items:
        kind, value = _kind(item)
        reach.add(kind.resolve(ctx, value))
    return reach
