"""``roles.yaml``: the roles an app package installs, checked against its forms.

Each role carries its grants in exactly the format the organization stores
and ``engine.org.permissions`` reads (docs/permissions.md), so installing
one is ``OrgService.create_role`` with the file's grants: one storage, one
validation. The schema (``schemas/roles.schema.json``) knows the actions,
data scopes and field rights (a test keeps them equal to the permission
layer's); this module checks what a schema cannot: that each form and field
a grant names exists, and that no role key is used twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from engine.core.i18n import Label, label
from engine.definitions.issues import DefinitionIssue, did_you_mean, join, json_path
from engine.definitions.model import FormDef
from engine.definitions.scope import SYSTEM_FIELDS
from engine.definitions.serialize import label_to_dict

SCHEMA_FILE = Path(__file__).with_name("schemas") / "roles.schema.json"
ANY_FORM = "*"


@dataclass(frozen=True)
class RoleDef:
    """A role as a package ships it; ``grants`` are stored as written."""

    key: str
    label: Label
    grants: Mapping[str, Any] = field(default_factory=dict)
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "label": label_to_dict(self.label)}
        if self.description:
            data["description"] = self.description
        data["grants"] = json.loads(json.dumps(dict(self.grants)))
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoleDef:
        return cls(key=data["key"], label=label(data.get("label", data["key"])),
                   grants=dict(data.get("grants") or {}), description=data.get("description"))


def roles_to_dict(roles: tuple[RoleDef, ...]) -> dict[str, Any]:
    """The body of the published ``roles`` definition: the roles as shipped."""
    return {"schema_version": 1, "roles": [r.to_dict() for r in roles]}


def roles_from_dict(data: Mapping[str, Any]) -> tuple[RoleDef, ...]:
    return tuple(RoleDef.from_dict(r) for r in data.get("roles", ()))


@cache
def _schema() -> Mapping[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data


def roles_schema() -> dict[str, Any]:
    """The schema of ``roles.yaml`` (a fresh copy)."""
    result: dict[str, Any] = json.loads(json.dumps(_schema()))
    return result


def check_roles(file: str, raw: Mapping[str, Any], forms: Mapping[str, FormDef],
                open_world: bool = False) -> list[DefinitionIssue]:
    """Duplicate role keys, and grants naming a form or field the package does
    not have. ``open_world``: an overlay checked without its base, whose
    forms may live in the base (only the fields of known forms are checked)."""
    issues: list[DefinitionIssue] = []
    seen: dict[str, int] = {}
    for r, role in enumerate(raw.get("roles", ())):
        if role["key"] in seen:
            issues.append(DefinitionIssue(file, json_path(("roles", r, "key")), Label(
                f"角色 '{role['key']}' 重复（已在 roles[{seen[role['key']]}]）",
                f"the role '{role['key']}' is already defined at roles[{seen[role['key']]}]")))
        seen.setdefault(role["key"], r)
        for form_key, grant in role.get("grants", {}).items():
            where = ("roles", r, "grants", form_key)
            form = forms.get(form_key)
            if form_key == ANY_FORM:
                continue
            if form is None:
                if not open_world:
                    issues.append(DefinitionIssue(file, json_path(where), join(Label(
                        f"表单 '{form_key}' 不存在", f"form '{form_key}' does not exist"),
                        did_you_mean(form_key, forms))))
                continue
            issues.extend(_field_issues(file, where, grant.get("fields") or {}, form))
    return issues


def _field_issues(file: str, where: tuple[str | int, ...], rights: Mapping[str, str],
                  form: FormDef) -> list[DefinitionIssue]:
    known = [f.key for f in form.fields] + list(SYSTEM_FIELDS)
    return [
        DefinitionIssue(file, json_path((*where, "fields", key)), join(Label(
            f"表单 '{form.key}' 没有字段 '{key}'", f"form '{form.key}' has no field '{key}'"),
            did_you_mean(key, known)))
        for key in rights if key not in known
    ]
