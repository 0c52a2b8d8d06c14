"""Configuration from the environment (``QIQIAO_*``), in one place."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATABASE = "sqlite:///instance/qiqiao.sqlite3"


def database_url(override: str | None = None) -> str:
    """``--database`` if given, else ``QIQIAO_DATABASE_URL``, else a SQLite file
    under ``instance/`` in the current folder."""
    return override or os.environ.get("QIQIAO_DATABASE_URL") or DEFAULT_DATABASE


def files_folder() -> Path:
    """Where uploaded files are kept (``QIQIAO_FILES``, default ``instance/files``)."""
    return Path(os.environ.get("QIQIAO_FILES", "instance/files"))
