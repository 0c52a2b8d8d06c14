"""Files: attachment, image (lists of files) and signature (one image).

Values are file **metadata**, never the bytes: ``{"id", "name", "size",
"content_type", "sha256"}`` as the file storage (engine.store) returned it on
upload. The JSON column keeps that list; limits (count, size, extensions)
are checked here, the bytes by the storage. A write may name only files the
storage holds, and keeps the storage's metadata, not the client's
(``engine.records.file_refs``).
"""

from __future__ import annotations

import json
import mimetypes
import random
import re
from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from engine.core.i18n import Label, Message
from engine.definitions.model import FieldDef
from engine.fields.base import FieldType, FieldValueError
from engine.fields.inputs import is_blank_input, shorten
from engine.fields.settings import int_setting, settings_object

MB = 1024 * 1024
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "gif", "webp", "bmp", "svg")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
NOT_FILE = Message(
    "“{value}” 不是已上传的文件（需要 id 和 name；文件请先上传）",
    "\"{value}\" is not an uploaded file (needs id and name; upload files first)",
)
TOO_MANY_FILES = Message("最多 {max} 个文件", "At most {max} files")
TOO_BIG = Message("文件 {name} 超过 {limit}", "File {name} is larger than {limit}")
BAD_EXTENSION = Message("不允许的文件类型：{name}（允许：{accept}）", "File type not allowed: {name} (allowed: {accept})")
NOT_IMAGE = Message("{name} 不是图片", "{name} is not an image")
NOT_STORED = Message("文件 {name} 不在文件存储中（请先上传：POST /api/v1/files）",
                     "File {name} is not in the file storage (upload it first: POST /api/v1/files)")
BAD_HASH = Message("文件 {name} 的校验值无效", "File {name} has an invalid checksum")

FILE_JSON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 200},
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "size": {"type": "integer", "minimum": 0},
        "content_type": {"type": "string"},
        "sha256": {"type": ["string", "null"], "pattern": SHA256.pattern},
    },
    "required": ["id", "name", "size", "content_type"],
    "additionalProperties": False,
}


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def size_text(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.1f} MB".replace(".0 MB", " MB")
    return f"{max(size // 1024, 1)} KB"


def file_metadata(raw: Any) -> dict[str, Any]:
    """One file's metadata in canonical form (the five keys, in order)."""
    if not isinstance(raw, Mapping) or is_blank_input(raw.get("id")) or is_blank_input(raw.get("name")):
        raise FieldValueError(NOT_FILE.format(value=shorten(raw)))
    name = str(raw["name"]).strip()
    size = raw.get("size", 0)
    if isinstance(size, bool) or not isinstance(size, int | str) or not str(size).strip().isdigit():
        raise FieldValueError(NOT_FILE.format(value=shorten(raw)))
    content_type = raw.get("content_type") or mimetypes.guess_type(name)[0] or "application/octet-stream"
    sha256 = raw.get("sha256")
    return {
        "id": str(raw["id"]),
        "name": name,
        "size": int(size),
        "content_type": str(content_type),
        "sha256": str(sha256).lower() if sha256 else None,
    }


def stored_metadata(row: Mapping[str, Any]) -> dict[str, Any]:
    """A file's metadata as the storage recorded it (a row of ``files``)."""
    return {"id": str(row["id"]), "name": str(row["name"]), "size": int(row["size"]),
            "content_type": str(row["content_type"]), "sha256": row["sha256"]}


