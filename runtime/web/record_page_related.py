"""Related lists on a record page: for every relation field of every form
of the app that points at the record's form (on a customer: its contacts,
opportunities, follow-ups, contracts, tickets ...), the records of that form
pointing at this one, as far as the reader may read them.

``relations_to`` works from the definitions only (which lists the page
offers, no query); ``related_list`` reads one list, lazily, when the page
asks for it: a few rows with the first columns of the form's default view,
the count, "show all" (the list page filtered by the relation) and "add"
(the create form with the relation filled in).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup

from engine.core.i18n import Label
from engine.definitions.model import AppDef, FieldDef, FormDef
from engine.records import Actor, RecordService
from engine.records.columns import system_field
from engine.records.filters import SYSTEM_FIELDS
from runtime.web.display import Shown
from runtime.web.navigation import form_url

ROWS = 5  # rows shown per related list; "show all" opens the rest on the list page
COLUMNS = 4
COUNT_CAP = 1000


@dataclass(frozen=True)
class Relation:
    """A relation field ``field`` of form ``form`` pointing at the page's form."""

    form: FormDef
    field: FieldDef

    @property
    def key(self) -> str:
        return f"{self.form.key}-{self.field.key}"

    @property
    def multiple(self) -> bool:
        return bool(self.field.setting("multiple"))

    def filter(self, record_id: int) -> dict[str, Any]:
        if self.multiple:
            return {"field": self.field.key, "op": "has_any", "value": [record_id]}
        return {"field": self.field.key, "op": "eq", "value": record_id}


def relations_to(app: AppDef, form_key: str, actor: Actor, service: RecordService) -> list[Relation]:
    """Relations of the app's forms to ``form_key`` the reader may list by:
    they may read the form, and every role that lets them read it shows the
    relation field (otherwise its values are not theirs to filter by)."""
    found = []
    for form in app.forms:
        for f in form.fields:
            if f.type != "relation" or f.setting("target") != form_key:
                continue
            policy = actor.policy(service, form.key)
            if not policy.rights.allows("read"):
                continue
            if not policy.unrestricted and f.key not in policy.rights.fields_every_reader_shows([f.key]):
                continue
            found.append(Relation(form, f))
    return found


def find_relation(app: AppDef, form_key: str, source_form: str, field_key: str) -> Relation | None:
    form = app.form(source_form)
    f = form.field(field_key) if form is not None else None
    if form is None or f is None or f.type != "relation" or f.setting("target") != form_key:
        return None
    return Relation(form, f)


def _columns(relation: Relation, hidden: frozenset[str]) -> list[FieldDef]:
    """The title first, then the first columns of the form's default view
    (plain fields and system fields; not the relation itself, which is this record)."""
    form = relation.form
    keys: list[str] = [form.title_field] if form.title_field else []
    view = form.list_views[0] if form.list_views else None
    keys += list(view.columns) if view else [f.key for f in form.fields]
    chosen: list[FieldDef] = []
    for key in dict.fromkeys(keys):
        f = form.field(key) or (system_field(key) if key in SYSTEM_FIELDS and key != "id" else None)
        if f is None or key == relation.field.key or key in hidden or f.type in (
                "section", "divider", "note", "subform", "rich_text"):
            continue
        chosen.append(f)
        if len(chosen) == COLUMNS:
            break
    return chosen


@dataclass
class RelatedList:
    relation: Relation
    columns: list[FieldDef]
    rows: list[tuple[int, str, list[Markup]]]  # (id, title, cells)
    count: int
    exact: bool
    all_url: str
    add_url: str | None


def related_list(service: RecordService, app_key: str, relation: Relation, record_id: int,
                 actor: Actor) -> RelatedList:
    form = relation.form
    policy = actor.policy(service, form.key)
    columns = _columns(relation, policy.hidden_everywhere())
    spec = relation.filter(record_id)
    view = form.list_views[0] if form.list_views else None
    sort = [{"field": s.field, "desc": s.desc} for s in view.sort] if view else []
    page = service.list(form.key, filter=spec, sort=sort or ["-updated_at"], limit=ROWS, actor=actor)
    records = page["records"]
    count, exact = (len(records), True) if page["next"] is None else service.count(
        form.key, filter=spec, cap=COUNT_CAP, actor=actor)
    shown = Shown.prepare(service, app_key, form.key, columns, records, guard=policy.guard())
    rows = []
    for record in records:
        title = record.get(form.title_field) if form.title_field else None
        cells = [shown.value(f, record.get(f.key)) for f in columns if f.key != form.title_field]
        rows.append((int(record["id"]), str(title) if title not in (None, "") else f"#{record['id']}", cells))
    add_url = None
    if policy.rights.allows("create"):
        add_url = f"{form_url(app_key, form.key)}/new?" + urlencode({relation.field.key: record_id})
    all_url = f"{form_url(app_key, form.key)}?filter=" + quote(json.dumps(spec, separators=(",", ":")))
    return RelatedList(relation, [f for f in columns if f.key != form.title_field], rows, count, exact,
                       all_url, add_url)


def title_column_label(relation: Relation) -> Label:
    title = relation.form.field(relation.form.title_field) if relation.form.title_field else None
    return title.label if title is not None else Label("编号", "ID")
