"""The trigger registry: what fires a rule.

A ``Trigger`` type has a key, a label, the JSON Schema of its settings (the
rule's ``trigger`` mapping without ``type``), a ``check`` and, for the
triggers that follow record events, the event kinds it hears (``events``)
and ``matches``. Triggers without events are fired from outside: a button
or an API call (``manual``), the worker's clock (``schedule``,
``date_relative``), an inbound request (``webhook``). The flow triggers
(``engine.rules.flow_triggers``) hear the approval flows' events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from engine.actions.base import RuleChecker
from engine.core.i18n import Label
from engine.core.registry import Registry
from engine.definitions.issues import Path
from engine.definitions.model import FormDef
from engine.records.events import RECORD_CREATED, RECORD_DELETED, RECORD_UPDATED, RecordEvent


class Trigger:
    """One kind of trigger (see the module docstring)."""

    key: ClassVar[str]
    label: ClassVar[Label]
    description: ClassVar[Label]
    settings_schema: ClassVar[dict[str, Any]] = {"type": "object", "additionalProperties": False}
    # The record event kinds this trigger hears (empty: fired from outside).
    events: ClassVar[frozenset[str]] = frozenset()

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        """Report what is wrong with ``settings`` beyond their schema."""

    def matches(self, settings: Mapping[str, Any], event: RecordEvent) -> bool:
        """Whether ``event`` (of one of ``events``) fires a rule with these settings."""
        return True

    def describe(self, settings: Mapping[str, Any], form: FormDef) -> Label:
        """The trigger in words for the admin pages ("when a 线索 is created",
        "30 days before 合同.结束日期"); ``form`` is the rule's form."""
        return self.label


class RecordCreated(Trigger):
    key = "record_created"
    label = Label("新建记录时", "When a record is created")
    description = Label("表单中新增一条记录后触发", "Fires after a record of the form is created")
    events = frozenset({RECORD_CREATED})

    def describe(self, settings: Mapping[str, Any], form: FormDef) -> Label:
        return Label(f"新建{form.label.zh}时", f"when a {form.label.en} is created")


class RecordUpdated(Trigger):
    key = "record_updated"
    label = Label("修改记录时", "When a record is updated")
    description = Label("记录被修改后触发；可只在指定字段变化时触发",
                        "Fires after a record of the form changes; optionally only when given fields change")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {"fields": {"type": "array", "minItems": 1, "items": {"type": "string"},
                                  "description": "Fire only when one of these fields changed."}},
    }
    events = frozenset({RECORD_UPDATED})

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        for i, key in enumerate(settings.get("fields", ())):
            checker.field((*path, "fields", i), key)

    def matches(self, settings: Mapping[str, Any], event: RecordEvent) -> bool:
        fields = settings.get("fields")
        return not fields or not event.changed.isdisjoint(fields)

    # How ``describe`` words it: (zh verb, en verb) for the record, then for its fields.
    record_words = ("修改", "is changed")
    field_words = ("变化", "changes")

    def describe(self, settings: Mapping[str, Any], form: FormDef) -> Label:
        if not settings.get("fields"):
            return Label(f"{self.record_words[0]}{form.label.zh}时", f"when a {form.label.en} {self.record_words[1]}")
        names = [f.label if (f := form.field(key)) is not None else Label(key, key) for key in settings["fields"]]
        return Label(f"{form.label.zh}的{'、'.join(n.zh for n in names)}{self.field_words[0]}时",
                     f"when {', '.join(n.en for n in names)} of a {form.label.en} {self.field_words[1]}")


class RecordSaved(RecordUpdated):
    """Created or updated: for rules about a value however it was entered
    (a follow-up's next date, set on the first save or a later one)."""

    key = "record_saved"
    label = Label("保存记录时", "When a record is saved")
    description = Label("新建或修改记录后触发；可只在指定字段有值或变化时触发",
                        "Fires after a record of the form is created or changed; optionally only when given "
                        "fields are filled in or change")
    events = frozenset({RECORD_CREATED, RECORD_UPDATED})
    record_words = ("保存", "is saved")
    field_words = ("填写或变化", "is set or changes")


class RecordDeleted(Trigger):
    key = "record_deleted"
    label = Label("删除记录时", "When a record is deleted")
    description = Label("记录被删除后触发（动作读到的是删除前的记录）",
                        "Fires after a record of the form is deleted (actions see the record as it was)")
    events = frozenset({RECORD_DELETED})

    def describe(self, settings: Mapping[str, Any], form: FormDef) -> Label:
        return Label(f"删除{form.label.zh}时", f"when a {form.label.en} is deleted")


class Manual(Trigger):
    key = "manual"
    label = Label("手动触发", "Manual")
    description = Label("记录页上的按钮或 API 调用触发，可要求确认",
                        "Fired by a button on the record page or an API call, with an optional confirmation")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {
            "button": {"$ref": "#/$defs/label", "description": "The button's text (the rule's label by default)."},
            "confirm": {"$ref": "#/$defs/label", "description": "A question to confirm before it runs."},
        },
        "$defs": {"label": {"anyOf": [
            {"type": "string", "minLength": 1},
            {"type": "object", "properties": {"zh": {"type": "string"}, "en": {"type": "string"}},
             "minProperties": 1, "additionalProperties": False},
        ]}},
    }

    def describe(self, settings: Mapping[str, Any], form: FormDef) -> Label:
        return Label(f"在{form.label.zh}记录页上手动运行", f"by hand, on a {form.label.en}'s page")


def build_triggers() -> Registry[Trigger]:
    # Imported here: those modules build on ``Trigger`` above.
    from engine.rules.flow_triggers import FLOW_TRIGGERS
    from engine.rules.timers import TIMER_TRIGGERS
    from engine.rules.webhooks import Webhook

    registry: Registry[Trigger] = Registry("trigger")
    registry.register_all([RecordCreated(), RecordUpdated(), RecordSaved(), RecordDeleted(), Manual(), *TIMER_TRIGGERS,
                           Webhook(), *FLOW_TRIGGERS])
    return registry


TRIGGERS: Registry[Trigger] = build_triggers()
