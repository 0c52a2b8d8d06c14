"""Actions that write records: create one, update this record, the records it
is linked with, or the records a filter matches, and delete records.

Values are formulas over the triggering record (``amount * 0.1``,
``name & " 合同"``, ``TODAY() + 30``); every write goes through the record
service as the rule's actor, so it is checked, audited as "by rule X" and
fires the rules that follow it, one cascade level deeper.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from engine.actions.base import Action, ActionContext, ActionResult, RuleChecker
from engine.core.i18n import Label
from engine.definitions.issues import Path
from engine.records import RecordService

# How many records one action may write: a filter that matches more is a
# mistake worth stopping (the run fails and says so) rather than a slow disaster.
MAX_RECORDS = 5000
PAGE = 500

_VALUES = {
    "type": "object", "minProperties": 1,
    "description": "Per field key: a formula over the triggering record.",
    "additionalProperties": {"type": "string"},
}
_FILTER = {"type": "object", "description": "A filter in the filter language (docs/records.md)."}
_TARGET = {
    "description": "A relation field of this form (the record it points at), or "
                   "{form, via}: the records of form whose relation field via points at this record.",
    "anyOf": [
        {"type": "string"},
        {"type": "object", "required": ["form", "via"], "additionalProperties": False,
         "properties": {"form": {"type": "string"}, "via": {"type": "string"}}},
    ],
}


def computed_values(ctx: ActionContext, values: Mapping[str, str]) -> dict[str, Any]:
    seen = ctx.values()
    return {key: ctx.evaluate(text, values=seen) for key, text in values.items()}


def check_values(checker: RuleChecker, form: str, values: Mapping[str, str], path: Path) -> None:
    for key, text in values.items():
        checker.field((*path, "values", key), key, form=form)
        checker.formula((*path, "values", key), text)


def matching_ids(ctx: ActionContext, service: RecordService, form: str,
                 filter: Mapping[str, Any] | None) -> Iterator[int]:
    """The ids of ``form``'s records that ``filter`` matches, page by page
    (in SQL), at most ``MAX_RECORDS``."""
    after = None
    seen = 0
    while True:
        page = service.list(form, filter=filter, sort=["id"], limit=PAGE, after=after, fields=["id"],
                            connection=ctx.conn)
        for record in page["records"]:
            seen += 1
            if seen > MAX_RECORDS:
                raise ValueError(f"more than {MAX_RECORDS} {form} records match; narrow the filter")
            yield int(record["id"])
        after = page["next"]
        if not after:
            return


class CreateRecord(Action):
    key = "create_record"
    label = Label("新建记录", "Create a record")
    description = Label("在某个表单新建一条记录，字段值由公式计算",
                        "Create a record of a form, its values computed by formulas")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "required": ["form", "values"], "additionalProperties": False,
        "properties": {"form": {"type": "string"}, "values": _VALUES},
    }

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        if checker.known_form((*path, "form"), settings["form"]) is not None:
            check_values(checker, settings["form"], settings["values"], path)

    def run(self, ctx: ActionContext, settings: Mapping[str, Any]) -> ActionResult:
        record = ctx.service.create(settings["form"], computed_values(ctx, settings["values"]),
                                    actor=ctx.actor, connection=ctx.conn)
        return ActionResult(detail={"form": settings["form"], "created": int(record["id"])})


class UpdateRecord(Action):
    key = "update_record"
    label = Label("更新本记录", "Update this record")
    description = Label("修改触发规则的记录的字段", "Change fields of the record that fired the rule")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "required": ["values"], "additionalProperties": False,
        "properties": {"values": _VALUES},
    }

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        check_values(checker, checker.rule.form, settings["values"], path)

    def run(self, ctx: ActionContext, settings: Mapping[str, Any]) -> ActionResult:
        if ctx.record is None:
            return ActionResult("skipped", {"reason": "no record"})
        record_id = int(ctx.record["id"])
        ctx.service.update(ctx.rule.form, record_id, computed_values(ctx, settings["values"]),
                           version=None, actor=ctx.actor, connection=ctx.conn)
        return ActionResult(detail={"updated": [record_id]})


class UpdateRelated(Action):
    key = "update_related"
    label = Label("更新关联记录", "Update related records")
    description = Label("修改本记录关联的记录，或关联到本记录的记录",
                        "Change the record this one links to, or the records that link to this one")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "required": ["target", "values"], "additionalProperties": False,
        "properties": {"target": _TARGET, "values": _VALUES},
    }

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        target = settings["target"]
        if isinstance(target, str):
            relation = checker.field((*path, "target"), target)
            form = relation.setting("target") if relation is not None else None
            if relation is not None and form is None:
                checker.report((*path, "target"), Label(f"'{target}' 不是关联字段",
                                                        f"'{target}' is not a relation field"))
        else:
            form = target["form"]
            checker.field((*path, "target", "via"), target["via"], form=form)
        if form:
            for key, text in settings["values"].items():
                checker.field((*path, "values", key), key, form=str(form))
                checker.formula((*path, "values", key), text)

    def run(self, ctx: ActionContext, settings: Mapping[str, Any]) -> ActionResult:
        if ctx.record is None:
            return ActionResult("skipped", {"reason": "no record"})
        target = settings["target"]
        if isinstance(target, str):
            form = str(ctx.service.app.get_form(ctx.rule.form).get_field(target).setting("target"))
            linked = ctx.record.get(target)
            ids = [int(linked)] if linked is not None else []
        else:
            form = target["form"]
            ids = list(matching_ids(ctx, ctx.service, form,
                                    {"field": target["via"], "op": "eq", "value": int(ctx.record["id"])}))
        if not ids:
            return ActionResult("skipped", {"reason": "no related record", "form": form})
        values = computed_values(ctx, settings["values"])
        for record_id in ids:
            ctx.service.update(form, record_id, values, version=None, actor=ctx.actor, connection=ctx.conn)
        return ActionResult(detail={"form": form, "updated": ids})


class UpdateMatching(Action):
    key = "update_records"
    label = Label("批量更新记录", "Update matching records")
    description = Label("修改某个表单中符合条件的记录", "Change the records of a form that match a filter")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "required": ["form", "filter", "values"], "additionalProperties": False,
        "properties": {"form": {"type": "string"}, "filter": _FILTER, "values": _VALUES},
    }

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        if checker.known_form((*path, "form"), settings["form"]) is not None:
            check_values(checker, settings["form"], settings["values"], path)

    def run(self, ctx: ActionContext, settings: Mapping[str, Any]) -> ActionResult:
        values = computed_values(ctx, settings["values"])
        ids = list(matching_ids(ctx, ctx.service, settings["form"], settings["filter"]))
        for record_id in ids:
            ctx.service.update(settings["form"], record_id, values, version=None, actor=ctx.actor,
                               connection=ctx.conn)
        return ActionResult("done" if ids else "skipped", {"form": settings["form"], "updated": ids})


class DeleteRecords(Action):
    key = "delete_records"
    label = Label("删除记录", "Delete records")
    description = Label("删除本记录，或某个表单中符合条件的记录",
                        "Delete this record, or the records of a form that match a filter")
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "additionalProperties": False,
        "properties": {"form": {"type": "string"}, "filter": _FILTER},
        "dependentRequired": {"filter": ["form"], "form": ["filter"]},
    }

    def check(self, checker: RuleChecker, settings: Mapping[str, Any], path: Path) -> None:
        if "form" in settings:
            checker.known_form((*path, "form"), settings["form"])

    def run(self, ctx: ActionContext, settings: Mapping[str, Any]) -> ActionResult:
        if "form" in settings:
            form = settings["form"]
            ids = list(matching_ids(ctx, ctx.service, form, settings["filter"]))
        elif ctx.record is not None:
            form, ids = ctx.rule.form, [int(ctx.record["id"])]
        else:
            return ActionResult("skipped", {"reason": "no record"})
        for record_id in ids:
            ctx.service.delete(form, record_id, actor=ctx.actor, connection=ctx.conn)
        return ActionResult("done" if ids else "skipped", {"form": form, "deleted": ids})


RECORD_ACTIONS: tuple[Action, ...] = (CreateRecord(), UpdateRecord(), UpdateRelated(), UpdateMatching(),
                                      DeleteRecords())
