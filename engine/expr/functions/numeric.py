"""Math functions: SUM, AVERAGE, MIN, MAX, COUNT, COUNTA, COUNTIF, SUMIF,
ROUND, ROUNDUP, ROUNDDOWN, INT, ABS, MOD, POWER, CEILING, FLOOR.

Every result is an exact ``Decimal``, so money adds up to the cent. The
aggregates treat a list (a subform column such as ``items.qty``) the way
Excel treats a range: blanks, text and booleans inside it are skipped.
The one-number functions (ROUND, ABS, MOD ...) applied to a list give a list,
item by item, as Excel's array formulas do: ``SUM(ROUND(items.amount, 2))``.
COUNTIF and SUMIF take Excel's criteria: ``">100"``, ``"<>won"``, ``"a*"``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from engine.expr import operators
from engine.expr.errors import FormulaRuntimeError, fail_div0, fail_num, fail_value
from engine.expr.functions.base import FamilyBuilder
from engine.expr.types import MONEY, NUMBER, FormulaType, element, list_of
from engine.expr.values import (
    NUMERIC,
    ZERO,
    check_error,
    check_list,
    check_number,
    describe,
    flatten,
    is_blank,
    numbers_in,
    parse_date_text,
    record_title,
    significant,
    text_to_number,
    to_integer,
    to_number,
)

family = FamilyBuilder("numeric")

_NUMBER_TYPES = (Decimal, int, float)
_MOMENT_TYPES = (dt.date, dt.time)  # dt.datetime is a dt.date
_COUNTED_DIRECTLY = (bool, dt.date, dt.time)
# Wide enough to round any number in Excel's range (|x| < 1e308) to any
# number of decimals that can matter (at most 400, see _round).
_WIDE = decimal.Context(
    prec=800, Emax=999_999, Emin=-999_999, traps=[decimal.InvalidOperation, decimal.Overflow]
)
_MAX_DIGITS = 400


def _is_number(value: Any) -> bool:
    return type(value) in _NUMBER_TYPES


# Return types -----------------------------------------------------------------


def _aggregate_type(args: Sequence[FormulaType]) -> FormulaType:
    """SUM, AVERAGE, MIN, MAX: money when any argument holds money (as ``+`` does)."""
    return MONEY if any(element(t).kind == "money" for t in args) else NUMBER


def _same_number(args: Sequence[FormulaType]) -> FormulaType:
    """ROUND, INT, ABS ...: money stays money; over a list the result is a list."""
    first = element(args[0]) if args else NUMBER
    scalar = MONEY if first.kind == "money" else NUMBER
    return list_of(scalar) if any(t.kind == "list" for t in args) else scalar


def _plain_number(args: Sequence[FormulaType]) -> FormulaType:
    """POWER: a plain number (money squared is not money); a list over a list."""
    return list_of(NUMBER) if any(t.kind == "list" for t in args) else NUMBER


def _sumif_type(args: Sequence[FormulaType]) -> FormulaType:
    summed = args[2] if len(args) > 2 else args[0] if args else NUMBER
    return MONEY if element(summed).kind == "money" else NUMBER


# Item by item over lists --------------------------------------------------------


def _elementwise(impl: Callable[..., Decimal]) -> Callable[..., Any]:
    """Apply a one-number function to each item when an argument is a list;
    several lists must have the same length, a single value is repeated."""

    @functools.wraps(impl)
    def apply(*args: Any) -> Any:
        lists = [arg for arg in args if isinstance(arg, list | tuple)]
        if not lists:
            return impl(*args)
        size = len(lists[0])
        if any(len(other) != size for other in lists):
            fail_value(
                "参数中的列表长度不同",
                "The lists among the arguments have different lengths",
            )
        return check_list([
            apply(*(arg[index] if isinstance(arg, list | tuple) else arg for arg in args))
            for index in range(size)
        ])

    return apply


# Aggregates ---------------------------------------------------------------------


@family.function("SUM", 1, None, returns=_aggregate_type, rest="number")
def sum_(*args: Any) -> Decimal:
    """The total of the numbers; blanks and text inside lists are skipped."""
    total = ZERO
    for number in numbers_in(args):
        total = NUMERIC.add(total, number)
    return check_number(total)


@family.function("AVERAGE", 1, None, returns=_aggregate_type, rest="number")
def average(*args: Any) -> Decimal:
    """The mean of the numbers; #DIV/0! when there are none."""
    numbers = numbers_in(args)
    if not numbers:
        fail_div0()
    total = ZERO
    for number in numbers:
        total = NUMERIC.add(total, number)
    return NUMERIC.divide(total, Decimal(len(numbers)))


