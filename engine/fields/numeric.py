"""Numbers: number, money, percent (exact ``Decimal`` values in ``NUMERIC``
columns, never floats) and rating (a whole number of stars).

Rounding: input with more decimals than the field's ``precision`` is rounded
half away from zero on coerce (``2.345`` -> ``2.35``, the way people and
Excel round amounts), not refused: a pasted ``1,234.567`` is a usable amount.
A field of whole numbers (``precision: 0``) refuses a fraction as input
(``coerce_input``): 5.5 employees is a mistake, not 6; computed values round.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, ClassVar

import sqlalchemy as sa

from engine.core.i18n import Label, Message
from engine.core.numbers import grouped, money_text
from engine.definitions.model import FieldDef
from engine.fields.base import DefinitionProblem, FieldType, FieldValueError
from engine.fields.inputs import is_blank_input, parse_decimal, round_half_up, shorten
from engine.fields.settings import (
    NUMBER_SETTING,
    PRECISION_SETTING,
    check_bounds,
    int_setting,
    settings_object,
)

NUMBER_OPERATORS: tuple[str, ...] = (
    "eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in", "is_blank", "not_blank",
)
# Total significant digits of a NUMERIC column. SQLite keeps numbers as
# 8-byte floats, exact to 15 significant digits: values are quantized back to
# the field's precision on read, which is exact within that range.
TOTAL_DIGITS = 20

BELOW_MIN = Message("不能小于 {min}", "Must be at least {min}")
ABOVE_MAX = Message("不能大于 {max}", "Must be at most {max}")
ROUNDED = Message("由 {old} 舍入为 {new}", "rounded from {old} to {new}")
TOO_LARGE = Message("数值 {value} 太大", "The number {value} is too large")
DECIMAL_JSON_PATTERN = r"^-?\d+(\.\d+)?$"


class DecimalType(FieldType):
    """Shared behaviour of number, money and percent: a Decimal with
    ``precision`` decimals, bounded by ``min`` and ``max``."""

    formula_type = "number"
    operators = NUMBER_OPERATORS
    settings_schema = settings_object({
        "precision": PRECISION_SETTING, "min": NUMBER_SETTING, "max": NUMBER_SETTING,
    })
    default_precision: ClassVar[int] = 2

    def __init__(self) -> None:
        # id(field) -> (field, scale): reading a value back is the hot path of lists.
        self._scales: dict[int, tuple[FieldDef, int]] = {}

    def scale_of(self, field: FieldDef) -> int:
        """``scale``, worked out once per field definition (coercion asks per value)."""
        cached = self._scales.get(id(field))
        if cached is not None and cached[0] is field:
            return cached[1]
        scale = self.scale(field)
        if len(self._scales) > 10_000:
            self._scales.clear()
        self._scales[id(field)] = (field, scale)
        return scale

    def precision(self, field: FieldDef) -> int:
        return int_setting(field, "precision", self.default_precision)

    def scale(self, field: FieldDef) -> int:
        """Decimal places the value keeps (percent keeps two more than it shows)."""
        return self.precision(field)

    def parse(self, raw: Any) -> Decimal:
        return parse_decimal(raw)

    def bound(self, field: FieldDef, name: str) -> Decimal | None:
        raw = field.setting(name)
        if raw is None:
            return None
        try:
            return self.parse(raw)
        except FieldValueError:
            return None

    def check_settings(self, field: FieldDef) -> list[DefinitionProblem]:
        return check_bounds(field, self.parse)

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        numeric = sa.Numeric(precision=TOTAL_DIGITS, scale=self.scale(field), asdecimal=True)
        return [sa.Column(field.key, numeric, nullable=True)]

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        if type(raw) is Decimal and raw.is_finite():  # a computed value: no parsing
            scale = self.scale_of(field)
            if raw.adjusted() < TOTAL_DIGITS - scale - 1:  # rounding cannot make it too large
                return round_half_up(raw, scale)
        if is_blank_input(raw):
            return None
        scale = self.scale_of(field)
        parsed = self.parse(raw)
        if parsed.adjusted() >= TOTAL_DIGITS - scale:
            raise FieldValueError(TOO_LARGE.format(value=shorten(raw)))
        number = round_half_up(parsed, scale)
        if number.adjusted() >= TOTAL_DIGITS - scale:
            raise FieldValueError(TOO_LARGE.format(value=shorten(raw)))
        return number

    def conversion_loss(
        self, field: FieldDef, converted: Any, value: Any, source: FieldType, source_field: FieldDef
    ) -> Label | None:
        # The same input ``convert`` coerced, parsed without rounding: a
        # difference is what rounding to this field's decimals took away.
        if value is None or converted is None:
            return None
        try:
            exact = self.parse(source.export_value(source_field, value, "en"))
        except FieldValueError:
            return None
        if exact == converted:
            return None
        return ROUNDED.format(old=f"{exact.normalize():f}", new=f"{converted:f}")

    def coerce_input(self, field: FieldDef, raw: Any) -> Any:
        # Rounding a typed 5.5 to 6 for a field of whole numbers would store
        # what nobody wrote: such input is refused. Decimals beyond a
        # precision of 1 or more are rounded, as the module says.
        if self.scale_of(field) == 0 and not is_blank_input(raw):
            parsed = self.parse(raw)
            if parsed.is_finite() and parsed != parsed.to_integral_value():
                text = shorten(raw)
                raise FieldValueError(Label(
                    f"{text} 不是整数（{field.label.zh}只能填整数）",
                    f"{text} is not a whole number ({field.label.en} takes whole numbers)",
                ))
        return self.coerce(field, raw)

    def from_db(self, field: FieldDef, row: Any) -> Any:
        stored = row.get(field.key)
        if stored is None:
            return None
        scale = self.scale_of(field)
        # The Numeric column gives a Decimal at the column's scale already (the
        # hot path of every list page); anything else is normalised.
        if type(stored) is Decimal and stored.as_tuple().exponent == -scale:
            return stored
        return round_half_up(parse_decimal(stored), scale)

    def value_decoder(self, field: FieldDef) -> Callable[[Mapping[str, Any]], Any] | None:
        # The NUMERIC(20, scale) column returns a Decimal at exactly the
        # field's scale on both databases (a precision change alters the
        # column too), so a page of records reads it as it is.
        return None

    def validates(self, field: FieldDef) -> bool:
        return field.setting("min") is not None or field.setting("max") is not None

    def validate(self, field: FieldDef, value: Any) -> list[Label]:
        messages = []
        low, high = self.bound(field, "min"), self.bound(field, "max")
        if low is not None and value < low:
            messages.append(BELOW_MIN.format(min=self.display(field, low)))
        if high is not None and value > high:
            messages.append(ABOVE_MAX.format(max=self.display(field, high)))
        return messages

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        if value is None:
            return ""
        return grouped(Decimal(value), self.precision(field))

    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        return value

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        return {"type": "string", "format": "decimal", "pattern": DECIMAL_JSON_PATTERN}

    def fake_range(self, field: FieldDef) -> tuple[Decimal, Decimal]:
        return Decimal(0), Decimal(1000)

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        low, high = self.fake_range(field)
        width = high - low
        floor, ceiling = self.bound(field, "min"), self.bound(field, "max")
        if floor is not None:
            low = max(low, floor)
        if ceiling is not None:
            high = min(high, ceiling)
        if low > high:
            if floor is not None and ceiling is not None:
                low, high = floor, ceiling
            elif floor is not None:
                high = floor + width
            else:
                low = high - width
        scale = self.scale(field)
        step = Decimal(1).scaleb(-scale)
        steps = int((high - low) / step)
        return round_half_up(low + step * rng.randint(0, max(steps, 0)), scale)


class NumberType(DecimalType):
    """A number with a fixed count of decimals (``precision: 0`` for whole
    numbers), shown with thousands separators unless ``thousands: false``
    (a year, a code that is a number)."""

    key = "number"
    label = Label("数字", "Number")
    settings_schema = settings_object({
        **DecimalType.settings_schema["properties"], "thousands": {"type": "boolean"},
    })

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        if value is None or field.setting("thousands", True):
            return super().display(field, value, locale)
        return f"{Decimal(value):.{self.precision(field)}f}"


class MoneyType(DecimalType):
    """An amount of money in the field's ``currency``; shown as ``¥1,234.50``."""

    key = "money"
    label = Label("金额", "Money")
    formula_type = "money"
    settings_schema = settings_object({
        "precision": PRECISION_SETTING,
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "min": NUMBER_SETTING,
        "max": NUMBER_SETTING,
    })

    def currency(self, field: FieldDef) -> str:
        return str(field.setting("currency", "CNY"))

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        if value is None:
            return ""
        return money_text(Decimal(value), self.currency(field), self.precision(field))

    def fake_range(self, field: FieldDef) -> tuple[Decimal, Decimal]:
        return Decimal(100), Decimal(500000)


