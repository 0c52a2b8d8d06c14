"""Checks of a form's fields: types, settings, defaults, references, formulas, keys.

``FieldChecker`` walks the fields of a form (and of each subform's rows) and
reports, at the JSON path of the offending value, what a schema cannot see:
a relation to a form that does not exist, a lookup through a field that is
not a relation, a formula that reads an unknown name, formulas in a cycle,
a key used twice. ``FormChecker`` (in ``checks``) adds the form's sections.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.core.i18n import Label
from engine.definitions.field_types import FieldTypeContract
from engine.definitions.issues import DefinitionIssue, Path, did_you_mean, join, json_path
from engine.definitions.model import FieldDef, Reference
from engine.definitions.scope import SYSTEM_FIELDS, Catalog, FormEntry
from engine.expr import CompiledFormula, FormulaCycleError, FormulaError, compile_formula
from engine.expr import evaluation_order as formula_order

Names = Mapping[str, str] | None


class FieldChecker:
    """Checks the fields of one form of a package against the rest of it."""

    def __init__(self, entry: FormEntry, catalog: Catalog) -> None:
        self.entry = entry
        self.form = entry.form
        self.catalog = catalog
        self.issues: list[DefinitionIssue] = []
        self._reported: set[str] = set()
        self.names = catalog.form_names(entry)

    def report(self, path: Path, message: Label, *, once: bool = False) -> None:
        """Add an issue at ``path``; with ``once``, only if nothing was reported there yet
        (a field type may have said the same in its own words)."""
        where = json_path(path)
        if once and where in self._reported:
            return
        self._reported.add(where)
        self.issues.append(DefinitionIssue(self.entry.file, where, message))

    # --- fields -------------------------------------------------------------------
    def check_fields(
        self,
        fields: Sequence[FieldDef],
        paths: Sequence[Path],
        names: Names,
        unchecked: Iterable[str] = (),
        in_rows: bool = False,
    ) -> None:
        """The fields of the form, or of one subform's rows (``in_rows``)."""
        self.unique_keys([f.key for f in fields], paths, "key", Label("字段", "field"), unchecked)
        formulas: dict[str, tuple[Path, CompiledFormula]] = {}
        for f, path in zip(fields, paths, strict=True):
            field_type = self.catalog.type_of(f)
            if field_type is None:
                hint = did_you_mean(f.type, self.catalog.field_types.keys())
                self.report((*path, "type"), join(
                    Label(f"未知的字段类型 '{f.type}'", f"unknown field type '{f.type}'"), hint
                ))
                continue
            if f.index and not self.catalog.has_column(f):
                self.report((*path, "index"), Label(
                    f"'{f.key}' 没有自己的列，不能建索引", f"'{f.key}' has no column of its own to index"
                ))
            self.unique_setting_keys(f, path)
            for ref in self.catalog.references(f):
                compiled = self.check_reference(f, ref, path, fields, names)
                if compiled is not None and field_type.computed and f.key not in formulas:
                    formulas[f.key] = ((*path, ref.setting), compiled)
            # A subform's type checks its children's settings too: report each problem once.
            for problem in field_type.check_settings(f):
                self.report((*path, *split_setting(problem.path)), problem.message, once=True)
            if f.default is not None and field_type.stored and not field_type.computed:
                self.check_default(f, field_type, (*path, "default"))
            if f.default_formula is not None:
                self.formula((*path, "default_formula"), f.default_formula, names)
            if f.default_link is not None:
                self.check_default_link(f.default_link, (*path, "default_link"), names)
            if self.catalog.has_rows(f):
                if in_rows:
                    self.report((*path, "type"), Label(
                        "子表里不能再有子表", "a subform cannot hold another subform"
                    ), once=True)
                    continue
                child_paths = [(*path, "fields", j) for j in range(len(f.fields))]
                self.check_fields(f.fields, child_paths, self.catalog.row_names(f), in_rows=True)
        self.check_cycles(formulas)

    def check_default(self, f: FieldDef, field_type: FieldTypeContract, where: Path) -> None:
        """A fixed default is an input the field accepts."""
        try:
            value = field_type.coerce(f, f.default)
        except ValueError as exc:
            message = getattr(exc, "message", None)
            self.report(where, message if isinstance(message, Label) else Label(str(exc), str(exc)))
            return
        for problem in field_type.validate(f, value) if value is not None else ():
            self.report(where, problem)

    def check_reference(
        self, f: FieldDef, ref: Reference, path: Path, siblings: Sequence[FieldDef], names: Names
    ) -> CompiledFormula | None:
        """One thing a field's settings point at; a formula comes back compiled."""
        where = (*path, *split_setting(ref.setting))
        if ref.kind == "form":
            self.known_form(ref.value, where)
        elif ref.kind == "relation":
            self.relation_of(siblings, ref.value, where)
        elif ref.kind == "lookup_field":
            via_key = ref.via or _value_of(self.catalog.reference(f, "relation"))
            via = self.relation_of(siblings, via_key, None) if via_key else None
            target = self.catalog.relation_target(via) if via is not None else None
            if target is not None:
                self.field_of_form(target, ref.value, where)
        elif ref.kind == "source":
            self.source_rows(siblings, ref.value, where)
        elif ref.kind == "source_field":
            source = ref.via or _value_of(self.catalog.reference(f, "source"))
            rows = self.source_rows(siblings, source, None) if source else None
            if rows is not None and ref.value not in rows:
                self.report(where, join(Label(
                    f"汇总来源 '{source}' 没有字段 '{ref.value}'",
                    f"the rollup source '{source}' has no field '{ref.value}'",
                ), did_you_mean(ref.value, rows)))
        elif ref.kind == "formula":
            return self.formula(where, ref.value, names)
        return None

    def known_form(self, key: str, where: Path | None) -> bool:
        if self.catalog.entry(key) is not None:
            return True
        if where is not None and not self.catalog.open_world:
            self.report(where, join(
                Label(f"表单 '{key}' 不存在", f"form '{key}' does not exist"),
                did_you_mean(key, self.catalog.forms),
            ))
        return False

    def field_of_form(self, form: str, key: str, where: Path) -> None:
        keys = self.catalog.value_keys(form)
        if keys is not None and key not in keys and key not in SYSTEM_FIELDS:
            self.report(where, join(
                Label(f"表单 '{form}' 没有字段 '{key}'", f"form '{form}' has no field '{key}'"),
                did_you_mean(key, keys),
            ))

    def relation_of(self, siblings: Sequence[FieldDef], key: str, where: Path | None) -> FieldDef | None:
        """The relation field ``key`` among ``siblings``; reported at ``where`` when it is not one."""
        found = next((s for s in siblings if s.key == key), None)
        if found is not None and self.catalog.relation_target(found) is not None:
            return found
        if where is None or key in self.entry.unchecked:
            return None
        if found is None:
            relations = [s.key for s in siblings if self.catalog.relation_target(s) is not None]
            self.report(where, join(
                Label(f"没有关联字段 '{key}'", f"there is no relation field '{key}'"),
                did_you_mean(key, relations),
            ))
        else:
            self.report(where, Label(f"'{key}' 不是关联字段", f"'{key}' is not a relation field"))
        return None

    def source_rows(self, siblings: Sequence[FieldDef], source: str, where: Path | None) -> set[str] | None:
        """The keys of a rollup source's rows: a subform's columns, or the
        fields of another form whose relation points here (``<form>.<relation>``)."""
        form_key, dot, relation = source.partition(".")
        if dot:
            if not self.known_form(form_key, where):
                return None
            entry = self.catalog.entry(form_key)
            assert entry is not None
            link = entry.form.field(relation)
            if link is None and relation in entry.unchecked:
                return None
            if link is None or self.catalog.relation_target(link) != self.form.key:
                if where is not None:
                    self.report(where, Label(
                        f"表单 '{form_key}' 没有指向 '{self.form.key}' 的关联字段 '{relation}'",
                        f"form '{form_key}' has no relation '{relation}' to '{self.form.key}'",
                    ))
                return None
            return self.catalog.value_keys(form_key)
        found = next((s for s in siblings if s.key == source), None)
        if found is not None and self.catalog.has_rows(found):
            return {c.key for c in found.fields if self.catalog.has_value(c)}
        if where is not None and source not in self.entry.unchecked:
            subforms = [s.key for s in siblings if self.catalog.has_rows(s)]
            self.report(where, join(Label(
                f"'{source}' 不是本表单的子表，也不是 <表单>.<关联字段>",
                f"'{source}' is neither a subform of this form nor <form>.<relation>",
            ), did_you_mean(source, subforms)))
        return None

    def check_default_link(self, link: Mapping[str, Any], path: Path, names: Names) -> None:
        form = str(link["form"])
        if self.known_form(form, (*path, "form")):
            self.field_of_form(form, str(link["field"]), (*path, "field"))
            for their in link["match"]:
                self.field_of_form(form, their, (*path, "match", their))
        for their, text in link["match"].items():
            self.formula((*path, "match", their), text, names)

    def formula(self, path: Path, text: str, names: Names) -> CompiledFormula | None:
        try:
            return compile_formula(text, names=names)
        except FormulaError as exc:
            self.report(path, _formula_message(exc))
            return None

    def check_cycles(self, formulas: Mapping[str, tuple[Path, CompiledFormula]]) -> None:
        remaining = {key: compiled for key, (_, compiled) in formulas.items()}
        while remaining:
            try:
                formula_order(remaining)
                return
            except FormulaCycleError as exc:
                first = exc.cycle[0]
                self.report(formulas[first][0], exc.reason)
                del remaining[first]

    # --- keys -----------------------------------------------------------------------
    def unique_keys(
        self,
        keys: Sequence[str | None],
        paths: Sequence[Path],
        attribute: str,
        noun: Label,
        also_taken: Iterable[str] = (),
    ) -> None:
        """Report each key used a second time, at the second use."""
        first: dict[str, Path] = {}
        taken = Counter(also_taken)
        for key, path in zip(keys, paths, strict=True):
            if key is None:
                continue
            if key in first or taken[key]:
                before = f" ({json_path(first[key])})" if key in first else ""
                self.report((*path, attribute), Label(
                    f"{noun.zh}的键 '{key}' 重复了{before}",
                    f"duplicate {noun.en} key '{key}'{before}",
                ))
            else:
                first[key] = path

    def unique_setting_keys(self, f: FieldDef, path: Path) -> None:
        """Keyed lists in a type's settings (a select's ``options``) have unique keys."""
        for name, value in f.settings.items():
            if isinstance(value, list) and value and all(
                isinstance(item, Mapping) and isinstance(item.get("key"), str) for item in value
            ):
                self.unique_keys(
                    [item["key"] for item in value],
                    [(*path, name, i) for i in range(len(value))],
                    "key",
                    Label("选项" if name == "options" else name, name.rstrip("s") or name),
                )


def split_setting(setting: str) -> Path:
    """A setting path (``options[2].key``) as path parts."""
    parts: list[str | int] = []
    for piece in setting.replace("]", "").replace("[", ".").split("."):
        if piece:
            parts.append(int(piece) if piece.isdigit() else piece)
    return tuple(parts)


def _value_of(ref: Reference | None) -> str | None:
    return ref.value if ref is not None else None


def _formula_message(exc: FormulaError) -> Label:
    reason = exc.reason
    if exc.column is None:
        return reason
    if exc.line in (None, 1):
        return Label(f"{reason.zh}（第 {exc.column} 列）", f"{reason.en} (column {exc.column})")
    return Label(
        f"{reason.zh}（第 {exc.line} 行第 {exc.column} 列）",
        f"{reason.en} (line {exc.line}, column {exc.column})",
    )
