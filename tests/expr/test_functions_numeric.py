"""The math family against Excel's documented results.

Each case is formula text and the value Excel gives for it. Lists stand for
ranges (a subform column such as ``items.qty``); ``None`` is an empty cell.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from engine.core.i18n import Label
from engine.expr import ErrorValue, compile_formula, evaluate
from engine.expr.functions import FUNCTIONS

D = Decimal

NUMERIC_FUNCTIONS = (
    "SUM", "AVERAGE", "MIN", "MAX", "COUNT", "COUNTA", "COUNTIF", "SUMIF", "ROUND", "ROUNDUP",
    "ROUNDDOWN", "INT", "ABS", "MOD", "POWER", "CEILING", "FLOOR",
)

# Formula text -> Excel's result.
CASES: list[tuple[str, Decimal]] = [
    # SUM
    ("SUM(1, 2, 3)", D(6)),
    ("SUM(0.1, 0.1, 0.1)", D("0.3")),
    ("SUM([1, 2], 3)", D(6)),
    ("SUM([1, None, 'text', TRUE, 2.5])", D("3.5")),  # a range skips blanks, text, booleans
    ("SUM(TRUE, 5)", D(6)),  # given directly, TRUE counts as 1
    ("SUM(None)", D(0)),
    ("SUM([])", D(0)),
    ("SUM(-1.5, 1.5)", D(0)),
    ("SUM([[1, 2], [3]])", D(6)),
    # AVERAGE
    ("AVERAGE(1, 2, 3, 4)", D("2.5")),
    ("AVERAGE([2, None, 'x', 4])", D(3)),
    ("AVERAGE(-2, 2, 3)", D(1)),
    ("AVERAGE(10, 20, None)", D(15)),  # a blank given directly is skipped
    ("AVERAGE(1, 2)", D("1.5")),
    # MIN / MAX
    ("MIN(3, -1, 2)", D(-1)),
    ("MAX(3, -1, 2)", D(3)),
    ("MIN([5, None, 'a', 7])", D(5)),
    ("MAX([-5, None, -7])", D(-5)),
    ("MIN([])", D(0)),
    ("MAX(None)", D(0)),
    ("MAX(['a', None, FALSE])", D(0)),
    ("MIN(TRUE, 5)", D(1)),
    # COUNT / COUNTA
    ("COUNT(1, 2, 3)", D(3)),
    ("COUNT([1, '2', None, TRUE, 'x', 3.5])", D(2)),  # in a range only real numbers count
    ("COUNT('2', TRUE, 'x', None)", D(2)),  # directly: numeric text and TRUE count
    ("COUNT([])", D(0)),
    ("COUNTA(1, None, '', 'x', [1, None, 'a'])", D(4)),
    ("COUNTA([None, ''])", D(0)),
    ("COUNTA(FALSE, 0)", D(2)),
    # COUNTIF: numbers and comparisons
    ("COUNTIF([1, 50, 100, 150], '>100')", D(1)),
    ("COUNTIF([1, 50, 100, 150], '>=100')", D(2)),
    ("COUNTIF([1, 50, 100, 150], '<50')", D(1)),
    ("COUNTIF([1, 50, 100, 150], '<=50')", D(2)),
    ("COUNTIF([1, 50, 100, 150], '=100')", D(1)),
    ("COUNTIF([1, 50, 100, 150], '<>100')", D(3)),
    ("COUNTIF([1, 2, 3, '3', 'a', None], 3)", D(2)),  # a number matches numeric text too
    ("COUNTIF([1, 2, 3, '3'], '3')", D(2)),
    ("COUNTIF([10, '20', 30], '>15')", D(1)),  # comparisons skip numbers stored as text
    ("COUNTIF([-5, -1, 0, 2], '<0')", D(2)),
    ("COUNTIF([0.5, 0.25, 1], '>=50%')", D(2)),
    ("COUNTIF([1, TRUE, 'TRUE'], 1)", D(1)),  # TRUE is not the number 1
    ("COUNTIF([TRUE, FALSE, TRUE, 1], TRUE)", D(2)),
    # COUNTIF: text, case, wildcards
    ("COUNTIF(['won', 'Won', 'WON', 'lost', None], 'won')", D(3)),
    ("COUNTIF(['won', 'Won', 'lost', None], '<>won')", D(2)),  # blanks are "not won"
    ("COUNTIF(['east', 'west', 'East'], '=east')", D(2)),
    ("COUNTIF(['apple', 'apricot', 'banana'], 'ap*')", D(2)),
    ("COUNTIF(['apple', 'apricot', 'banana'], '*an*')", D(1)),
    ("COUNTIF(['cat', 'cut', 'cart'], 'c?t')", D(2)),
    ("COUNTIF(['a*', 'ab'], 'a~*')", D(1)),
    ("COUNTIF(['a?', 'ab'], 'a~?')", D(1)),
    ("COUNTIF(['apple', 'banana'], '<>a*')", D(1)),
    ("COUNTIF(['1x', 10, '10', 'x1'], '1*')", D(2)),  # wildcards match text only
    ("COUNTIF(['apple', 'banana', 'cherry'], '>b')", D(2)),
    ("COUNTIF(['Apple', 'banana'], '<B')", D(1)),
    # COUNTIF: blanks
    ("COUNTIF([1, None, '', 'x'], '')", D(2)),
    ("COUNTIF([1, None, '', 'x'], '=')", D(2)),
    ("COUNTIF([1, None, '', 'x'], '<>')", D(2)),
    ("COUNTIF(['won', 'lost'], 'won')", D(1)),
    # SUMIF
    ("SUMIF([5, 50, 500], '>10')", D(550)),
    ("SUMIF(['east', 'west', 'East'], 'east', [10, 20, 30])", D(40)),
    ("SUMIF(['a', 'b', 'a'], 'a', [1.10, 2, 2.20])", D("3.3")),
    ("SUMIF(['a', 'b', 'a'], '<>a', [1, 2, 3])", D(2)),
    ("SUMIF(['a', 'a', 'a'], 'a', [1, 'x', None])", D(1)),  # text in the sum list is skipped
    ("SUMIF([1, 2, 3], 'x')", D(0)),
    ("SUMIF([-1, -2, 3], '<0')", D(-3)),
    ("SUMIF(['x', None, 'y'], '', [1, 2, 3])", D(2)),
    ("SUMIF(['won', 'lost', 'won'], 'w*', [0.1, 5, 0.2])", D("0.3")),
    # ROUND
    ("ROUND(2.5, 0)", D(3)),
    ("ROUND(-2.5, 0)", D(-3)),
    ("ROUND(2.15, 1)", D("2.2")),
    ("ROUND(2.149, 1)", D("2.1")),
    ("ROUND(-1.475, 2)", D("-1.48")),
    ("ROUND(21.5, -1)", D(20)),
    ("ROUND(1234.5, -2)", D(1200)),
    ("ROUND(626.3, -3)", D(1000)),
    ("ROUND(1.98, -1)", D(0)),
    ("ROUND(-50.55, -2)", D(-100)),
    ("ROUND(2.675, 2)", D("2.68")),  # exact: binary floats give 2.67
    ("ROUND(1.005, 2)", D("1.01")),
    ("ROUND(None, 0)", D(0)),
    ("ROUND(3.7)", D(4)),
    ("ROUND(1.25, 1.9)", D("1.3")),  # digits are truncated to 1
    ("ROUND(TRUE, 0)", D(1)),
    # ROUNDUP / ROUNDDOWN
    ("ROUNDUP(3.2, 0)", D(4)),
    ("ROUNDUP(76.9, 0)", D(77)),
    ("ROUNDUP(3.14159, 3)", D("3.142")),
    ("ROUNDUP(-3.14159, 1)", D("-3.2")),
    ("ROUNDUP(31415.92654, -2)", D(31500)),
    ("ROUNDUP(2, 0)", D(2)),
    ("ROUNDDOWN(3.2, 0)", D(3)),
    ("ROUNDDOWN(76.9, 0)", D(76)),
    ("ROUNDDOWN(3.14159, 3)", D("3.141")),
    ("ROUNDDOWN(-3.14159, 1)", D("-3.1")),
    ("ROUNDDOWN(31415.92654, -2)", D(31400)),
    # INT / ABS
    ("INT(8.9)", D(8)),
    ("INT(-8.9)", D(-9)),
    ("INT(-8)", D(-8)),
    ("INT(0.5)", D(0)),
    ("INT(None)", D(0)),
    ("ABS(2)", D(2)),
    ("ABS(-2)", D(2)),
    ("ABS(-0.01)", D("0.01")),
    ("ABS(None)", D(0)),
    # MOD
    ("MOD(3, 2)", D(1)),
    ("MOD(-3, 2)", D(1)),
    ("MOD(3, -2)", D(-1)),
    ("MOD(-3, -2)", D(-1)),
    ("MOD(5.5, 2)", D("1.5")),
    ("MOD(6, 3)", D(0)),
    ("MOD(0.3, 0.1)", D(0)),  # exact decimals: no 0.09999...
    # POWER
    ("POWER(5, 2)", D(25)),
    ("ROUND(POWER(98.6, 3.2), 3)", D("2401077.222")),
    ("ROUND(POWER(4, 5/4), 6)", D("5.656854")),
    ("POWER(2, -2)", D("0.25")),
    ("POWER(-2, 3)", D(-8)),
    ("POWER(0, 5)", D(0)),
    ("ROUND(POWER(1.0001, 10950), 4)", D("2.9890")),  # daily interest over 30 years
    ("POWER(9, 0.5)", D(3)),
    # CEILING
    ("CEILING(2.5, 1)", D(3)),
    ("CEILING(-2.5, -2)", D(-4)),
    ("CEILING(-2.5, 2)", D(-2)),
    ("CEILING(1.5, 0.1)", D("1.5")),
    ("CEILING(0.234, 0.01)", D("0.24")),
    ("CEILING(4.42, 0.05)", D("4.45")),
    ("CEILING(2.1)", D(3)),
    ("CEILING(5, 0)", D(0)),
    ("CEILING(0, -1)", D(0)),
    ("CEILING(-4.1)", D(-4)),
    # FLOOR
    ("FLOOR(3.7, 2)", D(2)),
    ("FLOOR(-2.5, -2)", D(-2)),
    ("FLOOR(-2.5, 2)", D(-4)),
    ("FLOOR(1.58, 0.1)", D("1.5")),
    ("FLOOR(0.234, 0.01)", D("0.23")),
    ("FLOOR(2.9)", D(2)),
    ("FLOOR(-4.1)", D(-5)),
    ("FLOOR(6, 3)", D(6)),
]


@pytest.mark.parametrize(("formula", "expected"), CASES)
def test_excel_result(formula: str, expected: Decimal) -> None:
    result = evaluate(formula, {})
    assert type(result) is Decimal, f"{formula} gave {result!r}"
    assert result == expected


# Formula text -> Excel's error value.
ERRORS: list[tuple[str, str]] = [
    ("AVERAGE(None)", "#DIV/0!"),
    ("AVERAGE([None, None])", "#DIV/0!"),
    ("MOD(1, 0)", "#DIV/0!"),
    ("MOD(5, None)", "#DIV/0!"),
    ("FLOOR(5, 0)", "#DIV/0!"),
    ("POWER(0, 0)", "#NUM!"),
    ("POWER(0, -1)", "#DIV/0!"),
    ("POWER(-8, 1/3)", "#NUM!"),
    ("POWER(10, 400)", "#NUM!"),
    ("CEILING(2.5, -2)", "#NUM!"),
    ("FLOOR(2.5, -2)", "#NUM!"),
    ("ROUNDUP(5, -400)", "#NUM!"),
    ("INT([1, 2] + [1])", "#VALUE!"),
    ("MOD([1, 2, 3], [1, 2])", "#VALUE!"),
    ("COUNTIF([1, 2], [1])", "#VALUE!"),
]


@pytest.mark.parametrize(("formula", "code"), ERRORS)
def test_excel_error(formula: str, code: str) -> None:
    result = evaluate(formula, {})
    assert isinstance(result, ErrorValue), f"{formula} gave {result!r}"
    assert result.code == code


def _error(code: str) -> ErrorValue:
    return ErrorValue(code, Label("上游公式出错", "An upstream formula failed"))


@pytest.mark.parametrize(
    ("formula", "values", "expected"),
    [
        ("SUM(x, TRUE)", {"x": "5"}, D(6)),  # numeric text given directly counts
        ("ROUND(x, 0)", {"x": "2.5"}, D(3)),
        ("ROUND(x, 0)", {"x": "1,234.5"}, D(1235)),
        ("ABS(x)", {"x": "-50%"}, D("0.5")),
        ("AVERAGE(x, 4)", {"x": "2"}, D(3)),
        ("MAX(items)", {"items": ["a", "b"]}, D(0)),  # text in a range is skipped
        ("SUM(items)", {"items": ["1", "2"]}, D(0)),
    ],
)
def test_text_from_fields(formula: str, values: dict[str, Any], expected: Decimal) -> None:
    assert evaluate(formula, values) == expected


@pytest.mark.parametrize(
    ("formula", "values"),
    [
        ("SUM(x)", {"x": "abc"}),
        ("ROUND(x, 0)", {"x": "abc"}),
        ("ABS(x)", {"x": "x"}),
        ("INT(x)", {"x": dt.date(2024, 1, 1)}),
        ("SUM(x)", {"x": {"id": 1}}),
    ],
)
def test_non_numbers_are_value_errors(formula: str, values: dict[str, Any]) -> None:
    result = evaluate(formula, values)
    assert isinstance(result, ErrorValue)
    assert result.code == "#VALUE!"


@pytest.mark.parametrize(
    ("formula", "values", "expected"),
    [
        ("SUM(x, 1)", {"x": _error("#N/A")}, "#N/A"),
        ("SUM(items)", {"items": [1, _error("#DIV/0!")]}, "#DIV/0!"),
        ("MAX(items)", {"items": [1, _error("#NUM!")]}, "#NUM!"),
        ("ROUND(x, 2)", {"x": _error("#VALUE!")}, "#VALUE!"),
        ("ROUND(1, x)", {"x": _error("#N/A")}, "#N/A"),
        ("COUNTIF(items, x)", {"items": [1], "x": _error("#N/A")}, "#N/A"),
        ("SUMIF(s, 'a', v)", {"s": ["a", "b"], "v": [_error("#DIV/0!"), 1]}, "#DIV/0!"),
        ("MOD(x, 2)", {"x": _error("#DIV/0!")}, "#DIV/0!"),
    ],
)
def test_errors_in_data_propagate(formula: str, values: dict[str, Any], expected: str) -> None:
    result = evaluate(formula, values)
    assert isinstance(result, ErrorValue)
    assert result.code == expected


def test_count_and_countif_ignore_errors_as_excel_does() -> None:
    items = [1, _error("#DIV/0!"), 2]
    assert evaluate("COUNT(items)", {"items": items}) == 2
    assert evaluate("COUNTA(items)", {"items": items}) == 3
    assert evaluate("COUNTIF(items, '>0')", {"items": items}) == 2
    # An error beside a criterion that does not match it is not summed.
    assert evaluate("SUMIF(s, 'a', v)", {"s": ["a", "b"], "v": [1, _error("#N/A")]}) == 1


def test_subform_columns_are_ranges() -> None:
    record = {
        "items": [
            {"product": "Pen", "qty": 2, "price": D("1.10"), "status": "paid"},
            {"product": "Pad", "qty": None, "price": D("2.20"), "status": "open"},
            {"product": "Ink", "qty": 3, "price": D("0.70"), "status": "Paid"},
        ]
    }
    assert evaluate("SUM(items.qty)", record) == 5
    assert evaluate("AVERAGE(items.qty)", record) == D("2.5")
    assert evaluate("COUNT(items.qty)", record) == 2
    assert evaluate("COUNTA(items.product)", record) == 3
    assert evaluate("SUM(items.price)", record) == D("4.00")
    assert evaluate("SUMIF(items.status, 'paid', items.price)", record) == D("1.80")
    assert evaluate("COUNTIF(items.status, '<>paid')", record) == 1
    assert evaluate("SUM(items.qty * items.price)", record) == D("4.30")
    assert evaluate("MAX(items.price)", record) == D("2.20")


def test_money_is_exact() -> None:
    cents = {"amounts": [0.1] * 10}
    assert evaluate("SUM(amounts)", cents) == D(1)
    assert evaluate("SUM(0.1, 0.2)", {}) == D("0.3")
    assert evaluate("ROUND(x, 2)", {"x": 1.005}) == D("1.01")  # the float as written
    assert evaluate("SUM(x, y)", {"x": D("19.99"), "y": D("0.01")}) == D("20.00")
    total = evaluate("SUM(items)", {"items": [D("33.33")] * 3})
    assert total == D("99.99") and str(total) == "99.99"


def test_callers_ints_and_floats_are_converted() -> None:
    assert evaluate("SUM(a, b)", {"a": 1, "b": 2.5}) == D("3.5")
    assert type(evaluate("ABS(a)", {"a": -3})) is Decimal
    assert evaluate("COUNT(items)", {"items": [1, 2.5, D(3), "4", True]}) == 3


def test_blank_fields_are_zero() -> None:
    assert evaluate("ROUND(x, 0)", {"x": None}) == 0
    assert evaluate("ROUND(x, 0)", {"x": ""}) == 0
    assert evaluate("ABS(x)", {}) == 0
    assert evaluate("SUM(x, 2)", {}) == 2
    assert evaluate("CEILING(x, 5)", {}) == 0


def test_one_number_functions_go_item_by_item_over_lists() -> None:
    assert evaluate("ROUND([1.25, 2.35, None], 1)", {}) == [D("1.3"), D("2.4"), D(0)]
    assert evaluate("SUM(ROUND(items, 0))", {"items": [D("1.5"), D("2.5")]}) == D(5)
    assert evaluate("MOD([5, 6, 7], 3)", {}) == [D(2), D(0), D(1)]
    assert evaluate("POWER(2, [1, 2, 3])", {}) == [D(2), D(4), D(8)]


def test_countif_dates_and_records() -> None:
    dates = {"due": [dt.date(2024, 1, 1), dt.date(2024, 6, 1), None]}
    assert evaluate("COUNTIF(due, '>2024-03-01')", dates) == 1
    assert evaluate("COUNTIF(due, '2024-01-01')", dates) == 1
    assert evaluate("COUNTIF(due, d)", {**dates, "d": dt.date(2024, 6, 1)}) == 1
    companies = {"companies": [{"id": 1, "title": "Acme"}, {"id": 2, "title": "Beta"}]}
    assert evaluate("COUNTIF(companies, 'acme')", companies) == 1


def test_results_are_normalised() -> None:
    assert str(evaluate("ROUND(1234.5, -2)", {})) == "1200"
    assert str(evaluate("ROUND(-0.4, 0)", {})) == "0"
    assert str(evaluate("INT(-0.0)", {})) == "0"
    assert str(evaluate("POWER(10, -400)", {})) == "0"
    assert str(evaluate("CEILING(-2.5, -2)", {})) == "-4"
    assert str(evaluate("FLOOR(1.58, 0.1)", {})) == "1.5"


@pytest.mark.parametrize(
    ("formula", "types", "expected"),
    [
        ("SUM(items.amount)", {"items.amount": "list:money"}, "money"),
        ("SUM(amount, fee)", {"amount": "money", "fee": "money"}, "money"),
        ("SUM(items.qty)", {"items.qty": "list:number"}, "number"),
        ("AVERAGE(items.amount)", {"items.amount": "list:money"}, "money"),
        ("MAX(items.amount)", {"items.amount": "list:money"}, "money"),
        ("ROUND(amount, 2)", {"amount": "money"}, "money"),
        ("ROUND(qty, 2)", {"qty": "number"}, "number"),
        ("ROUND(items.amount, 2)", {"items.amount": "list:money"}, "list<money>"),
        ("INT(amount)", {"amount": "money"}, "money"),
        ("CEILING(amount, 5)", {"amount": "money"}, "money"),
        ("POWER(amount, 2)", {"amount": "money"}, "number"),
        ("COUNT(items.amount)", {"items.amount": "list:money"}, "number"),
        ("COUNTIF(items.s, 'a')", {"items.s": "list:text"}, "number"),
        ("SUMIF(items.s, 'a', items.amount)", {"items.s": "list:text", "items.amount": "list:money"}, "money"),
    ],
)
def test_return_types(formula: str, types: dict[str, str], expected: str) -> None:
    assert str(compile_formula(formula, types).return_type) == expected


@pytest.mark.parametrize(
    ("formula", "types"),
    [
        ("ROUND(name, 2)", {"name": "text"}),
        ("ABS(due)", {"due": "date"}),
        ("SUM(items.name)", {"items.name": "list:text"}),
        ("MOD(qty, name)", {"qty": "number", "name": "text"}),
        ("ROUND('abc', 0)", None),
        ("SUM('5')", None),
    ],
)
def test_argument_types_are_checked_at_compile_time(
    formula: str, types: dict[str, str] | None
) -> None:
    from engine.expr import FormulaError

    with pytest.raises(FormulaError):
        compile_formula(formula, types)


@pytest.mark.parametrize("name", NUMERIC_FUNCTIONS)
def test_registered_as_eager(name: str) -> None:
    function = FUNCTIONS.get(name)
    assert function.family == "numeric"
    assert function.kind == "eager"
    assert function.summary
