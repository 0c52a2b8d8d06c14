"""Turning a checked syntax tree into a tree of Python closures.

The tree is walked once at compile time; evaluation then calls one closure
per node, with no dispatch on node types and no re-checking. Each closure
takes ``(values, context)``. The sandbox is structural: only the node types
``syntax`` let through have a builder here, names become field-path reads, and
calls go only to registered functions.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.expr import operators as op
from engine.expr.context import EvaluationContext
from engine.expr.functions.base import Function
from engine.expr.functions.logic import and_, or_
from engine.expr.limits import MAX_EXPONENT, MAX_NUMBER_DIGITS
from engine.expr.syntax import Source, field_path
from engine.expr.values import NUMERIC, SIGNIFICANT, read_path, to_bool

Closure = Callable[[Mapping[str, Any], EvaluationContext], Any]

CONSTANT_NAMES: dict[str, Any] = {
    "TRUE": True, "true": True, "FALSE": False, "false": False, "null": None, "NULL": None,
}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: op.add, ast.Sub: op.subtract, ast.Mult: op.multiply, ast.Div: op.divide,
    ast.Mod: op.modulo, ast.Pow: op.power, ast.BitAnd: op.concat,
}
_ORDERING: dict[type[ast.cmpop], Callable[[int], bool]] = {
    ast.Lt: lambda c: c < 0, ast.LtE: lambda c: c <= 0,
    ast.Gt: lambda c: c > 0, ast.GtE: lambda c: c >= 0,
}
_FAST_ORDERING: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
}
_PLAIN_NUMBERS = (Decimal, int)
_round = SIGNIFICANT.plus


class Compiler:
    """Builds the closure tree and collects the field paths and functions used.

    ``known`` is the set of field paths the formula may read, or None to
    accept any name (used when a caller has no schema at hand).
    """

    def __init__(self, source: Source, functions: Registry[Function], known: frozenset[str] | None):
        self.source = source
        self.functions = functions
        self.known = known
        self.known_roots = frozenset(k.split(".")[0] for k in known) if known is not None else None
        self.paths: set[str] = set()
        self.called: set[str] = set()
        self._builders: dict[type[ast.AST], Callable[[Any], Closure]] = {
            ast.Expression: lambda n: self.build(n.body),
            ast.Constant: self._constant,
            ast.Name: self._name,
            ast.Attribute: self._attribute,
            ast.BinOp: self._binop,
            ast.UnaryOp: self._unaryop,
            ast.BoolOp: self._boolop,
            ast.Compare: self._compare,
            ast.Call: self._call,
            ast.List: self._list,
            ast.Tuple: self._list,
            ast.IfExp: self._ifexp,
        }

    def build(self, node: ast.AST) -> Closure:
        return self._builders[type(node)](node)

    # Leaves ------------------------------------------------------------------

    def _constant(self, node: ast.Constant) -> Closure:
        value = self.literal(node)
        return lambda values, ctx: value

    def literal(self, node: ast.Constant) -> Any:
        value = node.value
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return value
        if isinstance(value, int) and len(str(abs(value))) > MAX_NUMBER_DIGITS:
            raise self.source.error(node, Label("数字太大", "The number is too large"))
        number = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
        if not number.is_finite() or number.adjusted() > 307:
            raise self.source.error(node, Label("数字太大", "The number is too large"))
        return number

    def _name(self, node: ast.Name) -> Closure:
        if node.id in CONSTANT_NAMES:
            value = CONSTANT_NAMES[node.id]
            return lambda values, ctx: value
        key = self.read(node, (node.id,))
        return lambda values, ctx: values.get(key)

    def _attribute(self, node: ast.Attribute) -> Closure:
        path = field_path(node)
        assert path is not None  # syntax checked it
        self.read(node, path)
        return lambda values, ctx: read_path(values, path)

    def read(self, node: ast.AST, path: tuple[str, ...]) -> str:
        """Record a field path the formula reads; refuse an unknown one."""
        dotted = ".".join(path)
        if self.known is not None and dotted not in self.known and not (
            len(path) == 1 and self.known_roots and dotted in self.known_roots
        ):
            raise self.source.error(node, self._unknown_field(dotted))
        self.paths.add(dotted)
        return dotted

    def _unknown_field(self, dotted: str) -> Label:
        if self.functions.find(dotted) is not None:
            name = dotted.upper()
            return Label(f"{name} 是函数，请写成 {name}(...)", f"{name} is a function; write {name}(...)")
        candidates = sorted(self.known or ())
        close = difflib.get_close_matches(dotted, candidates, n=1, cutoff=0.6)
        if close:
            return Label(f"未知字段 {dotted}，是否指 {close[0]}？", f"Unknown field {dotted} — did you mean {close[0]}?")
        return Label(f"未知字段 {dotted}", f"Unknown field {dotted}")

    # Operators ---------------------------------------------------------------

    def _binop(self, node: ast.BinOp) -> Closure:
        if isinstance(node.op, ast.Pow) and isinstance(node.right, ast.Constant):
            exponent = node.right.value
            if isinstance(exponent, int | float) and abs(exponent) > MAX_EXPONENT:
                raise self.source.error(
                    node, Label(f"指数不能超过 {MAX_EXPONENT}", f"An exponent may not exceed {MAX_EXPONENT}")
                )
        function = _BINARY[type(node.op)]
        left, right = self.build(node.left), self.build(node.right)
        return lambda values, ctx: function(left(values, ctx), right(values, ctx))

    def _unaryop(self, node: ast.UnaryOp) -> Closure:
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            number = self.literal(node.operand)
            if isinstance(number, Decimal):
                negative = NUMERIC.minus(number)
                return lambda values, ctx: negative
        operand = self.build(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda values, ctx: not to_bool(operand(values, ctx))
        function = op.negate if isinstance(node.op, ast.USub) else op.plus
        return lambda values, ctx: function(operand(values, ctx))

    def _boolop(self, node: ast.BoolOp) -> Closure:
        parts = tuple(self.condition(value) for value in node.values)
        if isinstance(node.op, ast.And):
            def all_hold(values: Mapping[str, Any], ctx: EvaluationContext) -> bool:
                # A plain loop: all() over a generator costs a frame per call.
                for part in parts:  # noqa: SIM110
                    if not part(values, ctx):
                        return False
                return True

            return all_hold

        def any_holds(values: Mapping[str, Any], ctx: EvaluationContext) -> bool:
            for part in parts:  # noqa: SIM110
                if part(values, ctx):
                    return True
            return False

        return any_holds

    def condition(self, node: ast.AST) -> Closure:
        """A closure giving a real bool: comparisons already do, others go through to_bool."""
        closure = self.build(node)
        if isinstance(node, ast.Compare | ast.BoolOp) or (
            isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
        ):
            return closure
        return lambda values, ctx: to_bool(closure(values, ctx))

    def _compare(self, node: ast.Compare) -> Closure:
        operands = [node.left, *node.comparators]
        links = [
            self._comparison(operator, operands[i], operands[i + 1])
            for i, operator in enumerate(node.ops)
        ]
        if len(links) == 1:
            return links[0]
        # a < b < c: each operand is evaluated once per link, as Python's chains do
        # for side-effect-free operands.
        return lambda values, ctx: all(link(values, ctx) for link in links)

    def _comparison(self, operator: ast.cmpop, left_node: ast.AST, right_node: ast.AST) -> Closure:
        left, right = self.build(left_node), self.build(right_node)
        kind = type(operator)
        if kind in _FAST_ORDERING:
            fast, slow = _FAST_ORDERING[kind], _ORDERING[kind]

            def ordered(values: Mapping[str, Any], ctx: EvaluationContext) -> bool:
                a, b = left(values, ctx), right(values, ctx)
                kind_a, kind_b = type(a), type(b)
                if kind_a in _PLAIN_NUMBERS and kind_b in _PLAIN_NUMBERS:
                    # To 15 significant digits, as op.compare: whole numbers are exact already.
                    return fast(_round(a) if kind_a is Decimal else a, _round(b) if kind_b is Decimal else b)
                return slow(op.compare(a, b))

            return ordered
        if kind in (ast.Eq, ast.NotEq):
            return self._equality(left, right_node, right, negate=kind is ast.NotEq)
        return self._membership(left, right_node, right, negate=kind is ast.NotIn)

    def _equality(self, left: Closure, right_node: ast.AST, right: Closure, *, negate: bool) -> Closure:
        if isinstance(right_node, ast.Constant) and isinstance(right_node.value, str) and right_node.value:
            text = right_node.value
            folded = text.casefold()

            def equals_text(values: Mapping[str, Any], ctx: EvaluationContext) -> bool:
                a = left(values, ctx)
                same = a.casefold() == folded if type(a) is str else op.equals(a, text)
                return same is not negate

            return equals_text

        def equals(values: Mapping[str, Any], ctx: EvaluationContext) -> bool:
            return op.equals(left(values, ctx), right(values, ctx)) is not negate

        return equals

    def _membership(self, left: Closure, right_node: ast.AST, right: Closure, *, negate: bool) -> Closure:
        constant_items = self._constant_items(right_node)
        if constant_items is not None and not any(item is None or item == "" for item in constant_items):
            keys = frozenset(op.membership_key(item) for item in constant_items)

            def in_constants(values: Mapping[str, Any], ctx: EvaluationContext) -> bool:
                a = left(values, ctx)
                kind = type(a)
                if kind is str:
                    found = a.casefold() in keys
                elif kind in _PLAIN_NUMBERS:
                    found = (_round(a) if kind is Decimal else a) in keys
                else:
                    found = op.contains(constant_items, a)
                return found is not negate

            return in_constants

        def is_in(values: Mapping[str, Any], ctx: EvaluationContext) -> bool:
            return op.contains(right(values, ctx), left(values, ctx)) is not negate

        return is_in

    def _constant_items(self, node: ast.AST) -> list[Any] | None:
        if not isinstance(node, ast.List | ast.Tuple):
            return None
        items = []
        for element in node.elts:
            if isinstance(element, ast.Constant):
                items.append(self.literal(element))
            elif isinstance(element, ast.UnaryOp) and isinstance(element.op, ast.USub) and isinstance(
                element.operand, ast.Constant
            ) and isinstance(element.operand.value, int | float):
                items.append(NUMERIC.minus(self.literal(element.operand)))
            else:
                return None
        return items

    def _ifexp(self, node: ast.IfExp) -> Closure:
        test, body, orelse = self.condition(node.test), self.build(node.body), self.build(node.orelse)
        return lambda values, ctx: body(values, ctx) if test(values, ctx) else orelse(values, ctx)

    def _list(self, node: ast.List | ast.Tuple) -> Closure:
        constant_items = self._constant_items(node)
        if constant_items is not None:
            return lambda values, ctx: list(constant_items)
        items = tuple(self.build(element) for element in node.elts)
        return lambda values, ctx: [item(values, ctx) for item in items]

    # Calls -------------------------------------------------------------------

    def _call(self, node: ast.Call) -> Closure:
        assert isinstance(node.func, ast.Name)
        name = node.func.id
        function = self.functions.find(name)
        if function is None:
            raise self.source.error(node.func, self._unknown_function(name))
        count = len(node.args)
        if count < function.min_args or (function.max_args is not None and count > function.max_args):
            raise self.source.error(
                node,
                Label(
                    f"{function.key} 需要 {_arity_zh(function)} 个参数，这里给了 {count} 个",
                    f"{function.key} takes {function.arity_text()} argument"
                    f"{'' if function.max_args == 1 else 's'}, but {count} {'was' if count == 1 else 'were'} given",
                ),
            )
        self.called.add(function.key)
        impl = function.impl
        if function.kind == "path":
            path = field_path(node.args[0])
            if path is None:
                raise self.source.error(
                    node.args[0], Label(f"{function.key} 的参数必须是字段", f"{function.key} takes a field, as in {function.key}(amount)")
                )
            self.read(node.args[0], path)
            return lambda values, ctx: impl(ctx, path)
        args = tuple(self.build(arg) for arg in node.args)
        fold = _BOOLEAN_FOLDS.get(impl)
        if fold is not None and all(_gives_bool(arg) for arg in node.args):
            return fold(args)
        if function.kind == "lazy":
            return lambda values, ctx: impl(values, ctx, *args)
        if function.kind == "context":
            return lambda values, ctx: impl(ctx, *[arg(values, ctx) for arg in args])
        return _eager_call(impl, args)

    def _unknown_function(self, name: str) -> Label:
        close = self.functions.suggest(name)
        if close:
            return Label(f"未知函数 {name}，是否指 {close[0]}？", f"Unknown function {name} — did you mean {close[0]}?")
        return Label(f"未知函数 {name}", f"Unknown function {name}")


def _arity_zh(function: Function) -> str:
    if function.max_args is None:
        return f"至少 {function.min_args}"
    if function.min_args == function.max_args:
        return str(function.min_args)
    return f"{function.min_args} 到 {function.max_args}"


def _gives_bool(node: ast.AST) -> bool:
    """Whether ``node``'s closure returns a real bool (or raises): a comparison,
    ``and``/``or``, ``not``."""
    return isinstance(node, ast.Compare | ast.BoolOp) or (
        isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not))


def _every(parts: tuple[Closure, ...]) -> Closure:
    # AND over conditions, as the AND function but without its per-argument
    # lists (rule conditions are mostly this): every part is evaluated, so an
    # error in any of them is still the result, then & of real bools.
    if len(parts) == 2:
        a, b = parts
        return lambda values, ctx: a(values, ctx) & b(values, ctx)

    def every(values: Mapping[str, Any], ctx: EvaluationContext) -> bool:
        held = True
        for part in parts:
            held = part(values, ctx) & held
        return held

    return every


def _some(parts: tuple[Closure, ...]) -> Closure:
    # OR over conditions, as _every.
    if len(parts) == 2:
        a, b = parts
        return lambda values, ctx: a(values, ctx) | b(values, ctx)

    def some(values: Mapping[str, Any], ctx: EvaluationContext) -> bool:
        held = False
        for part in parts:
            held = part(values, ctx) | held
        return held

    return some


# By implementation, so a registry with its own AND keeps it.
_BOOLEAN_FOLDS: dict[Callable[..., Any], Callable[[tuple[Closure, ...]], Closure]] = {and_: _every, or_: _some}


def _eager_call(impl: Callable[..., Any], args: tuple[Closure, ...]) -> Closure:
    # Unrolled for the common arities: a call per node is the whole cost here.
    if len(args) == 0:
        return lambda values, ctx: impl()
    if len(args) == 1:
        (a,) = args
        return lambda values, ctx: impl(a(values, ctx))
    if len(args) == 2:
        a, b = args
        return lambda values, ctx: impl(a(values, ctx), b(values, ctx))
    return lambda values, ctx: impl(*[arg(values, ctx) for arg in args])
