"""Old imports go away: a finished import job (done, failed or cancelled)
that ended before a cut-off is removed with the file it imported.

Every import keeps its uploaded file and its job row (with the report and
the failed rows) so the reader can come back to it; nothing removed either.
``clean_imports`` runs at the start of every import (older than
``KEEP_DAYS``) and from ``qiqiao imports clean --older-than 7d``. A file
that a kept job still names (another import of the same upload, one still
running) stays.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import cast

import sqlalchemy as sa

from engine.core.errors import NotFoundError
from engine.store.database import Database
from engine.store.files import FileStorage
from engine.store.models import ImportJob as ImportJobRow

JOBS = cast(sa.Table, ImportJobRow.__table__)
FINISHED = ("done", "failed", "cancelled")
KEEP_DAYS = 7
CHUNK = 500


@dataclass(frozen=True)
class Cleaned:
    """What a clean-up removed."""

    jobs: int
    files: int


def clean_imports(database: Database, files: FileStorage, before: dt.datetime) -> Cleaned:
    """Remove the finished jobs that ended before ``before``, and their files."""
    ended = JOBS.c.status.in_(FINISHED) & (JOBS.c.finished_at < before)
    with database.reading() as conn:
        old = conn.execute(sa.select(JOBS.c.id, JOBS.c.file_id).where(ended)).all()
    if not old:
        return Cleaned(0, 0)
    ids = [row.id for row in old]
    with database.transaction() as conn:
        for start in range(0, len(ids), CHUNK):
            conn.execute(sa.delete(JOBS).where(JOBS.c.id.in_(ids[start:start + CHUNK])))
    candidates = sorted({row.file_id for row in old})
    with database.reading() as conn:
        kept = {file_id for start in range(0, len(candidates), CHUNK)
                for file_id in conn.execute(sa.select(JOBS.c.file_id).distinct()
                                            .where(JOBS.c.file_id.in_(candidates[start:start + CHUNK]))).scalars()}
    removed = 0
    for file_id in candidates:
        if file_id in kept:
            continue
        with contextlib.suppress(NotFoundError):  # removed by hand, or by a clean-up running alongside
            files.delete(file_id)
            removed += 1
    return Cleaned(len(ids), removed)
