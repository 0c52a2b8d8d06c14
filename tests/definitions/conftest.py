"""Fixtures for the definition loader: the field types, and packages written to disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from package_helpers import APP, Forms, write

from engine.core.registry import Registry
from engine.definitions import format_issues, validate_package
from engine.fields import FIELD_TYPES, FieldType


@pytest.fixture(scope="session")
def field_types() -> Registry[FieldType]:
    """The real registry: the loader is tested against the built-in field types."""
    return FIELD_TYPES


@pytest.fixture
def issues_of(tmp_path: Path, field_types: Registry[FieldType]) -> Callable[..., list[str]]:
    """The issues (English lines) of a package made of ``forms`` and ``app``."""
    counter = iter(range(1000))

    def run(form_files: Forms, app: dict[str, Any] | str | None = None, locale: str = "en") -> list[str]:
        root = write(tmp_path / f"pkg{next(counter)}", APP if app is None else app, form_files)
        found = validate_package(root, field_types)
        return format_issues(found, locale).splitlines()

    return run
