"""Logic functions: IF, IFS, AND, OR, NOT, ISBLANK, SWITCH, IFERROR, ISERROR.

IF, IFS, SWITCH and IFERROR are lazy: they evaluate only the arguments
they need, so ``IF(qty = 0, 0, total / qty)`` never divides by zero. AND and
OR evaluate every argument, as Excel's do: ``AND(FALSE, 1/0)`` is #DIV/0!
(the ``and`` and ``or`` operators are the ones that stop early).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.expr.context import EvaluationContext
from engine.expr.errors import ErrorValue, error_from_exception, fail_na
from engine.expr.functions.base import FamilyBuilder
from engine.expr.operators import equals
from engine.expr.types import BOOLEAN, FormulaType, unify
from engine.expr.values import check_error, flatten, is_blank, to_bool

Thunk = Callable[[Mapping[str, Any], EvaluationContext], Any]
family = FamilyBuilder("logic")


def _if_type(args: Sequence[FormulaType]) -> FormulaType:
    branches = list(args[1:]) if len(args) > 2 else [*args[1:], BOOLEAN]
    return unify(branches)


@family.function("IF", 2, 3, returns=_if_type, params=("boolean", "any", "any"), kind="lazy")
def if_(values: Mapping[str, Any], ctx: EvaluationContext, cond: Thunk, then: Thunk,
        otherwise: Thunk | None = None) -> Any:
    """The second argument when the condition holds, else the third (FALSE when omitted)."""
    if to_bool(cond(values, ctx)):
        return then(values, ctx)
    return otherwise(values, ctx) if otherwise is not None else False


def _ifs_type(args: Sequence[FormulaType]) -> FormulaType:
    return unify(list(args[1::2]))


@family.function("IFS", 2, None, returns=_ifs_type, kind="lazy")
def ifs(values: Mapping[str, Any], ctx: EvaluationContext, *pairs: Thunk) -> Any:
    """The value after the first condition that holds; #N/A when none does."""
    if len(pairs) % 2:
        fail_na("IFS 的条件和值必须成对出现", "IFS takes conditions and values in pairs")
    for cond, value in zip(pairs[::2], pairs[1::2], strict=True):
        if to_bool(cond(values, ctx)):
            return value(values, ctx)
    fail_na("IFS 没有一个条件成立", "None of the IFS conditions holds")


def _truths(value: Any) -> list[bool]:
    """Conditions in an argument; inside a list blanks are skipped, as Excel skips empty cells."""
    if isinstance(value, list | tuple):
        return [to_bool(item) for item in flatten(value) if not is_blank(item)]
    return [to_bool(value)]


@family.function("AND", 1, None, returns=BOOLEAN, rest="boolean")
def and_(*conds: Any) -> bool:
    """TRUE when every condition holds. Every condition is evaluated, as in
    Excel: an error in any of them is the result."""
    truths = [_truths(cond) for cond in conds]  # each one checked, errors included, before any answer
    return all(all(found) for found in truths)


@family.function("OR", 1, None, returns=BOOLEAN, rest="boolean")
def or_(*conds: Any) -> bool:
    """TRUE when any condition holds. Every condition is evaluated, as in
    Excel: an error in any of them is the result."""
    truths = [_truths(cond) for cond in conds]
    return any(any(found) for found in truths)


@family.function("NOT", 1, 1, returns=BOOLEAN, params=("boolean",))
def not_(value: Any) -> bool:
    """The opposite of a condition."""
    return not to_bool(value)


@family.function("ISBLANK", 1, 1, returns=BOOLEAN)
def isblank(value: Any) -> bool:
    """TRUE when the value is empty: no value, empty text, or an empty list."""
    if isinstance(value, list | tuple):
        return all(is_blank(item) for item in value)
    check_error(value)
    return is_blank(value)


def _switch_type(args: Sequence[FormulaType]) -> FormulaType:
    results = list(args[2::2])
    if len(args) % 2 == 0:  # a default is present
        results.append(args[-1])
    return unify(results)


@family.function("SWITCH", 3, None, returns=_switch_type, kind="lazy")
def switch(values: Mapping[str, Any], ctx: EvaluationContext, subject: Thunk, *cases: Thunk) -> Any:
    """The result paired with the first value equal to the subject; else the default, else #N/A."""
    value = subject(values, ctx)
    check_error(value)
    pairs = len(cases) // 2
    for index in range(pairs):
        if equals(value, cases[2 * index](values, ctx)):
            return cases[2 * index + 1](values, ctx)
    if len(cases) % 2:
        return cases[-1](values, ctx)
    fail_na("SWITCH 没有匹配的值，也没有默认值", "SWITCH found no matching value and has no default")


def _guarded(thunk: Thunk, values: Mapping[str, Any], ctx: EvaluationContext) -> Any:
    try:
        return thunk(values, ctx)
    except Exception as exc:
        error = error_from_exception(exc)
        if error is None:
            raise
        return error


@family.function("IFERROR", 2, 2, returns=lambda args: unify(list(args)), kind="lazy")
def iferror(values: Mapping[str, Any], ctx: EvaluationContext, value: Thunk, fallback: Thunk) -> Any:
    """The value, or the fallback when the value is an error (#DIV/0!, #VALUE! ...)."""
    result = _guarded(value, values, ctx)
    return fallback(values, ctx) if isinstance(result, ErrorValue) else result


@family.function("ISERROR", 1, 1, returns=BOOLEAN, kind="lazy")
def iserror(values: Mapping[str, Any], ctx: EvaluationContext, value: Thunk) -> bool:
    """TRUE when the value is an error."""
    return isinstance(_guarded(value, values, ctx), ErrorValue)


FUNCTIONS = family.functions
