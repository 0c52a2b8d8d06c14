"""Planning a schema change: what publishing a changed form will do to its tables.

``plan_schema_change(old, new, field_types, database)`` compares the two
definitions by key (DESIGN §4, see ``schema_diff``) and lists the steps, in
the order they run: indexes that go, table and column renames, new columns,
conversions, restored and retired fields, new tables, new indexes. Given the
database, it also counts, before anything runs, the rows a conversion cannot
carry over, and knows which removed fields were retired earlier (their
columns still hold data) so that a field coming back under its key is
restored, not re-added.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from engine.core.errors import DefinitionError
from engine.core.i18n import Label, Message
from engine.definitions.model import FormDef
from engine.store.conversion import ConvertField
from engine.store.database import Database
from engine.store.schema_diff import FormDiff
from engine.store.schema_steps import Step
from engine.store.tables import FieldTypes


@dataclass
class SchemaPlan:
    """What publishing ``new`` over ``old`` does to the tables, step by step.

    ``checked`` is true when the plan was made against a database: conversions
    then carry the rows they cannot convert, and unique indexes the values
    that are duplicated.
    """

    old: FormDef | None
    new: FormDef
    steps: list[Step]
    field_types: FieldTypes = dataclasses.field(repr=False)
    checked: bool = False
    from_version: int | None = None
    to_version: int | None = None

    @property
    def table(self) -> str:
        return self.new.table_name

    @property
    def is_empty(self) -> bool:
        return not self.steps

    @property
    def unconvertible(self) -> dict[str, list[int]]:
        """Field key -> ids of the rows its conversion cannot carry over."""
        return self.rows_by_field("failures")

    @property
    def changed(self) -> dict[str, list[int]]:
        """Field key -> ids of the rows whose value its conversion would round or cut."""
        return self.rows_by_field("changed")

    def rows_by_field(self, found: str) -> dict[str, list[int]]:
        """Field key (``table.key`` in a subform's table) -> ids of the rows a
        conversion found (``found``: "failures" or "changed")."""
        keyed: dict[str, list[int]] = {}
        for step in self.steps:
            if not isinstance(step, ConvertField):
                continue
            rows = getattr(step, found)
            if rows:
                key = step.target.key
                keyed[key if step.table == self.table else f"{step.table}.{key}"] = [
                    r.id for r in rows
                ]
        return keyed

    @property
    def rows_unconvertible(self) -> int:
        return sum(len(ids) for ids in self.unconvertible.values())

    @property
    def problems(self) -> list[Label]:
        """What stops the plan from running whatever the caller accepts."""
        return [p for p in (s.blocking for s in self.steps) if p is not None]

    def sentences(self, locale: str = "en") -> list[str]:
        return [step.describe(locale) for step in self.steps]

    def describe(self, locale: str = "en") -> str:
        """The plan in words, one numbered sentence a line, for the publish preview."""
        title = (
            Message(
                "表单「{form}」（表 {table}）的结构变更：",
                "Schema change for form “{form}” (table {table}):",
            )
            .format(form=self.new.label.text(locale), table=self.table)
            .text(locale)
        )
        if not self.steps:
            return title + "\n" + Message("无需变更。", "Nothing to change.").format().text(locale)
        lines = [f"{n}. {sentence}" for n, sentence in enumerate(self.sentences(locale), 1)]
        return "\n".join([title, *lines])

    def to_dict(self) -> dict[str, Any]:
        """The plan as recorded in ``schema_changes.plan``."""
        return {
            "app": self.new.app,
            "form": self.new.key,
            "table": self.table,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "steps": [step.to_dict() for step in self.steps],
            "sentences": {"zh": self.sentences("zh"), "en": self.sentences("en")},
        }


def plan_schema_change(
    old: FormDef | None,
    new: FormDef,
    field_types: FieldTypes,
    database: Database | None = None,
    *,
    from_version: int | None = None,
    to_version: int | None = None,
) -> SchemaPlan:
    """The plan that turns the tables of ``old`` into those of ``new`` (``old``
    is ``None`` for a new form). Raises ``DefinitionError`` for a change that
    cannot be made safely (a relation pointed at another form, two fields
    renamed from one)."""
    if old is not None and (old.app, old.key) != (new.app, new.key):
        raise DefinitionError(
            Label("只能比较同一表单的两个版本", "A plan compares two versions of the same form"),
            details={"old": old.table_name, "new": new.table_name},
        )
    steps = FormDiff(old, new, field_types, database).steps_in_order()
    return SchemaPlan(old, new, steps, field_types, database is not None, from_version, to_version)
