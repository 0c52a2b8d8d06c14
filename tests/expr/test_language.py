"""The formula language itself: operators, field paths, blanks, Excel comparisons."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from engine.expr import ErrorValue, FormulaError, compile_formula, evaluate
from engine.expr.types import BOOLEAN, NUMBER, TEXT

VALUES: dict[str, Any] = {
    "amount": Decimal("20000.50"),
    "stage": "won",
    "region": "east",
    "qty": 3,
    "price": 0.1,
    "blank": None,
    "empty": "",
    "customer": {"name": "Acme", "industry": "retail", "owner": {"name": "Li Lei"}},
    "items": [{"qty": 1, "subtotal": Decimal("10.10")}, {"qty": 2, "subtotal": Decimal("0.20")}],
    "tags": ["vip", "east"],
    "signed_on": dt.date(2024, 2, 28),
    "due_on": dt.date(2024, 3, 1),
    "created_at": dt.datetime(2024, 2, 28, 9, 30),
    "won": True,
    "five": "5",
    "ten": "10",
    "letters": "abc",
    "maybe": "maybe",
}


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("1 + 2 * 3", Decimal(7)),
        ("(1 + 2) * 3", Decimal(9)),
        ("7 / 2", Decimal("3.5")),
        ("2 ** 10", Decimal(1024)),
        ("-2 ** 2", Decimal(-4)),  # Python precedence, documented
        ("7 % 3", Decimal(1)),
        ("-7 % 3", Decimal(2)),  # sign of the divisor, as Excel's MOD
        ("0.1 + 0.2", Decimal("0.3")),  # exact, never binary floats
        ("price * 3", Decimal("0.3")),  # a float field value is read as the decimal it shows
        ("amount * 2", Decimal("40001.00")),
        ("qty + blank", Decimal(3)),  # blank is 0 in arithmetic
        ("blank * 5", Decimal(0)),
        ("empty + 1", Decimal(1)),
        ("five + 1", Decimal(6)),  # numeric text in data counts, as in Excel
        ('"a" & 1 & TRUE', "a1TRUE"),
        ("blank & \"x\"", "x"),  # blank is "" in text
        ("amount & \"\"", "20000.5"),
        ("customer.name", "Acme"),
        ("customer.owner.name", "Li Lei"),
        ("customer.missing", None),
        ("blank.name", None),  # a path through a blank relation is blank
        ("items.qty", [1, 2]),
        ("items.subtotal * 2", [Decimal("20.20"), Decimal("0.40")]),
        ("signed_on + 1", dt.date(2024, 2, 29)),  # leap day
        ("signed_on + 2", dt.date(2024, 3, 1)),
        ("due_on - signed_on", Decimal(2)),
        ("due_on - 1", dt.date(2024, 2, 29)),
        ("created_at + 0.5", dt.datetime(2024, 2, 28, 21, 30)),
        ("[1, 2] + 1", [Decimal(2), Decimal(3)]),
        ("=1+1", Decimal(2)),
        ("  1 + 1  ", Decimal(2)),
        ("IF(qty > 2,\n  \"many\",\n  \"few\")", "many"),
    ],
)
def test_arithmetic_paths_and_blanks(formula: str, expected: Any) -> None:
    assert evaluate(formula, VALUES) == expected


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ('stage == "won"', True),
        ('stage = "WON"', True),  # Excel: = compares text without case
        ('stage <> "Won"', False),
        ('stage != "lost"', True),
        ("amount > 10000", True),
        ("amount >= 20000.5", True),
        ('"abc" < "ABD"', True),
        ("ten == 10", False),  # text never equals a number (Excel)
        ("letters > 100", True),  # Excel orders numbers < text < booleans
        ("won > 1", True),
        ("blank == 0", True),  # a blank cell equals 0 and ""
        ('blank == ""', True),
        ("blank < 1", True),
        ('empty == blank', True),
        ("signed_on < due_on", True),
        ("signed_on == created_at", False),
        ('signed_on == "2024-02-28"', True),  # date text compares as a date
        ("1 < 2 < 3", True),
        ('region in ["East", "north"]', True),  # membership ignores case like =
        ('region not in ["north"]', True),
        ('"vip" in tags', True),
        ("qty in [1, 2, 3]", True),
        ("amount > 10000 and stage == \"won\" and region in [\"east\", \"north\"]", True),
        ("won and not blank", True),
        ("blank or 0", False),
        ('"x" if won else "y"', "x"),
    ],
)
def test_comparisons_follow_excel(formula: str, expected: Any) -> None:
    assert evaluate(formula, VALUES) == expected


@pytest.mark.parametrize(
    ("formula", "code"),
    [
        ("1 / 0", "#DIV/0!"),
        ("qty / blank", "#DIV/0!"),
        ("5 % 0", "#DIV/0!"),
        ("letters * 1", "#VALUE!"),
        ("customer * 2", "#VALUE!"),
        ("stage.name", "#VALUE!"),
        ("9 ** 9 ** 9", "#NUM!"),
        ("10 ** 400", "#NUM!"),
        ("(-8) ** 0.5", "#NUM!"),
        ("IF(maybe, 1, 2)", "#VALUE!"),
        ("signed_on * 2", "#VALUE!"),
    ],
)
def test_runtime_failures_are_excel_error_values(formula: str, code: str) -> None:
    result = compile_formula(formula).evaluate(VALUES)
    assert isinstance(result, ErrorValue)
    assert result.code == code
    assert result.reason.en and result.reason.zh


def test_error_values_propagate_through_data() -> None:
    broken = evaluate("1 / 0")
    assert evaluate("x + 1", {"x": broken}).code == "#DIV/0!"
    assert evaluate('IFERROR(x + 1, "n/a")', {"x": broken}) == "n/a"
    assert evaluate("ISERROR(x)", {"x": broken}) is True


def test_lazy_branches_are_not_evaluated() -> None:
    assert evaluate("IF(qty == 0, 0, 10 / qty)", {"qty": 0}) == 0
    assert evaluate("qty != 0 and 10 / qty > 1", {"qty": 0}) is False
    assert evaluate("qty == 0 or 10 / qty > 1", {"qty": 0}) is True


def test_compiled_formula_reports_names_and_functions() -> None:
    formula = compile_formula("ROUND(SUM(items.subtotal) * (1 - discount), 2) + customer.level")
    assert formula.names == {"items.subtotal", "discount", "customer.level"}
    assert formula.roots == {"items", "discount", "customer"}
    assert formula.functions == {"ROUND", "SUM"}


def test_compiled_formulas_are_cached_by_text() -> None:
    assert compile_formula("a + 1") is compile_formula("a + 1")
    assert compile_formula("a + 1", names=["a"]) is compile_formula("a + 1", names=["a"])


def test_function_names_work_in_any_case() -> None:
    assert evaluate('if(1 > 0, "y", "n")') == "y"
    assert evaluate("Sum(1, 2)") == Decimal(3)


def test_constants_in_any_case() -> None:
    assert evaluate("true") is True and evaluate("FALSE") is False
    assert evaluate("null") is None and evaluate("None") is None


def test_evaluating_never_mutates_values() -> None:
    values = {"items": [{"qty": 1}], "tags": ["a"]}
    evaluate("items.qty + 1", values)
    evaluate('CONCAT(tags, "b")', values)
    assert values == {"items": [{"qty": 1}], "tags": ["a"]}


@pytest.mark.parametrize(
    "formula",
    ['"5" + 1', '"abc" * 1', 'IF("maybe", 1, 2)', "stage > 100", "won > 1 + qty"],
)
def test_mismatched_literals_are_caught_when_compiling(formula: str) -> None:
    """What data could only get wrong at runtime, literals get wrong at once.
    (Comparisons of two literals are not mistakes: Excel answers them, see
    test_excel_agreement.py; a field against another type always answers the same.)"""
    with pytest.raises(FormulaError):
        compile_formula(formula, {"stage": TEXT, "won": BOOLEAN, "qty": NUMBER})


def test_lower_case_keyword_functions() -> None:
    assert evaluate('if(and(qty > 1, or(won, 0)), "y", "n")', VALUES) == "y"
    assert evaluate("not(won)", VALUES) is False
    assert evaluate("won and(qty > 1)", VALUES) is True  # still the operator
