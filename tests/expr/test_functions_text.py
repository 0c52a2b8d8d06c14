"""The text functions, case by case against Excel's documented behaviour.

Where Qiqiao departs from Excel on purpose (blank, lists, CONTAINS, JOIN,
SPLIT) the case says so; docs/formulas.md explains each.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from engine.core.i18n import Label
from engine.expr import ErrorValue, FormulaError, compile_formula, evaluate
from engine.expr.functions.text import FUNCTIONS


@dataclass(frozen=True)
class Err:
    """An expected error value, by code."""

    code: str


VALUE, NA = Err("#VALUE!"), Err("#N/A")

VALUES: dict[str, Any] = {
    "name": "Acme Ltd",
    "cn": "七巧低代码平台",
    "blank": None,
    "empty": "",
    "amount": Decimal("1234.50"),
    "loss": Decimal("-1234.567"),
    "qty": 3,
    "ratio": 0.125,
    "signed_on": dt.date(2024, 3, 5),  # a Tuesday
    "new_year": dt.date(2024, 1, 1),
    "created_at": dt.datetime(2024, 3, 5, 14, 7, 9),
    "morning": dt.datetime(2024, 3, 5, 0, 30, 0),
    "opens": dt.time(9, 5, 3),
    "tags": ["VIP", "east", None, ""],
    "numbers": [Decimal(1), Decimal("2.50"), None],
    "customer": {"id": 7, "name": "Acme"},
    "contacts": [{"id": 1, "name": "Li Lei"}, {"id": 2, "name": "Han Meimei"}],
    "broken": ErrorValue("#N/A", Label("无", "none")),
    "broken_list": ["a", ErrorValue("#DIV/0!", Label("除数为零", "Division by zero"))],
    "csv": "a,b,,c",
    "spaced": "  Hello   big  world  ",
    "serial": Decimal(45356),
    "big": 12345678901234567890123456789012,
}

CASES: list[tuple[str, Any]] = [
    # CONCAT
    ('CONCAT("a", "b", "c")', "abc"),
    ('CONCAT("Total: ", amount)', "Total: 1234.5"),  # General format drops needless zeros
    ('CONCAT(1.50, TRUE, blank, "x")', "1.5TRUEx"),  # blank is ""
    ("CONCAT(tags)", "VIPeast"),  # a list is spread like a range
    ('CONCAT(cn, "-", qty)', "七巧低代码平台-3"),
    ("CONCAT(customer)", "Acme"),  # a related record shows its title
    ('CONCAT("a", broken)', NA),
    ("CONCAT(broken_list)", Err("#DIV/0!")),
    # LEFT / RIGHT
    ('LEFT("Sale Price", 4)', "Sale"),
    ('LEFT("Sweden")', "S"),
    ('LEFT("abc", 10)', "abc"),
    ('LEFT("abc", 0)', ""),
    ('LEFT("abc", 1.9)', "a"),  # counts are truncated
    ('LEFT("abc", -1)', VALUE),
    ("LEFT(cn, 2)", "七巧"),
    ("LEFT(amount, 2)", "12"),
    ("LEFT(blank, 3)", ""),
    ('LEFT("abc", blank)', ""),  # a blank count is 0
    ('RIGHT("Sale Price", 5)', "Price"),
    ('RIGHT("Stock Number")', "r"),
    ('RIGHT("abc", 0)', ""),
    ('RIGHT("abc", 99)', "abc"),
    ('RIGHT("abc", -2)', VALUE),
    ("RIGHT(cn, 2)", "平台"),
    # MID
    ('MID("Fluid Flow", 1, 5)', "Fluid"),
    ('MID("Fluid Flow", 7, 20)', "Flow"),
    ('MID("Fluid Flow", 20, 5)', ""),  # start past the end
    ('MID("abc", 0, 1)', VALUE),
    ('MID("abc", 1, -1)', VALUE),
    ("MID(cn, 3, 3)", "低代码"),
    # LEN
    ('LEN("Phoenix, AZ")', Decimal(11)),
    ('LEN("")', Decimal(0)),
    ("LEN(blank)", Decimal(0)),
    ("LEN(cn)", Decimal(7)),  # a Chinese character counts one
    ("LEN(amount)", Decimal(6)),  # "1234.5"
    ("LEN(TRUE)", Decimal(4)),
    ("LEN(broken)", NA),
    # UPPER / LOWER
    ('UPPER("total")', "TOTAL"),
    ('LOWER("E. E. Cummings")', "e. e. cummings"),
    ('UPPER("七巧 abc")', "七巧 ABC"),
    ("UPPER(blank)", ""),
    # TRIM
    ("TRIM(spaced)", "Hello big world"),
    ('TRIM("   ")', ""),
    ('TRIM("a\tb")', "a\tb"),  # only spaces, as in Excel
    # REPLACE
    ('REPLACE("abcdefghijk", 6, 5, "*")', "abcde*k"),
    ('REPLACE("2009", 3, 2, "10")', "2010"),
    ('REPLACE("123456", 1, 3, "@")', "@456"),
    ('REPLACE("abc", 10, 1, "x")', "abcx"),
    ('REPLACE("abc", 2, 0, "X")', "aXbc"),
    ('REPLACE("abc", 0, 1, "x")', VALUE),
    ('REPLACE(cn, 3, 3, "无")', "七巧无平台"),
    # SUBSTITUTE
    ('SUBSTITUTE("Sales Data", "Sales", "Cost")', "Cost Data"),
    ('SUBSTITUTE("Quarter 1, 2008", "1", "2", 1)', "Quarter 2, 2008"),
    ('SUBSTITUTE("Quarter 1, 2011", "1", "2", 3)', "Quarter 1, 2012"),
    ('SUBSTITUTE("a-b-c", "-", "")', "abc"),
    ('SUBSTITUTE("a-b-c", "-", "+", 5)', "a-b-c"),  # no 5th occurrence
    ('SUBSTITUTE("abc", "", "x")', "abc"),
    ('SUBSTITUTE("ABC", "b", "x")', "ABC"),  # case-sensitive
    ('SUBSTITUTE("a-b", "-", "+", 0)', VALUE),
    ('SUBSTITUTE(cn, "低代码", "无代码")', "七巧无代码平台"),
    # FIND
    ('FIND("M", "Miriam McGovern")', Decimal(1)),
    ('FIND("m", "Miriam McGovern")', Decimal(6)),
    ('FIND("M", "Miriam McGovern", 3)', Decimal(8)),
    ('FIND("", "abc")', Decimal(1)),
    ('FIND("x", "abc")', VALUE),
    ('FIND("a", "abc", 0)', VALUE),
    ('FIND("a", "abc", 9)', VALUE),
    ('FIND("代码", cn)', Decimal(4)),
    # CONTAINS
    ('CONTAINS("Hello World", "WORLD")', True),
    ('CONTAINS(name, "ltd")', True),
    ('CONTAINS(name, "inc")', False),
    ('CONTAINS(cn, "低代码")', True),
    ('CONTAINS(name, "")', True),
    ('CONTAINS(blank, "a")', False),
    ('CONTAINS(tags, "vip")', True),  # a list: an item equal, ignoring case
    ('CONTAINS(tags, "ea")', False),  # ... not a part of an item
    ("CONTAINS(numbers, 2.5)", True),
    ('CONTAINS(contacts, "li lei")', True),  # related records by title
    ('CONTAINS(broken, "a")', NA),
    # EXACT
    ('EXACT("word", "word")', True),
    ('EXACT("Word", "word")', False),
    ('EXACT("w ord", "word")', False),
    ('EXACT(1, "1")', True),
    ('EXACT(blank, "")', True),
    # JOIN
    ("JOIN(tags)", "VIP, east"),  # blanks are skipped
    ('JOIN(tags, "/")', "VIP/east"),
    ('JOIN(tags, "")', "VIPeast"),
    ("JOIN(numbers)", "1, 2.5"),
    ('JOIN(contacts, "、")', "Li Lei、Han Meimei"),
    ("JOIN(blank)", ""),
    ('JOIN(["a", "b"], " & ")', "a & b"),
    ("JOIN(broken_list)", Err("#DIV/0!")),
    # SPLIT
    ('SPLIT("a,b,c", ",")', ["a", "b", "c"]),
    ('SPLIT(csv, ",")', ["a", "b", "", "c"]),  # empty pieces are kept
    ('SPLIT("a, b", ",")', ["a", " b"]),  # pieces are not trimmed
    ('SPLIT("abc", "-")', ["abc"]),
    ('SPLIT(blank, ",")', []),
    ('SPLIT("a::b", "::")', ["a", "b"]),
    ('SPLIT("七巧、平台", "、")', ["七巧", "平台"]),
    ('SPLIT("abc", "")', VALUE),
    ('JOIN(SPLIT("c-b-a", "-"), "+")', "c+b+a"),
    # TEXT: numbers
    ('TEXT(1234.567, "0")', "1235"),
    ('TEXT(1234.567, "0.00")', "1234.57"),
    ('TEXT(1234.567, "#,##0")', "1,235"),
    ('TEXT(1234567.891, "#,##0.00")', "1,234,567.89"),
    ('TEXT(amount, "#,##0.00")', "1,234.50"),
    ('TEXT(loss, "#,##0.00")', "-1,234.57"),
    ('TEXT(loss, "#,##0.00;(#,##0.00)")', "(1,234.57)"),
    ('TEXT(0, "0.00;-0.00;\\"zero\\"")', "zero"),
    ('TEXT(2.5, "0")', "3"),  # half away from zero
    ('TEXT(-2.5, "0")', "-3"),
    ('TEXT(1.005, "0.00")', "1.01"),  # exact decimals: no binary-float surprise
    ('TEXT(0.4999999, "0")', "0"),  # rounded once, never twice
    ('TEXT(1.2344999999999, "0.000")', "1.234"),
    ('TEXT(-0.4, "0")', "0"),  # no "-0"
    ("TEXT(big, \"#,##0\")", "12,345,678,901,234,567,890,123,456,789,012"),  # past 28 digits
    ('TEXT(0.5, "0%")', "50%"),
    ('TEXT(ratio, "0.0%")', "12.5%"),
    ('TEXT(amount, "¥#,##0.00")', "¥1,234.50"),
    ('TEXT(loss, "¥#,##0.00")', "-¥1,234.57"),  # the sign goes first
    ('TEXT(1234567, "$#,##0")', "$1,234,567"),
    ('TEXT(amount, "#,##0.00元")', "1,234.50元"),
    ('TEXT(7, "000")', "007"),
    ('TEXT(5, "0,000")', "0,005"),
    ('TEXT(0, "#,##0")', "0"),
    ('TEXT(0.5, "#.00")', ".50"),
    ('TEXT(1.5, "0.0#")', "1.5"),
    ('TEXT(1.25, "0.0#")', "1.25"),
    ('TEXT(1234567, "0,")', "1235"),  # a trailing comma divides by 1,000
    ("TEXT(1234567, '#,##0.0,,\"M\"')", "1.2M"),
    ('TEXT(5551234567, "(000) 000-0000")', "(555) 123-4567"),
    ('TEXT(amount, "[$€-407]#,##0.00")', "€1,234.50"),
    ('TEXT(amount, "General")', "1234.5"),
    ('TEXT("1234.5", "#,##0.00")', "1,234.50"),  # numeric text is a number, as in Excel
    ('TEXT("abc", "0.00")', "abc"),  # other text passes through
    ('TEXT("x", \'"<"@">"\')', "<x>"),
    ('TEXT(TRUE, "0")', "TRUE"),
    ('TEXT(blank, "0.00")', ""),  # blank stays blank (Excel: "0.00")
    ('TEXT(signed_on, "0")', "45356"),  # a date is its serial number
    ('TEXT(1, "0.00E+00")', VALUE),  # scientific format is not supported
    ('TEXT(1, "[>0]0")', VALUE),  # nor are conditions
    ('TEXT(broken, "0")', NA),
    # TEXT: dates
    ('TEXT(signed_on, "yyyy-MM-dd")', "2024-03-05"),
    ('TEXT(signed_on, "yyyy-mm-dd")', "2024-03-05"),
    ('TEXT(signed_on, "yyyy/mm/dd")', "2024/03/05"),
    ('TEXT(signed_on, "yyyy年m月d日")', "2024年3月5日"),
    ('TEXT(signed_on, "yy.m.d")', "24.3.5"),
    ('TEXT(signed_on, "ddd")', "Tue"),
    ('TEXT(signed_on, "dddd")', "Tuesday"),
    ('TEXT(signed_on, "mmm")', "Mar"),
    ('TEXT(signed_on, "mmmm d, yyyy")', "March 5, 2024"),
    ('TEXT(signed_on, "aaaa")', "星期二"),
    ('TEXT(signed_on, "aaa")', "二"),
    ('TEXT(new_year, "dddd")', "Monday"),
    ('TEXT(created_at, "hh:mm:ss")', "14:07:09"),
    ('TEXT(created_at, "yyyy-MM-dd HH:mm")', "2024-03-05 14:07"),  # mm after HH is minutes
    ('TEXT(created_at, "mm:ss")', "07:09"),  # mm before ss is minutes
    ('TEXT(created_at, "h:mm AM/PM")', "2:07 PM"),
    ('TEXT(morning, "h:mm A/P")', "12:30 A"),
    ('TEXT(signed_on, "hh:mm")', "00:00"),
    ('TEXT(opens, "hh:mm:ss")', "09:05:03"),
    ('TEXT(blank, "yyyy-MM-dd")', ""),
    ('TEXT("2024-03-05", "yyyy年m月d日")', "2024年3月5日"),  # date text is a date
    ('TEXT(serial, "yyyy-mm-dd")', "2024-03-05"),  # a number is a serial date
    ('TEXT("abc", "yyyy")', "abc"),
    ('TEXT(-1, "yyyy")', VALUE),
    ('TEXT(created_at, "[h]:mm")', VALUE),  # elapsed time is not supported
    # Combined
    ('CONCAT(customer.name, " - ", TEXT(created_at, "yyyy-MM-dd"))', "Acme - 2024-03-05"),
    ('UPPER(LEFT(name, 1)) & LOWER(MID(name, 2, 100))', "Acme ltd"),
    ('LEFT(name, FIND(" ", name) - 1)', "Acme"),
]


def _check(result: Any, expected: Any) -> None:
    if isinstance(expected, Err):
        assert isinstance(result, ErrorValue), result
        assert result.code == expected.code
    else:
        assert result == expected
        assert type(result) is type(expected)


@pytest.mark.parametrize(("formula", "expected"), CASES)
def test_text_function(formula: str, expected: Any) -> None:
    _check(evaluate(formula, VALUES), expected)


def test_every_function_is_covered() -> None:
    covered = " ".join(formula for formula, _ in CASES)
    for function in FUNCTIONS:
        assert f"{function.key}(" in covered


@pytest.mark.parametrize(
    ("formula", "values"),
    [
        ("SUBSTITUTE(x, \"a\", \"bbb\")", {"x": "a" * 20000}),
        ("CONCAT(x, x)", {"x": "a" * 20000}),
        ("CONCAT(x)", {"x": ["a" * 20000] * 2}),
        ("JOIN(x, \"\")", {"x": ["a" * 20000] * 2}),
        ("REPLACE(x, 1, 0, x)", {"x": "a" * 20000}),
        ("UPPER(x)", {"x": "ß" * 20000}),  # ß becomes SS
        ("TEXT(1, x)", {"x": "0" * 40000}),
        ("TEXT(1, x)", {"x": "0" + "%" * 20000}),
    ],
)
def test_text_may_not_grow_past_the_cell_limit(formula: str, values: dict[str, Any]) -> None:
    _check(evaluate(formula, values), VALUE)


def test_split_respects_the_list_limit() -> None:
    _check(evaluate('SPLIT(x, ",")', {"x": "," * 10000}), VALUE)
    assert len(evaluate('SPLIT(x, ",")', {"x": "," * 9999})) == 10000


@pytest.mark.parametrize(
    ("formula", "returns"),
    [
        ("LEFT(name, 2)", "text"),
        ("LEN(name) + 1", "number"),
        ("FIND(\"a\", name)", "number"),
        ("CONTAINS(tags, \"a\")", "boolean"),
        ("EXACT(name, \"a\")", "boolean"),
        ("SPLIT(name, \",\")", "list<text>"),
        ("JOIN(SPLIT(name, \",\"), \";\")", "text"),
        ("TEXT(amount, \"#,##0.00\")", "text"),
    ],
)
def test_return_types(formula: str, returns: str) -> None:
    types = {"name": "text", "amount": "money", "tags": "list:text", "signed_on": "date"}
    assert str(compile_formula(formula, types).return_type) == returns


@pytest.mark.parametrize(
    "formula",
    ['LEFT(name, "2")', "MID(name, signed_on, 1)", "RIGHT(name, tags)", "SUBSTITUTE(name, \"a\", \"b\", name)"],
)
def test_counts_must_be_numbers_at_compile_time(formula: str) -> None:
    types = {"name": "text", "tags": "list:text", "signed_on": "date"}
    with pytest.raises(FormulaError):
        compile_formula(formula, types)


@pytest.mark.parametrize(("formula", "count"), [("LEFT()", 0), ('MID("a", 1)', 2), ('SPLIT("a")', 1)])
def test_arity_is_checked(formula: str, count: int) -> None:
    with pytest.raises(FormulaError, match=f"{count} w"):
        compile_formula(formula)
