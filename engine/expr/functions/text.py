"""Text functions: CONCAT, LEFT, RIGHT, MID, LEN, UPPER, LOWER, TRIM, REPLACE,
SUBSTITUTE, FIND, CONTAINS, TEXT, JOIN, SPLIT, EXACT.

Arguments are read as text the way ``&`` reads them (blank is "", numbers in
Excel's General format, TRUE/FALSE). Positions and lengths count characters
(Unicode code points), so a Chinese character counts one. Every result is
held to Excel's cell limit of 32,767 characters; functions that can grow text
(CONCAT, SUBSTITUTE, JOIN) check the size before building it.

TEXT formats with Excel's format codes; its small tokenizer is at the end.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, NoReturn

from engine.expr.errors import FormulaRuntimeError, fail_value
from engine.expr.functions.base import FamilyBuilder
from engine.expr.limits import MAX_LIST_LENGTH, MAX_TEXT_LENGTH
from engine.expr.types import BOOLEAN, NUMBER, TEXT, list_of
from engine.expr.values import (
    NUMERIC,
    check_error,
    check_list,
    check_text,
    flatten,
    is_blank,
    number_text,
    parse_date_text,
    text_to_number,
    to_number,
    to_text,
)

family = FamilyBuilder("text")
_OMITTED: Any = object()  # an optional argument left out (a blank one is given, and counts)


def _too_long() -> NoReturn:
    fail_value(
        f"文本超过 {MAX_TEXT_LENGTH} 个字符",
        f"Text is longer than {MAX_TEXT_LENGTH} characters",
    )


def _joined(parts: Iterable[str], separator: str) -> str:
    """``separator.join(parts)``, refused as soon as it would pass the text limit."""
    pieces: list[str] = []
    size = 0
    for part in parts:
        size += len(part) + (len(separator) if pieces else 0)
        if size > MAX_TEXT_LENGTH:
            _too_long()
        pieces.append(part)
    return separator.join(pieces)


def _count(value: Any, function: str) -> int:
    """A character count argument: a whole number, not negative."""
    number = to_number(value)
    if number < 0:
        fail_value(f"{function} 的字符数不能为负数", f"The character count of {function} cannot be negative")
    return int(number)


def _position(value: Any, function: str) -> int:
    """A 1-based start position argument: at least 1."""
    number = to_number(value)
    if number < 1:
        fail_value(f"{function} 的起始位置必须大于等于 1", f"The start position of {function} must be 1 or more")
    return int(number)


@family.function("CONCAT", 1, None, returns=TEXT)
def concat(*values: Any) -> str:
    """The arguments joined into one text; lists are joined item by item."""
    return _joined((to_text(value) for value in flatten(values)), "")


@family.function("LEFT", 1, 2, returns=TEXT, params=("text", "number"))
def left(value: Any, count: Any = 1) -> str:
    """The first characters of a text (one when the count is omitted)."""
    return to_text(value)[: _count(count, "LEFT")]


@family.function("RIGHT", 1, 2, returns=TEXT, params=("text", "number"))
def right(value: Any, count: Any = 1) -> str:
    """The last characters of a text (one when the count is omitted)."""
    size = _count(count, "RIGHT")
    return to_text(value)[-size:] if size else ""


@family.function("MID", 3, 3, returns=TEXT, params=("text", "number", "number"))
def mid(value: Any, start: Any, count: Any) -> str:
    """The characters from a start position (1 is the first), as many as asked."""
    begin = _position(start, "MID") - 1
    return to_text(value)[begin : begin + _count(count, "MID")]


@family.function("LEN", 1, 1, returns=NUMBER, params=("text",))
def len_(value: Any) -> Decimal:
    """The number of characters in a text."""
    return Decimal(len(to_text(value)))


@family.function("UPPER", 1, 1, returns=TEXT, params=("text",))
def upper(value: Any) -> str:
    """The text in upper case."""
    return check_text(to_text(value).upper())


@family.function("LOWER", 1, 1, returns=TEXT, params=("text",))
def lower(value: Any) -> str:
    """The text in lower case."""
    return check_text(to_text(value).lower())


_SPACES = re.compile(" {2,}")


@family.function("TRIM", 1, 1, returns=TEXT, params=("text",))
def trim(value: Any) -> str:
    """The text without leading and trailing spaces, inner runs of spaces made one."""
    return _SPACES.sub(" ", to_text(value).strip(" "))


@family.function("REPLACE", 4, 4, returns=TEXT, params=("text", "number", "number", "text"))
def replace(value: Any, start: Any, count: Any, new: Any) -> str:
    """The text with the characters from a position, as many as given, replaced by new text."""
    text = to_text(value)
    begin = _position(start, "REPLACE") - 1
    end = begin + _count(count, "REPLACE")
    return check_text(text[:begin] + to_text(new) + text[end:])


@family.function("SUBSTITUTE", 3, 4, returns=TEXT, params=("text", "text", "text", "number"))
def substitute(value: Any, old: Any, new: Any, instance: Any = _OMITTED) -> str:
    """The text with every occurrence of old text (or only the nth) replaced by new text."""
    text, old_text, new_text = to_text(value), to_text(old), to_text(new)
    nth = None if instance is _OMITTED else _position(instance, "SUBSTITUTE")
    if old_text == "":
        return text
    if nth is None:
        growth = len(new_text) - len(old_text)
        if growth > 0 and len(text) + text.count(old_text) * growth > MAX_TEXT_LENGTH:
            _too_long()
        return text.replace(old_text, new_text)
    found = -len(old_text)
    for _ in range(nth):
        found = text.find(old_text, found + len(old_text))
        if found < 0:
            return text
    return check_text(text[:found] + new_text + text[found + len(old_text) :])


@family.function("FIND", 2, 3, returns=NUMBER, params=("text", "text", "number"))
def find(part: Any, value: Any, start: Any = 1) -> Decimal:
    """Where text first occurs in another (1 is the first character), matching case; #VALUE! when absent."""
    needle, text = to_text(part), to_text(value)
    begin = _position(start, "FIND")
    if begin > len(text) + 1:
        fail_value("FIND 的起始位置超出了文本长度", "The start position of FIND is past the end of the text")
    found = text.find(needle, begin - 1)
    if found < 0:
        fail_value(f"找不到文本 “{needle}”", f"Text \"{needle}\" was not found")
    return Decimal(found + 1)