class PercentType(DecimalType):
    """A percentage kept as a fraction: ``15%`` is ``0.15``. Numbers and plain
    numeric text are fractions (as Excel stores them); text ending in ``%`` is
    a percentage. ``precision`` counts the decimals of the percentage shown,
    so the value keeps two more; ``min``/``max`` are fractions too (or "50%")."""

    key = "percent"
    label = Label("百分比", "Percent")

    def scale(self, field: FieldDef) -> int:
        return self.precision(field) + 2

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        if value is None:
            return ""
        return grouped(Decimal(value).scaleb(2), self.precision(field)) + "%"

    def fake_range(self, field: FieldDef) -> tuple[Decimal, Decimal]:
        return Decimal(0), Decimal(1)


class RatingType(FieldType):
    """A rating of 1 to ``max`` stars (a whole number); "★★★" reads as 3."""

    key = "rating"
    label = Label("评分", "Rating")
    formula_type = "number"
    operators = NUMBER_OPERATORS
    settings_schema = settings_object({"max": {"type": "integer", "minimum": 1, "maximum": 10}})

    def max(self, field: FieldDef) -> int:
        return int_setting(field, "max", 5)

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        return [sa.Column(field.key, sa.Integer(), nullable=True)]

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        if is_blank_input(raw):
            return None
        if isinstance(raw, str) and raw.strip() and set(raw.strip()) <= {"★", "☆"}:
            return raw.count("★") or None
        number = parse_decimal(raw)
        if number != number.to_integral_value():
            raise FieldValueError(Message("评分必须是整数：{value}", "A rating is a whole number: {value}")
                                  .format(value=shorten(raw)))
        return int(number)

    def validate(self, field: FieldDef, value: Any) -> list[Label]:
        top = self.max(field)
        if not 1 <= value <= top:
            return [Message("评分应在 1 到 {max} 之间", "A rating is between 1 and {max}").format(max=top)]
        return []

    def formula_value(self, field: FieldDef, value: Any) -> Any:
        return None if value is None else Decimal(value)

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        if value is None:
            return ""
        stars = int(value)
        return "★" * stars + "☆" * max(self.max(field) - stars, 0)

    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        return value

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1, "maximum": self.max(field)}

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        return rng.randint(1, self.max(field))
