"""Uploaded files: content-addressed in a folder, one row each in ``files``."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.core.clock import FixedClock
from engine.core.errors import NotFoundError, ValidationError
from engine.store.database import Database
from engine.store.files import FileStorage, LocalFolderStorage, safe_name
from engine.store.models import StoredFile

CLOCK = FixedClock(dt.datetime(2026, 5, 20, 10, 0))


@pytest.fixture
def storage(database: Database, tmp_path: Path) -> LocalFolderStorage:
    return LocalFolderStorage(tmp_path / "files", database, max_size=1024, clock=CLOCK)


def test_saving_keeps_the_bytes_by_their_hash_and_a_row(storage: LocalFolderStorage) -> None:
    content = "报价单 v1".encode()
    info = storage.save(content, "报价单.pdf", "application/pdf")
    digest = hashlib.sha256(content).hexdigest()
    assert (info.name, info.size, info.content_type, info.sha256) == (
        "报价单.pdf",
        len(content),
        "application/pdf",
        digest,
    )
    assert storage.path_of(digest) == storage.root / digest[:2] / digest[2:4] / digest
    with storage.open(info.id) as stream:
        assert stream.read() == content
    assert storage.info(info.id) == info
    with storage.database.engine.connect() as connection:
        row = connection.execute(sa.select(StoredFile.__table__)).one()
    assert row.storage_key == f"{digest[:2]}/{digest[2:4]}/{digest}"
    assert row.created_at is not None


def test_a_stream_is_read_in_chunks(storage: LocalFolderStorage) -> None:
    info = storage.save(io.BytesIO(b"x" * 1000), "x.bin")
    assert info.size == 1000
    assert info.content_type == "application/octet-stream"


def test_the_same_content_is_stored_once_and_kept_while_used(storage: LocalFolderStorage) -> None:
    first = storage.save(b"same", "a.txt", "text/plain")
    second = storage.save(b"same", "b.txt", "text/plain")
    assert first.id != second.id
    blobs = [p for p in storage.root.rglob("*") if p.is_file()]
    assert len(blobs) == 1
    storage.delete(first.id)
    assert blobs[0].exists()
    storage.delete(second.id)
    assert not blobs[0].exists()
    with pytest.raises(NotFoundError):
        storage.open(second.id)


def test_a_file_over_the_limit_is_refused_and_leaves_nothing(storage: LocalFolderStorage) -> None:
    with pytest.raises(ValidationError, match="larger than the limit"):
        storage.save(io.BytesIO(b"y" * 2000), "big.bin")
    assert [p for p in storage.root.rglob("*") if p.is_file()] == []
    with storage.database.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(StoredFile)).scalar() == 0


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\li\\合同.docx", "合同.docx"),
        ("a\x00b<>.txt", "a_b_.txt"),
        ("...", "file"),
        ("", "file"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_names_are_made_safe(given: str, safe: str) -> None:
    assert safe_name(given) == safe


def test_a_content_type_that_is_not_one_is_replaced(storage: LocalFolderStorage) -> None:
    assert storage.save(b"z", "z", "text/html; <script>").content_type == "application/octet-stream"


def test_local_folder_storage_is_a_file_storage(storage: LocalFolderStorage) -> None:
    used: FileStorage = storage
    assert used.save(b"ok", "ok.txt").size == 2