@family.function("MIN", 1, None, returns=_aggregate_type, rest="number")
def min_(*args: Any) -> Decimal:
    """The smallest number; 0 when there are none (as in Excel)."""
    numbers = numbers_in(args)
    return min(numbers) if numbers else ZERO


@family.function("MAX", 1, None, returns=_aggregate_type, rest="number")
def max_(*args: Any) -> Decimal:
    """The largest number; 0 when there are none (as in Excel)."""
    numbers = numbers_in(args)
    return max(numbers) if numbers else ZERO


def _counts_directly(value: Any) -> bool:
    """COUNT's rule for a value given directly: numbers, dates, TRUE/FALSE and
    text that reads as a number or a date count; blanks, other text and errors do not."""
    if _is_number(value) or isinstance(value, _COUNTED_DIRECTLY):
        return True
    if isinstance(value, str) and not is_blank(value):
        return _text_number(value) is not None or parse_date_text(value) is not None
    return False


@family.function("COUNT", 1, None, returns=NUMBER)
def count(*args: Any) -> Decimal:
    """How many numbers (and dates) there are; inside lists only real numbers count."""
    total = 0
    for arg in args:
        if isinstance(arg, list | tuple):
            total += sum(
                1 for item in flatten(arg)
                if _is_number(item) or isinstance(item, _MOMENT_TYPES)
            )
        elif _counts_directly(arg):
            total += 1
    return Decimal(total)


@family.function("COUNTA", 1, None, returns=NUMBER)
def counta(*args: Any) -> Decimal:
    """How many values are not blank (errors count, as in Excel)."""
    return Decimal(sum(1 for item in flatten(args) if not is_blank(item)))


# Criteria (COUNTIF, SUMIF) ----------------------------------------------------------

_OPERATORS = (">=", "<=", "<>", ">", "<", "=")
Matcher = Callable[[Any], bool]


def _text_number(text: str) -> Decimal | None:
    """The number a text reads as, or None."""
    if text.strip() == "":
        return None
    try:
        return text_to_number(text)
    except FormulaRuntimeError:
        return None


def _operand(text: str) -> Any:
    """What the text after a criterion's operator means: a number, TRUE/FALSE,
    a date, else text."""
    number = _text_number(text)
    if number is not None:
        return number
    word = text.strip().upper()
    if word in ("TRUE", "FALSE"):
        return word == "TRUE"
    moment = parse_date_text(text) if text.strip() else None
    return moment if moment is not None else text


def _wildcard(pattern: str) -> re.Pattern[str] | None:
    """Excel's wildcards as a regular expression: ``*`` any run, ``?`` one
    character, ``~`` escaping the next; None when there are no wildcards."""
    if not any(char in pattern for char in "*?~"):
        return None
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "~" and index + 1 < len(pattern) and pattern[index + 1] in "*?~":
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


def _as_text(item: Any) -> str | None:
    """An item as text for text criteria: text itself, or a related record's title."""
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping):
        return record_title(item)
    return None


def _equal_to(operand: Any) -> Matcher:
    """Items equal to the operand under Excel's criteria rules."""
    if isinstance(operand, bool):
        return lambda item: item is operand
    if isinstance(operand, Decimal):
        target = significant(operand)  # numbers match at 15 significant digits, as =

        def same_number(item: Any) -> bool:
            if _is_number(item):
                return bool(significant(to_number(item)) == target)
            if isinstance(item, str):
                found = _text_number(item)
                return found is not None and bool(significant(found) == target)
            return False

        return same_number
    if isinstance(operand, dt.date):
        return lambda item: isinstance(item, dt.date) and operators.compare(item, operand) == 0
    folded = operand.casefold()
    pattern = _wildcard(folded)

    def same_text(item: Any) -> bool:
        text = _as_text(item)
        if text is None or text == "":
            return False
        text = text.casefold()
        return pattern.fullmatch(text) is not None if pattern else text == folded

    return same_text


