"""What a schema cannot check: references between fields and forms, formulas, unique keys.

``FormChecker(entry, catalog).run()`` runs after the schema, on the parts of
a form the schema accepted, and returns every problem it finds as a
``DefinitionIssue`` at the JSON path of the offending value. The field checks
live in ``field_checks``; here are the form's own sections: title field,
layout, rules, list views and indexes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.core.i18n import Label
from engine.definitions.field_checks import FieldChecker
from engine.definitions.issues import DefinitionIssue, Path, did_you_mean, join, json_path
from engine.definitions.model import FieldDef
from engine.definitions.scope import SYSTEM_FIELDS


class FormChecker(FieldChecker):
    """Checks one form of a package: its fields, then its sections."""

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
