"""The record page's history: the record's audit entries (the same engine
call as ``GET .../records/<id>/history``), newest first, a page at a time,
each with who, when, what happened and the changed fields, old → new, shown
by their types. The engine has already left out of each diff the fields the
reader may not see; so is any key that is not a field of the form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from engine.core.i18n import Label
from engine.definitions.model import FieldDef
from engine.fields.base import FieldValueError
from engine.records import Actor, RecordService
from engine.records.columns import system_field
from engine.records.record_history import record_history
from engine.store.audit import AuditRecord
from runtime.web.display import Shown
from runtime.web.i18n import N_, gettext

PAGE = 20
COMPACT_IN_HISTORY = frozenset({"attachment", "image", "signature", "subform", "rich_text"})

# What an entry's action says ("Zhang Wei changed it").
ACTIONS = {
    "create": N_("created"), "update": N_("changed"), "delete": N_("deleted"),
    "recompute": N_("recomputed"), "export": N_("exported"), "print": N_("printed"),
    "flow": N_("moved the approval status"),
}
# A record's flow_status as people say it (the approval panel's words).
FLOW_STATUS = {"draft": N_("Draft"), "running": N_("In approval"), "approved": N_("Approved"),
               "rejected": N_("Rejected"), "withdrawn": N_("Withdrawn")}
# Through what, when it was not a person on a page or the API.
SOURCES = {
    "rule": N_("by a rule"), "import": N_("by an import"), "flow": N_("by a workflow"),
}


@dataclass(frozen=True)
class Change:
    label: Label
    before: Markup
    after: Markup


@dataclass(frozen=True)
class Entry:
    record: AuditRecord
    action: str
    source: str | None
    changes: list[Change]
    rule: Label | None = None  # the rule whose action wrote it
    flow: Label | None = None  # the approval flow that wrote it


def _rule_label(service: RecordService, ref: str | None, source: str | None) -> tuple[Label | None, Label | None]:
    """The label of the rule (or, for a flow's write, the flow) ``<app>.<key>``
    that wrote an entry — its key when it is gone — as (rule, flow)."""
    if not ref:
        return None, None
    app, _, key = ref.partition(".")
    ours = app == service.app.key
    if source == "flow":
        flow = service.app.flow(key) if ours else None
        return None, flow.label if flow is not None else Label(ref, ref)
    rule = service.app.rule(key) if ours else None
    return (rule.label if rule is not None else Label(ref, ref)), None


def _value(f: FieldDef, service: RecordService, raw: Any) -> Any:
    """An audit value (JSON) as a value of its field, for display."""
    if raw is None:
        return None
    if f.key == "flow_status" and raw in FLOW_STATUS:
        return gettext(FLOW_STATUS[raw])
    try:
        return service.field_types.get(f.type).coerce(f, raw)
    except (FieldValueError, ValueError, TypeError, ArithmeticError):
        # A value written under an older definition: shown as it was written.
        return str(raw)


def history_page(service: RecordService, app_key: str, form_key: str, record_id: int, actor: Actor,
                 before: int | None = None) -> tuple[list[Entry], int | None]:
    """A page of entries, and the ``before`` of the next page (None: no more)."""
    records = record_history(service, form_key, record_id, actor=actor, limit=PAGE, before=before)
    form = service.form(form_key)[0].form
    changed: list[list[tuple[FieldDef, Any, Any]]] = []  # per entry: field, before, after
    for entry in records:
        pairs = []
        for key, pair in (entry.changes or {}).items():
            f = form.field(key) or system_field(key)
            if f is None or service.field_types.get(f.type).layout or not isinstance(pair, list) or len(pair) < 2:
                continue
            pairs.append((f, _value(f, service, pair[0]), _value(f, service, pair[1])))
        changed.append(pairs)
    fields = {f.key: f for pairs in changed for f, _, _ in pairs}
    values = [{f.key: v} for pairs in changed for f, old, new in pairs for v in (old, new)]
    shown = Shown.prepare(service, app_key, form_key, fields.values(), values,
                          guard=actor.policy(service, form_key).guard(), compact=False, record_id=record_id)
    entries = [
        Entry(entry, ACTIONS.get(entry.action, entry.action), SOURCES.get(entry.source or ""),
              [Change(f.label, _shown(shown, f, old), _shown(shown, f, new)) for f, old, new in pairs],
              *_rule_label(service, entry.rule, entry.source))
        for entry, pairs in zip(records, changed, strict=True)
    ]
    return entries, (records[-1].id if len(records) == PAGE else None)


def _shown(shown: Shown, f: FieldDef, value: Any) -> Markup:
    # Old files no longer belong to the record (their names are enough), and
    # a whole subform table or article twice per change would bury the rest.
    if f.type in COMPACT_IN_HISTORY:
        compact = Shown(shown.service, shown.app_key, shown.form_key, shown.names)
        return compact.value(f, value)
    return shown.value(f, value)
