"""Type inference: what a formula returns, and mismatches caught before publish.

Given the formula types of the fields a formula reads, ``infer_type`` walks
the checked tree once and returns the formula's type (number, money, text,
date, boolean, list ...). It raises ``FormulaError`` only for clear mistakes
between known types (``amount + name``, ``YEAR(amount)``); an unknown type
(``any``) is never an error, since runtime coercion may still succeed.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from decimal import Decimal

from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.expr.functions.base import Function
from engine.expr.syntax import Source, field_path
from engine.expr.types import (
    ANY,
    BLANK,
    BOOLEAN,
    MONEY,
    NUMBER,
    TEXT,
    FormulaType,
    element,
    list_of,
    type_label,
    unify,
)

_OPERATION = {
    ast.Add: ("相加", "add"), ast.Sub: ("相减", "subtract"), ast.Mult: ("相乘", "multiply"),
    ast.Div: ("相除", "divide"), ast.Mod: ("取余", "take the remainder of"),
    ast.Pow: ("乘方", "raise to a power"),
}
_NOT_NUMBERS = frozenset({"text", "record", "records", "time"})
_DATES = frozenset({"date", "datetime"})


def infer_type(
    tree: ast.Expression,
    source: Source,
    types: Mapping[str, FormulaType] | None,
    functions: Registry[Function],
) -> FormulaType:
    if types is None:
        return ANY
    return _Inference(source, types, functions).visit(tree.body)


class _Inference:
    def __init__(self, source: Source, types: Mapping[str, FormulaType], functions: Registry[Function]):
        self.source = source
        self.types = types
        self.functions = functions
        self._visitors: dict[type[ast.AST], Callable[[ast.AST], FormulaType]] = {
            ast.Constant: self._constant,  # type: ignore[dict-item]
            ast.Name: self._path,
            ast.Attribute: self._path,
            ast.BinOp: self._binop,  # type: ignore[dict-item]
            ast.UnaryOp: self._unaryop,  # type: ignore[dict-item]
            ast.BoolOp: lambda node: BOOLEAN,
            ast.Compare: self._compare,  # type: ignore[dict-item]
            ast.IfExp: self._ifexp,  # type: ignore[dict-item]
            ast.List: self._list,  # type: ignore[dict-item]
            ast.Tuple: self._list,  # type: ignore[dict-item]
            ast.Call: self._call,  # type: ignore[dict-item]
        }

    def visit(self, node: ast.AST) -> FormulaType:
        return self._visitors[type(node)](node)

    def _constant(self, node: ast.Constant) -> FormulaType:
        value = node.value
        if isinstance(value, bool):
            return BOOLEAN
        if value is None:
            return BLANK
        if isinstance(value, str):
            return TEXT
        return NUMBER if isinstance(value, int | float | Decimal) else ANY

    def path_type(self, path: tuple[str, ...]) -> FormulaType:
        if len(path) == 1 and path[0] in ("TRUE", "true", "FALSE", "false"):
            return BOOLEAN
        if len(path) == 1 and path[0] in ("null", "NULL"):
            return BLANK
        dotted = ".".join(path)
        found = self.types.get(dotted, ANY)
        for size in range(1, len(path)):
            prefix = self.types.get(".".join(path[:size]))
            if prefix is not None and prefix.kind in ("records", "list") and found.kind != "list":
                return list_of(found)
        return found

    def _path(self, node: ast.AST) -> FormulaType:
        path = field_path(node)
        return self.path_type(path) if path else ANY

    def _mismatch(self, node: ast.AST, zh: str, en: str) -> None:
        raise self.source.error(node, Label(zh, en))

    def _binop(self, node: ast.BinOp) -> FormulaType:
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.BitAnd):
            return TEXT
        if left.kind == "list" or right.kind == "list":
            return list_of(self._arithmetic(node, element(left), element(right)))
        return self._arithmetic(node, left, right)

    def _arithmetic(self, node: ast.BinOp, left: FormulaType, right: FormulaType) -> FormulaType:
        zh_op, en_op = _OPERATION[type(node.op)]
        fragment = self.source.position(node)[2]
        for side in (left, right):
            if side.kind in _NOT_NUMBERS:
                hint_zh = "。连接文本请用 & 或 CONCAT" if isinstance(node.op, ast.Add) and side == TEXT else ""
                hint_en = ". To join text use & or CONCAT" if isinstance(node.op, ast.Add) and side == TEXT else ""
                self._mismatch(
                    node,
                    f"{type_label(left, 'zh')}和{type_label(right, 'zh')}不能{zh_op}：{fragment}{hint_zh}",
                    f"Cannot {en_op} {type_label(left, 'en')} and {type_label(right, 'en')}: {fragment}{hint_en}",
                )
        kind = type(node.op)
        if left.kind in _DATES or right.kind in _DATES:
            return self._date_arithmetic(node, kind, left, right, fragment)
        if not left.is_known and not right.is_known:
            return ANY if left.kind == "any" or right.kind == "any" else NUMBER
        money = {left.kind == "money", right.kind == "money"}
        if kind in (ast.Add, ast.Sub, ast.Mult):
            return MONEY if True in money else NUMBER
        if kind is ast.Div:
            return MONEY if left.kind == "money" and right.kind != "money" else NUMBER
        if kind is ast.Mod:
            return MONEY if left.kind == "money" else NUMBER
        return NUMBER

    def _date_arithmetic(
        self, node: ast.BinOp, kind: type, left: FormulaType, right: FormulaType, fragment: str
    ) -> FormulaType:
        if kind is ast.Sub and left.kind in _DATES and right.kind in _DATES:
            return NUMBER
        if kind is ast.Add and left.kind in _DATES and right.kind not in _DATES:
            return left
        if kind is ast.Add and right.kind in _DATES and left.kind not in _DATES:
            return right
        if kind is ast.Sub and left.kind in _DATES:
            return left
        zh_op, en_op = _OPERATION[kind]  # type: ignore[index]
        self._mismatch(
            node,
            f"{type_label(left, 'zh')}和{type_label(right, 'zh')}不能{zh_op}：{fragment}",
            f"Cannot {en_op} {type_label(left, 'en')} and {type_label(right, 'en')}: {fragment}",
        )
        return ANY

    def _unaryop(self, node: ast.UnaryOp) -> FormulaType:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.Not):
            return BOOLEAN
        if operand.kind in _NOT_NUMBERS or operand.kind in _DATES:
            fragment = self.source.position(node)[2]
            self._mismatch(
                node,
                f"{type_label(operand, 'zh')}不能取负号：{fragment}",
                f"A {type_label(operand, 'en')} cannot be negated: {fragment}",
            )
        return operand if operand.is_numeric or operand.kind == "list" else NUMBER

    def _compare(self, node: ast.Compare) -> FormulaType:
        operands = [node.left, *node.comparators]
        types = [self.visit(operand) for operand in operands]
        for index, operator in enumerate(node.ops):
            if isinstance(operator, ast.In | ast.NotIn):
                continue
            left, right = types[index], types[index + 1]
            # Values written in the formula itself compare the way Excel compares
            # them ("10" = 10 is FALSE, "a" < TRUE); a field against a value of
            # another type always gives the same answer, so it is a mistake.
            if _incomparable(left, right) and not (_literal(operands[index]) and _literal(operands[index + 1])):
                fragment = self.source.position(node)[2]
                self._mismatch(
                    node,
                    f"{type_label(left, 'zh')}和{type_label(right, 'zh')}不能比较：{fragment}",
                    f"Cannot compare {type_label(left, 'en')} with {type_label(right, 'en')}: {fragment}",
                )
        return BOOLEAN

    def _ifexp(self, node: ast.IfExp) -> FormulaType:
        self.visit(node.test)
        return unify([self.visit(node.body), self.visit(node.orelse)])

    def _list(self, node: ast.List | ast.Tuple) -> FormulaType:
        items = [self.visit(element) for element in node.elts]
        return list_of(unify(items) if items else ANY)

    def _call(self, node: ast.Call) -> FormulaType:
        assert isinstance(node.func, ast.Name)
        function = self.functions.get(node.func.id)
        if function.kind == "path":
            path = field_path(node.args[0])
            return function.return_type([self.path_type(path) if path else ANY])
        arg_types = [self.visit(arg) for arg in node.args]
        for index, (arg, arg_type) in enumerate(zip(node.args, arg_types, strict=True)):
            self._check_argument(function, index, arg, arg_type)
        return function.return_type(arg_types)

    def _check_argument(self, function: Function, index: int, arg: ast.AST, arg_type: FormulaType) -> None:
        wanted = function.param(index)
        actual = element(arg_type) if wanted in ("number", "date", "text") else arg_type
        wrong = (
            (wanted == "number" and (actual.kind in _NOT_NUMBERS or actual.kind in _DATES))
            or (wanted == "date" and (actual.is_numeric or actual.kind in ("boolean", "record", "records")))
            or (wanted == "boolean" and actual.kind in ("text", "record", "records", "list"))
        )
        if wrong:
            wanted_label = {
                "number": ("数字", "a number"), "date": ("日期", "a date"), "boolean": ("条件", "a condition"),
            }[wanted]
            fragment = self.source.position(arg)[2]
            self._mismatch(
                arg,
                f"{function.key} 的第 {index + 1} 个参数应为{wanted_label[0]}，"
                f"而 {fragment} 是{type_label(arg_type, 'zh')}",
                f"Argument {index + 1} of {function.key} should be {wanted_label[1]}, "
                f"but {fragment} is {type_label(arg_type, 'en')}",
            )


_LITERAL_NAMES = frozenset({"TRUE", "true", "FALSE", "false", "null", "NULL"})


def _literal(node: ast.AST) -> bool:
    """Whether ``node`` reads no field: constants, and functions and operators of them."""
    called = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return all(n.id in _LITERAL_NAMES or id(n) in called for n in ast.walk(node) if isinstance(n, ast.Name))


def _incomparable(left: FormulaType, right: FormulaType) -> bool:
    if not left.is_known or not right.is_known:
        return False
    def group(t: FormulaType) -> int:
        if t.is_numeric:
            return 0
        if t.kind in _DATES:
            return 1
        if t.kind == "text":
            return 2
        return 3 if t.kind == "boolean" else -1

    a, b = group(left), group(right)
    if a == -1 or b == -1:
        return False
    # Text against a date is allowed: "2024-01-31" reads as a date.
    return a != b and {a, b} != {1, 2}
