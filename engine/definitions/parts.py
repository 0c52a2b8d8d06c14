"""The one-file parts of a package (``menus.yaml``, ``roles.yaml``): each
checked against its schema, then against the package's forms.

A part is an entry of ``PACKAGE_PARTS``: its kind (the file's name without
suffix), its schema, its cross-reference check and how to build its model.
The loader runs every part the package has; a missing file is no problem (an
app without ``menus.yaml`` lists its forms in one automatic group, one
without ``roles.yaml`` installs no roles).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.core.registry import Registry
from engine.definitions.issues import DefinitionIssue, json_path
from engine.definitions.menus import MenuDef, MenuScope, check_menus, menus_schema
from engine.definitions.role_files import check_roles, roles_from_dict, roles_schema
from engine.definitions.schema_check import make_validator, schema_errors
from engine.definitions.sources import SourceFile

# A part's cross-reference check: (file, data, what the package defines, open world).
Check = Callable[[str, Mapping[str, Any], MenuScope, bool], list[DefinitionIssue]]


@dataclass(frozen=True)
class PackagePart:
    key: str
    schema: Callable[[], dict[str, Any]]
    check: Check
    build: Callable[[Mapping[str, Any]], Any]


def build_package_parts() -> Registry[PackagePart]:
    registry: Registry[PackagePart] = Registry("package part")
    registry.register(PackagePart("menus", menus_schema, check_menus, MenuDef.from_dict))
    registry.register(PackagePart("roles", roles_schema,
                                  lambda file, raw, scope, open_world: check_roles(file, raw, scope.forms, open_world),
                                  roles_from_dict))
    return registry


PACKAGE_PARTS: Registry[PackagePart] = build_package_parts()


def load_parts(
    sources: Mapping[str, SourceFile], scope: MenuScope, open_world: bool,
) -> tuple[dict[str, Any], list[DefinitionIssue]]:
    """The model of each part present (by kind) and every problem found.
    Cross-references are checked only in a file the schema accepts: its
    shape is then known."""
    built: dict[str, Any] = {}
    issues: list[DefinitionIssue] = []
    for part in PACKAGE_PARTS:
        source = sources.get(part.key)
        if source is None:
            continue
        errors = schema_errors(make_validator(part.schema()), source.data)
        if errors:
            issues.extend(DefinitionIssue(source.name, json_path(p), m) for p, m in errors)
            continue
        found = part.check(source.name, source.data, scope, open_world)
        issues.extend(found)
        if not found:
            built[part.key] = part.build(source.data)
    return built, issues
