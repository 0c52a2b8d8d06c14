"""Attempts to break out of the formula sandbox, each refused cleanly.

"Cleanly" means: a ``FormulaError`` at compile time with a position and a
reason in both languages, or an Excel error value at runtime; never a Python
exception, never a hang, never a huge allocation.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from engine.expr import ErrorValue, FormulaError, compile_formula, evaluate
from engine.expr.limits import MAX_FORMULA_LENGTH, MAX_TEXT_LENGTH

REFUSED_AT_COMPILE = [
    "().__class__.__mro__",
    "().__class__.__bases__[0].__subclasses__()",
    "__import__('os').system('true')",
    "__builtins__",
    "a.__class__",
    "a.__dict__",
    "a._private",
    "_x + 1",
    "(1).real",
    "'abc'.upper()",
    "[1, 2].pop()",
    "getattr(a, 'b')",
    "open('/etc/passwd')",
    "eval('1')",
    "exec('x = 1')",
    "compile('1', 'f', 'eval')",
    "globals()",
    "type(1)",
    "lambda: 1",
    "(lambda x: x)(1)",
    "[x for x in a]",
    "{x for x in a}",
    "(x for x in a)",
    "(x := 1)",
    "import os",
    "x += 1",
    "a[0]",
    "a[1:2]",
    "f'{a}'",
    "{'a': 1}",
    "{1, 2}",
    "*a",
    "SUM(*a)",
    "SUM(**a)",
    "1 | 2",
    "~1",
    "1 << 2",
    "1 // 2",
    "a is None",
    "b'bytes'",
    "1j",
    "...",
    "yield 1",
    "await a",
    "2 ** 5000",
    '"a" * 10 ** 9',
    '"a" * 100000',
    "(" * 1000 + "1" + ")" * 1000,
    "ABS(" * 100 + "1" + ")" * 100,
    "-" * 3000 + "1",
    "1+" * 3000 + "1",
    "not " * 500 + "1",
    "x" * (MAX_FORMULA_LENGTH + 1),
    "[" + ", ".join(["1"] * 1001) + "]",
    "",
    "   ",
]


@contextmanager
def within_a_second_of_cpu() -> Iterator[None]:
    """Fails when the block takes a second of this thread's CPU time.

    Not the wall clock, and with the collector paused: a busy machine, the
    worker's other threads (a test server) or a full collection of a large
    heap must not fail a refusal that takes ~10 ms.
    """
    gc.disable()
    try:
        started = time.thread_time()
        yield
        assert time.thread_time() - started < 1
    finally:
        gc.enable()


@pytest.mark.parametrize("formula", REFUSED_AT_COMPILE, ids=lambda f: f[:40])
def test_break_out_attempts_are_refused_when_compiling(formula: str) -> None:
    with within_a_second_of_cpu(), pytest.raises(FormulaError) as caught:
        compile_formula(formula)
    error = caught.value
    assert error.text("en") and error.text("zh")
    assert error.text("en") != error.text("zh")
    assert error.as_dict()["details"]["formula"] == formula


def test_refusals_point_at_the_offending_piece() -> None:
    with pytest.raises(FormulaError) as caught:
        compile_formula("1 + ().__class__")
    assert (caught.value.line, caught.value.column) == (1, 5)
    assert caught.value.fragment == "().__class__"
    assert "__class__" in caught.value.text("en")


@pytest.mark.parametrize(
    ("formula", "values", "code"),
    [
        ("9 ** 9 ** 9", {}, "#NUM!"),
        ("x ** y", {"x": 10, "y": 10**6}, "#NUM!"),
        ("x * y", {"x": 10**200, "y": 10**200}, "#NUM!"),
        ("x * 10", {"x": "a" * 1000}, "#VALUE!"),
        ("x & x", {"x": "a" * (MAX_TEXT_LENGTH // 2 + 1)}, "#VALUE!"),
    ],
)
def test_huge_values_from_data_become_error_values(formula: str, values: dict, code: str) -> None:
    with within_a_second_of_cpu():
        result = compile_formula(formula).evaluate(values)
    assert isinstance(result, ErrorValue) and result.code == code


def test_data_cannot_smuggle_callables_or_attributes() -> None:
    class Sneaky:
        def __getattr__(self, name: str) -> object:
            raise AssertionError("the engine read an attribute of a data value")

    assert isinstance(evaluate("x.secret", {"x": Sneaky()}), ErrorValue)
    assert isinstance(evaluate("x + 1", {"x": Sneaky()}), ErrorValue)
    assert isinstance(evaluate("x + 1", {"x": print}), ErrorValue)


def test_names_are_field_keys_not_python_builtins() -> None:
    assert evaluate("len", {}) is None  # just an unknown (blank) field without a field list
    with pytest.raises(FormulaError, match="LEN is a function"):
        compile_formula("len", names=["amount"])
    with pytest.raises(FormulaError, match="Unknown field open"):
        compile_formula("open", names=["amount"])
