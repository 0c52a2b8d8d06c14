"""Answers that once differed from Excel's documented behaviour, and now agree:
literals of different types compare (number < text < boolean), numbers are
equal, ordered and shown at 15 significant digits while arithmetic stays
exact, DATEDIF "yd" counts as Excel does, and AND / OR evaluate every
argument (IF does not)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from engine.expr import ErrorValue, FormulaError, compile_formula, evaluate
from engine.expr.types import NUMBER, TEXT


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ('"10" = 10', False),
        ('"10" <> 10', True),
        ('10 < "10"', True),  # numbers before text
        ('"zzz" < TRUE', True),  # text before booleans
        ("FALSE > 99999", True),
        ('TRUE = "TRUE"', False),
        ('IF("10" = 10, "same", "different")', "different"),
        ('DATE(2024, 1, 1) < "a"', True),  # a date is a number here, as in Excel
    ],
)
def test_literals_of_different_types_compare_in_excels_order(formula: str, expected: Any) -> None:
    assert evaluate(formula, {}) == expected


def test_a_field_against_a_value_of_another_type_is_still_caught_when_saved() -> None:
    with pytest.raises(FormulaError, match="Cannot compare text with number"):
        compile_formula("name > 3", {"name": TEXT})
    with pytest.raises(FormulaError, match="Cannot compare number with text"):
        compile_formula('qty = "10"', {"qty": NUMBER})


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("1 / 3 * 3 = 1", True),
        ("1 / 3 * 3 <> 1", False),
        ("1 / 3 * 3 < 1", False),
        ("1 / 3 * 3 >= 1", True),
        ("1 / 3 * 3 in [1, 2]", True),
        ("(1 / 3) * 3 & \"\"", "1"),
        ("1 / 3 & \"\"", "0.333333333333333"),  # shown to 15 significant digits
        ("2 / 3 & \"\"", "0.666666666666667"),
        ("-1 / 3 * 3 & \"\"", "-1"),
        ("0.1 + 0.2 = 0.3", True),
        ("1 + 1E-15 = 1", True),  # the 16th digit is past what Excel holds
        ("1 + 1E-14 = 1", False),
        ("123456789012345 + 1 = 123456789012346", True),  # whole numbers stay exact
        ("SWITCH(1 / 3 * 3, 1, \"one\", \"other\")", "one"),
        ('COUNTIF([1 / 3 * 3, 2, "1"], 1)', Decimal(2)),  # criteria match as = does
        ('COUNTIF([1 / 3 * 3, 2], "<1")', Decimal(0)),
    ],
)
def test_numbers_compare_and_show_at_15_significant_digits(formula: str, expected: Any) -> None:
    assert evaluate(formula, {}) == expected


def test_arithmetic_stays_exact_beyond_15_digits() -> None:
    third = evaluate("1 / 3", {})
    assert isinstance(third, Decimal) and len(third.as_tuple().digits) == 28
    assert evaluate("x * 3", {"x": third}) == Decimal("0.9999999999999999999999999999")
    assert evaluate("x * 3 = 1", {"x": third}) is True
    assert evaluate("x - 0.333333333333333 > 0", {"x": third}) is True  # the difference is still there


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        ("DATE(2022, 12, 25)", "DATE(2024, 3, 17)", 83),  # 29 February 2024 counts
        ("DATE(2023, 12, 25)", "DATE(2024, 3, 17)", 83),
        ("DATE(2023, 12, 25)", "DATE(2025, 3, 17)", 82),
        ("DATE(2007, 12, 25)", "DATE(2010, 3, 17)", 82),
        ("DATE(2024, 1, 1)", "DATE(2024, 12, 31)", 365),
        ("DATE(2024, 3, 17)", "DATE(2025, 3, 17)", 0),
    ],
)
def test_datedif_yd_counts_the_way_excel_does(start: str, end: str, days: int) -> None:
    assert evaluate(f'DATEDIF({start}, {end}, "yd")', {}) == Decimal(days)


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("AND(FALSE, 1 / 0)", "#DIV/0!"),
        ("OR(TRUE, 1 / 0)", "#DIV/0!"),
        ("AND(FALSE, x)", "#VALUE!"),
        ("OR(TRUE, (-8) ** 0.5)", "#NUM!"),
        ("AND(TRUE, 1 < 2)", True),
        ("OR(FALSE, 1 > 2)", False),
        ("IF(FALSE, 1 / 0, 2)", Decimal(2)),  # IF evaluates only the branch it takes
        ("IFERROR(AND(FALSE, 1 / 0), \"guarded\")", "guarded"),
        # Over comparisons only (most rule conditions), compiled to & and |: the same answers.
        ("AND(1 > 2, 1 / 0 > 1)", "#DIV/0!"),
        ("OR(1 < 2, x > 1)", "#VALUE!"),
        ("AND(1 < 2, 2 > 3, 1 / 0 > 1)", "#DIV/0!"),
        ("AND(1 < 2, 2 < 3, 3 < 4)", True),
        ("AND(1 < 2, 2 > 3)", False),
        ("OR(1 > 2, 2 > 3, not 3 > 4)", True),
        ("OR(1 > 2, 2 > 3)", False),
        ("FALSE and 1 / 0", False),  # the and / or operators still stop early
        ("TRUE or 1 / 0", True),
    ],
)
def test_and_or_evaluate_every_argument(formula: str, expected: Any) -> None:
    result = compile_formula(formula).evaluate({"x": ErrorValue("#VALUE!", "broken")})
    if isinstance(expected, str) and expected.startswith("#"):
        assert isinstance(result, ErrorValue) and result.code == expected
    else:
        assert result == expected
