"""Print templates: ``print/<key>.html`` in a package, Jinja2 in a sandbox.

A template starts with its front matter, YAML in a Jinja comment (so the
file stays a template, and line numbers in errors stay the file's own)::

    {#---
    form: quote
    label: {zh: 报价单, en: Quote}
    paper: A4              # A3 A4 A5 B5 letter legal
    orientation: portrait  # or landscape
    ---#}

The loader checks what it can before anyone prints: the front matter
(``print.schema.json``, the form exists), the template's syntax and filters
(file and line), attributes that start with ``_`` (the sandbox refuses them
at render time anyway; a template reaching for ``().__class__`` is refused
at load), and the fields a template names: ``record.xxx``, ``values.xxx``
and ``fields.xxx`` must be fields of the form, ``row.xxx`` in
``{% for row in record.items %}`` fields of the subform, and
``related("payment_plan", "contract")`` a relation that points at the form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from jinja2 import Template, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.core.i18n import Label, label
from engine.definitions.form_schema import SCHEMA_DIR
from engine.definitions.issues import DefinitionIssue, did_you_mean, join, json_path
from engine.definitions.model import FormDef, PrintTemplateDef
from engine.definitions.print_filters import PRINT_FILTERS
from engine.definitions.schema_check import make_validator, schema_errors
from engine.definitions.scope import SYSTEM_FIELDS
from engine.definitions.sources import DefinitionLoader, read_raw_files

PRINT_FOLDER = "print"
KEY = re.compile(r"[a-z][a-z0-9_]{0,49}")
FRONT_MATTER = re.compile(r"\A\s*\{#---[ \t]*\n(?P<yaml>.*?)\n---#\}", re.S)
# Names whose attributes are the form's fields (displayed, raw, labels).
RECORD_NAMES = ("record", "values", "fields")
NO_HINT = Label("", "")


@cache
def print_environment() -> ImmutableSandboxedEnvironment:
    """The one Jinja2 environment of print templates: sandboxed (no private
    attributes, no mutating what it is given), autoescaping, with the print
    filters. Templates come from the definitions, never from disk."""
    environment = ImmutableSandboxedEnvironment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(PRINT_FILTERS)
    return environment


@lru_cache(maxsize=128)
def compiled_template(source: str) -> Template:
    """A template's source compiled once per process (the definitions rarely change)."""
    return print_environment().from_string(source)


def _wanted(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return len(parts) == 2 and parts[0] == PRINT_FOLDER and parts[1].endswith(".html") \
        and not parts[1].startswith(".")


def load_print_templates(
    path: str | Path, forms: Mapping[str, FormDef]
) -> tuple[list[PrintTemplateDef], list[DefinitionIssue]]:
    """The print templates of the package at ``path`` (its ``print/*.html``),
    checked against its ``forms``; and every problem found."""
    files = read_raw_files(path, _wanted)
    if isinstance(files, DefinitionIssue):
        return [], []  # the package reader reports it
    found: list[PrintTemplateDef] = []
    issues: list[DefinitionIssue] = []
    for name, content in files.items():
        if isinstance(content, DefinitionIssue):
            issues.append(content)
            continue
        template, problems = parse_print_template(name, content, forms)
        issues.extend(problems)
        if template is not None and not problems:
            found.append(template)
    return found, issues


def parse_print_template(
    name: str, content: bytes, forms: Mapping[str, FormDef]
) -> tuple[PrintTemplateDef | None, list[DefinitionIssue]]:
    """One template file: its definition, or the problems that keep it out."""
    key = PurePosixPath(name).stem
    if not KEY.fullmatch(key):
        return None, [DefinitionIssue(name, "", Label(
            f"文件名 '{key}' 不是合法的键：只能用小写字母、数字和下划线，并以字母开头",
            f"the file name '{key}' is not a valid key: use lowercase letters, digits and _, "
            "starting with a letter"))]
    try:
        source = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [DefinitionIssue(name, "", Label(f"文件不是 UTF-8 编码（第 {exc.start} 个字节）",
                                                      f"the file is not UTF-8 text (byte {exc.start})"))]
    meta, issues = _front_matter(name, source)
    form = forms.get(meta["form"]) if meta is not None else None
    if meta is not None and form is None:
        issues.append(DefinitionIssue(name, "form", join(
            Label(f"表单 '{meta['form']}' 不存在", f"form '{meta['form']}' does not exist"),
            did_you_mean(meta["form"], forms))))
    issues.extend(_template_issues(name, source, form, forms))
    if meta is None or issues:
        return None, issues
    return PrintTemplateDef(key=key, form=meta["form"], label=label(meta.get("label") or key), source=source,
                            paper=meta.get("paper", "A4"), orientation=meta.get("orientation", "portrait")), []


def _front_matter(name: str, source: str) -> tuple[dict[str, Any] | None, list[DefinitionIssue]]:
    match = FRONT_MATTER.match(source)
    if match is None:
        return None, [DefinitionIssue(name, "", Label(
            "模板应以前言开头：{#--- form: <表单键> ---#}（见 docs/printing.md）",
            "a print template starts with its front matter: {#--- form: <form key> ---#} "
            "(see docs/printing.md)"), line=1)]
    try:
        data = yaml.load(match.group("yaml"), Loader=DefinitionLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        return None, [DefinitionIssue(name, "", Label(f"前言的 YAML 无法解析：{exc}",
                                                      f"the front matter is not valid YAML: {exc}"), line=1)]
    errors = schema_errors(make_validator(_schema()), data)
    if errors:
        return None, [DefinitionIssue(name, json_path(p), message) for p, message in errors]
    return dict(data), []


@cache
def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMA_DIR / "print.schema.json").read_text(encoding="utf-8"))
    return schema


