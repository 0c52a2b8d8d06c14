"""What a role grants, per form: actions, data scopes and field rights.

A role's ``grants`` is a mapping from form key (or ``"*"`` for every other
form) to a grant::

    customer:
      actions: [create, read, update, delete, import, export, print, assign]
      read: department_tree          # own | own_and_subordinates | department
      write: own                     #   | department_tree | all | {filter: {...}}
      fields: {revenue: hidden, level: readonly}   # default: editable

This module is the model: parsing with clear errors, and the union rules
that combine several roles. Turning scopes into SQL is the record layer's
job (``engine.records.access``), which applies them to every query.

The union rule, per record: a user may do what *some* role grants, and
sees a field of a record when some role whose read scope contains that
record shows it — never because another role, whose scope does not contain
the record, shows it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.core.errors import DefinitionError
from engine.core.i18n import Label

# ``assign``: give a record to another owner (on create, update or import);
# without it a user may only keep a record's owner or take it themselves.
ACTIONS = ("create", "read", "update", "delete", "import", "export", "print", "assign")
SCOPES = ("own", "own_and_subordinates", "department", "department_tree", "all")
FIELD_RIGHTS = ("hidden", "readonly", "editable")
ANY_FORM = "*"


@dataclass(frozen=True)
class Scope:
    """Which records a grant reaches: one of ``SCOPES``, or a custom filter
    in the filter language (``kind == "filter"``)."""

    kind: str
    filter: Mapping[str, Any] | None = None

    @property
    def everything(self) -> bool:
        return self.kind == "all"


@dataclass(frozen=True)
class FormGrant:
    """One role's rights on one form."""

    actions: frozenset[str]
    read: Scope | None
    write: Scope | None
    fields: Mapping[str, str] = field(default_factory=dict)

    def allows(self, action: str) -> bool:
        return action in self.actions

    def right(self, key: str) -> str:
        return self.fields.get(key, "editable")

    def shows(self, key: str) -> bool:
        return self.right(key) != "hidden"

    def lets_edit(self, key: str) -> bool:
        return self.right(key) == "editable"


@dataclass(frozen=True)
class Role:
    """A role with its grants by form key."""

    key: str
    grants: Mapping[str, FormGrant]
    label: Label | None = None

    def for_form(self, form: str) -> FormGrant | None:
        return self.grants.get(form, self.grants.get(ANY_FORM))


def parse_scope(raw: Any, where: str) -> Scope | None:
    if raw is None or raw is False:
        return None
    if isinstance(raw, str):
        if raw not in SCOPES:
            raise _bad(where, f"数据范围应为 {', '.join(SCOPES)} 之一或 {{filter: ...}}",
                       f"a data scope is one of {', '.join(SCOPES)} or {{filter: ...}}")
        return Scope(raw)
    if isinstance(raw, Mapping) and isinstance(raw.get("filter"), Mapping) and len(raw) == 1:
        return Scope("filter", raw["filter"])
    raise _bad(where, "数据范围写法有误", f"a data scope is one of {', '.join(SCOPES)} or {{filter: ...}}")


def parse_grant(raw: Any, where: str) -> FormGrant:
    """A form grant from its stored form (``grants[form]`` of a role)."""
    if not isinstance(raw, Mapping):
        raise _bad(where, "授权应为映射", "a grant is a mapping")
    actions = raw.get("actions", ["read"])
    if not isinstance(actions, list | tuple) or any(a not in ACTIONS for a in actions):
        raise _bad(f"{where}.actions", f"操作应为 {', '.join(ACTIONS)} 中的若干项",
                   f"actions are some of {', '.join(ACTIONS)}")
    fields = raw.get("fields") or {}
    if not isinstance(fields, Mapping) or any(v not in FIELD_RIGHTS for v in fields.values()):
        raise _bad(f"{where}.fields", "字段权限应为 hidden、readonly 或 editable",
                   "field rights are hidden, readonly or editable")
    granted = frozenset(actions)
    read = parse_scope(raw.get("read", "all" if "read" in granted else None), f"{where}.read")
    write = parse_scope(raw.get("write", raw.get("read") if granted & {"update", "delete"} else None),
                        f"{where}.write")
    return FormGrant(actions=granted, read=read if "read" in granted else None,
                     write=write if granted & {"update", "delete"} else None,
                     fields={str(k): str(v) for k, v in fields.items()})


def parse_role(key: str, grants: Mapping[str, Any] | None, label: Label | None = None) -> Role:
    """A role from its key and stored grants; a malformed grant is a
    DefinitionError naming the role, the form and the setting."""
    parsed = {
        str(form): parse_grant(raw, f"roles.{key}.{form}") for form, raw in (grants or {}).items()
    }
    return Role(key=key, grants=parsed, label=label)


@dataclass(frozen=True)
class FormRights:
    """Everything the roles of one user grant on one form: the grants that
    apply (one per role that mentions the form), or ``unrestricted`` for an
    administrator."""

    grants: tuple[FormGrant, ...]
    unrestricted: bool = False

    def allows(self, action: str) -> bool:
        return self.unrestricted or any(g.allows(action) for g in self.grants)

    @property
    def readers(self) -> tuple[FormGrant, ...]:
        return tuple(g for g in self.grants if g.allows("read") and g.read is not None)

    @property
    def writers(self) -> tuple[FormGrant, ...]:
        return tuple(g for g in self.grants if g.write is not None and g.actions & {"update", "delete"})

    def fields_every_reader_shows(self, keys: Iterable[str]) -> set[str]:
        """Fields no reading role hides: the ones a user may filter, sort and search by."""
        if self.unrestricted:
            return set(keys)
        return {k for k in keys if all(g.shows(k) for g in self.readers)}

    def fields_no_reader_shows(self, keys: Iterable[str]) -> set[str]:
        """Fields every reading role hides: the user sees them on no record."""
        if self.unrestricted:
            return set()
        readers = self.readers
        return {k for k in keys if not any(g.shows(k) for g in readers)}


def rights_for(roles: Iterable[Role], form: str, *, admin: bool = False) -> FormRights:
    if admin:
        return FormRights((), unrestricted=True)
    return FormRights(tuple(g for role in roles if (g := role.for_form(form)) is not None))


def _bad(where: str, zh: str, en: str) -> DefinitionError:
    return DefinitionError(Label(f"{where}：{zh}", f"{where}: {en}"), details={"path": where})
