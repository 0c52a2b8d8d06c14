"""People and teams: member (users) and department, single or ``multiple``.

A single value is an id in an integer column with a foreign key to
``users.id`` / ``departments.id`` (``ON DELETE SET NULL``: removing a user
never removes records); several are a JSON array of ids, filtered with
``has_any``/``has_all``/``is_me`` (see engine.fields.operators). Names need
the organisation tables: the record service and import resolve "张三" to an
id and display names; here values are ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import sqlalchemy as sa

from engine.core.i18n import Label
from engine.definitions.model import FieldDef
from engine.fields.operators import Operator
from engine.fields.relations import IdValued, coerce_ids
from engine.fields.settings import settings_object

MEMBER_SINGLE_OPERATORS = ("eq", "ne", "in", "not_in", "is_me", "is_blank", "not_blank")
MEMBER_MULTIPLE_OPERATORS = ("has_any", "has_all", "is_me", "is_blank", "not_blank")


class _PeopleType(IdValued):
    referenced_table: ClassVar[str]
    fake_ids = 10
    single_operators: ClassVar[tuple[str, ...]]
    multiple_operators: ClassVar[tuple[str, ...]]
    formula_type = "number"
    settings_schema = settings_object({"multiple": {"type": "boolean"}})

    def operators_for(self, field: FieldDef) -> tuple[str, ...]:
        return self.multiple_operators if self.multiple(field) else self.single_operators

    def formula_type_for(self, field: FieldDef) -> str:
        return "list:number" if self.multiple(field) else "number"

    def columns(self, field: FieldDef) -> list[sa.Column[Any]]:
        if self.multiple(field):
            return [sa.Column(field.key, sa.JSON(none_as_null=True), nullable=True)]
        foreign_key = sa.ForeignKey(f"{self.referenced_table}.id", ondelete="SET NULL")
        return [sa.Column(field.key, sa.Integer(), foreign_key, nullable=True, index=True)]

    def from_db(self, field: FieldDef, row: Mapping[str, Any]) -> Any:
        stored = row.get(field.key)
        if self.multiple(field):
            return [int(item) for item in stored] if stored else None
        return None if stored is None else int(stored)

    def coerce(self, field: FieldDef, raw: Any) -> Any:
        return coerce_ids(raw, multiple=self.multiple(field))

    def operand(self, field: FieldDef, operator: Operator, raw: Any) -> Any:
        if operator.arity == "list":
            return coerce_ids(raw, multiple=True) or []
        return super().operand(field, operator, raw)



class MemberType(_PeopleType):
    """Users: the owner, the sales rep, the people to notify."""

    key = "member"
    label = Label("成员", "Member")
    referenced_table = "users"
    operators = tuple(dict.fromkeys(MEMBER_SINGLE_OPERATORS + MEMBER_MULTIPLE_OPERATORS))
    single_operators = MEMBER_SINGLE_OPERATORS
    multiple_operators = MEMBER_MULTIPLE_OPERATORS


class DepartmentType(_PeopleType):
    """Departments of the organisation tree."""

    key = "department"
    label = Label("部门", "Department")
    referenced_table = "departments"
    single_operators = ("eq", "ne", "in", "not_in", "is_blank", "not_blank")
    multiple_operators = ("has_any", "has_all", "is_blank", "not_blank")
    operators = tuple(dict.fromkeys(single_operators + multiple_operators))
