"""The date functions, case by case against Excel's documented behaviour.

Expected values come from Microsoft's function pages where they give examples
(DATE, DAYS, DATEDIF, NETWORKDAYS, WORKDAY, WEEKDAY) and from the calendar
otherwise. Where Qiqiao departs from Excel (blank dates give blank) the case
says so.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from engine.core.clock import FixedClock
from engine.core.i18n import Label
from engine.expr import ErrorValue, EvaluationContext, FormulaError, compile_formula, evaluate
from engine.expr.errors import DIV0, NUM, VALUE
from engine.expr.functions import FUNCTIONS
from engine.expr.types import ANY, DATE, DATETIME, NUMBER

D = dt.date
T = dt.datetime

DATES_FAMILY = {
    "TODAY", "NOW", "DATE", "YEAR", "MONTH", "DAY", "WEEKDAY", "WEEKNUM",
    "DATEDIF", "DATEADD", "DAYS", "NETWORKDAYS", "WORKDAY",
}


def n(value: int) -> Decimal:
    return Decimal(value)


def test_the_family_is_registered() -> None:
    registered = {function.key for function in FUNCTIONS if function.family == "dates"}
    assert registered == DATES_FAMILY


def test_every_function_has_a_summary_and_a_documented_heading() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "formulas.md").read_text(
        encoding="utf-8"
    )
    for function in FUNCTIONS:
        if function.family == "dates":
            assert function.summary.endswith("."), function.key
            assert f"\n### {function.key}\n" in docs, function.key


# Values ------------------------------------------------------------------------

VALUE_CASES: list[tuple[str, dict[str, Any], Any]] = [
    # DATE: Excel's overflow rules (examples from Microsoft's DATE page)
    ("DATE(2024, 2, 29)", {}, D(2024, 2, 29)),
    ("DATE(2023, 2, 29)", {}, D(2023, 3, 1)),
    ("DATE(2024, 14, 1)", {}, D(2025, 2, 1)),
    ("DATE(2008, 14, 2)", {}, D(2009, 2, 2)),
    ("DATE(2024, 1, 0)", {}, D(2023, 12, 31)),
    ("DATE(2024, 3, 0)", {}, D(2024, 2, 29)),
    ("DATE(2008, 1, 35)", {}, D(2008, 2, 4)),
    ("DATE(2008, 1, -15)", {}, D(2007, 12, 16)),
    ("DATE(2024, 0, 1)", {}, D(2023, 12, 1)),
    ("DATE(2008, -3, 2)", {}, D(2007, 9, 2)),
    ("DATE(2024, -12, 1)", {}, D(2022, 12, 1)),
    ("DATE(2024, 25, 1)", {}, D(2026, 1, 1)),
    ("DATE(108, 1, 2)", {}, D(2008, 1, 2)),
    ("DATE(0, 1, 1)", {}, D(1900, 1, 1)),
    ("DATE(1899, 12, 31)", {}, D(3799, 12, 31)),
    ("DATE(2024.9, 2.9, 29.9)", {}, D(2024, 2, 29)),
    ("DATE(y, m, d)", {"y": "2024", "m": 5, "d": 1.0}, D(2024, 5, 1)),
    ("DATE(9999, 12, 31)", {}, D(9999, 12, 31)),
    # YEAR, MONTH, DAY
    ("YEAR(d)", {"d": D(2024, 2, 29)}, n(2024)),
    ("MONTH(d)", {"d": D(2024, 2, 29)}, n(2)),
    ("DAY(d)", {"d": D(2024, 2, 29)}, n(29)),
    ("YEAR(d)", {"d": T(2023, 12, 31, 23, 59)}, n(2023)),
    ("DAY(d)", {"d": T(2024, 1, 31, 23, 59, 59)}, n(31)),
    ('MONTH("2024-03-01")', {}, n(3)),
    ('YEAR("2024/12/31")', {}, n(2024)),
    ('DAY("2024年3月8日")', {}, n(8)),
    ('MONTH("2024-03-01 08:30")', {}, n(3)),
    ("YEAR(DATE(2024, 13, 1))", {}, n(2025)),
    # WEEKDAY: 2008-02-14 is a Thursday (Microsoft's example)
    ('WEEKDAY("2008-02-14")', {}, n(5)),
    ('WEEKDAY("2008-02-14", 2)', {}, n(4)),
    ('WEEKDAY("2008-02-14", 3)', {}, n(3)),
    ('WEEKDAY("2024-03-03")', {}, n(1)),  # a Sunday
    ('WEEKDAY("2024-03-09")', {}, n(7)),  # a Saturday
    ('WEEKDAY("2024-03-03", 2)', {}, n(7)),
    ('WEEKDAY("2024-03-03", 3)', {}, n(6)),
    ('WEEKDAY("2024-03-04", 3)', {}, n(0)),  # a Monday
    ('WEEKDAY("2024-03-04", 11)', {}, n(1)),
    ('WEEKDAY("2024-03-04", 12)', {}, n(7)),  # weeks from Tuesday: Monday is last
    ('WEEKDAY("2024-03-06", 13)', {}, n(1)),  # a Wednesday
    ('WEEKDAY("2024-03-07", 14)', {}, n(1)),
    ('WEEKDAY("2024-03-08", 15)', {}, n(1)),
    ('WEEKDAY("2024-03-09", 16)', {}, n(1)),
    ('WEEKDAY("2024-03-03", 17)', {}, n(1)),
    ("WEEKDAY(d, t)", {"d": D(2024, 3, 3), "t": None}, n(1)),  # blank type: the default
    # WEEKNUM around the new year
    ('WEEKNUM("2000-01-01")', {}, n(1)),  # a Saturday: week 1
    ('WEEKNUM("2000-01-02")', {}, n(2)),  # the Sunday after starts week 2
    ('WEEKNUM("2000-01-02", 2)', {}, n(1)),  # weeks from Monday
    ('WEEKNUM("2000-01-03", 2)', {}, n(2)),
    ('WEEKNUM("2000-12-21")', {}, n(52)),
    ('WEEKNUM("2019-12-29", 1)', {}, n(53)),
    ('WEEKNUM("2019-12-29", 2)', {}, n(52)),
    ('WEEKNUM("2019-12-29", 11)', {}, n(52)),
    ('WEEKNUM("2019-12-29", 12)', {}, n(52)),
    ('WEEKNUM("2019-12-29", 13)', {}, n(53)),
    ('WEEKNUM("2019-12-29", 17)', {}, n(53)),
    ('WEEKNUM("2023-12-31")', {}, n(53)),
    ('WEEKNUM("2024-01-01")', {}, n(1)),
    ('WEEKNUM("2024-12-31", 2)', {}, n(53)),
    # ISO weeks (type 21): week 1 holds the first Thursday
    ('WEEKNUM("2019-12-29", 21)', {}, n(52)),
    ('WEEKNUM("2020-12-29", 21)', {}, n(53)),
    ('WEEKNUM("2021-01-01", 21)', {}, n(53)),
    ('WEEKNUM("2022-01-01", 21)', {}, n(52)),
    ('WEEKNUM("2020-01-01", 21)', {}, n(1)),
    ('WEEKNUM("2020-01-08", 21)', {}, n(2)),
    ('WEEKNUM("2024-12-30", 21)', {}, n(1)),
    ('WEEKNUM("2025-12-29", 21)', {}, n(1)),
    # DATEDIF: Microsoft's examples
    ('DATEDIF("2001/1/1", "2003/1/1", "Y")', {}, n(2)),
    ('DATEDIF("2001/6/1", "2002/8/15", "D")', {}, n(440)),
    ('DATEDIF("2001/6/1", "2002/8/15", "YD")', {}, n(75)),
    ('DATEDIF("2001/6/1", "2002/8/15", "MD")', {}, n(14)),
    # DATEDIF: every unit over the same span
    ('DATEDIF("1960-12-19", "2008-06-28", "y")', {}, n(47)),
    ('DATEDIF("1960-12-19", "2008-06-28", "m")', {}, n(570)),
    ('DATEDIF("1960-12-19", "2008-06-28", "d")', {}, n(17358)),
    ('DATEDIF("1960-12-19", "2008-06-28", "ym")', {}, n(6)),
    ('DATEDIF("1960-12-19", "2008-06-28", "yd")', {}, n(191)),
    ('DATEDIF("1960-12-19", "2008-06-28", "md")', {}, n(9)),
    ('DATEDIF("2007-01-01", "2007-12-31", "m")', {}, n(11)),
    ('DATEDIF("2007-01-01", "2007-12-31", "md")', {}, n(30)),
    ('DATEDIF("2007-12-31", "2008-01-10", "y")', {}, n(0)),
    ('DATEDIF("2007-02-01", "2008-04-01", "ym")', {}, n(2)),
    ('DATEDIF("2007-02-01", "2008-04-01", "yd")', {}, n(59)),
    ('DATEDIF("2015-01-01", "2016-12-31", "yd")', {}, n(364)),
    ('DATEDIF("2016-01-01", "2017-12-31", "yd")', {}, n(365)),
    ('DATEDIF("2007-12-25", "2010-03-17", "yd")', {}, n(82)),  # Excel skips 2008-02-29
    ('DATEDIF("1988-06-22", "2012-05-11", "yd")', {}, n(323)),
    # DATEDIF: month ends and leap years
    ('DATEDIF("2024-01-31", "2024-02-29", "m")', {}, n(0)),
    ('DATEDIF("2024-01-31", "2024-03-31", "m")', {}, n(2)),
    ('DATEDIF("2024-01-31", "2024-02-29", "md")', {}, n(29)),
    ('DATEDIF("2021-01-31", "2021-02-28", "md")', {}, n(28)),
    ('DATEDIF("2007-01-31", "2007-03-01", "md")', {}, n(-2)),  # Excel's known quirk
    ('DATEDIF("2024-02-29", "2025-02-28", "y")', {}, n(0)),
    ('DATEDIF("2024-02-29", "2025-03-01", "y")', {}, n(1)),
    ('DATEDIF("2024-02-29", "2028-02-29", "y")', {}, n(4)),
    ('DATEDIF("2024-02-29", "2025-02-28", "m")', {}, n(11)),
    ('DATEDIF("2024-02-29", "2025-02-28", "ym")', {}, n(11)),
    ('DATEDIF("2024-03-01", "2024-03-01", "d")', {}, n(0)),
    ("DATEDIF(a, b, \"d\")", {"a": T(2024, 1, 1, 23, 0), "b": T(2024, 1, 2, 1, 0)}, n(1)),
    # DAYS (end first)
    ('DAYS("2021-03-15", "2021-02-01")', {}, n(42)),
    ('DAYS("2021-12-31", "2021-01-01")', {}, n(364)),
    ('DAYS("2024-03-01", "2024-02-01")', {}, n(29)),
    ('DAYS("2024-01-01", "2024-12-31")', {}, n(-365)),
    ("DAYS(a, b)", {"a": T(2024, 1, 2, 0, 1), "b": T(2024, 1, 1, 23, 59)}, n(1)),
    # DATEADD: months clamp to the month end like EDATE
    ('DATEADD("2024-01-31", 1, "m")', {}, D(2024, 2, 29)),
    ('DATEADD("2023-01-31", 1, "m")', {}, D(2023, 2, 28)),
    ('DATEADD("2024-03-31", -1, "m")', {}, D(2024, 2, 29)),
    ('DATEADD("2024-01-31", 13, "m")', {}, D(2025, 2, 28)),
    ('DATEADD("2024-11-15", 2, "M")', {}, D(2025, 1, 15)),
    ('DATEADD("2024-02-29", 1, "y")', {}, D(2025, 2, 28)),
    ('DATEADD("2024-02-29", 4, "y")', {}, D(2028, 2, 29)),
    ('DATEADD("2024-02-29", -1, "y")', {}, D(2023, 2, 28)),
    ('DATEADD("2024-01-31", 1.9, "m")', {}, D(2024, 2, 29)),  # whole months only
    ('DATEADD("2024-02-28", 1)', {}, D(2024, 2, 29)),
    ('DATEADD("2024-02-28", 2, "d")', {}, D(2024, 3, 1)),
    ('DATEADD("2024-03-01", -1, "d")', {}, D(2024, 2, 29)),
    ('DATEADD("2024-03-01", 1.5)', {}, D(2024, 3, 2)),  # a date moves by whole days
    ('DATEADD("2024-12-30", 1, "w")', {}, D(2025, 1, 6)),
    ('DATEADD("2024-03-01", -2, "w")', {}, D(2024, 2, 16)),
    ('DATEADD("2024-03-01", 1.5, "h")', {}, T(2024, 3, 1, 1, 30)),
    ('DATEADD("2024-03-01", -1, "h")', {}, T(2024, 2, 29, 23, 0)),
    ('DATEADD("2024-03-01", 90, "mi")', {}, T(2024, 3, 1, 1, 30)),
    ('DATEADD("2024-03-01", 90, "n")', {}, T(2024, 3, 1, 1, 30)),
    ('DATEADD("2024-03-01", 3661, "s")', {}, T(2024, 3, 1, 1, 1, 1)),
    ("DATEADD(t, 1, \"m\")", {"t": T(2024, 1, 31, 9, 15)}, T(2024, 2, 29, 9, 15)),
    ("DATEADD(t, 0.5)", {"t": T(2024, 1, 31, 9, 0)}, T(2024, 1, 31, 21, 0)),
    ("DATEADD(t, 30, \"mi\")", {"t": T(2024, 12, 31, 23, 45)}, T(2025, 1, 1, 0, 15)),
    ('DATEADD("2024-03-01 08:30", 2, "h")', {}, T(2024, 3, 1, 10, 30)),
    ("DATEADD(d, k)", {"d": D(2024, 3, 1), "k": None}, D(2024, 3, 1)),  # blank amount: 0
    # NETWORKDAYS: both ends count; negative backwards (Microsoft's examples)
    ('NETWORKDAYS("2012-10-01", "2013-03-01")', {}, n(110)),
    ('NETWORKDAYS("2012-10-01", "2013-03-01", "2012-11-22")', {}, n(109)),
    ("NETWORKDAYS(\"2012-10-01\", \"2013-03-01\", h)",
     {"h": [D(2012, 11, 22), D(2012, 12, 4), D(2013, 1, 21)]}, n(107)),
    ('NETWORKDAYS("2007-01-01", "2007-01-10")', {}, n(8)),
    ('NETWORKDAYS("2008-06-20", "2008-06-20")', {}, n(1)),  # a Friday
    ('NETWORKDAYS("2008-06-21", "2008-06-21")', {}, n(0)),  # a Saturday
    ('NETWORKDAYS("2008-06-20", "2008-06-20", ["2008-06-20", "2008-06-20"])', {}, n(0)),
    ('NETWORKDAYS("2008-06-14", "2008-06-25")', {}, n(8)),
    ('NETWORKDAYS("1961-01-10", "1960-12-19")', {}, n(-17)),
    ("NETWORKDAYS(\"1961-01-10\", \"1960-12-19\", h)",
     {"h": ["1960-12-25", "1960-12-26", "1961-01-01"]}, n(-16)),  # two holidays are weekdays
    ("NETWORKDAYS(\"2024-02-26\", \"2024-03-08\", h)",
     {"h": [D(2024, 2, 29), None, "", D(2024, 3, 2)]}, n(9)),  # blanks and a Saturday skipped
    ("NETWORKDAYS(\"2024-02-26\", \"2024-03-08\", rows)",
     {"rows": [[D(2024, 2, 29)], [D(2024, 3, 1)]]}, n(8)),
    ("NETWORKDAYS(\"2024-02-26\", \"2024-03-08\", h)", {"h": None}, n(10)),
    ('NETWORKDAYS("2024-01-01", "2024-12-31")', {}, n(262)),
    # WORKDAY: Microsoft's examples, weekends, negatives, holidays
    ('WORKDAY("2008-10-01", 151)', {}, D(2009, 4, 30)),
    ("WORKDAY(\"2008-10-01\", 151, h)",
     {"h": [D(2008, 11, 26), D(2008, 12, 4), D(2009, 1, 21)]}, D(2009, 5, 5)),
    ('WORKDAY("2007-01-01", 9)', {}, D(2007, 1, 12)),
    ('WORKDAY("2008-06-14", 6)', {}, D(2008, 6, 23)),  # from a Saturday
    ('WORKDAY("2008-06-14", -2)', {}, D(2008, 6, 12)),
    ('WORKDAY("2008-06-14", -6)', {}, D(2008, 6, 6)),
    ('WORKDAY("2008-06-12", -9)', {}, D(2008, 5, 30)),
    ("WORKDAY(\"2008-12-19\", 10, h)",
     {"h": ["2008-12-25", "2008-12-26", "2009-01-01"]}, D(2009, 1, 7)),
    ("WORKDAY(\"2009-01-07\", -10, h)",
     {"h": ["2008-12-25", "2008-12-26", "2009-01-01"]}, D(2008, 12, 19)),
    ("WORKDAY(\"2012-04-05\", 3, h)", {"h": ["2012-04-06", "2012-04-09"]}, D(2012, 4, 12)),
    ('WORKDAY("2021-03-19", 3)', {}, D(2021, 3, 24)),  # a Friday
    ('WORKDAY("2021-03-21", 3)', {}, D(2021, 3, 24)),  # a Sunday
    ('WORKDAY("2021-03-20", -8)', {}, D(2021, 3, 10)),  # a Saturday
    ('WORKDAY("2021-03-21", 0)', {}, D(2021, 3, 21)),  # 0 days: the start, even a Sunday
    ('WORKDAY("2024-02-29", 0, "2024-02-29")', {}, D(2024, 2, 29)),
    ('WORKDAY("2024-02-28", 1, "2024-02-29")', {}, D(2024, 3, 1)),
    ('WORKDAY("2024-02-28", 1.9)', {}, D(2024, 2, 29)),  # whole days only
    ("WORKDAY(\"2024-12-20\", 5, h)",
     {"h": [D(2024, 12, 25), D(2024, 12, 26), D(2025, 1, 1)]}, D(2024, 12, 31)),
    ("WORKDAY(\"2024-12-20\", 6, h)",
     {"h": [D(2024, 12, 25), D(2024, 12, 26), D(2025, 1, 1)]}, D(2025, 1, 2)),
]


@pytest.mark.parametrize(("formula", "values", "expected"), VALUE_CASES)
def test_value(formula: str, values: dict[str, Any], expected: Any) -> None:
    result = evaluate(formula, values)
    assert result == expected
    assert type(result) is type(expected)


# Blanks: a Qiqiao departure from Excel --------------------------------------------

BLANK_CASES: list[tuple[str, dict[str, Any]]] = [
    ("YEAR(d)", {"d": None}),
    ("MONTH(d)", {"d": ""}),
    ("DAY(d)", {}),
    ("WEEKDAY(d, 2)", {"d": None}),
    ("WEEKNUM(d, 21)", {"d": None}),
    ('DATEDIF(d, "2024-01-01", "y")', {"d": None}),
    ('DATEDIF("2024-01-01", d, "d")', {"d": ""}),
    ('DATEADD(d, 1, "m")', {"d": None}),
    ('DATEADD(d, 1, "h")', {"d": None}),
    ('DAYS(d, "2024-01-01")', {"d": None}),
    ('NETWORKDAYS(d, "2024-01-31")', {"d": None}),
    ('NETWORKDAYS("2024-01-01", d, ["2024-01-02"])', {"d": None}),
    ("WORKDAY(d, 5)", {"d": None}),
    ("DATE(y, 1, 1)", {"y": None}),
    ("DATE(2024, m, 1)", {"m": ""}),
]


@pytest.mark.parametrize(("formula", "values"), BLANK_CASES)
def test_a_blank_date_gives_blank(formula: str, values: dict[str, Any]) -> None:
    # Excel would read the empty cell as 1900-01-00; a Qiqiao form shows nothing.
    assert evaluate(formula, values) is None


# Errors ------------------------------------------------------------------------

BROKEN = ErrorValue(DIV0, Label("除数为零", "Division by zero"))

ERROR_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("DATE(10000, 1, 1)", {}, NUM),
    ("DATE(-1, 1, 1)", {}, NUM),
    ("DATE(9999, 13, 1)", {}, NUM),
    ("DATE(1900, 1, 0)", {}, NUM),  # Excel shows the fictitious 1900-01-00
    ("DATE(2024, 1, 99999999999)", {}, NUM),
    ("DATE(x, 1, 1)", {"x": "x"}, VALUE),
    ('YEAR("not a date")', {}, VALUE),
    ("YEAR(x)", {"x": 45000}, VALUE),  # no serial numbers: a number is not a date
    ("YEAR(x)", {"x": True}, VALUE),
    ("MONTH(d)", {"d": [D(2024, 1, 1)]}, VALUE),
    ('WEEKDAY("2024-03-01", 0)', {}, NUM),
    ('WEEKDAY("2024-03-01", 4)', {}, NUM),
    ('WEEKDAY("2024-03-01", 18)', {}, NUM),
    ('WEEKDAY("2024-03-01", x)', {"x": "x"}, VALUE),
    ('WEEKNUM("2024-03-01", 3)', {}, NUM),
    ('WEEKNUM("2024-03-01", 10)', {}, NUM),
    ('WEEKNUM("2024-03-01", 22)', {}, NUM),
    ('DATEDIF("2024-03-02", "2024-03-01", "d")', {}, NUM),
    ('DATEDIF("2024-01-01", "2024-03-01", "w")', {}, NUM),
    ('DATEDIF("2024-01-01", "2024-03-01", "")', {}, NUM),
    ('DATEDIF(d, "2024-03-01", "q")', {"d": None}, NUM),  # a bad unit shows even when blank
    ('DATEDIF("2024-01-01", "soon", "d")', {}, VALUE),
    ('DATEADD("2024-01-01", 1, "q")', {}, NUM),
    ('DATEADD("9999-12-31", 1)', {}, NUM),
    ('DATEADD("0001-01-01", -1, "h")', {}, NUM),
    ('DATEADD("2024-01-01", 99999, "y")', {}, NUM),
    ('DATEADD("2024-01-01", 1e300, "s")', {}, NUM),
    ('DATEADD("2024-01-01", x)', {"x": "x"}, VALUE),
    ('DAYS("2024-01-01", "later")', {}, VALUE),
    ('NETWORKDAYS("2024-01-01", "2024-01-31", ["2024-01-02", "ABQZ"])', {}, VALUE),
    ('WORKDAY("2024-01-01", x)', {"x": "ABC"}, VALUE),
    ('WORKDAY("9999-12-30", 5)', {}, NUM),
    # error values in data propagate, ahead of the blank rule
    ("YEAR(e)", {"e": BROKEN}, DIV0),
    ("DATE(2024, e, 1)", {"e": BROKEN}, DIV0),
    ('DATEDIF(d, e, "d")', {"d": None, "e": BROKEN}, DIV0),
    ("DATEADD(d, e)", {"d": D(2024, 1, 1), "e": BROKEN}, DIV0),
    ('NETWORKDAYS("2024-01-01", "2024-01-31", h)', {"h": [D(2024, 1, 2), BROKEN]}, DIV0),
    ("WORKDAY(d, 3, h)", {"d": D(2024, 1, 1), "h": BROKEN}, DIV0),
    ("WEEKNUM(d, e)", {"d": D(2024, 1, 1), "e": BROKEN}, DIV0),
]


@pytest.mark.parametrize(("formula", "values", "code"), ERROR_CASES)
def test_error(formula: str, values: dict[str, Any], code: str) -> None:
    result = evaluate(formula, values)
    assert isinstance(result, ErrorValue), result
    assert result.code == code
    assert result.reason.zh and result.reason.en


# TODAY and NOW read the context's clock -------------------------------------------

def at(moment: dt.datetime, timezone: str = "Asia/Shanghai") -> EvaluationContext:
    return EvaluationContext(clock=FixedClock(moment, timezone))


def test_today_is_the_date_in_the_clocks_time_zone() -> None:
    # 18:30 UTC on New Year's Eve is already 02:30 on 1 January in Shanghai.
    context = at(T(2024, 12, 31, 18, 30, tzinfo=dt.UTC))
    assert compile_formula("TODAY()").evaluate({}, context) == D(2025, 1, 1)
    assert compile_formula("TODAY()").evaluate({}, at(T(2024, 12, 31, 18, 30), "UTC")) == D(
        2024, 12, 31
    )


def test_now_is_the_naive_wall_clock_time_of_the_clock() -> None:
    context = at(T(2024, 12, 31, 18, 30, tzinfo=dt.UTC))
    result = compile_formula("NOW()").evaluate({}, context)
    assert result == T(2025, 1, 1, 2, 30)
    assert result.tzinfo is None


def test_a_naive_clock_moment_is_local_time() -> None:
    context = at(T(2024, 2, 29, 9, 0))
    assert evaluate("NOW()", None, context) == T(2024, 2, 29, 9, 0)
    assert evaluate("TODAY()", None, context) == D(2024, 2, 29)


def test_the_clock_can_move() -> None:
    clock = FixedClock(T(2024, 2, 28, 23, 0))
    context = EvaluationContext(clock=clock)
    formula = compile_formula("TODAY()")
    assert formula.evaluate({}, context) == D(2024, 2, 28)
    clock.advance(dt.timedelta(hours=2))
    assert formula.evaluate({}, context) == D(2024, 2, 29)


CLOCK_CASES: list[tuple[str, dict[str, Any], Any]] = [
    ('DATEDIF(birth, TODAY(), "y")', {"birth": D(1990, 3, 1)}, n(33)),  # not yet
    ('DATEDIF(birth, TODAY(), "y")', {"birth": D(1990, 2, 28)}, n(34)),
    ("TODAY() - due", {"due": D(2024, 2, 1)}, n(28)),
    ("DAYS(TODAY(), due)", {"due": D(2024, 3, 1)}, n(-1)),
    ("YEAR(NOW())", {}, n(2024)),
    ("NOW() > deadline", {"deadline": T(2024, 2, 29, 8, 59)}, True),
    ("NOW() > deadline", {"deadline": T(2024, 2, 29, 9, 1)}, False),
    ('DATEADD(NOW(), 1, "h")', {}, T(2024, 2, 29, 10, 0)),
    ("WORKDAY(TODAY(), 1)", {}, D(2024, 3, 1)),
    ("NETWORKDAYS(TODAY(), DATE(2024, 3, 8))", {}, n(7)),
    ("WEEKDAY(TODAY())", {}, n(5)),  # 2024-02-29 is a Thursday
]


@pytest.mark.parametrize(("formula", "values", "expected"), CLOCK_CASES)
def test_with_a_fixed_clock(formula: str, values: dict[str, Any], expected: Any) -> None:
    context = at(T(2024, 2, 29, 9, 0))
    assert compile_formula(formula).evaluate(values, context) == expected


# Types, for compile-time checks ------------------------------------------------------

TYPE_CASES: list[tuple[str, Any]] = [
    ("TODAY()", DATE),
    ("NOW()", DATETIME),
    ("DATE(2024, 1, 1)", DATE),
    ("YEAR(d)", NUMBER),
    ("WEEKNUM(d, 21)", NUMBER),
    ('DATEDIF(d, t, "m")', NUMBER),
    ("DAYS(d, t)", NUMBER),
    ("NETWORKDAYS(d, t, [d])", NUMBER),
    ("WORKDAY(d, 3)", DATE),
    ("DATEADD(d, 3)", DATE),
    ("DATEADD(t, 3)", DATETIME),
    ('DATEADD(t, 3, "m")', DATETIME),
    ('DATEADD(d, 3, "h")', ANY),  # the unit decides; it is not known from types
]


@pytest.mark.parametrize(("formula", "expected"), TYPE_CASES)
def test_return_type(formula: str, expected: Any) -> None:
    compiled = compile_formula(formula, {"d": "date", "t": "datetime"})
    assert compiled.return_type == expected


@pytest.mark.parametrize(
    "formula",
    [
        "YEAR(amount)",
        "DATEDIF(amount, d, \"y\")",
        "DATE(name, 1, 1)",
        "DATEADD(d, name)",
        "WORKDAY(flag, 1)",
        "WEEKDAY(d, name)",
        "YEAR(5)",  # a number is never a date
        "YEAR(TRUE)",
        'DATE("x", 1, 1)',
        'WORKDAY(d, "ABC")',
    ],
)
def test_type_mismatch_is_caught_at_compile_time(formula: str) -> None:
    with pytest.raises(FormulaError):
        compile_formula(formula, {"amount": "money", "d": "date", "name": "text", "flag": "boolean"})


def test_date_text_is_accepted_at_compile_time() -> None:
    compiled = compile_formula('DATEDIF(name, "2024-12-31", "d")', {"name": "text"})
    assert compiled.evaluate({"name": "2024-12-01"}) == n(30)


@pytest.mark.parametrize("formula", ["TODAY(1)", "NOW(1)", "DATE(2024, 1)", "YEAR()",
                                     "DATEDIF(d, d)", "WEEKDAY(d, 1, 2)", "DAYS(d)"])
def test_arity_is_checked_at_compile_time(formula: str) -> None:
    with pytest.raises(FormulaError):
        compile_formula(formula)