def _template_issues(
    name: str, source: str, form: FormDef | None, forms: Mapping[str, FormDef]
) -> list[DefinitionIssue]:
    environment = print_environment()
    try:
        tree = environment.parse(source, name=name)
        environment.compile(source, name=name)  # unknown filters and tests fail here
    except TemplateSyntaxError as exc:
        return [DefinitionIssue(name, "", Label(f"模板语法错误：{exc.message}",
                                                f"template syntax error: {exc.message}"), line=exc.lineno)]
    checker = _Checker(name, form, forms)
    scopes = {n: (form.label, _keys(form)) for n in RECORD_NAMES} if form is not None else {}
    checker.visit(tree, scopes)
    return checker.issues


Scope = dict[str, tuple[Label, frozenset[str]]]


def _keys(form: FormDef) -> frozenset[str]:
    return frozenset(f.key for f in form.fields) | frozenset(SYSTEM_FIELDS)


class _Checker:
    """Walks a template's syntax tree, knowing which names hold which form's fields."""

    def __init__(self, file: str, form: FormDef | None, forms: Mapping[str, FormDef]) -> None:
        self.file, self.form, self.forms = file, form, forms
        self.issues: list[DefinitionIssue] = []

    def problem(self, node: nodes.Node, zh: str, en: str, hint: Label = NO_HINT) -> None:
        self.issues.append(DefinitionIssue(self.file, "", join(Label(zh, en), hint), line=node.lineno))

    def visit(self, node: nodes.Node, scopes: Scope) -> None:
        if isinstance(node, nodes.For):
            self.visit(node.iter, scopes)
            inner = dict(scopes)
            rows = self.rows_of(node.iter)
            if isinstance(node.target, nodes.Name):
                inner.pop(node.target.name, None)
                if rows is not None:
                    inner[node.target.name] = rows
            for child in (*node.body, *node.else_):
                self.visit(child, inner)
            if node.test is not None:
                self.visit(node.test, inner)
            return
        if isinstance(node, nodes.Getattr):
            self.attribute(node, node.attr, scopes)
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
                and isinstance(node.arg.value, str):
            self.attribute(node, node.arg.value, scopes)
        elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args \
                and isinstance(node.args[0], nodes.Const) and str(node.args[0].value).startswith("_"):
            self.attribute(node, str(node.args[0].value), {})
        for child in node.iter_child_nodes():
            self.visit(child, scopes)

    def attribute(self, node: nodes.Getattr | nodes.Getitem | nodes.Filter, attr: str, scopes: Scope) -> None:
        if attr.startswith("_"):
            self.problem(node, f"不允许访问私有属性 {attr}（打印模板在沙箱中运行）",
                         f"the private attribute {attr} is not allowed (print templates run in a sandbox)")
            return
        if isinstance(node, nodes.Filter) or not isinstance(node.node, nodes.Name) or node.node.name not in scopes:
            return
        where, known = scopes[node.node.name]
        if attr not in known:
            self.problem(node, f"{where.zh}没有字段 {attr}", f"{where.en} has no field {attr}",
                         did_you_mean(attr, known))

    def rows_of(self, iterated: nodes.Node) -> tuple[Label, frozenset[str]] | None:
        """The fields of what a for loop walks: a subform's rows or a related form's records."""
        if isinstance(iterated, nodes.Getattr) and isinstance(iterated.node, nodes.Name) \
                and iterated.node.name in ("record", "values") and self.form is not None:
            subform = self.form.field(iterated.attr)
            if subform is not None and subform.fields:
                return subform.label, frozenset(f.key for f in subform.fields)
        if isinstance(iterated, nodes.Call) and isinstance(iterated.node, nodes.Name) \
                and iterated.node.name == "related":
            return self.related(iterated)
        return None

    def related(self, call: nodes.Call) -> tuple[Label, frozenset[str]] | None:
        args = [a.value if isinstance(a, nodes.Const) else None for a in call.args]
        if len(args) != 2 or not all(isinstance(a, str) for a in args):
            self.problem(call, "related 需要两个文本参数：表单键和指向本表单的关联字段键",
                         "related takes two texts: a form key and its relation field pointing here")
            return None
        form_key, field_key = str(args[0]), str(args[1])
        other = self.forms.get(form_key)
        if other is None:
            self.problem(call, f"表单 '{form_key}' 不存在", f"form '{form_key}' does not exist",
                         did_you_mean(form_key, self.forms))
            return None
        relation = other.field(field_key)
        here = self.form.key if self.form is not None else None
        if relation is None or relation.setting("target") != here:
            pointing = ", ".join(f.key for f in other.fields if f.setting("target") == here) or "-"
            self.problem(call, f"{other.label.zh}的 {field_key} 不是指向本表单的关联字段（指向本表单的：{pointing}）",
                         f"{other.label.en}'s {field_key} is not a relation pointing at this form "
                         f"(those that do: {pointing})")
            return None
        return other.label, _keys(other)


def templates_of(prints: Iterable[PrintTemplateDef], form: str) -> list[PrintTemplateDef]:
    """The print templates of one form, in package order."""
    return [p for p in prints if p.form == form]
