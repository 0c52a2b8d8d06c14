"""Places: address (province/city/district/detail in their own columns, so
reports can group by province) and location (a point on the map).

Address values are dicts ``{"province", "city", "district", "detail"}``
holding the parts down to the field's ``level``. Text input is split on
spaces or ``/`` ("广东省 深圳市 南山区 科技园路1号"), or, written together,
on the usual suffixes (省/自治区/市, 市/州/盟/地区, 区/县/旗).
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from engine.core.i18n import Label, Message
from engine.definitions.model import FieldDef
from engine.fields import demo
from engine.fields.base import FieldType, FieldValueError
from engine.fields.inputs import is_blank_input, parse_decimal, round_half_up, shorten
from engine.fields.settings import settings_object

ADDRESS_PARTS = ("province", "city", "district", "detail")
PART_LENGTH = {"province": 50, "city": 50, "district": 50, "detail": 200}
NOT_AN_ADDRESS = Message("“{value}” 不是地址", "\"{value}\" is not an address")
PART_TOO_LONG = Message("地址的 {part} 部分过长（最多 {max} 个字符）", "The {part} of the address is too long (at most {max})")
_TOGETHER = re.compile(
    r"^(?P<province>北京市|天津市|上海市|重庆市|.+?(?:省|自治区|特别行政区))"
    r"(?P<city>.+?(?:自治州|地区|盟|市))?"
    r"(?P<district>.+?(?:区|县|旗|市))?"
    r"(?P<detail>.*)$"
)
_MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")


class AddressType(FieldType):
    """A Chinese address down to ``level`` (province, city, district or detail)."""

    key = "address"
    label = Label("地址", "Address")
    formula_type = "text"
    operators = ("contains", "not_contains", "starts_with", "is_blank", "not_blank")
    settings_schema = settings_object({"level": {"enum": list(ADDRESS_PARTS)}})

    def parts(self, field: FieldDef) -> tuple[str, ...]:
        level = field.setting("level", "detail")
        depth = ADDRESS_PARTS.index(level) + 1 if level in ADDRESS_PARTS else len(ADDRESS_PARTS)
        return ADDRESS_PARTS[:depth]

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        return [
            sa.Column(f"{field.key}_{part}", sa.String(PART_LENGTH[part]), nullable=True)
            for part in self.parts(field)
        ]

    def to_db(self, field: FieldDef, value: Any) -> dict[str, Any]:
        value = value or {}
        return {f"{field.key}_{part}": value.get(part) for part in self.parts(field)}

    def from_db(self, field: FieldDef, row: Mapping[str, Any]) -> Any:
        value = {part: row.get(f"{field.key}_{part}") for part in self.parts(field)}
        return value if any(v is not None for v in value.values()) else None

    def split_text(self, field: FieldDef, text: str) -> dict[str, Any]:
        parts = self.parts(field)
        pieces = [p for p in re.split(r"\s*/\s*|\s+", text.strip(), maxsplit=len(parts) - 1) if p]
        if len(pieces) == 1 and len(parts) > 1:
            match = _TOGETHER.match(pieces[0])
            if match:
                found = {k: v for k, v in match.groupdict().items() if v}
                if found["province"] in _MUNICIPALITIES and found.get("city") is None:
                    found["city"] = found["province"]
                return {part: found.get(part) or None for part in parts}
        return {part: pieces[i] if i < len(pieces) else None for i, part in enumerate(parts)}

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        if is_blank_input(raw):
            return None
        if isinstance(raw, str):
            value = self.split_text(field, raw)
        elif isinstance(raw, Mapping):
            value = {}
            for part in self.parts(field):
                item = raw.get(part)
                value[part] = None if is_blank_input(item) else str(item).strip()
        else:
            raise FieldValueError(NOT_AN_ADDRESS.format(value=shorten(raw)))
        return value if any(v is not None for v in value.values()) else None

    def validate(self, field: FieldDef, value: Any) -> list[Label]:
        return [
            PART_TOO_LONG.format(part=part, max=PART_LENGTH[part])
            for part in self.parts(field)
            if value.get(part) and len(value[part]) > PART_LENGTH[part]
        ]

    def is_blank(self, value: Any) -> bool:
        return not value or all(v in (None, "") for v in value.values())

    def formula_value(self, field: FieldDef, value: Any) -> Any:
        return None if value is None else "".join(v for v in value.values() if v)

    def filter_column(self, field: FieldDef, table: sa.Table) -> sa.ColumnElement[Any]:
        columns = [sa.func.coalesce(table.c[f"{field.key}_{part}"], "") for part in self.parts(field)]
        joined: sa.ColumnElement[Any] = columns[0]
        for column in columns[1:]:
            joined = joined.concat(column)
        return joined

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        if value is None:
            return ""
        return " ".join(v for v in value.values() if v)

    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        if value is None:
            return None
        # Empty parts as "-" keep the positions when the text is split back.
        return " / ".join(value.get(part) or "-" for part in self.parts(field))

    def import_value(self, field: FieldDef, cell: Any) -> Any:
        if isinstance(cell, str) and " / " in cell:
            pieces = [p.strip() for p in cell.split(" / ", len(self.parts(field)) - 1)]
            return {part: None if i >= len(pieces) or pieces[i] in ("", "-") else pieces[i]
                    for i, part in enumerate(self.parts(field))}
        return cell

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                part: {"type": ["string", "null"], "maxLength": PART_LENGTH[part]} for part in self.parts(field)
            },
            "additionalProperties": False,
        }

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        province, city, district = rng.choice(demo.PLACES)
        detail = f"{rng.choice(demo.STREETS)}{rng.randint(1, 399)}号"
        full = {"province": province, "city": city, "district": district, "detail": detail}
        return {part: full[part] for part in self.parts(field)}


LAT_LNG = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[,，]\s*(-?\d+(?:\.\d+)?)\s*(.*)$", re.S)
NOT_A_LOCATION = Message(
    "“{value}” 不是位置（纬度,经度 地址）", "\"{value}\" is not a location (lat,lng address)"
)
OUT_OF_RANGE = Message("纬度应在 ±90、经度应在 ±180 之内", "Latitude must be within ±90 and longitude within ±180")
COORDINATE = sa.Numeric(precision=9, scale=6, asdecimal=True)


class LocationType(FieldType):
    """A point: ``{"lat", "lng", "address"}`` with coordinates as Decimals
    (6 decimals, about 10 cm) in ``<key>_lat``/``<key>_lng`` and the place's
    name in ``<key>_address``. Text input is ``"22.540503,113.934528 科技园"``."""

    key = "location"
    label = Label("定位", "Location")
    formula_type = "text"
    operators = ("contains", "not_contains", "is_blank", "not_blank")

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        return [
            sa.Column(f"{field.key}_lat", COORDINATE, nullable=True),
            sa.Column(f"{field.key}_lng", COORDINATE, nullable=True),
            sa.Column(f"{field.key}_address", sa.String(200), nullable=True),
        ]

    def to_db(self, field: FieldDef, value: Any) -> dict[str, Any]:
        value = value or {}
        return {f"{field.key}_{part}": value.get(part) for part in ("lat", "lng", "address")}

    def from_db(self, field: FieldDef, row: Mapping[str, Any]) -> Any:
        lat, lng = row.get(f"{field.key}_lat"), row.get(f"{field.key}_lng")
        if lat is None or lng is None:
            return None
        return {
            "lat": round_half_up(parse_decimal(lat), 6),
            "lng": round_half_up(parse_decimal(lng), 6),
            "address": row.get(f"{field.key}_address"),
        }

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        if is_blank_input(raw):
            return None
        if isinstance(raw, str):
            match = LAT_LNG.match(raw)
            if not match:
                raise FieldValueError(NOT_A_LOCATION.format(value=shorten(raw)))
            lat, lng, address = match.groups()
        elif isinstance(raw, Mapping):
            lat = raw.get("lat", raw.get("latitude"))
            lng = raw.get("lng", raw.get("longitude", raw.get("lon")))
            address = raw.get("address")
            if lat is None or lng is None:
                raise FieldValueError(NOT_A_LOCATION.format(value=shorten(raw)))
        else:
            raise FieldValueError(NOT_A_LOCATION.format(value=shorten(raw)))
        return {
            "lat": round_half_up(parse_decimal(lat), 6),
            "lng": round_half_up(parse_decimal(lng), 6),
            "address": str(address).strip()[:200] or None if address is not None else None,
        }

    def validate(self, field: FieldDef, value: Any) -> list[Label]:
        if abs(value["lat"]) > 90 or abs(value["lng"]) > 180:
            return [OUT_OF_RANGE.format()]
        return []

    def formula_value(self, field: FieldDef, value: Any) -> Any:
        return None if value is None else self.display(field, value)

    def filter_column(self, field: FieldDef, table: sa.Table) -> sa.ColumnElement[Any]:
        return table.c[f"{field.key}_address"]

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        if value is None:
            return ""
        point = f"{value['lat']},{value['lng']}"
        return f"{value['address']} ({point})" if value.get("address") else point

    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        if value is None:
            return None
        point = f"{value['lat']},{value['lng']}"
        return f"{point} {value['address']}" if value.get("address") else point

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        coordinate = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
        return {
            "type": "object",
            "properties": {"lat": coordinate, "lng": coordinate, "address": {"type": ["string", "null"]}},
            "required": ["lat", "lng"],
            "additionalProperties": False,
        }

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        lat, lng, place = rng.choice(demo.SPOTS)
        return {"lat": Decimal(lat), "lng": Decimal(lng), "address": place}