@family.function("CONTAINS", 2, 2, returns=BOOLEAN, params=("any", "text"))
def contains(value: Any, part: Any) -> bool:
    """TRUE when a text contains another, ignoring case; given a list, when an item equals it."""
    wanted = to_text(part).casefold()
    if isinstance(value, list | tuple):
        return any(to_text(item).casefold() == wanted for item in flatten(value))
    return wanted in to_text(value).casefold()


@family.function("EXACT", 2, 2, returns=BOOLEAN, params=("text", "text"))
def exact(a: Any, b: Any) -> bool:
    """TRUE when two texts are the same, matching case."""
    return to_text(a) == to_text(b)


@family.function("JOIN", 1, 2, returns=TEXT, params=("list", "text"))
def join(values: Any, separator: Any = _OMITTED) -> str:
    """The items of a list joined with a separator (", " when omitted), skipping blanks."""
    glue = ", " if separator is _OMITTED else to_text(separator)
    items = flatten(values if isinstance(values, list | tuple) else [values])
    return _joined((to_text(item) for item in items if not is_blank(item)), glue)


@family.function("SPLIT", 2, 2, returns=list_of(TEXT), params=("text", "text"))
def split(value: Any, separator: Any) -> list[Any]:
    """The pieces of a text between separators, as a list."""
    text, glue = to_text(value), to_text(separator)
    if glue == "":
        fail_value("SPLIT 的分隔符不能为空", "The separator of SPLIT cannot be empty")
    if text == "":
        return []
    return check_list(text.split(glue, MAX_LIST_LENGTH))


