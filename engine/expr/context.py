"""What a formula may know besides the record: who is asking, and when.

The caller (the record service, the rule or flow engine) builds one
``EvaluationContext`` per evaluation or per batch and passes it in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.core.clock import Clock, SystemClock


@dataclass(frozen=True, slots=True)
class EvaluationContext:
    """The current user, their department and roles, the previous values of
    the record (for ``PREVIOUS()`` in rules) and the clock for ``TODAY()``.

    ``user`` and ``department`` are mappings with at least ``id``; ``name``
    and other keys are read by ``USER("name")``.
    """

    clock: Clock = field(default_factory=SystemClock)
    user: Mapping[str, Any] | None = None
    department: Mapping[str, Any] | None = None
    roles: frozenset[str] = frozenset()
    previous: Mapping[str, Any] | None = None


_DEFAULT: EvaluationContext | None = None


def default_context() -> EvaluationContext:
    """A context with the system clock and no user, made once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = EvaluationContext()
    return _DEFAULT
