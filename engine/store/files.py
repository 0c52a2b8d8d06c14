"""Uploaded files (attachments, images, signatures): bytes in a storage, a row in ``files``.

``FileStorage`` is what the rest of the engine uses; ``LocalFolderStorage``
keeps the bytes in a folder, content-addressed (``ab/cd/<sha256>``), so the
same content uploaded twice is stored once and a name given by a user never
becomes a path. Each saved file gets its own id and row (name, type, size,
hash, who and when); the bytes go when the last row pointing at them does.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import sqlalchemy as sa

from engine.core.clock import Clock, SystemClock
from engine.core.errors import NotFoundError, ValidationError
from engine.core.i18n import Label
from engine.store.database import Database
from engine.store.models import StoredFile

DEFAULT_MAX_SIZE = 20 * 1024 * 1024
CHUNK = 1024 * 1024
MAX_NAME = 200
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")
_CONTENT_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+$")


@dataclass(frozen=True)
class FileInfo:
    """A stored file as the engine refers to it (a field value holds ``id``)."""

    id: str
    name: str
    size: int
    content_type: str
    sha256: str
    created_by: int | None = None


class FileStorage(Protocol):
    """Where uploaded files go. Implementations: ``LocalFolderStorage``
    (an object store can follow the same contract)."""

    def save(
        self,
        data: bytes | BinaryIO,
        name: str,
        content_type: str | None = None,
        *,
        created_by: int | None = None,
    ) -> FileInfo: ...

    def info(self, file_id: str) -> FileInfo: ...

    def open(self, file_id: str) -> BinaryIO: ...

    def delete(self, file_id: str) -> None: ...


def safe_name(name: str) -> str:
    """A file name fit to show and to offer for download: no folders, no
    control or reserved characters, not empty, at most ``MAX_NAME`` characters
    (the extension kept)."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" .")
    if not base:
        return "file"
    if len(base) > MAX_NAME:
        stem, dot, ext = base.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            base = f"{stem[: MAX_NAME - len(ext) - 1]}.{ext}"
        else:
            base = base[:MAX_NAME]
    return base


def chunks(data: bytes | BinaryIO) -> Iterable[bytes]:
    if isinstance(data, bytes | bytearray | memoryview):
        yield bytes(data)
        return
    while True:
        chunk = data.read(CHUNK)
        if not chunk:
            return
        yield chunk


class LocalFolderStorage:
    """Files in a folder on this machine, rows in the ``files`` table."""

    def __init__(
        self,
        root: str | Path,
        database: Database,
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        clock: Clock | None = None,
    ) -> None:
        self.root = Path(root)
        self.database = database
        self.max_size = max_size
        self.clock = clock or SystemClock()

    def path_of(self, sha256: str) -> Path:
        """Where content with this hash lives (the storage key, under the root)."""
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def save(
        self,
        data: bytes | BinaryIO,
        name: str,
        content_type: str | None = None,
        *,
        created_by: int | None = None,
    ) -> FileInfo:
        """Store ``data`` (bytes or a binary stream, read once in chunks).
        ``ValidationError`` when it is larger than ``max_size``."""
        self.root.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in chunks(data):
                    size += len(chunk)
                    if size > self.max_size:
                        raise ValidationError(
                            Label(
                                f"文件超过大小上限 {self.max_size} 字节",
                                f"The file is larger than the limit of {self.max_size} bytes",
                            )
                        )
                    digest.update(chunk)
                    out.write(chunk)
            sha256 = digest.hexdigest()
            target = self.path_of(sha256)
            if target.exists():
                os.unlink(temporary)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temporary, target)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
        kind = (
            content_type
            if content_type and _CONTENT_TYPE.match(content_type)
            else DEFAULT_CONTENT_TYPE
        )
        info = FileInfo(str(uuid.uuid4()), safe_name(name), size, kind.lower(), sha256, created_by)
        with self.database.transaction() as connection:
            connection.execute(
                sa.insert(StoredFile).values(
                    id=info.id,
                    name=info.name,
                    size=info.size,
                    content_type=info.content_type,
                    sha256=sha256,
                    storage_key=str(target.relative_to(self.root).as_posix()),
                    created_at=self.clock.now(),
                    created_by=created_by,
                )
            )
        return info

    def _row(self, connection: sa.Connection, file_id: str) -> StoredFile:
        row = connection.execute(
            sa.select(StoredFile.__table__).where(StoredFile.id == file_id)
        ).first()
        if row is None:
            raise NotFoundError(
                Label(f"文件 {file_id} 不存在", f"File {file_id} does not exist"),
                details={"file": file_id},
            )
        return StoredFile(**row._mapping)

    def info(self, file_id: str) -> FileInfo:
        with self.database.engine.connect() as connection:
            row = self._row(connection, file_id)
        return FileInfo(row.id, row.name, row.size, row.content_type, row.sha256, row.created_by)

    def open(self, file_id: str) -> BinaryIO:
        """The content, for reading (the caller closes it)."""
        with self.database.engine.connect() as connection:
            row = self._row(connection, file_id)
        return (self.root / row.storage_key).open("rb")

    def delete(self, file_id: str) -> None:
        """Remove the file's row; its bytes too when no other file shares them."""
        with self.database.transaction() as connection:
            row = self._row(connection, file_id)
            connection.execute(sa.delete(StoredFile).where(StoredFile.id == file_id))
            shared = connection.execute(
                sa.select(sa.func.count())
                .select_from(StoredFile)
                .where(StoredFile.sha256 == row.sha256)
            ).scalar_one()
        if not shared:
            (self.root / row.storage_key).unlink(missing_ok=True)
