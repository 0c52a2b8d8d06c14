"""What the loader needs from field types, without importing them.

``engine.definitions`` sits below ``engine.fields`` (DESIGN §2), so it never
imports the field type registry; the caller passes it in
(``load_package(path, FIELD_TYPES)``). Anything shaped like these protocols
works: the real ``Registry[FieldType]``, or a small fake in a test.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from engine.core.i18n import Label
from engine.definitions.model import FieldDef, Reference


class SettingsProblem(Protocol):
    """A problem with a field's settings at ``path`` below the field (``options[2].key``)."""

    @property
    def path(self) -> str: ...

    @property
    def message(self) -> Label: ...


class FieldTypeContract(Protocol):
    """The part of ``engine.fields.base.FieldType`` the loader uses."""

    @property
    def settings_schema(self) -> Mapping[str, Any]: ...

    @property
    def stored(self) -> bool: ...

    @property
    def default_storage(self) -> str: ...

    @property
    def computed(self) -> bool: ...

    def storage_for(self, field: FieldDef) -> str: ...

    def operators_for(self, field: FieldDef) -> tuple[str, ...]: ...

    def formula_type_for(self, field: FieldDef) -> str: ...

    def check_settings(self, field: FieldDef) -> Sequence[SettingsProblem]: ...

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        """The value for an input; raises a ``ValueError`` (``FieldValueError``,
        with a ``message`` Label) when the input is not one."""

    def validate(self, field: FieldDef, value: Any) -> Sequence[Label]: ...

    def references(self, field: FieldDef) -> Sequence[Reference]: ...


class FieldTypes(Protocol):
    """A registry of field types: ``engine.fields.FIELD_TYPES`` or a fake."""

    def find(self, key: str) -> FieldTypeContract | None: ...

    def keys(self) -> Iterable[str]: ...
