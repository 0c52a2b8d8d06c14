"""What the checks of a definition bound to one form ask (a rule, a flow):
a form and a field that exist, a formula over the form's fields; and the
loop that reads such definitions one file each against their schema.

``FormScopeChecker`` reports problems at their JSON path in the
definition's file; ``load_bound`` validates, builds, refuses a key defined
twice and keeps only the definitions whose own checks found nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from engine.core.i18n import Label
from engine.definitions.field_checks import FieldChecker
from engine.definitions.issues import DefinitionIssue, Path, did_you_mean, join, json_path
from engine.definitions.model import FieldDef, FormDef
from engine.definitions.schema_check import make_validator, schema_errors
from engine.definitions.scope import SYSTEM_FIELDS, Catalog, FormEntry
from engine.definitions.sources import SourceFile
from engine.expr import CompiledFormula


class FormScopeChecker:
    """Checks of one definition file against its form ``form_key``."""

    def __init__(self, file: str, form_key: str, catalog: Catalog) -> None:
        self.file = file
        self.form_key = form_key
        self.catalog = catalog
        self.entry = catalog.entry(form_key)
        self.issues: list[DefinitionIssue] = []

    @property
    def form(self) -> FormDef | None:
        return self.entry.form if self.entry is not None else None

    def report(self, path: Path, message: Label) -> None:
        self.issues.append(DefinitionIssue(self.file, json_path(path), message))

    def own_form(self) -> bool:
        """Whether the form exists; reports it (at ``form``) when it does not and must."""
        if self.entry is None and not self.catalog.open_world:
            self.report(("form",), join(Label(f"没有表单 '{self.form_key}'", f"there is no form '{self.form_key}'"),
                                        did_you_mean(self.form_key, list(self.catalog.forms))))
        return self.entry is not None

    def formula(self, path: Path, text: str, form: str | None = None) -> None:
        """``text`` must be a formula over ``form`` (the definition's by default)."""
        self.compiled(path, text, form)

    def compiled(self, path: Path, text: str, form: str | None = None) -> CompiledFormula | None:
        """``formula``, giving the compiled formula when it is one."""
        entry = self.catalog.entry(form or self.form_key)
        if entry is None:
            return None
        checker = FieldChecker(FormEntry(self.file, entry.form, checkable=False), self.catalog)
        found = checker.formula(path, text, self.catalog.form_names(entry))
        self.issues.extend(checker.issues)
        return found

    def known_flow(self, path: Path, key: str) -> None:
        """``key`` must be a flow of this definition's form (when the app's flows are known)."""
        flows = self.catalog.flows
        if flows is None:
            return
        form = flows.get(key)
        if form is None:
            if not self.catalog.open_world:
                self.report(path, join(Label(f"没有流程 '{key}'", f"there is no flow '{key}'"),
                                       did_you_mean(key, list(flows))))
        elif form != self.form_key:
            self.report(path, Label(f"流程 '{key}' 属于表单 '{form}'，不是 '{self.form_key}'",
                                    f"flow '{key}' runs on form '{form}', not on '{self.form_key}'"))

    def known_form(self, path: Path, key: str) -> FormDef | None:
        entry = self.catalog.entry(key)
        if entry is None and not self.catalog.open_world:
            self.report(path, join(Label(f"没有表单 '{key}'", f"there is no form '{key}'"),
                                   did_you_mean(key, list(self.catalog.forms))))
        return entry.form if entry is not None else None

    def field(self, path: Path, key: str, *, form: str | None = None) -> FieldDef | None:
        """``key`` must be a field of ``form`` (the definition's by default); the field, if it is one."""
        target = self.known_form(path, form or self.form_key)
        if target is None:
            return None
        found = target.field(key)
        if found is None and key not in SYSTEM_FIELDS:
            self.report(path, join(Label(f"表单 '{target.key}' 没有字段 '{key}'",
                                         f"form '{target.key}' has no field '{key}'"),
                                   did_you_mean(key, [f.key for f in target.fields])))
        return found


class Keyed(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def file(self) -> str: ...


D = TypeVar("D", bound=Keyed)


def load_bound(sources: list[SourceFile], schema: Mapping[str, Any], build: Callable[[Any, str], D],
               check: Callable[[D], list[DefinitionIssue]], noun: Label) -> tuple[tuple[D, ...], list[DefinitionIssue]]:
    """The definitions of ``sources`` (``build`` makes one of a file's data
    and name) and every problem of their schema and their ``check``."""
    validator = make_validator(schema)
    found: dict[str, D] = {}
    issues: list[DefinitionIssue] = []
    for source in sources:
        errors = schema_errors(validator, source.data)
        if errors:
            issues.extend(DefinitionIssue(source.name, json_path(p), m) for p, m in errors)
            continue
        item = build(source.data, source.name)
        if item.key in found:
            issues.append(DefinitionIssue(source.name, "key", Label(
                f"{noun.zh} '{item.key}' 已经在 {found[item.key].file} 中定义",
                f"{noun.en} '{item.key}' is already defined in {found[item.key].file}")))
            continue
        problems = check(item)
        issues.extend(problems)
        if not problems:
            found[item.key] = item
    return tuple(found.values()), issues
