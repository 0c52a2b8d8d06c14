"""Ways to reach someone: phone, email, url. Each is text normalised on input
(spaces and dashes out of phone numbers, a lower-case email domain, a scheme
added to a bare web address) and checked against its format."""

from __future__ import annotations

import random
import re
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from engine.core.i18n import Label, Message
from engine.definitions.model import FieldDef
from engine.fields import demo
from engine.fields.base import FieldType
from engine.fields.inputs import is_blank_input
from engine.fields.settings import settings_object
from engine.fields.text import TEXT_OPERATORS, input_text

CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
CN_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
BAD_PHONE_CN = Message(
    "“{value}” 不是有效的电话号码（手机 11 位，或座机如 010-12345678）",
    "\"{value}\" is not a valid phone number (an 11-digit mobile, or a landline like 010-12345678)",
)
BAD_PHONE_ANY = Message(
    "“{value}” 不是有效的国际电话号码（如 +8613812345678）",
    "\"{value}\" is not a valid international phone number (like +8613812345678)",
)
BAD_EMAIL = Message("“{value}” 不是有效的邮箱地址", "\"{value}\" is not a valid email address")
BAD_URL = Message("“{value}” 不是有效的网址（http 或 https）", "\"{value}\" is not a valid web address (http or https)")
TOO_LONG = Message("不能超过 {max} 个字符", "At most {max} characters")


class _ContactType(FieldType):
    formula_type = "text"
    operators = TEXT_OPERATORS
    max_length = 200

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        return [sa.Column(field.key, sa.String(self.max_length), nullable=True)]

    def normalise(self, field: FieldDef, text: str) -> str:
        return text

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        if is_blank_input(raw):
            return None
        return self.normalise(field, input_text(raw).strip()) or None

    def valid(self, field: FieldDef, value: str) -> bool:
        return True

    def invalid_message(self, field: FieldDef, value: str) -> Label:
        return Label(f"“{value}” 格式不正确", f'"{value}" is not a valid {self.key}')

    def validate(self, field: FieldDef, value: Any) -> list[Label]:
        if len(value) > self.max_length:
            return [TOO_LONG.format(max=self.max_length)]
        return [] if self.valid(field, value) else [self.invalid_message(field, value)]

    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        return value

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.max_length}


class PhoneType(_ContactType):
    """A phone number. ``region: CN`` (default): an 11-digit mobile (``+86``
    prefix allowed and dropped) or a landline ``0`` + area code + number;
    ``region: any``: international E.164 (``+`` and up to 15 digits)."""

    key = "phone"
    label = Label("电话", "Phone")
    max_length = 32
    settings_schema = settings_object({"region": {"enum": ["CN", "any"]}})

    def region(self, field: FieldDef) -> str:
        return str(field.setting("region", "CN"))

    def normalise(self, field: FieldDef, text: str) -> str:
        if CN_MOBILE.match(text) and self.region(field) != "any":
            return text  # already a plain mobile number, the usual input
        compact = re.sub(r"[\s()（）.]", "", text).replace("－", "-").replace("＋", "+")
        if self.region(field) == "any":
            if compact.startswith("00"):
                compact = "+" + compact[2:]
            return compact.replace("-", "")
        for prefix in ("+86", "0086", "86-"):
            rest = compact[len(prefix):].lstrip("-")
            if compact.startswith(prefix) and CN_MOBILE.match(rest.replace("-", "")):
                return rest.replace("-", "")
        if CN_MOBILE.match(compact.replace("-", "")):
            return compact.replace("-", "")
        return compact

    def valid(self, field: FieldDef, value: str) -> bool:
        if self.region(field) == "any":
            return bool(E164.match(value))
        return bool(CN_MOBILE.match(value) or CN_LANDLINE.match(value))

    def invalid_message(self, field: FieldDef, value: str) -> Label:
        template = BAD_PHONE_ANY if self.region(field) == "any" else BAD_PHONE_CN
        return template.format(value=value)

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        if self.region(field) == "any":
            return {"type": "string", "pattern": E164.pattern}
        return {"type": "string", "pattern": f"({CN_MOBILE.pattern})|({CN_LANDLINE.pattern})"}

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        number = demo.mobile_number(rng)
        return "+86" + number if self.region(field) == "any" else number


class EmailType(_ContactType):
    """An email address; the domain is lower-cased, the local part kept as typed."""

    key = "email"
    label = Label("邮箱", "Email")
    max_length = 254

    def normalise(self, field: FieldDef, text: str) -> str:
        text = text.removeprefix("mailto:").strip()
        local, at, domain = text.rpartition("@")
        return f"{local}@{domain.lower()}" if at else text

    def valid(self, field: FieldDef, value: str) -> bool:
        return bool(EMAIL.match(value)) and len(value.partition("@")[0]) <= 64

    def invalid_message(self, field: FieldDef, value: str) -> Label:
        return BAD_EMAIL.format(value=value)

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        return {"type": "string", "format": "email", "maxLength": self.max_length}

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        user = rng.choice(("zhang.wei", "li.na", "wang.fang", "chen.jie", "sales", "service", "liu.yang"))
        domain = rng.choice(("huaxin-tech.cn", "qimingsoft.com", "example.com.cn", "jinshi.net"))
        return f"{user}@{domain}"


class UrlType(_ContactType):
    """A web address (http or https). A bare ``www.example.com`` gets ``https://``."""

    key = "url"
    label = Label("网址", "URL")
    max_length = 2048

    def normalise(self, field: FieldDef, text: str) -> str:
        if "://" not in text and re.match(r"^[\w-]+(\.[\w-]+)+(:\d+)?(/|$)", text):
            return "https://" + text
        return text

    def valid(self, field: FieldDef, value: str) -> bool:
        try:
            parts = urlsplit(value)
        except ValueError:
            return False
        return parts.scheme in ("http", "https") and bool(parts.hostname) and not re.search(r"\s", value)

    def invalid_message(self, field: FieldDef, value: str) -> Label:
        return BAD_URL.format(value=value)

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        return {"type": "string", "format": "uri", "pattern": "^https?://", "maxLength": self.max_length}

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        return "https://www." + rng.choice(("huaxin-tech.cn", "qimingsoft.com", "jinshi.net")) + "/"
