"""The result cache: a report opened again with unchanged data is answered
without touching the app's tables.

A key is (the query — a published report's definition version, or an
ad-hoc query's JSON —, the viewer's scope, the global filters' conditions,
today (presets and ``is_me`` move with it), and the data version of every
form the query reads, ``engine.records.data_versions``). The versions are
read *before* the query runs, so a write that commits while it runs makes
the next key differ: a cached result can be late by one open, never wrong
for its key.

The cache is this process's, a bounded LRU (entries and rows), thread-safe.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import replace
from typing import Any

from engine.reports.model import ReportResult

MAX_ENTRIES = 512
MAX_ROWS = 500_000  # all cached results together


def freeze(value: Any) -> str:
    """A stable text of JSON-like ``value`` for a key."""
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


class ResultCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_rows: int = MAX_ROWS) -> None:
        self.max_entries = max_entries
        self.max_rows = max_rows
        self._entries: OrderedDict[Hashable, ReportResult] = OrderedDict()
        self._rows = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> ReportResult | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
        return replace(found, cached=True)

    def put(self, key: Hashable, result: ReportResult) -> None:
        size = len(result.rows)
        if size > self.max_rows:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._rows -= len(old.rows)
            self._entries[key] = result
            self._rows += size
            while self._entries and (len(self._entries) > self.max_entries or self._rows > self.max_rows):
                _, dropped = self._entries.popitem(last=False)
                self._rows -= len(dropped.rows)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._rows = 0

    def __len__(self) -> int:
        return len(self._entries)
