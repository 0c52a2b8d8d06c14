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
from pathlib import Path as FilePath
from typing import Any

from engine.core.i18n import Label, label
from engine.definitions.issues import DefinitionIssue, Path, did_you_mean, join, json_path
from engine.definitions.model import FormDef
from engine.definitions.scope import SYSTEM_FIELDS
from engine.definitions.serialize import label_to_dict

SCHEMA_FILE = FilePath(__file__).with_name("schemas") / "roles.schema.json"
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
            for scope in ("read", "write"):
                issues.extend(_filter_issues(file, (*where, scope, "filter"), grant.get(scope), form))
    return issues


def _field_issues(file: str, where: Path, rights: Mapping[str, str],
                  form: FormDef) -> list[DefinitionIssue]:
    return [_no_field(file, (*where, "fields", key), key, form) for key in rights
            if key not in _known(form)]


def _filter_issues(file: str, where: Path, scope: Any, form: FormDef) -> list[DefinitionIssue]:
    """A custom data scope names fields of its form (``customer.name``: the
    first step is checked here, the rest when the filter is compiled)."""
    if not isinstance(scope, Mapping) or not isinstance(scope.get("filter"), Mapping):
        return []
    issues = []
    stack: list[tuple[Path, Any]] = [(where, scope["filter"])]
    while stack:
        path, node = stack.pop()
        if isinstance(node, list):
            stack.extend(((*path, i), item) for i, item in enumerate(node))
        elif isinstance(node, Mapping):
            name = node.get("field")
            if isinstance(name, str) and name.split(".", 1)[0] not in _known(form):
                issues.append(_no_field(file, (*path, "field"), name.split(".", 1)[0], form))
            stack.extend(((*path, k), v) for k, v in node.items() if k in ("and", "or", "not"))
    return sorted(issues, key=lambda issue: issue.json_path)


def _known(form: FormDef) -> list[str]:
    return [f.key for f in form.fields] + list(SYSTEM_FIELDS)


def _no_field(file: str, path: Path, key: str, form: FormDef) -> DefinitionIssue:
    return DefinitionIssue(file, json_path(path), join(Label(
        f"表单 '{form.key}' 没有字段 '{key}'", f"form '{form.key}' has no field '{key}'"),
        did_you_mean(key, _known(form))))
