"""The types a formula can produce, for the designers and compile-time checks.

A field type tells the formula language which of these its values are (the
fields layer maps each field type to one). ``ANY`` means unknown: nothing is
checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FormulaType:
    """``kind`` is one of KINDS; a list also names the type of its items."""

    kind: str
    item: FormulaType | None = None

    def __str__(self) -> str:
        return f"list<{self.item}>" if self.kind == "list" and self.item else self.kind

    @property
    def is_numeric(self) -> bool:
        return self.kind in ("number", "money")

    @property
    def is_known(self) -> bool:
        return self.kind not in ("any", "blank")


KINDS = (
    "number", "money", "text", "date", "datetime", "time", "boolean",
    "list", "record", "records", "any", "blank",
)

NUMBER = FormulaType("number")
MONEY = FormulaType("money")
TEXT = FormulaType("text")
DATE = FormulaType("date")
DATETIME = FormulaType("datetime")
TIME = FormulaType("time")
BOOLEAN = FormulaType("boolean")
RECORD = FormulaType("record")
RECORDS = FormulaType("records")
ANY = FormulaType("any")
BLANK = FormulaType("blank")
LIST = FormulaType("list", ANY)

_LABELS = {
    "number": ("数字", "number"),
    "money": ("金额", "money"),
    "text": ("文本", "text"),
    "date": ("日期", "date"),
    "datetime": ("日期时间", "date-time"),
    "time": ("时间", "time"),
    "boolean": ("是/否", "yes/no"),
    "list": ("列表", "list"),
    "record": ("关联记录", "related record"),
    "records": ("记录列表", "list of records"),
    "any": ("任意值", "any value"),
    "blank": ("空值", "blank"),
}


def list_of(item: FormulaType) -> FormulaType:
    return FormulaType("list", item)


def parse_type(spec: str | FormulaType) -> FormulaType:
    """``"money"``, ``"list:number"`` or a FormulaType."""
    if isinstance(spec, FormulaType):
        return spec
    kind, _, item = spec.partition(":")
    if kind not in KINDS:
        raise ValueError(f"unknown formula type {spec!r}; expected one of {', '.join(KINDS)}")
    if kind == "list":
        return list_of(parse_type(item) if item else ANY)
    return FormulaType(kind)


def type_label(t: FormulaType, locale: str) -> str:
    zh, en = _LABELS[t.kind]
    if t.kind == "list" and t.item is not None and t.item.is_known:
        inner = type_label(t.item, locale)
        return f"{inner}列表" if locale == "zh" else f"list of {inner}"
    return zh if locale == "zh" else en


def element(t: FormulaType) -> FormulaType:
    """The type of one item when ``t`` is spread out (a list's items, else ``t``)."""
    if t.kind == "list":
        return t.item or ANY
    if t.kind == "records":
        return RECORD
    return t


def unify(types: list[FormulaType]) -> FormulaType:
    """The common type of several branches (IF's results, a list literal's items)."""
    known = [t for t in types if t.kind != "blank"]
    if not known:
        return BLANK
    first = known[0]
    if all(t == first for t in known):
        return first
    if all(t.is_numeric for t in known):
        # A money branch makes the result money: IF(won, amount, 0) is an amount.
        return MONEY if any(t.kind == "money" for t in known) else NUMBER
    if all(t.kind in ("date", "datetime") for t in known):
        return DATETIME
    return ANY