def _ordered(holds: Callable[[int], bool], operand: Any) -> Matcher:
    """Items of the operand's kind that stand in the given order to it."""
    if isinstance(operand, bool):
        return lambda item: isinstance(item, bool) and holds((item > operand) - (item < operand))
    if isinstance(operand, Decimal):

        bound = significant(operand)

        def number_order(item: Any) -> bool:
            if not _is_number(item):
                return False
            number = significant(to_number(item))
            return holds((number > bound) - (number < bound))

        return number_order
    if isinstance(operand, dt.date):
        return lambda item: isinstance(item, dt.date) and holds(operators.compare(item, operand))
    folded = operand.casefold()

    def text_order(item: Any) -> bool:
        text = _as_text(item)
        if text is None or text == "":
            return False
        text = text.casefold()
        return holds((text > folded) - (text < folded))

    return text_order


_ORDER: dict[str, Callable[[int], bool]] = {
    ">": lambda c: c > 0, ">=": lambda c: c >= 0, "<": lambda c: c < 0, "<=": lambda c: c <= 0,
}


def _criterion(criteria: Any) -> Matcher:
    """A test for range items from an Excel criterion: a value (equal to it),
    or text such as ``">100"``, ``"<>won"``, ``"a*"``, ``""`` (blank), ``"<>"`` (not blank)."""
    check_error(criteria)
    if is_blank(criteria):
        return is_blank
    if isinstance(criteria, list | tuple | Mapping):
        fail_value(
            f"{describe(criteria)} 不能作为条件", f"{describe(criteria)} cannot be used as a criterion"
        )
    if _is_number(criteria):
        return _equal_to(to_number(criteria))
    if isinstance(criteria, bool | dt.date):
        return _equal_to(criteria)
    if not isinstance(criteria, str):
        return lambda item: operators.equals(item, criteria)
    operator = next((op for op in _OPERATORS if criteria.startswith(op)), "")
    rest = criteria[len(operator):]
    if operator in ("", "="):
        return is_blank if rest == "" else _equal_to(_operand(rest))
    if operator == "<>":
        if rest == "":
            return lambda item: not is_blank(item)
        equal = _equal_to(_operand(rest))
        return lambda item: not equal(item)
    return _ordered(_ORDER[operator], _operand(rest))


def _items(value: Any) -> list[Any]:
    """A range argument's items: a list spread out, or a single value."""
    return list(flatten(value)) if isinstance(value, list | tuple) else [value]


@family.function("COUNTIF", 2, 2, returns=NUMBER, params=("list", "any"))
def countif(range_: Any, criteria: Any) -> Decimal:
    """How many items of the list meet the criterion (">100", "won", "a*", "<>")."""
    matches = _criterion(criteria)
    return Decimal(sum(1 for item in _items(range_) if not _is_error(item) and matches(item)))


@family.function("SUMIF", 2, 3, returns=_sumif_type, params=("list", "any", "list"))
def sumif(range_: Any, criteria: Any, *sum_range: Any) -> Decimal:
    """The total of the items meeting the criterion, or of the sum list's items at those positions."""
    matches = _criterion(criteria)
    items = _items(range_)
    targets = _items(sum_range[0]) if sum_range else items
    total = ZERO
    for index, item in enumerate(items):
        if _is_error(item) or not matches(item) or index >= len(targets):
            continue
        target = targets[index]
        check_error(target)
        if _is_number(target):
            total = NUMERIC.add(total, to_number(target))
    return check_number(total)


def _is_error(value: Any) -> bool:
    try:
        check_error(value)
    except FormulaRuntimeError:
        return True
    return False


# Rounding -------------------------------------------------------------------------


def _round(number: Decimal, digits: int, rounding: str) -> Decimal:
    """``number`` rounded to ``digits`` decimals (negative: to tens, hundreds ...)."""
    if number.is_zero() or digits > _MAX_DIGITS:
        return number
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -digits:
        return number  # already no finer than asked
    if digits < -_MAX_DIGITS:
        if rounding == decimal.ROUND_UP:
            fail_num("舍入结果超出范围", "The rounded number is out of range")
        return ZERO
    quantum = Decimal((0, (1,), -digits))
    result = number.quantize(quantum, rounding=rounding, context=_WIDE)
    if digits < 0:
        result = result.quantize(Decimal(1), context=_WIDE)  # 1200, not 1.2E+3
    if result.is_zero():
        return result.copy_abs()
    return check_number(result)


@family.function("ROUND", 1, 2, returns=_same_number, params=("number", "number"))
@_elementwise
def round_(number: Any, digits: Any = 0) -> Decimal:
    """The number rounded to the given decimals, halves away from zero."""
    return _round(to_number(number), to_integer(digits), decimal.ROUND_HALF_UP)


