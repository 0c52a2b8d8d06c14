"""Checking an upload before the file storage keeps it: its type and size.

What a file *is* is decided here, not by the client: the content's first
bytes (the signatures of common formats) and the name's extension must
agree, the type stored is the one they give (the client's ``Content-Type``
only where neither says anything), and a file must be neither empty nor
larger than the storage's limit (the storage counts while it writes).
``accept_upload`` is what the API calls; it returns the stored file's
metadata, whose ``id`` goes into an attachment, image or signature value.
"""

from __future__ import annotations

import io
import mimetypes
from collections.abc import Iterator
from typing import IO, BinaryIO, cast

from engine.core.errors import ValidationError
from engine.core.i18n import Label, Message
from engine.store.files import DEFAULT_CONTENT_TYPE, FileInfo, FileStorage, safe_name

HEAD = 64
# Leading bytes of formats worth telling apart, and the type they are.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"BM", "image/bmp"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x7fELF", "application/x-executable"),
    (b"MZ", "application/x-msdownload"),
)
# Office documents are zip files: a zip body under their names is what they are.
ZIP_FAMILY = ("application/zip", "application/vnd.openxmlformats", "application/epub+zip",
              "application/vnd.oasis.opendocument", "application/java-archive")
EMPTY = Label("文件是空的", "The file is empty")
MISMATCH = Message("文件内容（{found}）与文件名 {name} 不符",
                   "The file's content ({found}) does not match its name {name}")
EXECUTABLE = Message("不接受可执行文件：{name}", "Executable files are not accepted: {name}")


def sniff(head: bytes) -> str | None:
    """The type the content's first bytes say, or None when they say nothing known."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for signature, kind in SIGNATURES:
        if head.startswith(signature):
            return kind
    return None


def _agrees(by_content: str, by_name: str) -> bool:
    if by_content == by_name:
        return True
    if by_content == "application/zip":
        return by_name.startswith(ZIP_FAMILY)
    if by_content == "image/bmp":  # "BM" starts plenty of text too: only a claimed image must be one
        return not by_name.startswith("image/")
    return False


def upload_type(name: str, head: bytes, declared: str | None) -> str:
    """The content type a file is stored with (``ValidationError`` when its
    content and its name disagree, or it is a program)."""
    by_content = sniff(head)
    by_name = mimetypes.guess_type(name)[0]
    if by_content in ("application/x-executable", "application/x-msdownload"):
        raise ValidationError(EXECUTABLE.format(name=name), field_errors={"file": [EXECUTABLE.format(name=name)]})
    if by_content is not None and by_name is not None and not _agrees(by_content, by_name):
        problem = MISMATCH.format(found=by_content, name=name)
        raise ValidationError(problem, field_errors={"file": [problem]})
    if by_name is not None:
        return by_name
    if by_content is not None:
        return by_content
    if declared and not declared.startswith(("image/", "text/")):
        # Neither name nor content says: the client's word, but never an image
        # (an image field would then take it) nor text a browser might render.
        return declared
    return DEFAULT_CONTENT_TYPE


def _rest(head: bytes, stream: IO[bytes]) -> Iterator[bytes]:
    yield head
    while chunk := stream.read(1024 * 1024):
        yield chunk


class _Joined(io.RawIOBase):
    """The head already read, then the rest of the stream, as one stream."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._chunks = _rest(head, stream)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._buffer = chunk
        if size < 0 or size >= len(self._buffer):
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


def accept_upload(
    storage: FileStorage, stream: IO[bytes], name: str, declared: str | None = None, *,
    created_by: int | None = None,
) -> FileInfo:
    """Check an uploaded file and keep it: its metadata (``ValidationError``
    at ``file`` when it is empty, too large, a program, or not what its name says)."""
    shown = safe_name(name)
    head = stream.read(HEAD)
    if not head:
        raise ValidationError(EMPTY, field_errors={"file": [EMPTY]})
    kind = upload_type(shown, head, declared)
    try:
        return storage.save(cast(BinaryIO, _Joined(head, stream)), shown, kind, created_by=created_by)
    except ValidationError as error:
        if error.field_errors:
            raise
        raise ValidationError(error.message, field_errors={"file": [error.message]}) from None
