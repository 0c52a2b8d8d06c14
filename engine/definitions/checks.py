"""What a schema cannot check: references between fields and forms, formulas, unique keys.

``check_form`` runs after the schema, on the parts of a form the schema
accepted, and reports every problem it finds as a ``DefinitionIssue`` at the
JSON path of the offending value.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.core.i18n import Label
from engine.definitions.issues import DefinitionIssue, Path, did_you_mean, join, json_path
from engine.definitions.model import FieldDef, Reference
from engine.definitions.scope import SYSTEM_FIELDS, Catalog, FormEntry
from engine.expr import CompiledFormula, FormulaCycleError, FormulaError, compile_formula
from engine.expr import evaluation_order as formula_order

Names = Mapping[str, str] | None


class FormChecker:
    """Checks one form of a package against the rest of it."""

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

    def run(self) -> list[DefinitionIssue]:
        fields = self.form.fields
        paths = [("fields", i) for i in self.entry.field_index]
        self.check_fields(fields, paths, self.names, self.entry.unchecked)
        self.check_title_field()
        self.check_layout()
        self.check_rules()
        self.check_list_views()
        self.check_indexes()
        return self.issues

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
                self.report((*path, *_split(problem.path)), problem.message, once=True)
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

    def check_reference(
        self, f: FieldDef, ref: Reference, path: Path, siblings: Sequence[FieldDef], names: Names
    ) -> CompiledFormula | None:
        """One thing a field's settings point at; a formula comes back compiled."""
        where = (*path, *_split(ref.setting))
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

    # --- form-level sections -----------------------------------------------------------
    def own_field(self, key: str) -> FieldDef | None:
        return self.form.field(key)

    def exists(self, key: str, where: Path, *, system: bool = False) -> FieldDef | None:
        """The form's field ``key``; a missing one is reported at ``where``."""
        found = self.own_field(key)
        if found is None and key not in self.entry.unchecked and not (system and key in SYSTEM_FIELDS):
            candidates = [f.key for f in self.form.fields] + (list(SYSTEM_FIELDS) if system else [])
            self.report(where, join(
                Label(f"没有字段 '{key}'", f"there is no field '{key}'"), did_you_mean(key, candidates)
            ))
        return found

    def check_title_field(self) -> None:
        key = self.form.title_field
        if key is None:
            return
        found = self.exists(key, ("title_field",))
        if found is not None and (not self.catalog.has_value(found) or self.catalog.has_rows(found)):
            self.report(("title_field",), Label(
                f"'{key}' 不能作为标题字段", f"'{key}' cannot name a record: it has no single value"
            ))

    def check_layout(self) -> None:
        if not self.entry.layout_ok:
            return
        placed: dict[str, Path] = {}
        for r, row in enumerate(self.form.layout):
            for c, key in enumerate(row.get("fields", ())):
                where: Path = ("layout", r, "fields", c)
                self.exists(key, where)
                if key in placed:
                    self.report(where, Label(
                        f"'{key}' 已经放在 {json_path(placed[key])}",
                        f"'{key}' is already placed at {json_path(placed[key])}",
                    ))
                placed.setdefault(key, where)

    def check_rules(self) -> None:
        rules = self.form.rules
        paths: list[Path] = [("rules", i) for i in self.entry.rule_index]
        self.unique_keys([r.key for r in rules], paths, "key", Label("规则", "rule"))
        for rule, path in zip(rules, paths, strict=True):
            self.formula((*path, "when"), rule.when, self.names)
            for a, action in enumerate(rule.actions):
                for k, target in enumerate(action.fields):
                    self.rule_target(action.type, target, (*path, "actions", a, "fields", k))
                if action.formula is not None:
                    self.formula((*path, "actions", a, "formula"), action.formula, self.names)

    def rule_target(self, action: str, target: str, where: Path) -> None:
        parent_key, dot, child_key = target.partition(".")
        found = self.exists(parent_key, where)
        if found is not None and dot:
            child = found.child(child_key)
            if child is None:
                self.report(where, join(Label(
                    f"'{parent_key}' 没有子字段 '{child_key}'", f"'{parent_key}' has no column '{child_key}'"
                ), did_you_mean(child_key, [c.key for c in found.fields])))
                return
            found = child
        if found is None:
            return
        if action in ("required", "set_value") and not self.catalog.has_value(found):
            self.report(where, Label(f"'{target}' 没有值", f"'{target}' holds no value"))
        elif action == "set_value" and self.catalog.is_computed(found):
            self.report(where, Label(
                f"'{target}' 是计算字段，不能赋值", f"'{target}' is computed and cannot be set"
            ))

    def check_list_views(self) -> None:
        views = self.form.list_views
        paths: list[Path] = [("list_views", i) for i in self.entry.view_index]
        self.unique_keys([v.key for v in views], paths, "key", Label("列表视图", "list view"))
        for view, path in zip(views, paths, strict=True):
            for c, column in enumerate(view.columns):
                self.known_name(column, (*path, "columns", c))
            for s, sort in enumerate(view.sort):
                self.exists(sort.field, (*path, "sort", s, "field"), system=True)
            if view.filter is not None:
                self.check_filter(view.filter, (*path, "filter"))

    def known_name(self, name: str, where: Path) -> None:
        if self.names is None or name in self.names or name.split(".")[0] in self.entry.unchecked:
            return
        self.report(where, join(
            Label(f"没有字段 '{name}'", f"there is no field '{name}'"), did_you_mean(name, self.names)
        ))

    def check_filter(self, node: Mapping[str, Any], path: Path) -> None:
        """Fields named in a filter exist, and their type offers the operator."""
        for joiner in ("and", "or"):
            children = node.get(joiner)
            if isinstance(children, list):
                for i, child in enumerate(children):
                    if isinstance(child, Mapping):
                        self.check_filter(child, (*path, joiner, i))
        name = node.get("field")
        if not isinstance(name, str):
            return
        self.known_name(name, (*path, "field"))
        own = self.own_field(name)
        field_type = self.catalog.type_of(own) if own is not None else None
        op = node.get("op")
        if own is None or field_type is None or not isinstance(op, str):
            return
        operators = field_type.operators_for(own)
        if op not in operators:
            self.report((*path, "op"), join(Label(
                f"字段 '{name}' 不支持运算符 '{op}'（可用：{', '.join(operators)}）",
                f"the field '{name}' has no operator '{op}' (it has {', '.join(operators)})",
            ), did_you_mean(op, operators)))

    def check_indexes(self) -> None:
        indexes = self.form.indexes
        paths: list[Path] = [("indexes", i) for i in self.entry.index_index]
        self.unique_keys([x.key for x in indexes], paths, "key", Label("索引", "index"))
        for index, path in zip(indexes, paths, strict=True):
            for k, key in enumerate(index.fields):
                where: Path = (*path, "fields", k)
                found = self.exists(key, where, system=True)
                if found is not None and not self.catalog.has_column(found):
                    self.report(where, Label(
                        f"'{key}' 没有自己的列，不能建索引", f"'{key}' has no column of its own to index"
                    ))


def _split(setting: str) -> Path:
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
