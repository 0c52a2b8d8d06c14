"""Statements on a hot path, sent to the driver as SQL text.

``Connection.execute`` of a Core statement costs about 70 µs on top of the
driver's own work, even with the compiled form cached: it builds an execution
context, looks the statement up in the cache, turns the parameters through
every bind processor. A flow's submit runs a dozen statements, so that is a
large part of it. ``DriverStatement`` compiles a statement once per dialect
for a fixed set of parameter keys, and then hands the driver the SQL text with
the values already processed (``Connection.exec_driver_sql``): about 30 µs.
The SQL and the values are exactly Core's (its compiler, its bind processors:
dates as SQLite stores them, JSON as the column's type writes it), and the
connection's events still see every statement.

Only plain statements qualify: every bound parameter named by a key the caller
gives each time (no expanding ``IN``, no literal binds, no Python-side column
defaults: give every column a value).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, CursorResult

_NAMED_STYLES = frozenset({"pyformat", "named"})


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # parameter keys, in the order a positional driver takes them
    processors: tuple[Callable[[Any], Any] | None, ...]
    named: bool


class DriverStatement:
    """``statement`` compiled once per dialect for parameters ``keys``."""

    def __init__(self, statement: sa.Insert | sa.Update | sa.Delete | sa.Select[Any], keys: Sequence[str]) -> None:
        self.statement = statement
        self.keys = tuple(keys)
        self._compiled: dict[str, _Compiled] = {}

    def execute(self, conn: Connection, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> CursorResult[Any]:
        """Run with one row of parameters, or many (the driver's executemany;
        no rows come back from many)."""
        compiled = self._compiled.get(conn.dialect.name) or self._compile(conn)
        if isinstance(params, Mapping):
            return conn.exec_driver_sql(compiled.sql, _values(compiled, params))
        return conn.exec_driver_sql(compiled.sql, [_values(compiled, row) for row in params])

    def _compile(self, conn: Connection) -> _Compiled:
        dialect = conn.dialect
        compiled = self.statement.compile(dialect=dialect, column_keys=list(self.keys))
        named = dialect.paramstyle in _NAMED_STYLES
        names = tuple(compiled.bind_names.values()) if named else tuple(compiled.positiontup or ())
        unknown = sorted(set(names) - set(self.keys))
        if unknown or compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError(f"not a plain statement for the driver: parameters {unknown or 'expanding'}")
        # Core's own conversions, name -> function (one function each for these plain parameters)
        processors = cast(Mapping[str, Callable[[Any], Any]], compiled._bind_processors)
        made = _Compiled(compiled.string, names, tuple(processors.get(n) for n in names), named)
        self._compiled[dialect.name] = made
        return made


def _values(compiled: _Compiled, row: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
    values = [row[n] if p is None else p(row[n])
              for n, p in zip(compiled.names, compiled.processors, strict=True)]
    if compiled.named:
        return dict(zip(compiled.names, values, strict=True))
    return tuple(values)