@family.function("TEXT", 2, 2, returns=TEXT, params=("any", "text"))
def text_(value: Any, pattern: Any) -> str:
    """A number or date formatted with an Excel format code, as in TEXT(amount, "#,##0.00")."""
    check_error(value)
    sections = _tokenize(to_text(pattern))
    if is_blank(value):
        return ""
    if value is True or value is False:
        return to_text(value)
    if any(kind in _DATE_KINDS for section in sections for kind, _ in section):
        return check_text(_format_date(value, _minutes(sections[0])))
    number = _as_number(value)
    if number is None:
        return check_text(_format_text(to_text(value), sections))
    return check_text(_format_number(number, sections))


FUNCTIONS = family.functions


# TEXT's format codes ------------------------------------------------------------
#
# A pattern is read once into sections (split at ";") of tokens ``(kind, text)``:
# "lit" (literal text), "digit" (0 # ?), "point", "comma", "percent", "at" (@),
# "general", and the date codes "y" "m" "d" "h" "s" "ampm" "week" (aaa, Chinese
# weekday); "m" becomes "min" where Excel reads minutes.

Token = tuple[str, str]
_DATE_KINDS = frozenset({"y", "m", "d", "h", "s", "ampm", "week"})
_EPOCH = dt.datetime(1899, 12, 30)  # Excel's day 0 for serial numbers from 61 (1900-03-01) on
_LAST_SERIAL = 2958466  # 10000-01-01
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAYS_ZH = "一二三四五六日"
_SINGLE = {".": "point", ",": "comma", "%": "percent", "@": "at", "0": "digit", "#": "digit", "?": "digit"}


def _unsupported(code: str) -> NoReturn:
    fail_value(f"TEXT 不支持格式代码 {code}", f"TEXT does not support the format code {code}")


def _tokenize(pattern: str) -> list[list[Token]]:
    sections: list[list[Token]] = [[]]
    tokens = sections[0]
    i, size = 0, len(pattern)
    while i < size:
        char = pattern[i]
        low = char.lower()
        if char == ";":
            tokens = []
            sections.append(tokens)
            i += 1
        elif char == '"':
            end = pattern.find('"', i + 1)
            end = size if end < 0 else end
            tokens.append(("lit", pattern[i + 1 : end]))
            i = end + 1
        elif char in "\\_*":  # \x: x itself; _x: a space as wide as x; *x: fill, no width here
            tokens.append(("lit", {"\\": pattern[i + 1 : i + 2], "_": " ", "*": ""}[char]))
            i += 2
        elif char == "[":
            end = pattern.find("]", i + 1)
            end = size if end < 0 else end
            tokens.extend(_bracket(pattern[i + 1 : end]))
            i = end + 1
        elif pattern[i : i + 5].upper() == "AM/PM" or pattern[i : i + 3].upper() == "A/P":
            width = 5 if pattern[i : i + 5].upper() == "AM/PM" else 3
            tokens.append(("ampm", pattern[i : i + width]))
            i += width
        elif pattern[i : i + 7].lower() == "general":
            tokens.append(("general", pattern[i : i + 7]))
            i += 7
        elif low in "ymdhsa":
            end = i
            while end < size and pattern[end].lower() == low:
                end += 1
            if low == "a" and end - i < 3:
                tokens.append(("lit", pattern[i:end]))
            else:
                tokens.append(("week" if low == "a" else low, pattern[i:end]))
            i = end
        elif low == "e" and pattern[i + 1 : i + 2] in ("+", "-"):
            _unsupported("E+")
        else:
            tokens.append((_SINGLE.get(char, "lit"), char))
            i += 1
    return sections


def _bracket(content: str) -> list[Token]:
    """``[$¥-804]`` is a currency symbol; colours and locales are ignored;
    conditions and elapsed time are not supported."""
    if content.startswith("$"):
        return [("lit", content[1:].split("-")[0])]
    if content[:1] in ("<", ">", "=") or (content and set(content.lower()) <= set("hms")):
        _unsupported(f"[{content}]")
    return []


