"""engine.core: registry, errors, clock and labels."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from engine.core.clock import FixedClock, SystemClock
from engine.core.errors import QiqiaoError, RegistryError, ValidationError
from engine.core.i18n import Label, Message, label
from engine.core.registry import Registry


@dataclass(frozen=True)
class Entry:
    key: str


def test_registry_registers_and_finds() -> None:
    registry: Registry[Entry] = Registry("field type")
    registry.register_all([Entry("text"), Entry("number")])
    assert registry.get("text") == Entry("text")
    assert registry.find("missing") is None
    assert "number" in registry and len(registry) == 2
    assert registry.keys() == ["text", "number"]


def test_registry_refuses_duplicates() -> None:
    registry: Registry[Entry] = Registry("field type")
    registry.register(Entry("text"))
    with pytest.raises(RegistryError, match="already registered"):
        registry.register(Entry("text"))


def test_registry_unknown_key_suggests_close_ones_in_both_languages() -> None:
    registry: Registry[Entry] = Registry("field type")
    registry.register_all([Entry("number"), Entry("money")])
    with pytest.raises(RegistryError) as caught:
        registry.get("numbr")
    assert caught.value.text("en") == "Unknown field type 'numbr' — did you mean number?"
    assert "是否指 number" in caught.value.text("zh")


def test_registry_normalize_makes_keys_case_insensitive() -> None:
    registry: Registry[Entry] = Registry("function", normalize=str.upper)
    registry.register(Entry("SUM"))
    assert registry.get("sum") == Entry("SUM")
    with pytest.raises(RegistryError):
        registry.register(Entry("Sum"))


def test_label_accepts_text_mapping_and_falls_back() -> None:
    assert label("客户") == Label("客户", "客户")
    assert label({"zh": "客户", "en": "Customer"}).text("en") == "Customer"
    assert label({"en": "Customer"}).text("zh") == "Customer"
    with pytest.raises(ValueError):
        label({})


def test_message_formats_both_languages() -> None:
    text = Message("未知字段 {name}", "Unknown field {name}").format(name="amout")
    assert text.zh == "未知字段 amout" and text.en == "Unknown field amout"


def test_error_as_dict_is_the_api_body() -> None:
    error = ValidationError(
        Label("数据有误", "Invalid data"), field_errors={"amount": [Label("必填", "Required")]}
    )
    assert error.as_dict("zh") == {
        "code": "validation_error",
        "message": "数据有误",
        "details": {"amount": ["必填"]},
    }
    assert isinstance(error, QiqiaoError)


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(dt.datetime(2024, 12, 31, 23, 30))
    assert clock.today() == dt.date(2024, 12, 31)
    clock.advance(dt.timedelta(hours=1))
    assert clock.today() == dt.date(2025, 1, 1)
    assert clock.now().utcoffset() == dt.timedelta(hours=8)


def test_fixed_clock_reads_utc_moments_in_its_timezone() -> None:
    clock = FixedClock(dt.datetime(2024, 6, 30, 20, 0, tzinfo=dt.UTC))
    assert clock.today() == dt.date(2024, 7, 1)  # 04:00 next day in Shanghai


def test_system_clock_is_aware() -> None:
    assert SystemClock().now().tzinfo is not None
