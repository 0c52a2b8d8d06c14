"""The print filters: 大写 amounts, money, numbers and dates in both languages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine.definitions.print_filters import CAPITAL_LIMIT, capital
from engine.definitions.print_templates import print_environment


@pytest.mark.parametrize(("amount", "words"), [
    ("1234.56", "壹仟贰佰叁拾肆元伍角陆分"),
    (Decimal("1000"), "壹仟元整"),
    (10.05, "壹拾元零伍分"),
    ("0.56", "伍角陆分"),
    ("0.05", "伍分"),
    (0, "零元整"),
    ("1234.50", "壹仟贰佰叁拾肆元伍角"),
    ("101", "壹佰零壹元整"),
    ("1010", "壹仟零壹拾元整"),
    ("10001", "壹万零壹元整"),
    ("100000", "壹拾万元整"),
    ("110000", "壹拾壹万元整"),
    ("100001000", "壹亿零壹仟元整"),
    ("100100000", "壹亿零壹拾万元整"),
    ("1000000000", "壹拾亿元整"),
    ("10000.5", "壹万元伍角"),
    ("1,234.565", "壹仟贰佰叁拾肆元伍角柒分"),  # rounded half up to the 分
    ("-5", "负伍元整"),
    (None, ""),
    ("", ""),
])
def test_capital_writes_amounts_in_chinese_capital_numerals(amount: object, words: str) -> None:
    assert capital(amount) == words


def test_capital_refuses_what_is_no_amount() -> None:
    with pytest.raises(ValueError, match="too large"):
        capital(CAPITAL_LIMIT)
    with pytest.raises(ValueError, match="not a number"):
        capital("abc")


def render(source: str, **context: object) -> str:
    return print_environment().from_string(source).render(context)


def test_money_number_and_date_filters_follow_the_viewer() -> None:
    day = dt.date(2026, 12, 4)
    moment = dt.datetime(2026, 12, 4, 7, 30, tzinfo=dt.UTC)
    source = ("{{ v|money }}|{{ v|money('USD') }}|{{ v|money('CHF', 0) }}|{{ v|number(1) }}|{{ v|number }}|"
              "{{ d|date }}|{{ d|date('iso') }}|{{ m|datetime }}|{{ m|date }}")
    zh = render(source, v=Decimal("1234.565"), d=day, m=moment, locale="zh", time_zone="Asia/Shanghai")
    assert zh == ("¥1,234.57|$1,234.57|CHF 1,235|1,234.6|1,234.565|"
                  "2026年12月4日|2026-12-04|2026年12月4日 15:30|2026年12月4日")
    en = render("{{ d|date }}|{{ m|datetime }}|{{ m|date }}", d=day, m=moment, locale="en",
                time_zone="America/New_York")
    assert en == "4 December 2026|4 December 2026 02:30|4 December 2026"


def test_templates_escape_what_they_are_given() -> None:
    assert render("{{ name }}", name="<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
