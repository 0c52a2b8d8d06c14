"""The inputs that choose: a multiselect's options, and the searching
pickers of members, departments and related records (ids)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.definitions.model import FieldDef
from engine.fields.base import FieldType
from runtime.web.form_inputs_base import ABSENT, FormInput, InputContext, Posted


class MultiInput(FormInput):
    """Repeated names after a blank marker: the list of what is chosen."""

    def decode(self, posted: Posted, name: str, f: FieldDef) -> Any:
        if name not in posted:
            return ABSENT
        return [v for v in posted.getlist(name) if v.strip()]

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        if value is None or value == "":
            return []
        return [str(v) for v in (value if isinstance(value, list | tuple) else [value])]


class MultiselectInput(MultiInput):
    key = "multiselect"


def _ids(value: Any) -> list[int]:
    items = value if isinstance(value, list | tuple) else [value]
    found = []
    for item in items:
        if isinstance(item, Mapping):
            item = item.get("id")
        if isinstance(item, int) and not isinstance(item, bool):
            found.append(item)
        elif isinstance(item, str) and item.strip().isdigit():
            found.append(int(item.strip()))
    return found


class PickerInput(MultiInput):
    """Ids chosen in a searching picker (Tom Select over ``pick/<field>``)."""

    def decode(self, posted: Posted, name: str, f: FieldDef) -> Any:
        chosen = super().decode(posted, name, f)
        if chosen is ABSENT or f.setting("multiple"):
            return chosen
        return chosen[-1] if chosen else ""

    def shown(self, f: FieldDef, ftype: FieldType, value: Any, ctx: InputContext, path: str) -> Any:
        if value is None or value == "":
            return []
        return [(i, ctx.name_of(path, i)) for i in _ids(value)]


class MemberInput(PickerInput):
    key = "member"


class DepartmentInput(PickerInput):
    key = "department"


class RelationInput(PickerInput):
    key = "relation"
