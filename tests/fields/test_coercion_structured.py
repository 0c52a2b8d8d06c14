"""Coercion and validation of contact, place, people, relation, file, computed and subform fields; settings checks; conversions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from engine.core.i18n import Label
from engine.definitions.model import FieldDef, Reference
from engine.fields import FIELD_TYPES, ConversionError, FieldValueError

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


# --- contact ----------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("138 1234 5678", "13812345678"), ("+86 138-1234-5678", "13812345678"), ("0086 13812345678", "13812345678"),
    (13812345678, "13812345678"), ("010-12345678", "010-12345678"), ("0755 8888 8888", "075588888888"),
])
def test_cn_phones(raw: Any, expected: str) -> None:
    phone = sample("mobile")
    assert coerce(phone, raw) == expected
    assert messages(phone, raw) == []


def test_bad_phone_messages() -> None:
    assert messages(sample("mobile"), "12345") == [(
        "“12345” 不是有效的电话号码（手机 11 位，或座机如 010-12345678）",
        "\"12345\" is not a valid phone number (an 11-digit mobile, or a landline like 010-12345678)",
    )]
    assert messages(sample("mobile"), "12812345678")
    intl = sample("intl_phone")
    assert coerce(intl, "+44 20 7946 0958") == "+442079460958"
    assert coerce(intl, "0044 20 7946 0958") == "+442079460958"
    assert messages(intl, "+442079460958") == []
    assert messages(intl, "2079460958")


def test_email_and_url() -> None:
    assert coerce(sample("email"), "Zhang.Wei@Example.COM") == "Zhang.Wei@example.com"
    assert messages(sample("email"), "zhang@") == [
        ("“zhang@” 不是有效的邮箱地址", "\"zhang@\" is not a valid email address")
    ]
    website = sample("website")
    assert coerce(website, "www.example.com/a") == "https://www.example.com/a"
    assert messages(website, "https://example.com") == []
    for bad in ("javascript:alert(1)", "ftp://example.com", "http://", "https://exa mple.com"):
        assert messages(website, bad), bad


# --- places ----------------------------------------------------------------------------

def test_address_text() -> None:
    address = sample("address")
    assert coerce(address, "广东省深圳市南山区科技园路1号") == {
        "province": "广东省", "city": "深圳市", "district": "南山区", "detail": "科技园路1号"
    }
    assert coerce(address, "北京市海淀区中关村大街1号") == {
        "province": "北京市", "city": "北京市", "district": "海淀区", "detail": "中关村大街1号"
    }
    assert coerce(address, "浙江省 杭州市 西湖区 文一西路 18 号") == {
        "province": "浙江省", "city": "杭州市", "district": "西湖区", "detail": "文一西路 18 号"
    }
    region = sample("region")
    assert coerce(region, "广东省/深圳市") == {"province": "广东省", "city": "深圳市"}
    assert [c.name for c in FIELD_TYPES.get("address").columns(region)] == ["region_province", "region_city"]


def test_location() -> None:
    spot = sample("spot")
    assert coerce(spot, "22.5405,113.9345 科技园") == {
        "lat": Decimal("22.540500"), "lng": Decimal("113.934500"), "address": "科技园"
    }
    assert coerce(spot, {"latitude": 1, "longitude": 2})["address"] is None
    assert messages(spot, "91,0") == [("纬度应在 ±90、经度应在 ±180 之内", "Latitude must be within ±90 and longitude within ±180")]
    refused(spot, "here")


# --- people and relations -----------------------------------------------------------------

def test_ids() -> None:
    assert coerce(sample("owner"), "3") == 3
    assert coerce(sample("owner"), {"id": 3}) == 3
    assert coerce(sample("owner"), [3]) == 3
    assert coerce(sample("helpers"), [3, "4", {"id": 5}, 3]) == [3, 4, 5]
    assert coerce(sample("helpers"), "3、4, 5") == [3, 4, 5]
    assert coerce(sample("products"), 7) == [7]
    assert refused(sample("owner"), "张三") == ("“张三” 不是记录编号", "\"张三\" is not a record id")
    assert refused(sample("customer"), [1, 2]) == ("只能选择一条记录", "Only one record can be chosen")
    refused(sample("customer"), 0)
    refused(sample("customer"), True)


def test_member_columns() -> None:
    kind = FIELD_TYPES.get("member")
    (single,) = kind.columns(sample("owner"))
    assert [fk.target_fullname for fk in single.foreign_keys] == ["users.id"]
    (multiple,) = kind.columns(sample("helpers"))
    assert not multiple.foreign_keys
    (dept,) = FIELD_TYPES.get("department").columns(sample("dept"))
    assert [fk.target_fullname for fk in dept.foreign_keys] == ["departments.id"]
    assert kind.formula_type_for(sample("helpers")) == "list:number"


def test_relation_shapes() -> None:
    kind = FIELD_TYPES.get("relation")
    (column,) = kind.columns(sample("customer"))
    assert column.index and not column.foreign_keys
    assert kind.columns(sample("products")) == []
    assert kind.storage_for(sample("products")) == "link_table"
    assert kind.formula_type_for(sample("products")) == "records"
    assert kind.formula_value(sample("customer"), 3) == {"id": 3}
    assert kind.references(sample("customer")) == [Reference("form", "customer", "target")]


# --- files --------------------------------------------------------------------------------

def a_file(name: str = "报价单.pdf", size: int = 1000, **extra: Any) -> dict[str, Any]:
    return {"id": "f1", "name": name, "size": size, **extra}


def test_files() -> None:
    files = sample("files")
    value = coerce(files, a_file())
    assert value == [{"id": "f1", "name": "报价单.pdf", "size": 1000, "content_type": "application/pdf",
                      "sha256": None}]
    assert messages(files, [a_file("x.exe")]) == [(
        "不允许的文件类型：x.exe（允许：pdf, docx, xlsx, jpg）", "File type not allowed: x.exe (allowed: pdf, docx, xlsx, jpg)"
    )]
    assert messages(files, [a_file(size=30 * 1024 * 1024)]) == [
        ("文件 报价单.pdf 超过 20 MB", "File 报价单.pdf is larger than 20 MB")
    ]
    assert messages(files, [a_file()] * 11) == [("最多 10 个文件", "At most 10 files")]
    assert messages(files, [a_file(sha256="xyz")])
    _zh, en = refused(files, "报价单.pdf")
    assert "upload files first" in en
    photos = sample("photos")
    assert messages(photos, [a_file("a.pdf")])  # not an image
    assert coerce(sample("sign"), a_file("s.png"))["content_type"] == "image/png"
    refused(sample("sign"), [a_file("a.png"), a_file("b.png")])


# --- computed -------------------------------------------------------------------------------

def test_serial() -> None:
    number = sample("number")
    kind = FIELD_TYPES.get("serial")
    assert kind.format_serial(number, 7, dt.date(2024, 1, 5)) == "HT20240105-0007"  # type: ignore[attr-defined]
    assert kind.period(number, dt.date(2024, 1, 5)) == "2024-01-05"  # type: ignore[attr-defined]
    plain = field("no", "serial", prefix="KH", digits=6)
    assert kind.format_serial(plain, 12, dt.date(2024, 1, 5)) == "KH000012"  # type: ignore[attr-defined]
    assert kind.period(plain, dt.date(2024, 1, 5)) == ""  # type: ignore[attr-defined]
    bad = field("no", "serial", date_format="yyyyMM", reset="daily")
    assert [p.path for p in kind.check_settings(bad)] == ["reset"]
    assert kind.computed


def test_formula_behaves_like_its_result_type() -> None:
    total = sample("total")
    kind = FIELD_TYPES.get("formula")
    assert kind.coerce(total, Decimal("10.005")) == Decimal("10.01")
    assert kind.display(total, Decimal("1234.5")) == "¥1,234.50"
    assert kind.formula_type_for(total) == "money"
    assert "gt" in kind.operators_for(total)
    assert "contains" in kind.operators_for(sample("summary"))
    assert kind.references(total) == [Reference("formula", "amount * (1 - discount)", "formula")]
    assert kind.json_schema(total)["readOnly"] is True


def test_rollup() -> None:
    kind = FIELD_TYPES.get("rollup")
    count = sample("line_count")
    (column,) = kind.columns(count)
    assert column.type.scale == 0  # type: ignore[attr-defined]
    assert kind.references(sample("line_total")) == [
        Reference("source", "items", "source"), Reference("source_field", "subtotal", "field", via="items"),
    ]
    assert kind.references(count) == [Reference("source", "items", "source")]


def test_lookup_references() -> None:
    assert FIELD_TYPES.get("lookup").references(sample("customer_industry")) == [
        Reference("relation", "customer", "relation"),
        Reference("lookup_field", "industry", "field", via="customer"),
    ]


def test_subform_rows() -> None:
    items = sample("items")
    kind = FIELD_TYPES.get("subform")
    value = kind.coerce(items, [{"product": 3, "quantity": "2", "unit_price": "¥10"}, {}])
    assert value == [{"product": 3, "quantity": Decimal(2), "unit_price": Decimal("10.00"),
                      "shipped_on": None, "subtotal": None}]
    assert kind.validate(items, [{"quantity": Decimal(0)}]) == [
        Label("第 1 行 数量：不能小于 1", "Row 1, 数量: Must be at least 1")
    ]
    assert [m.en for m in kind.validate(items, [{"product": 1}])] == ["Row 1, 数量: is required"]
    assert [m.en for m in kind.validate(field("s", "subform", max_rows=1), [{}, {}])] == ["At most 1 rows"]
    refused(items, [{"colour": "red"}])
    assert kind.formula_value(items, value) == [
        {"product": {"id": 3}, "quantity": Decimal(2), "unit_price": Decimal("10.00"), "shipped_on": None,
         "subtotal": None}
    ]
    assert kind.display(items, value, "en") == "1 row"


# --- settings -------------------------------------------------------------------------------

@pytest.mark.parametrize(("f", "path"), [
    (field("n", "number", min=10, max=1), "min"),
    (field("n", "number", min="abc"), "min"),
    (field("d", "date", min="2024-12-01", max="2024-01-01"), "min"),
    (field("t", "text", pattern="(unclosed"), "pattern"),
    (field("t", "text", min_length=300), "min_length"),
    (field("s", "select", options=[{"key": "a"}, {"key": "a"}]), "options[1].key"),
    (field("s", "select", options=[]), "options"),
    (field("m", "multiselect", options=OPTIONS, min_items=3, max_items=2), "min_items"),
    (field("f", "formula"), "formula"),
    (field("f", "formula", formula="1", result_type="colour"), "result_type"),
    (field("r", "rollup", source="items", aggregate="sum"), "field"),
    (field("r", "rollup", source="items", field="x", aggregate="median"), "aggregate"),
    (field("r", "relation"), "target"),
    (field("l", "lookup", relation="customer"), "field"),
    (FieldDef.from_dict({"key": "s", "type": "subform", "label": "s", "fields": [
        {"key": "inner", "type": "subform", "label": "inner"}]}), "fields[0].type"),
    (FieldDef.from_dict({"key": "s", "type": "subform", "label": "s", "fields": [
        {"key": "n", "type": "number", "label": "n", "min": 5, "max": 1}]}), "fields[0].min"),
])
def test_check_settings_finds(f: FieldDef, path: str) -> None:
    problems = FIELD_TYPES.get(f.type).check_settings(f)
    assert path in [p.path for p in problems]
    assert all(p.message.zh and p.message.en for p in problems)


# --- conversions ------------------------------------------------------------------------------

def test_conversions() -> None:
    text, number, date = field("t", "text"), field("n", "number"), field("d", "date")
    types = FIELD_TYPES
    assert types.get("number").convert(number, "1,234.5", types.get("text"), text) == Decimal("1234.50")
    with pytest.raises(ConversionError) as info:
        types.get("number").convert(number, "abc", types.get("text"), text)
    assert "不是数字" in info.value.message.zh
    assert types.get("text").convert(text, Decimal("3.50"), types.get("number"), number) == "3.50"
    assert types.get("date").convert(date, "2024/1/5", types.get("text"), text) == dt.date(2024, 1, 5)
    assert types.get("text").convert(text, "won", types.get("select"), sample("stage")) == "Won"
    assert types.get("select").convert(sample("stage"), "赢单", types.get("text"), text) == "won"
    assert types.get("multiselect").convert(sample("tags"), "won", types.get("select"), sample("stage")) == ["won"]
    assert types.get("number").convert(number, None, types.get("text"), text) is None
