"""Compiling a formula once and evaluating it many times.

``compile_formula(text, names=...)`` checks the text, resolves its names and
functions, infers its type and returns a ``CompiledFormula``; results are
cached by text and names, so the same rule on 10,000 records compiles once.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from engine.core.registry import Registry
from engine.expr.compiler import Closure, Compiler
from engine.expr.context import EvaluationContext, default_context
from engine.expr.errors import ErrorValue, error_from_exception
from engine.expr.functions import FUNCTIONS, Function
from engine.expr.inference import infer_type
from engine.expr.syntax import Source, parse
from engine.expr.types import FormulaType, parse_type

Names = Iterable[str] | Mapping[str, "str | FormulaType"] | None
_EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True, eq=False)
class CompiledFormula:
    """A checked formula, ready to evaluate.

    ``names`` are the field paths it reads (``amount``, ``customer.industry``,
    ``items.qty``), for dependency graphs and recomputation; ``roots`` are
    their first parts (the fields of this form it depends on).
    """

    text: str
    names: frozenset[str]
    functions: frozenset[str]
    return_type: FormulaType
    _run: Closure = field(repr=False)
    _tree: ast.Expression = field(repr=False)
    _source: Source = field(repr=False)

    @property
    def roots(self) -> frozenset[str]:
        return frozenset(name.split(".")[0] for name in self.names)

    def evaluate(
        self, values: Mapping[str, Any] | None = None, context: EvaluationContext | None = None
    ) -> Any:
        """The formula's value for these field values.

        Never raises for bad data: a runtime failure (division by zero, text
        where a number belongs) is returned as an ``ErrorValue``.
        """
        try:
            return self._run(values if values is not None else _EMPTY, context or default_context())
        except Exception as exc:
            error = error_from_exception(exc)
            if error is None:
                raise
            return error

    def infer_type(self, types: Mapping[str, str | FormulaType]) -> FormulaType:
        """The type this formula returns when its fields have ``types``;
        a mismatch such as ``amount + name`` raises ``FormulaError``."""
        return infer_type(self._tree, self._source, _parse_types(types), FUNCTIONS)

    def __repr__(self) -> str:
        return f"CompiledFormula({self.text!r}, returns {self.return_type})"


def compile_formula(
    text: str, names: Names = None, *, functions: Registry[Function] | None = None
) -> CompiledFormula:
    """Check ``text`` and compile it, or raise ``FormulaError`` saying where and why.

    ``names`` lists the field paths the formula may read: an iterable of keys
    (``"amount"``, ``"customer.industry"``), or a mapping from key to formula
    type (``"money"``, ``"list:number"``, ``"records"`` for a subform) which
    also enables type inference and mismatch checks. With no ``names`` any
    name is accepted.
    """
    if functions is not None:
        return _compile(text, _names_key(names), functions)
    return _compile_cached(text, _names_key(names))


def evaluate(
    text: str,
    values: Mapping[str, Any] | None = None,
    context: EvaluationContext | None = None,
) -> Any:
    """Compile (cached) and evaluate in one step; for one-off use and tests."""
    return compile_formula(text).evaluate(values, context)


NamesKey = frozenset[str] | frozenset[tuple[str, FormulaType]] | None


def _names_key(names: Names) -> NamesKey:
    if names is None:
        return None
    if isinstance(names, Mapping):
        return frozenset((key, parse_type(spec)) for key, spec in names.items())
    return frozenset(names)


def _parse_types(types: Mapping[str, str | FormulaType]) -> dict[str, FormulaType]:
    return {key: parse_type(spec) for key, spec in types.items()}


@lru_cache(maxsize=4096)
def _compile_cached(text: str, names: NamesKey) -> CompiledFormula:
    return _compile(text, names, FUNCTIONS)


def _compile(text: str, names: NamesKey, functions: Registry[Function]) -> CompiledFormula:
    tree, source = parse(text)
    typed: dict[str, FormulaType] | None = None
    known: frozenset[str] | None = None
    if names is not None:
        typed_items = [item for item in names if isinstance(item, tuple)]
        if typed_items:
            typed = dict(typed_items)
            known = frozenset(typed)
        else:
            known = frozenset(item for item in names if isinstance(item, str))
    compiler = Compiler(source, functions, known)
    run = compiler.build(tree)
    return_type = infer_type(tree, source, typed or {}, functions)
    return CompiledFormula(
        text=text,
        names=frozenset(compiler.paths),
        functions=frozenset(compiler.called),
        return_type=return_type,
        _run=run,
        _tree=tree,
        _source=source,
    )


def is_error(value: Any) -> bool:
    """True when an evaluation produced an Excel error value."""
    return isinstance(value, ErrorValue)


Evaluator = Callable[[Mapping[str, Any], EvaluationContext], Any]