def _minutes(tokens: list[Token]) -> list[Token]:
    """Excel's rule: m or mm right after an hour code or right before a seconds
    code (other text between them aside) means minutes; otherwise months."""
    codes = [index for index, (kind, _) in enumerate(tokens) if kind in _DATE_KINDS]
    result = list(tokens)
    for place, index in enumerate(codes):
        kind, code = tokens[index]
        if kind != "m" or len(code) > 2:
            continue
        before = tokens[codes[place - 1]][0] if place > 0 else ""
        after = tokens[codes[place + 1]][0] if place + 1 < len(codes) else ""
        if before == "h" or after == "s":
            result[index] = ("min", code)
    return result


# Values as TEXT sees them: dates are Excel serial numbers and back.


def _serial(value: dt.date | dt.datetime | dt.time) -> Decimal:
    if isinstance(value, dt.time):
        moment = dt.datetime.combine(_EPOCH.date(), value.replace(tzinfo=None))
    elif isinstance(value, dt.datetime):
        moment = value.replace(tzinfo=None)
    else:
        return Decimal((value - _EPOCH.date()).days)
    delta = moment - _EPOCH
    micro = Decimal(delta.seconds * 1_000_000 + delta.microseconds)
    return NUMERIC.add(Decimal(delta.days), NUMERIC.divide(micro, Decimal(86_400_000_000)))


def _from_serial(number: Decimal) -> dt.datetime:
    if number < 0 or number >= _LAST_SERIAL:
        fail_value(
            f"{number_text(number)} 不是有效的日期序号", f"{number_text(number)} is not a valid date serial number"
        )
    seconds = NUMERIC.multiply(number, Decimal(86400)).to_integral_value(rounding=decimal.ROUND_HALF_UP)
    return _EPOCH + dt.timedelta(seconds=int(seconds))


def _as_number(value: Any) -> Decimal | None:
    """The number TEXT formats, or None for text that is neither a number nor a date."""
    if isinstance(value, dt.date | dt.time):
        return _serial(value)
    if isinstance(value, str):
        try:
            return text_to_number(value)
        except FormulaRuntimeError:
            moment = parse_date_text(value)
            return None if moment is None else _serial(moment)
    if isinstance(value, Decimal | int | float):
        return to_number(value)
    return None


def _as_moment(value: Any) -> dt.datetime | str:
    """The date-time a date pattern formats, or the text to give back unchanged."""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, dt.time):
        return dt.datetime.combine(_EPOCH.date(), value.replace(tzinfo=None))
    if isinstance(value, str):
        moment = parse_date_text(value)
        if isinstance(moment, dt.datetime):
            return moment.replace(tzinfo=None)
        if moment is not None:
            return dt.datetime(moment.year, moment.month, moment.day)
    number = _as_number(value)
    return to_text(value) if number is None else _from_serial(number)


# Rendering.


def _format_date(value: Any, tokens: list[Token]) -> str:
    moment = _as_moment(value)
    if isinstance(moment, str):
        return moment
    twelve = any(kind == "ampm" for kind, _ in tokens)
    out: list[str] = []
    for kind, code in tokens:
        width = len(code)
        if kind == "y":
            out.append(f"{moment.year % 100:02d}" if width <= 2 else f"{moment.year:04d}")
        elif kind == "m":
            month = moment.month
            names = (str(month), f"{month:02d}", _MONTHS[month - 1][:3], _MONTHS[month - 1], _MONTHS[month - 1][0])
            out.append(names[width - 1] if width <= 5 else _MONTHS[month - 1])
        elif kind == "min":
            out.append(f"{moment.minute:0{width}d}")
        elif kind == "d":
            day, weekday = moment.day, _WEEKDAYS[moment.weekday()]
            out.append((str(day), f"{day:02d}", weekday[:3])[width - 1] if width <= 3 else weekday)
        elif kind == "h":
            hour = (moment.hour % 12 or 12) if twelve else moment.hour
            out.append(f"{hour:0{min(width, 2)}d}")
        elif kind == "s":
            out.append(f"{moment.second:0{min(width, 2)}d}")
        elif kind == "ampm":
            out.append(code.split("/")[0 if moment.hour < 12 else 1])
        elif kind == "week":
            name = _WEEKDAYS_ZH[moment.weekday()]
            out.append(name if width == 3 else "星期" + name)
        else:
            out.append(code)
    return "".join(out)


