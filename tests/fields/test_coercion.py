"""Per-type coercion edge cases and validation messages, in both languages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from engine.definitions.model import FieldDef
from engine.fields import FIELD_TYPES, FieldValueError

from .field_samples import OPTIONS, field, sample


def coerce(f: FieldDef, raw: Any) -> Any:
    return FIELD_TYPES.get(f.type).coerce(f, raw)


def messages(f: FieldDef, raw: Any) -> list[tuple[str, str]]:
    kind = FIELD_TYPES.get(f.type)
    return [(m.zh, m.en) for m in kind.validate(f, kind.coerce(f, raw))]


def refused(f: FieldDef, raw: Any) -> tuple[str, str]:
    with pytest.raises(FieldValueError) as info:
        coerce(f, raw)
    return info.value.message.zh, info.value.message.en


# --- numbers ----------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("1,234.50", Decimal("1234.50")),
    ("¥1,200", Decimal("1200.00")),
    ("￥1,200.5元", Decimal("1200.50")),
    ("RMB 88", Decimal("88.00")),
    ("(1,200.00)", Decimal("-1200.00")),
    ("-¥5", Decimal("-5.00")),
    ("１２３．４", Decimal("123.40")),
    (12, Decimal("12.00")),
    (0.1, Decimal("0.10")),
    (Decimal("2.345"), Decimal("2.35")),
    ("-2.345", Decimal("-2.35")),
    ("2.344", Decimal("2.34")),
    ("1e3", Decimal("1000.00")),
    ("", None),
    ("  ", None),
    (None, None),
])
def test_money_input(raw: Any, expected: Decimal | None) -> None:
    value = coerce(sample("amount"), raw)
    assert value == expected
    if expected is not None:
        assert value.as_tuple().exponent == -2


def test_whole_numbers_round_half_away_from_zero() -> None:
    quantity = sample("quantity")
    assert coerce(quantity, "3.5") == Decimal(4)
    assert coerce(quantity, "-3.5") == Decimal(-4)
    assert coerce(quantity, "2.4999") == Decimal(2)


@pytest.mark.parametrize("raw", ["abc", "1.2.3", "12abc", "1,23", True, [1], "--5", "."])
def test_not_numbers(raw: Any) -> None:
    zh, en = refused(sample("weight"), raw)
    assert "不是数字" in zh and "is not a number" in en


def test_numbers_too_large_for_the_column() -> None:
    zh, en = refused(sample("amount"), "1" + "0" * 20)
    assert "太大" in zh and "too large" in en


def test_number_bounds_messages() -> None:
    assert messages(sample("quantity"), 0) == [("不能小于 1", "Must be at least 1")]
    discount = sample("discount")
    assert messages(discount, "150%") == [("不能大于 100.00%", "Must be at most 100.00%")]
    assert messages(discount, "-1%") == [("不能小于 0.00%", "Must be at least 0.00%")]


def test_percent_is_a_fraction() -> None:
    discount = sample("discount")
    kind = FIELD_TYPES.get("percent")
    assert coerce(discount, "15%") == Decimal("0.1500")
    assert coerce(discount, "15.255%") == Decimal("0.1526")
    assert coerce(discount, 0.15) == Decimal("0.1500")
    assert coerce(discount, "0.15") == Decimal("0.1500")
    assert kind.display(discount, Decimal("0.1525")) == "15.25%"
    assert kind.formula_value(discount, Decimal("0.15")) == Decimal("0.15")
    assert kind.formula_type_for(discount) == "number"


def test_number_display_groups_thousands_unless_told_not_to() -> None:
    kind = FIELD_TYPES.get("number")
    assert kind.display(field("x", "number", precision=2), Decimal("1234567.5")) == "1,234,567.50"
    year = field("founded", "number", precision=0, thousands=False)
    assert kind.display(year, Decimal("1998")) == "1998"
    assert kind.display(field("x", "number", precision=1, thousands=False), Decimal("-12345.2")) == "-12345.2"
    assert kind.display(year, None) == ""


def test_money_display() -> None:
    kind = FIELD_TYPES.get("money")
    assert kind.display(sample("amount"), Decimal("1234567.5")) == "¥1,234,567.50"
    assert kind.display(sample("amount"), Decimal("-5")) == "-¥5.00"
    assert kind.display(sample("price_usd"), Decimal("12.3456")) == "$12.3456"
    assert kind.display(field("x", "money", currency="CHF"), Decimal("3")) == "CHF 3.00"
    assert kind.export_value(sample("amount"), Decimal("1.50")) == Decimal("1.50")
    assert kind.json_value(sample("amount"), Decimal("1234.50")) == "1234.50"
    assert kind.formula_type == "money"


def test_number_columns_are_exact_numerics() -> None:
    for key, scale in (("quantity", 0), ("weight", 3), ("amount", 2), ("discount", 4)):
        f = sample(key)
        (column,) = FIELD_TYPES.get(f.type).columns(f)
        assert column.type.scale == scale  # type: ignore[attr-defined]
        assert column.type.asdecimal  # type: ignore[attr-defined]


def test_rating() -> None:
    stars = sample("stars")
    assert coerce(stars, "★★★") == 3
    assert coerce(stars, "★★☆☆☆") == 2
    assert coerce(stars, "4") == 4
    assert messages(stars, 6) == [("评分应在 1 到 5 之间", "A rating is between 1 and 5")]
    assert messages(stars, 0) == [("评分应在 1 到 5 之间", "A rating is between 1 and 5")]
    refused(stars, "3.5")
    assert FIELD_TYPES.get("rating").display(stars, 3) == "★★★☆☆"


# --- text -----------------------------------------------------------------------------

def test_text_input() -> None:
    name = sample("name")
    assert coerce(name, "  华信科技  ") == "华信科技"
    assert coerce(name, "a\nb") == "a b"
    assert coerce(name, 123.0) == "123"
    assert coerce(name, Decimal("1.50")) == "1.50"
    assert coerce(name, dt.date(2024, 1, 5)) == "2024-01-05"
    assert coerce(name, "   ") is None
    refused(name, {"a": 1})


def test_text_messages() -> None:
    assert messages(sample("name"), "字" * 101) == [
        ("不能超过 100 个字符（现有 101 个）", "At most 100 characters (this has 101)")
    ]
    assert messages(sample("code"), "ab1234") == [("格式不正确", "The format is not valid")]
    assert messages(sample("code"), "AB1234") == []
    custom = field("code", "text", pattern=r"\d+", pattern_message={"zh": "只能是数字", "en": "Digits only"})
    assert messages(custom, "x") == [("只能是数字", "Digits only")]
    assert messages(field("t", "text", min_length=3), "ab") == [
        ("至少需要 3 个字符（现有 2 个）", "At least 3 characters (this has 2)")
    ]


def test_textarea_keeps_lines() -> None:
    assert coerce(sample("notes"), "第一行  \r\n第二行\n") == "第一行\n第二行"


def test_rich_text_is_sanitized() -> None:
    body = sample("body")
    dirty = (
        '<p onclick="steal()">Hi <b>there</b><script>alert(1)</script></p>'
        '<a href="javascript:alert(1)">x</a><a href="https://ok.cn" target="_blank">ok</a>'
        '<img src="x.png" onerror="bad()"><iframe src="https://evil"></iframe>'
        '<span style="color: red; background: url(javascript:x)">red</span><custom>kept text</custom>'
        '<a href="JaVa&#x09;ScRiPt:alert(1)">y</a><style>p{}</style>'
    )
    clean = coerce(body, dirty)
    for bad in ("script", "onclick", "onerror", "javascript", "iframe", "url(", "custom", "<style"):
        assert bad not in clean.lower()
    assert "<b>there</b>" in clean
    assert 'href="https://ok.cn" target="_blank" rel="noopener noreferrer"' in clean
    assert '<span style="color: red">red</span>' in clean
    assert "kept text" in clean
    assert coerce(body, clean) == clean
    assert coerce(body, "<p><br></p>") is None
    assert coerce(body, "<p>unclosed <b>bold") == "<p>unclosed <b>bold</b></p>"
    kind = FIELD_TYPES.get("rich_text")
    assert kind.display(body, "<p>a &amp; b</p><p>c</p>") == "a & b\nc"
    assert kind.formula_value(body, "<p><b>x</b></p>") == "x"


# --- dates and times -------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "2024-01-05", "2024/1/5", "2024.1.5", "2024年1月5日", " 2024-01-05 ", dt.date(2024, 1, 5),
    dt.datetime(2024, 1, 5, 23, 59), 45296, "45296", "2024-01-05T10:00:00",
])
def test_date_input(raw: Any) -> None:
    assert coerce(sample("signed_on"), raw) == dt.date(2024, 1, 5)


@pytest.mark.parametrize("raw", ["2024-02-30", "tomorrow", "01/05", True])
def test_not_dates(raw: Any) -> None:
    zh, en = refused(sample("signed_on"), raw)
    assert "不是日期" in zh and "is not a date" in en


def test_date_bounds() -> None:
    assert messages(sample("signed_on"), "2019-12-31") == [
        ("不能早于 2020-01-01", "Must not be before 2020-01-01")
    ]


UTC = dt.UTC


@pytest.mark.parametrize(("raw", "expected"), [
    ("2024-01-05 09:30", dt.datetime(2024, 1, 5, 1, 30, tzinfo=UTC)),
    ("2024/1/5 09:30:15", dt.datetime(2024, 1, 5, 1, 30, 15, tzinfo=UTC)),
    ("2024-01-05T09:30:00+08:00", dt.datetime(2024, 1, 5, 1, 30, tzinfo=UTC)),
    ("2024-01-05T01:30:00Z", dt.datetime(2024, 1, 5, 1, 30, tzinfo=UTC)),
    (dt.datetime(2024, 1, 5, 9, 30, 0, 999), dt.datetime(2024, 1, 5, 1, 30, tzinfo=UTC)),
    (dt.date(2024, 1, 5), dt.datetime(2024, 1, 4, 16, 0, tzinfo=UTC)),
])
def test_datetime_input_is_read_in_local_time_and_kept_in_utc(raw: Any, expected: dt.datetime) -> None:
    assert coerce(sample("visited_at"), raw) == expected


def test_datetime_forms() -> None:
    f = sample("visited_at")
    kind = FIELD_TYPES.get("datetime")
    value = dt.datetime(2024, 1, 5, 1, 30, tzinfo=UTC)
    assert kind.to_db(f, value) == {"visited_at": dt.datetime(2024, 1, 5, 1, 30)}
    assert kind.from_db(f, {"visited_at": dt.datetime(2024, 1, 5, 1, 30)}) == value
    assert kind.display(f, value) == "2024-01-05 09:30"
    assert kind.export_value(f, value) == dt.datetime(2024, 1, 5, 9, 30)
    assert kind.json_value(f, value) == "2024-01-05T01:30:00Z"
    assert kind.formula_value(f, value) == dt.datetime(2024, 1, 5, 9, 30)


def test_other_deployment_time_zone() -> None:
    from engine.fields import build_field_types

    kind = build_field_types("Europe/London").get("datetime")
    f = sample("visited_at")
    assert kind.coerce(f, "2024-07-01 09:00") == dt.datetime(2024, 7, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "expected"), [
    ("09:30", dt.time(9, 30)), ("9:30:15", dt.time(9, 30, 15)), ("9时30分", dt.time(9, 30)),
    (0.5, dt.time(12, 0)), (dt.datetime(2024, 1, 1, 8, 5), dt.time(8, 5)),
])
def test_time_input(raw: Any, expected: dt.time) -> None:
    assert coerce(sample("opens_at"), raw) == expected


def test_not_a_time() -> None:
    zh, en = refused(sample("opens_at"), "25:00")
    assert "不是时间" in zh and "is not a time" in en


# --- choices ---------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [True, "是", "yes", "Y", "true", "1", 1, "√", "on"])
def test_booleans_true(raw: Any) -> None:
    assert coerce(sample("active"), raw) is True


@pytest.mark.parametrize("raw", [False, "否", "no", "N", "FALSE", "0", 0, "×", "off"])
def test_booleans_false(raw: Any) -> None:
    assert coerce(sample("active"), raw) is False


def test_not_a_boolean() -> None:
    assert refused(sample("active"), "maybe") == ("“maybe” 不是“是”或“否”", "\"maybe\" is not yes or no")
    kind = FIELD_TYPES.get("boolean")
    assert (kind.display(sample("active"), True, "zh"), kind.display(sample("active"), False, "en")) == ("是", "No")


@pytest.mark.parametrize("raw", ["won", "赢单", "Won", "WON", " won ", {"key": "won"}, {"label": "赢单"}])
def test_select_by_key_or_label(raw: Any) -> None:
    assert coerce(sample("stage"), raw) == "won"


def test_select_messages_and_display() -> None:
    stage = sample("stage")
    zh, en = refused(stage, "pending")
    assert zh == "“pending” 不是可选项（可选：线索、赢单、输单）"
    assert en == "\"pending\" is not an option (options: Lead, Won, Lost)"
    kind = FIELD_TYPES.get("select")
    assert kind.display(stage, "won", "zh") == "赢单"
    assert kind.display(stage, "won", "en") == "Won"
    assert kind.export_value(stage, "won", "zh") == "赢单"
    assert kind.formula_value(stage, "won") == "won"
    assert kind.json_schema(stage) == {"type": "string", "enum": ["lead", "won", "lost"]}
    assert kind.validate(stage, "gone")


def test_select_allow_other() -> None:
    source = sample("source")
    assert coerce(source, "赢单") == "won"
    assert coerce(source, "展会") == "展会"
    assert FIELD_TYPES.get("select").display(source, "展会") == "展会"


def test_multiselect() -> None:
    tags = sample("tags")
    assert coerce(tags, "赢单、线索") == ["lead", "won"]
    assert coerce(tags, "Won, lead") == ["lead", "won"]
    assert coerce(tags, ["won", "won", "lost"]) == ["won", "lost"]
    assert coerce(tags, "won") == ["won"]
    assert coerce(tags, []) is None
    refused(tags, "won, nope")
    kind = FIELD_TYPES.get("multiselect")
    assert kind.display(tags, ["lead", "won"], "zh") == "线索、赢单"
    assert kind.display(tags, ["lead", "won"], "en") == "Lead, Won"
    small = field("tags", "multiselect", options=OPTIONS, max_items=1, min_items=1)
    assert messages(small, ["lead", "won"]) == [("最多选择 1 项", "Choose at most 1")]
