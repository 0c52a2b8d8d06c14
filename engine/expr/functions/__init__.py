"""The formula function library: every built-in function, registered in one place."""

from __future__ import annotations

from engine.core.registry import Registry
from engine.expr.functions import context, dates, logic, numeric, text
from engine.expr.functions.base import FamilyBuilder, Function

FAMILIES = (logic, numeric, text, dates, context)


def builtin_functions() -> Registry[Function]:
    """A registry holding every built-in function; names match in any case."""
    registry: Registry[Function] = Registry("function", normalize=str.upper)
    for family in FAMILIES:
        registry.register_all(family.FUNCTIONS)
    return registry


FUNCTIONS = builtin_functions()

__all__ = ["FUNCTIONS", "FamilyBuilder", "Function", "builtin_functions"]