def _format_text(text: str, sections: list[list[Token]]) -> str:
    """Text given to a number pattern: the 4th section, or a section with @,
    shows it in place of @; otherwise it comes back unchanged (Excel)."""
    if len(sections) >= 4:
        section = sections[3]
    elif len(sections) == 1 and any(kind == "at" for kind, _ in sections[0]):
        section = sections[0]
    else:
        return text
    return "".join(text if kind == "at" else code for kind, code in section)


def _format_number(number: Decimal, sections: list[list[Token]]) -> str:
    """Excel picks the section by sign: positive;negative;zero. With one section
    a negative number gets a minus sign; the negative section shows none."""
    if number < 0 and len(sections) >= 2:
        return _render_number(number.copy_abs(), sections[1])[0]
    if number == 0 and len(sections) >= 3:
        return _render_number(number, sections[2])[0]
    rendered, zero = _render_number(number.copy_abs(), sections[0])
    return "-" + rendered if number < 0 and not zero else rendered


def _render_number(number: Decimal, tokens: list[Token]) -> tuple[str, bool]:
    """``number`` (not negative) in one section; also whether it rounded to zero."""
    if not tokens:
        return "", True
    slots = [index for index, (kind, _) in enumerate(tokens) if kind == "digit"]
    point = next((index for index, (kind, _) in enumerate(tokens) if kind == "point"), len(tokens))
    whole = [index for index in slots if index < point]
    fraction = [index for index in slots if index > point]
    grouped, scale, literal_commas = False, 0, set[int]()
    for index, (kind, _) in enumerate(tokens):
        if kind != "comma":
            continue
        region = whole if index < point else fraction
        if not slots or index < slots[0]:
            literal_commas.add(index)
        elif not region or region[-1] < index:
            scale += 1
        elif index < point:
            grouped = True
    percent = sum(1 for kind, _ in tokens if kind == "percent")
    places = len(fraction)
    context = decimal.Context(
        prec=max(len(number.as_tuple().digits), max(number.adjusted() + 2 * percent, 0) + places) + 3,
        rounding=decimal.ROUND_HALF_UP,
        Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN,
    )
    value = number.scaleb(2 * percent - 3 * scale, context=context)  # exact: prec is ample
    if max(value.adjusted(), 0) + places > MAX_TEXT_LENGTH:
        _too_long()
    rounded = value.quantize(Decimal(1).scaleb(-places), context=context)
    whole_digits, _, fraction_digits = format(rounded, "f").partition(".")
    digits = whole_digits.lstrip("0")
    general = number_text(number)

    out = [code for _, code in tokens]
    for index, (kind, _) in enumerate(tokens):
        if kind in ("general", "at"):
            out[index] = general
        elif kind == "percent":
            out[index] = "%"
        elif kind == "comma":
            out[index] = "," if index in literal_commas else ""
        elif kind == "point" and index > point:
            out[index] = "."
    # Whole part, right to left: each placeholder takes one digit, the leftmost
    # takes all that remain; an unused 0 shows 0, # nothing, ? a space.
    left = len(digits)  # digits[:left] are still to place
    emitted = 0
    for index in reversed(whole):
        take = digits[: left] if index == whole[0] else digits[max(left - 1, 0) : left]
        left -= len(take)
        chars = take or {"0": "0", "#": "", "?": " "}[tokens[index][1]]
        piece: list[str] = []
        for char in reversed(chars):
            if grouped and emitted and emitted % 3 == 0 and char != " ":
                piece.append(",")
            piece.append(char)
            emitted += 1
        out[index] = "".join(reversed(piece))
    if point < len(tokens):
        out[point] = ("" if whole else digits) + "."
    # Fraction part, left to right; trailing zeros under # or ? are dropped.
    trim = len(fraction)
    while trim and tokens[fraction[trim - 1]][1] != "0" and fraction_digits[trim - 1] == "0":
        trim -= 1
    for place, index in enumerate(fraction):
        code = tokens[index][1]
        out[index] = fraction_digits[place] if place < trim else ("0" if code == "0" else " " if code == "?" else "")
    return "".join(out), rounded == 0
