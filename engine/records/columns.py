"""Which column of a file fills which field: the column plan of an import.

A column is matched to a field by the field's key or its label in either
language, ignoring case, spaces, ``_`` and ``-`` ("Close Value" finds
``close_value``); a subform's columns are ``<subform>.<field>`` in keys or
labels (``items.quantity``, ``明细.数量``). An explicit ``mapping`` (column
header -> field key, or ``None`` to leave a column out) comes first. Every
column that fills nothing is reported with the reason, never dropped in
silence.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from engine.core.errors import ValidationError
from engine.core.i18n import Label, Message
from engine.core.registry import Registry
from engine.definitions.model import FieldDef, FormDef
from engine.fields.base import FieldType
from engine.records.filters import SYSTEM_FIELDS

# System fields an import may fill: the owner, matched to a user like a member field.
IMPORTABLE_SYSTEM = ("owner",)

NO_FIELD = Label("表单中没有与之对应的字段", "No field of the form matches this column")
SKIPPED = Label("按映射忽略", "Left out by the mapping")
NO_HEADER = Label("该列没有标题", "The column has no header")
BY_SYSTEM = Label("由系统维护，不导入", "Set by the system; not imported")
COMPUTED = Label("由系统计算，不导入", "Computed by the system; not imported")
AMBIGUOUS = Message("同时匹配多个字段（{fields}），请明确映射",
                    "Matches several fields ({fields}); map it explicitly")
WHOLE_SUBFORM = Message("子表单按字段分列导入（如 {example}）", "A subform is imported one column per field ({example} ...)")
TAKEN = Message("字段 {field} 已由列“{column}”填写", "Field {field} is already filled from column \"{column}\"")


class MappingRefused(ValidationError):
    """An explicit mapping, key field or group column names something that is not there."""

    code = "mapping_refused"


@dataclass(frozen=True)
class FieldColumn:
    """A column of the file and the field it fills. ``path`` is the field's
    key, or ``<subform>.<key>`` for a subform's field (``subform`` then names it)."""

    index: int
    header: str
    path: str
    field: FieldDef
    ftype: FieldType
    subform: str | None = None


@dataclass(frozen=True)
class IgnoredColumn:
    """A column that fills no field, and why."""

    column: str
    reason: Label


@dataclass
class ColumnPlan:
    """The columns that fill fields, in file order, and those that fill nothing."""

    header: list[str]
    columns: list[FieldColumn] = field(default_factory=list)
    ignored: list[IgnoredColumn] = field(default_factory=list)

    def by_path(self) -> dict[str, FieldColumn]:
        return {c.path: c for c in self.columns}

    def header_index(self, name: str) -> int | None:
        """The position of the column named ``name`` (exactly, else loosely)."""
        if name in self.header:
            return self.header.index(name)
        loose = normalize(name)
        return next((i for i, h in enumerate(self.header) if normalize(h) == loose), None)


