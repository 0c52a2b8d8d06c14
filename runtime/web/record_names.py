"""Names for the ids a form's pickers hold (a record's title, a person's or
a department's name), only of records the reader may read: for the form
page's inputs, the pickers' answers and the list filters' chips."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from engine.definitions.model import FieldDef
from engine.records import RecordService
from engine.records.compiled import CompiledForm
from runtime.web.form_inputs import FORM_INPUTS, InputContext
from runtime.web.i18n import current_language

if TYPE_CHECKING:
    from runtime.web.form_page import FieldView


def name_ids(service: RecordService, compiled: CompiledForm, views: Iterable[FieldView], org: Any,
             actor: Any) -> dict[str, dict[int, str]]:
    """Text for the ids that relation, member and department inputs hold:
    a record's title (only records the reader may read), a person's or a
    department's name."""
    wanted: dict[str, tuple[FieldDef, set[int]]] = {}
    for view in views:
        if view.f.type in ("relation", "member", "department") and view.path:
            ids = {i for i, _ in FORM_INPUTS.get(view.f.type).shown(view.f, view.ftype, view.value,
                                                                     InputContext(), "")}
            if ids:
                entry = wanted.setdefault(view.path, (view.f, set()))
                entry[1].update(ids)
    names: dict[str, dict[int, str]] = {}
    people: dict[str, dict[int, str]] = {}
    for path, (f, ids) in wanted.items():
        if f.type == "relation":
            names[path] = record_titles(service, str(f.setting("target")), ids, actor)
        else:
            if f.type not in people:
                items = org.list_users() if f.type == "member" else org.list_departments()
                people[f.type] = {item.id: item.name for item in items}
            names[path] = {i: people[f.type].get(i, f"#{i}") for i in ids}
    return names


def record_titles(service: RecordService, target: str, ids: Iterable[int], actor: Any) -> dict[int, str]:
    """Titles of the records of ``target`` among ``ids`` the reader may read."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    compiled, _ = service.form(target)
    title = compiled.form.title_field
    page = service.list(target, filter={"field": "id", "op": "in", "value": ids},
                        fields=[title] if title else [], limit=len(ids), actor=actor)
    return {int(r["id"]): title_text(compiled, r) for r in page["records"]}


def title_text(compiled: CompiledForm, record: Mapping[str, Any]) -> str:
    title = compiled.form.title_field
    if title and record.get(title) not in (None, ""):
        f = compiled.form.get_field(title)
        return compiled.types[title].display(f, record[title], current_language())
    return f"#{record['id']}"
