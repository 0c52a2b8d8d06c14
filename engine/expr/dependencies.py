"""Evaluation order of interdependent formulas, and cycles named by field.

A form's formula fields read each other (``total`` reads ``subtotal`` and
``tax``); they must be computed in dependency order, and a cycle is a
definition error shown as ``total -> tax -> total``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from engine.expr.errors import FormulaCycleError
from engine.expr.formula import CompiledFormula, compile_formula


def depends_on(formula: CompiledFormula, keys: Iterable[str]) -> list[str]:
    """The keys among ``keys`` that ``formula`` reads (a key matches a path it
    reads exactly, or as the path's first part)."""
    found = []
    for key in keys:
        if key in formula.names or any(name.startswith(key + ".") for name in formula.names):
            found.append(key)
    return found


def evaluation_order(formulas: Mapping[str, CompiledFormula | str]) -> list[str]:
    """The keys of ``formulas`` ordered so each comes after those it reads.

    Keys that do not depend on each other keep their given order. A cycle
    raises ``FormulaCycleError`` naming it, e.g. ``total -> tax -> total``.
    """
    compiled = {
        key: value if isinstance(value, CompiledFormula) else compile_formula(value)
        for key, value in formulas.items()
    }
    keys = list(compiled)
    edges = {key: [dep for dep in depends_on(compiled[key], keys)] for key in keys}
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in keys:
        if state.get(start) == 2:
            continue
        # Iterative depth-first search, keeping the path to report a cycle.
        path: list[str] = [start]
        iterators = [iter(edges[start])]
        state[start] = 1
        while path:
            dep = next(iterators[-1], None)
            if dep is None:
                done = path.pop()
                iterators.pop()
                state[done] = 2
                order.append(done)
            elif state.get(dep) == 1:
                cycle = [*path[path.index(dep):], dep]
                raise FormulaCycleError(cycle)
            elif state.get(dep) != 2:
                state[dep] = 1
                path.append(dep)
                iterators.append(iter(edges[dep]))
    return order