class AttachmentType(FieldType):
    """Files of any kind (``accept`` limits the extensions)."""

    key = "attachment"
    label = Label("附件", "Attachment")
    formula_type = "list:text"
    operators = ("is_blank", "not_blank")
    default_max_files: ClassVar[int] = 10
    default_max_size: ClassVar[int] = 20 * MB
    settings_schema = settings_object({
        "max_files": {"type": "integer", "minimum": 1, "maximum": 100},
        "max_size": {"type": "integer", "minimum": 1},
        "accept": {"type": "array", "items": {"type": "string", "pattern": r"^\.?[A-Za-z0-9]+$"}},
    })

    def max_files(self, field: FieldDef) -> int:
        return int_setting(field, "max_files", self.default_max_files)

    def max_size(self, field: FieldDef) -> int:
        return int_setting(field, "max_size", self.default_max_size)

    def accepted(self, field: FieldDef) -> tuple[str, ...]:
        return tuple(str(e).lower().lstrip(".") for e in field.setting("accept") or ())

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        return [sa.Column(field.key, sa.JSON(none_as_null=True), nullable=True)]

    def from_db(self, field: FieldDef, row: Mapping[str, Any]) -> Any:
        stored = row.get(field.key)
        return [file_metadata(item) for item in stored] if stored else None

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        if isinstance(raw, str) and raw.strip().startswith(("[", "{")):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise FieldValueError(NOT_FILE.format(value=shorten(raw))) from None
        if is_blank_input(raw):
            return None
        items = [raw] if isinstance(raw, Mapping) else raw
        if not isinstance(items, list | tuple):
            raise FieldValueError(NOT_FILE.format(value=shorten(raw)))
        return [file_metadata(item) for item in items] or None

    def files_in(self, value: Any) -> list[dict[str, Any]]:
        """The files of a coerced value (the records layer checks each is stored)."""
        return list(value or ())

    def not_stored(self, item: Mapping[str, Any]) -> Label:
        return NOT_STORED.format(name=shorten(item.get("name") or item.get("id")))

    def file_problems(self, field: FieldDef, item: Mapping[str, Any]) -> list[Label]:
        problems = []
        if item["size"] > self.max_size(field):
            problems.append(TOO_BIG.format(name=item["name"], limit=size_text(self.max_size(field))))
        accept = self.accepted(field)
        if accept and extension(item["name"]) not in accept:
            problems.append(BAD_EXTENSION.format(name=item["name"], accept=", ".join(accept)))
        if item["sha256"] is not None and not SHA256.match(item["sha256"]):
            problems.append(BAD_HASH.format(name=item["name"]))
        return problems

    def validate(self, field: FieldDef, value: Any) -> list[Label]:
        messages = []
        if len(value) > self.max_files(field):
            messages.append(TOO_MANY_FILES.format(max=self.max_files(field)))
        for item in value:
            messages.extend(self.file_problems(field, item))
        return messages

    def formula_value(self, field: FieldDef, value: Any) -> Any:
        return None if value is None else [item["name"] for item in value]

    def display(self, field: FieldDef, value: Any, locale: str = "zh") -> str:
        if not value:
            return ""
        items = value if isinstance(value, list) else [value]
        return ("、" if locale.lower().startswith("zh") else ", ").join(item["name"] for item in items)

    def export_value(self, field: FieldDef, value: Any, locale: str = "zh") -> Any:
        return self.display(field, value, locale) or None

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        return {"type": "array", "items": FILE_JSON_SCHEMA, "maxItems": self.max_files(field)}

    def fake_file(self, field: FieldDef, rng: random.Random) -> dict[str, Any]:
        names = ("报价单.pdf", "合同扫描件.pdf", "需求说明.docx", "产品清单.xlsx", "现场照片.jpg")
        accept = self.accepted(field)
        name = rng.choice([n for n in names if not accept or extension(n) in accept] or names)
        if accept and extension(name) not in accept:
            name = f"附件.{accept[0]}"
        return {
            "id": f"demo-{rng.getrandbits(48):012x}",
            "name": name,
            "size": rng.randint(10_000, min(2 * MB, self.max_size(field))),
            "content_type": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "sha256": f"{rng.getrandbits(256):064x}",
        }

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        return [self.fake_file(field, rng) for _ in range(rng.randint(1, min(2, self.max_files(field))))]


class ImageType(AttachmentType):
    """Pictures (png, jpg, gif, webp, bmp, svg)."""

    key = "image"
    label = Label("图片", "Image")
    default_max_files = 9
    default_max_size = 10 * MB
    settings_schema = settings_object({
        "max_files": {"type": "integer", "minimum": 1, "maximum": 100},
        "max_size": {"type": "integer", "minimum": 1},
    })

    def accepted(self, field: FieldDef) -> tuple[str, ...]:
        return IMAGE_EXTENSIONS

    def file_problems(self, field: FieldDef, item: Mapping[str, Any]) -> list[Label]:
        problems = super().file_problems(field, item)
        if not item["content_type"].startswith("image/"):
            problems.append(NOT_IMAGE.format(name=item["name"]))
        return problems

    def fake_file(self, field: FieldDef, rng: random.Random) -> dict[str, Any]:
        name = rng.choice(("现场照片.jpg", "名片.png", "产品图.webp"))
        return {
            "id": f"demo-{rng.getrandbits(48):012x}",
            "name": name,
            "size": rng.randint(50_000, min(3 * MB, self.max_size(field))),
            "content_type": mimetypes.guess_type(name)[0] or "image/jpeg",
            "sha256": f"{rng.getrandbits(256):064x}",
        }


class SignatureType(ImageType):
    """A hand-written signature: one image, its metadata a single dict."""

    key = "signature"
    label = Label("手写签名", "Signature")
    formula_type = "text"
    settings_schema = settings_object({})

    def max_files(self, field: FieldDef) -> int:
        return 1

    def from_db(self, field: FieldDef, row: Mapping[str, Any]) -> Any:
        stored = row.get(field.key)
        return file_metadata(stored) if stored else None

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        files = super().coerce(field, raw)
        if files is None:
            return None
        if len(files) > 1:
            raise FieldValueError(TOO_MANY_FILES.format(max=1))
        return files[0]

    def files_in(self, value: Any) -> list[dict[str, Any]]:
        return [value] if value else []

    def validate(self, field: FieldDef, value: Any) -> list[Label]:
        return self.file_problems(field, value)

    def formula_value(self, field: FieldDef, value: Any) -> Any:
        return None if value is None else value["name"]

    def json_schema(self, field: FieldDef) -> dict[str, Any]:
        return FILE_JSON_SCHEMA

    def fake(self, field: FieldDef, rng: random.Random) -> Any:
        return {
            "id": f"demo-{rng.getrandbits(48):012x}",
            "name": "signature.png",
            "size": rng.randint(5_000, 60_000),
            "content_type": "image/png",
            "sha256": f"{rng.getrandbits(256):064x}",
        }
