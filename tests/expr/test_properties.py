"""Property tests: arithmetic and comparison agree with a decimal reference,
and no text whatever makes the compiler fail with anything but FormulaError."""

from __future__ import annotations

import decimal
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.expr import ErrorValue, FormulaError, compile_formula, evaluate

REFERENCE = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)

numbers = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, places=4
)


@given(numbers, numbers)
def test_addition_subtraction_multiplication_match_decimal(a: Decimal, b: Decimal) -> None:
    values = {"a": a, "b": b}
    assert evaluate("a + b", values) == REFERENCE.add(a, b)
    assert evaluate("a - b", values) == REFERENCE.subtract(a, b)
    assert evaluate("a * b", values) == REFERENCE.multiply(a, b)


@given(numbers, numbers)
def test_division_matches_decimal_or_is_div0(a: Decimal, b: Decimal) -> None:
    result = evaluate("a / b", {"a": a, "b": b})
    if b == 0:
        assert isinstance(result, ErrorValue) and result.code == "#DIV/0!"
    else:
        assert result == REFERENCE.divide(a, b)


@given(numbers, numbers)
def test_modulo_takes_the_sign_of_the_divisor(a: Decimal, b: Decimal) -> None:
    result = evaluate("a % b", {"a": a, "b": b})
    if b == 0:
        assert isinstance(result, ErrorValue)
        return
    expected = a - b * (a / b).to_integral_value(rounding=decimal.ROUND_FLOOR)
    assert result == expected
    assert result == 0 or (result > 0) == (b > 0)


@given(numbers, numbers)
def test_comparisons_match_decimal(a: Decimal, b: Decimal) -> None:
    values = {"a": a, "b": b}
    assert evaluate("a < b", values) is (a < b)
    assert evaluate("a <= b", values) is (a <= b)
    assert evaluate("a == b", values) is (a == b)
    assert evaluate("a <> b", values) is (a != b)
    assert evaluate("a >= b", values) is (a >= b)


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), st.integers(-10**6, 10**6))
def test_floats_from_callers_are_read_as_the_decimal_they_show(x: float, n: int) -> None:
    assert evaluate("x + n", {"x": x, "n": n}) == REFERENCE.add(Decimal(repr(x)), Decimal(n))


@given(st.text(max_size=60))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_any_text_compiles_or_raises_formula_error(text: str) -> None:
    try:
        formula = compile_formula(text)
    except FormulaError as error:
        assert error.text("en") and error.text("zh")
        return
    formula.evaluate({})  # and evaluating never raises either


formula_alphabet = st.sampled_from(
    [
        *"abcxyz0123456789.+-*/%()<>=!,\"' &[]_",
        *("IF", "SUM", "ROUND", "and", "or", "not", "in", "**", "__", "<>", "TRUE", "\n"),
    ]
)


@given(st.lists(formula_alphabet, max_size=30).map("".join))
@settings(max_examples=600)
def test_formula_like_text_compiles_or_raises_formula_error(text: str) -> None:
    try:
        formula = compile_formula(text)
    except FormulaError:
        return
    result = formula.evaluate({"a": Decimal(1), "b": "x", "c": None, "x": [1, 2]})
    assert not isinstance(result, Exception)
