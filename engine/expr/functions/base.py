"""What a formula function is: a name, its arity, how it is called, its type.

Each function family module lists its functions in ``FUNCTIONS``; the
library (``engine.expr.functions``) registers them all in one place.

How the compiler calls a function depends on ``kind``:

- ``eager``: ``impl(*values)`` with every argument evaluated (most functions).
- ``context``: ``impl(context, *values)`` (USER, TODAY ...).
- ``lazy``: ``impl(values, context, *thunks)``; a thunk is evaluated with
  ``thunk(values, context)``. For IF, IFS, SWITCH, IFERROR, ISERROR, which
  must not evaluate branches they do not take.
- ``path``: ``impl(context, path)`` with the argument as a field path tuple,
  not a value (PREVIOUS(amount)).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from engine.expr.types import ANY, FormulaType

Kind = Literal["eager", "context", "lazy", "path"]
ReturnRule = FormulaType | Callable[[Sequence[FormulaType]], FormulaType]
# What an argument must be, for compile-time checks: "number", "text", "date",
# "boolean", "list" or "any" (anything goes, converted at runtime).
Param = str


@dataclass(frozen=True)
class Function:
    """One formula function. ``key`` is the upper-case name users write."""

    key: str
    impl: Callable[..., Any]
    min_args: int
    max_args: int | None
    family: str
    returns: ReturnRule = ANY
    params: tuple[Param, ...] = ()
    rest: Param = "any"  # the kind of arguments past ``params``
    kind: Kind = "eager"
    summary: str = ""  # one line, English, for the designers' function picker

    def return_type(self, arg_types: Sequence[FormulaType]) -> FormulaType:
        rule = self.returns
        return rule if isinstance(rule, FormulaType) else rule(arg_types)

    def param(self, index: int) -> Param:
        return self.params[index] if index < len(self.params) else self.rest

    def arity_text(self) -> str:
        if self.max_args is None:
            return f"at least {self.min_args}"
        if self.min_args == self.max_args:
            return str(self.min_args)
        return f"{self.min_args} to {self.max_args}"


@dataclass
class FamilyBuilder:
    """Collects a family's functions: ``fn = family.function("ROUND", 1, 2, ...)``."""

    family: str
    functions: list[Function] = field(default_factory=list)

    def function(
        self,
        key: str,
        min_args: int,
        max_args: int | None,
        *,
        returns: ReturnRule = ANY,
        params: tuple[Param, ...] = (),
        rest: Param = "any",
        kind: Kind = "eager",
        summary: str = "",
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: declare the decorated callable as function ``key``."""

        def declare(impl: Callable[..., Any]) -> Callable[..., Any]:
            self.functions.append(
                Function(
                    key=key,
                    impl=impl,
                    min_args=min_args,
                    max_args=max_args,
                    family=self.family,
                    returns=returns,
                    params=params,
                    rest=rest,
                    kind=kind,
                    summary=summary or (impl.__doc__ or "").strip().splitlines()[0],
                )
            )
            return impl

        return declare
