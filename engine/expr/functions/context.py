"""Context functions: USER, DEPARTMENT, ROLE_IN, PREVIOUS.

They read the ``EvaluationContext`` the caller passes, never global state.
"""

from __future__ import annotations

from typing import Any

from engine.expr.context import EvaluationContext
from engine.expr.functions.base import FamilyBuilder
from engine.expr.types import ANY, BOOLEAN, FormulaType
from engine.expr.values import read_path, to_text

family = FamilyBuilder("context")


def _attribute(record: Any, attribute: Any) -> Any:
    if record is None:
        return None
    return record.get(to_text(attribute) if attribute is not None else "id")


def _attribute_type(args: list[FormulaType] | Any) -> FormulaType:
    return ANY


@family.function("USER", 0, 1, returns=_attribute_type, params=("text",), kind="context")
def user(ctx: EvaluationContext, attribute: Any = None) -> Any:
    """The current user's id, or one of their attributes: USER("name"), USER("email")."""
    return _attribute(ctx.user, attribute)


@family.function("DEPARTMENT", 0, 1, returns=_attribute_type, params=("text",), kind="context")
def department(ctx: EvaluationContext, attribute: Any = None) -> Any:
    """The current user's main department id, or one of its attributes: DEPARTMENT("name")."""
    return _attribute(ctx.department, attribute)


@family.function("ROLE_IN", 1, None, returns=BOOLEAN, rest="text", kind="context")
def role_in(ctx: EvaluationContext, *roles: Any) -> bool:
    """TRUE when the current user has any of the given roles (by role key)."""
    wanted = {to_text(role) for role in roles}
    return bool(wanted & ctx.roles)


@family.function("PREVIOUS", 1, 1, returns=lambda args: args[0] if args else ANY, kind="path")
def previous(ctx: EvaluationContext, path: tuple[str, ...]) -> Any:
    """The field's value before the change being processed (blank on create)."""
    return read_path(ctx.previous, path)


FUNCTIONS = family.functions
