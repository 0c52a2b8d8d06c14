"""The filters a print template may use: amounts, numbers, dates and 大写.

They take the raw values of a record (``values.amount``), so a template
decides how a number reads — in figures, in Chinese capital numerals, in
the viewer's language — independently of the formula language. The
viewer's locale and time zone come from the template's context.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import pass_context
from jinja2.runtime import Context

from engine.core.numbers import grouped, money_text

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("", "拾", "佰", "仟")
_GROUPS = ("", "万", "亿", "万亿")
# 大写 is written on contracts and cheques up to 万亿; an amount past that is no amount.
CAPITAL_LIMIT = Decimal(10) ** 16
_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


def capital(value: Any) -> str:
    """An amount of 元 in Chinese capital numerals (大写), rounded to the 分:
    ``1234.56`` -> ``壹仟贰佰叁拾肆元伍角陆分``, ``1000`` -> ``壹仟元整``."""
    number = _decimal(value)
    if number is None:
        return ""
    number = number.quantize(Decimal("0.01"), ROUND_HALF_UP)
    if abs(number) >= CAPITAL_LIMIT:
        raise ValueError(f"{number} is too large for Chinese capital numerals")
    sign = "负" if number < 0 else ""
    cents = int(abs(number) * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    whole = _capital_integer(yuan)
    if not jiao and not fen:
        return f"{sign}{whole or '零'}元整"
    text = f"{whole}元" if whole else ""
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif whole:
        text += "零"  # 壹拾元零伍分: the missing 角 is read out
    if fen:
        text += _DIGITS[fen] + "分"
    return sign + text


def _capital_integer(number: int) -> str:
    groups: list[int] = []
    while number:
        groups.append(number % 10_000)
        number //= 10_000
    text = ""
    zero_pending = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            zero_pending = bool(text)
            continue
        if text and (zero_pending or group < 1000):
            text += "零"
        text += _capital_group(group) + _GROUPS[index]
        zero_pending = False
    return text


def _capital_group(group: int) -> str:
    """0 < group < 10000: 1010 -> 壹仟零壹拾 (inner zeros read once, trailing ones not)."""
    text = ""
    zero = False
    for place in range(3, -1, -1):
        digit = group // 10**place % 10
        if digit == 0:
            zero = bool(text)
            continue
        if zero:
            text += "零"
            zero = False
        text += _DIGITS[digit] + _PLACES[place]
    return text


def money(value: Any, currency: str = "CNY", precision: int = 2) -> str:
    """``values.amount|money`` -> ``¥1,234.50``; ``|money("USD")`` -> ``$1,234.50``."""
    number = _decimal(value)
    return "" if number is None else money_text(_rounded(number, precision), currency, precision)


def number(value: Any, precision: int | None = None) -> str:
    """``1234.5|number(2)`` -> ``1,234.50``; without a precision, the value's own decimals."""
    found = _decimal(value)
    if found is None:
        return ""
    places = max(-found.as_tuple().exponent, 0) if precision is None else precision  # type: ignore[operator]
    return grouped(_rounded(found, places), places)


def _rounded(number: Decimal, places: int) -> Decimal:
    """Half away from zero, as people and Excel round amounts (format() would round half to even)."""
    return number.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def _zh(context: Context) -> bool:
    return str(context.get("locale", "zh")).lower().startswith("zh")


def _day_text(day: dt.date, zh: bool, style: str) -> str:
    if style == "iso":
        return day.isoformat()
    if zh:
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{day.day} {_EN_MONTHS[day.month - 1]} {day.year}"


@pass_context
def date(context: Context, value: Any, style: str = "long") -> str:
    """A date (or a moment, in the viewer's zone) as its day: ``2026年12月4日``
    / ``4 December 2026``; ``date("iso")`` -> ``2026-12-04``."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        value = _local(context, value)
    if not isinstance(value, dt.date):
        value = dt.date.fromisoformat(str(value))
    return _day_text(value, _zh(context), style)


@pass_context
def datetime(context: Context, value: Any, style: str = "long") -> str:
    """A moment in the viewer's time zone: ``2026年12月4日 15:30`` / ``4 December 2026 15:30``."""
    if value is None or value == "":
        return ""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(str(value))
    local = _local(context, value)
    return f"{_day_text(local.date(), _zh(context), style)} {local:%H:%M}"


def _local(context: Context, moment: dt.datetime) -> dt.datetime:
    zone = context.get("time_zone")
    if moment.tzinfo is None or not isinstance(zone, str):
        return moment
    return moment.astimezone(ZoneInfo(zone))


PRINT_FILTERS: dict[str, Callable[..., str]] = {
    "capital": capital,
    "money": money,
    "number": number,
    "date": date,
    "datetime": datetime,
}
