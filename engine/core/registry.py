"""One generic registry for every pluggable kind.

Field types, formula functions, filter operators, approver resolvers, flow
node types, rule triggers, actions, channels and chart types are all entries
in a ``Registry``: registered explicitly in one place, looked up by key, with
a clear error for an unknown or duplicate key.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from engine.core.errors import RegistryError
from engine.core.i18n import Label

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries of one kind, keyed by a string.

    ``key_of`` reads the key of an entry (by default its ``key`` attribute).
    Keys are matched as given unless ``normalize`` is passed (the formula
    function registry, for one, matches names case-insensitively).
    """

    def __init__(
        self,
        kind: str,
        *,
        key_of: Callable[[T], str] | None = None,
        normalize: Callable[[str], str] | None = None,
    ) -> None:
        self.kind = kind
        self._key_of = key_of or (lambda entry: entry.key)  # type: ignore[attr-defined]
        self._normalize = normalize or (lambda key: key)
        self._entries: dict[str, T] = {}

    def register(self, entry: T) -> T:
        """Add ``entry``; a second entry with the same key is an error."""
        key = self._normalize(self._key_of(entry))
        if key in self._entries:
            raise RegistryError(
                Label(f"{self.kind} '{key}' 已经注册过", f"{self.kind} '{key}' is already registered")
            )
        self._entries[key] = entry
        return entry

    def register_all(self, entries: Iterable[T]) -> None:
        for entry in entries:
            self.register(entry)

    def get(self, key: str) -> T:
        """The entry for ``key``; an unknown key names the closest known ones."""
        try:
            return self._entries[self._normalize(key)]
        except KeyError:
            raise RegistryError(self._unknown_message(key)) from None

    def find(self, key: str) -> T | None:
        """The entry for ``key``, or None."""
        return self._entries.get(self._normalize(key))

    def suggest(self, key: str) -> list[str]:
        """Known keys that look like ``key`` (for "did you mean" messages)."""
        return difflib.get_close_matches(self._normalize(key), self._entries, n=3, cutoff=0.6)

    def all(self) -> list[T]:
        return list(self._entries.values())

    def keys(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._normalize(key) in self._entries

    def __iter__(self) -> Iterator[T]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def _unknown_message(self, key: str) -> Label:
        close = self.suggest(key)
        if close:
            hint = ", ".join(close)
            return Label(
                f"未知的{self.kind} '{key}'，是否指 {hint}？",
                f"Unknown {self.kind} '{key}' — did you mean {hint}?",
            )
        return Label(f"未知的{self.kind} '{key}'", f"Unknown {self.kind} '{key}'")
