"""The role editor's grid: one row per form of an app (and one for "every
other form"), with the actions, the read and write scopes and the field
rights the permission model knows (``engine.org.permissions``), and back
from the posted grid to a role's ``grants``.

The grid offers exactly the model's ``ACTIONS``, ``SCOPES`` and
``FIELD_RIGHTS``; a custom filter scope (written in a file or through the
API) cannot be drawn as a choice, so it is offered as "keep the custom
filter" and kept as it was. Grants for forms of other apps (a role of every
app) are kept untouched: the grid only replaces the rows it shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.core.i18n import Label
from engine.definitions.model import FormDef
from engine.org.permissions import ACTIONS, ANY_FORM, FIELD_RIGHTS, SCOPES
from runtime.web.i18n import N_

ACTION_TEXT = {"create": N_("Create"), "read": N_("Read"), "update": N_("Edit"), "delete": N_("Delete"),
               "import": N_("Import"), "export": N_("Export"), "print": N_("Print"),
               "assign": N_("Assign owner")}
SCOPE_TEXT = {"own": N_("Own records"), "own_and_subordinates": N_("Own and their team's"),
              "department": N_("Their department"), "department_tree": N_("Department and below"),
              "all": N_("All records")}
RIGHT_TEXT = {"editable": N_("Visible"), "readonly": N_("Read-only"), "hidden": N_("Hidden")}
CUSTOM = "custom"  # the posted value that keeps a custom filter scope
EVERY_OTHER_FORM = Label("其他所有表单", "Every other form")


@dataclass(frozen=True)
class FieldRight:
    key: str
    label: Label
    right: str


@dataclass(frozen=True)
class GridRow:
    """One form's grant as the grid shows it (``read``/``write``: a scope
    key, ``custom`` or empty for none)."""

    key: str
    label: Label
    actions: frozenset[str]
    read: str
    write: str
    fields: tuple[FieldRight, ...]

    @property
    def slug(self) -> str:
        """The row's key as it appears in input names and ids (``*`` is not an id character)."""
        return "any" if self.key == ANY_FORM else self.key


def _scope_choice(raw: Any) -> str:
    if raw is None or raw is False:
        return ""
    return raw if isinstance(raw, str) else CUSTOM


def grid(forms: tuple[FormDef, ...], grants: Mapping[str, Any]) -> list[GridRow]:
    """The rows of the grid for ``forms`` and a role's stored ``grants``."""
    rows = []
    for key, label, fields in [*((f.key, f.label, f.fields) for f in forms), (ANY_FORM, EVERY_OTHER_FORM, ())]:
        grant = grants.get(key) if isinstance(grants.get(key), Mapping) else None
        actions = frozenset(grant.get("actions", ["read"])) if grant else frozenset()
        rights = dict(grant.get("fields") or {}) if grant else {}
        read = _scope_choice(grant.get("read", "all" if "read" in actions else None)) if grant else ""
        write = _scope_choice(grant.get("write", grant.get("read"))) if grant else ""
        rows.append(GridRow(key, label, actions, read, write,
                            tuple(FieldRight(f.key, f.label, str(rights.get(f.key, "editable"))) for f in fields)))
    return rows


def posted_grants(forms: tuple[FormDef, ...], posted: Any, before: Mapping[str, Any]) -> dict[str, Any]:
    """A role's new ``grants`` from the posted grid: the grid's rows as
    posted, every other key of ``before`` as it was. Values the model does not
    know are passed on as posted: the organization service refuses them with
    its own message."""
    shown = [*(f.key for f in forms), ANY_FORM]
    grants = {key: value for key, value in before.items() if key not in shown}
    fields_of = {f.key: f.fields for f in forms}
    for key in shown:
        slug = "any" if key == ANY_FORM else key
        actions = [str(a) for a in posted.getlist(f"a.{slug}")]
        if not actions:
            continue
        stored = before.get(key)
        old: Mapping[str, Any] = stored if isinstance(stored, Mapping) else {}
        grant: dict[str, Any] = {"actions": [a for a in ACTIONS if a in actions] + sorted(set(actions) - set(ACTIONS))}
        if "read" in actions:
            grant["read"] = _scope(posted.get(f"r.{slug}"), old.get("read"))
        if {"update", "delete"} & set(actions):
            grant["write"] = _scope(posted.get(f"w.{slug}"), old.get("write", old.get("read")))
        rights = {f.key: str(posted.get(f"f.{slug}.{f.key}", "editable")) for f in fields_of.get(key, ())}
        hidden_or_readonly = {k: v for k, v in rights.items() if v != "editable"}
        if hidden_or_readonly:
            grant["fields"] = hidden_or_readonly
        grants[key] = grant
    return grants


def _scope(raw: Any, old: Any) -> Any:
    if raw == CUSTOM and isinstance(old, Mapping):
        return dict(old)
    return str(raw) if raw else "all"


__all__ = ["ACTIONS", "ACTION_TEXT", "CUSTOM", "FIELD_RIGHTS", "RIGHT_TEXT", "SCOPES", "SCOPE_TEXT",
           "GridRow", "grid", "posted_grants"]