@family.function("ROUNDUP", 1, 2, returns=_same_number, params=("number", "number"))
@_elementwise
def roundup(number: Any, digits: Any = 0) -> Decimal:
    """The number rounded away from zero to the given decimals."""
    return _round(to_number(number), to_integer(digits), decimal.ROUND_UP)


@family.function("ROUNDDOWN", 1, 2, returns=_same_number, params=("number", "number"))
@_elementwise
def rounddown(number: Any, digits: Any = 0) -> Decimal:
    """The number rounded toward zero to the given decimals."""
    return _round(to_number(number), to_integer(digits), decimal.ROUND_DOWN)


@family.function("INT", 1, 1, returns=_same_number, params=("number",))
@_elementwise
def int_(number: Any) -> Decimal:
    """The number rounded down to a whole number (INT(-8.9) is -9)."""
    result = to_number(number).to_integral_value(rounding=decimal.ROUND_FLOOR, context=NUMERIC)
    return result.copy_abs() if result.is_zero() else result


@family.function("ABS", 1, 1, returns=_same_number, params=("number",))
@_elementwise
def abs_(number: Any) -> Decimal:
    """The number without its sign."""
    return to_number(number).copy_abs()


@family.function("MOD", 2, 2, returns=_same_number, params=("number", "number"))
@_elementwise
def mod(number: Any, divisor: Any) -> Decimal:
    """The remainder after division, with the divisor's sign; #DIV/0! for divisor 0."""
    result: Decimal = operators.modulo(to_number(number), to_number(divisor))
    return result.copy_abs() if result.is_zero() else result


@family.function("POWER", 2, 2, returns=_plain_number, params=("number", "number"))
@_elementwise
def power(number: Any, exponent: Any) -> Decimal:
    """The number raised to a power; 0 to the power 0, and roots of negatives, are #NUM!."""
    result: Decimal = operators.power(to_number(number), to_number(exponent))
    return ZERO if result.is_zero() else check_number(result)


def _to_multiple(number: Decimal, significance: Decimal, upward: bool) -> Decimal:
    """``number`` moved to a multiple of ``significance``: the next one up the
    quotient (CEILING) or down it (FLOOR)."""
    if number.is_zero():
        return ZERO
    try:
        remainder = NUMERIC.remainder(number, significance)  # the sign of number
    except decimal.InvalidOperation:
        return number  # significance is below the number's precision
    if remainder.is_zero():
        return number
    toward_zero = NUMERIC.subtract(number, remainder)
    positive_quotient = (number > 0) == (significance > 0)
    if upward and positive_quotient:
        toward_zero = NUMERIC.add(toward_zero, significance)
    elif not upward and not positive_quotient:
        toward_zero = NUMERIC.subtract(toward_zero, significance)
    result = check_number(toward_zero)
    if result.is_zero():
        return ZERO
    return _tidy(result, significance)


def _tidy(multiple: Decimal, significance: Decimal) -> Decimal:
    """A multiple of ``significance`` written with no more decimals than it: 2, not 2.0."""
    places = significance.as_tuple().exponent
    if not isinstance(places, int) or places >= 0:
        places = 0
    exponent = multiple.as_tuple().exponent
    if isinstance(exponent, int) and exponent < places:
        try:
            return multiple.quantize(Decimal((0, (1,), places)), context=NUMERIC)
        except decimal.InvalidOperation:
            return multiple
    return multiple


def _check_signs(name: str, number: Decimal, significance: Decimal) -> None:
    if number > 0 and significance < 0:
        fail_num(
            f"{name} 的数字为正时，倍数不能为负",
            f"{name} cannot take a negative significance for a positive number",
        )


@family.function("CEILING", 1, 2, returns=_same_number, params=("number", "number"))
@_elementwise
def ceiling(number: Any, significance: Any = 1) -> Decimal:
    """The number rounded up to a multiple of the significance (away from zero when both are negative)."""
    value, step = to_number(number), to_number(significance)
    if step.is_zero():
        return ZERO
    _check_signs("CEILING", value, step)
    return _to_multiple(value, step, upward=True)


@family.function("FLOOR", 1, 2, returns=_same_number, params=("number", "number"))
@_elementwise
def floor(number: Any, significance: Any = 1) -> Decimal:
    """The number rounded down to a multiple of the significance (toward zero when both are negative)."""
    value, step = to_number(number), to_number(significance)
    if step.is_zero():
        fail_div0()
    _check_signs("FLOOR", value, step)
    return _to_multiple(value, step, upward=False)


FUNCTIONS = family.functions