def normalize(name: str) -> str:
    """A header or label as compared: case-folded, without spaces and
    punctuation (``_ - * ( ) （ ） :`` ...) but for the ``.`` between a subform
    and its field: ``Close-Value (USD)*`` is ``closevalueusd``."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", name).casefold()
                   if ch == "." or not (ch.isspace() or unicodedata.category(ch)[0] in "PS"))


@dataclass(frozen=True)
class ImportableField:
    """A field a column may fill: its path (``items.quantity`` for a
    subform's field), its label (``明细.数量``), and whether it is required."""

    path: str
    label: Label
    type: str
    required: bool


def importable_fields(form: FormDef, types: Registry[FieldType]) -> list[ImportableField]:
    """What a column can be mapped to, in form order (the wizard's choices)."""
    found = []
    for target in _targets(form, types).values():
        if not target.importable:
            continue
        shown = target.field.label
        if target.subform is not None:
            parent = form.get_field(target.subform).label
            shown = Label(f"{parent.zh}.{shown.zh}", f"{parent.en}.{shown.en}")
        found.append(ImportableField(target.path, shown, target.field.type, bool(target.field.required)))
    return found


@dataclass(frozen=True)
class _Target:
    path: str
    field: FieldDef
    ftype: FieldType
    subform: str | None
    reason: Label | None = None  # why the field cannot be imported

    @property
    def importable(self) -> bool:
        return self.reason is None


def system_field(key: str) -> FieldDef | None:
    """A system field (``owner``, ``created_at`` ...) as a field of its value's type."""
    found = SYSTEM_FIELDS.get(key)
    if found is None:
        return None
    type_key, label, settings = found
    return FieldDef(key=key, type=type_key, label=label, settings=dict(settings))


def _targets(form: FormDef, types: Registry[FieldType]) -> dict[str, _Target]:
    targets: dict[str, _Target] = {}
    for f in form.fields:
        ftype = types.get(f.type)
        if ftype.layout:
            continue
        computed = ftype.computed or not ftype.stored
        reason = COMPUTED if computed else None
        if ftype.storage_for(f) == "child_table":
            reason = WHOLE_SUBFORM.format(example=f"{f.key}.{f.fields[0].key}" if f.fields else f.key)
        targets[f.key] = _Target(f.key, f, ftype, None, reason)
        for child in f.fields:
            child_type = types.get(child.type)
            if child_type.layout:
                continue
            child_computed = child_type.computed or not child_type.stored
            path = f"{f.key}.{child.key}"
            targets[path] = _Target(path, child, child_type, f.key, COMPUTED if child_computed else None)
    for key in SYSTEM_FIELDS:
        pseudo = system_field(key)
        assert pseudo is not None
        targets[key] = _Target(key, pseudo, types.get(pseudo.type), None,
                               None if key in IMPORTABLE_SYSTEM else BY_SYSTEM)
    return targets


def _names(form: FormDef, target: _Target) -> list[str]:
    """What a header may say for the target: key and labels (joined with the subform's)."""
    def own(f: FieldDef) -> list[str]:
        return [f.key, f.label.zh, f.label.en]

    if target.subform is None:
        return own(target.field)
    parent = form.get_field(target.subform)
    return [f"{p}.{c}" for p in own(parent) for c in own(target.field)]


def plan_columns(
    form: FormDef,
    types: Registry[FieldType],
    header: Sequence[str],
    mapping: Mapping[str, str | None] | None = None,
) -> ColumnPlan:
    """Match the header's columns to the form's fields (see the module docstring)."""
    targets = _targets(form, types)
    plan = ColumnPlan(list(header))
    exact: dict[str, list[str]] = {}
    loose: dict[str, list[str]] = {}
    for target in targets.values():
        system = target.path in SYSTEM_FIELDS
        for position, name in enumerate(_names(form, target)):
            # A form's own field wins over a system field of the same name (编号 / id).
            if system and (name in exact or normalize(name) in loose):
                continue
            bucket = exact if position == 0 else loose
            bucket.setdefault(name, []).append(target.path)
            loose.setdefault(normalize(name), []).append(target.path)
    chosen: dict[int, str | None] = {}
    for column, path in (mapping or {}).items():
        index = plan.header_index(column)
        if index is None:
            raise MappingRefused(Message("文件中没有列“{column}”（有：{known}）",
                                         "The file has no column \"{column}\" (it has: {known})")
                                 .format(column=column, known=", ".join(h for h in header if h)))
        if path is not None:
            named = targets.get(path)
            if named is None:
                raise MappingRefused(_unknown_path(form, path))
            if not named.importable:
                reason = named.reason or COMPUTED
                raise MappingRefused(Label(f"字段 {path} 不能导入：{reason.zh}",
                                           f"Field {path} cannot be imported: {reason.en}"))
        chosen[index] = path
    filled: dict[str, str] = {}
    for index, name in enumerate(header):
        shown = name or unnamed_column(index)
        if index in chosen:
            path = chosen[index]
            if path is None:
                plan.ignored.append(IgnoredColumn(shown, SKIPPED))
                continue
        else:
            if not name:
                plan.ignored.append(IgnoredColumn(shown, NO_HEADER))
                continue
            found = _auto(name, exact, loose)
            if isinstance(found, Label):
                plan.ignored.append(IgnoredColumn(shown, found))
                continue
            path = found
        target = targets[path]
        if not target.importable:
            plan.ignored.append(IgnoredColumn(shown, target.reason or COMPUTED))
            continue
        if path in filled:
            plan.ignored.append(IgnoredColumn(shown, TAKEN.format(field=path, column=filled[path])))
            continue
        filled[path] = shown
        plan.columns.append(FieldColumn(index, shown, path, target.field, target.ftype, target.subform))
    return plan


def _auto(name: str, exact: dict[str, list[str]], loose: dict[str, list[str]]) -> str | Label:
    loose_name = normalize(name)  # "*" or "()" alone say nothing to match by
    for candidates in (exact.get(name), loose.get(loose_name) if loose_name else None):
        if candidates:
            distinct = list(dict.fromkeys(candidates))
            if len(distinct) == 1:
                return distinct[0]
            return AMBIGUOUS.format(fields=", ".join(distinct))
    return NO_FIELD


def unnamed_column(index: int) -> str:
    """How a column without a header is named in reports: ``(C)`` for the third."""
    letters = ""
    number = index + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return f"({letters})"


def _unknown_path(form: FormDef, path: str) -> Label:
    known = [p for p, _ in form.walk()]
    paths = [".".join(p) for p in known] + list(IMPORTABLE_SYSTEM)
    close = difflib.get_close_matches(path, paths, n=1)
    hint = (f"，是否指 {close[0]}？", f" — did you mean {close[0]}?") if close else ("", "")
    return Label(f"表单 {form.key} 没有字段 {path}{hint[0]}", f"Form {form.key} has no field {path}{hint[1]}")

