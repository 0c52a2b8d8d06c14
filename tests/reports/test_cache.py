"""The result cache's own rules (engine/reports/cache.py): least recently
used first out, bounded by entries and by rows, a hit marked cached."""

from __future__ import annotations

from engine.core.i18n import label
from engine.reports.cache import ResultCache, freeze
from engine.reports.model import ReportResult, ResultColumn

COLUMN = (ResultColumn("n", "measure", label("N"), "number"),)


def result(rows: int) -> ReportResult:
    return ReportResult(COLUMN, tuple((i,) for i in range(rows)))


def test_a_hit_is_marked_cached_and_the_stored_result_is_not() -> None:
    cache = ResultCache()
    cache.put("a", result(2))
    hit = cache.get("a")
    assert hit is not None and hit.cached and hit.rows == ((0,), (1,))
    assert cache.get("b") is None
    assert (cache.hits, cache.misses) == (1, 1)


def test_the_least_recently_used_goes_first_by_entries_and_by_rows() -> None:
    cache = ResultCache(max_entries=2, max_rows=10)
    cache.put("a", result(1))
    cache.put("b", result(1))
    cache.get("a")
    cache.put("c", result(1))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    cache.put("big", result(9))  # 1 + 1 + 9 rows > 10: the oldest ("a") goes
    assert len(cache) == 2 and cache.get("a") is None and cache.get("big") is not None
    cache.put("huge", result(11))  # larger than the whole cache: not kept
    assert cache.get("huge") is None and cache.get("big") is not None


def test_keys_freeze_json_alike_values_in_one_order() -> None:
    assert freeze({"b": 1, "a": [1, "x"]}) == freeze({"a": [1, "x"], "b": 1})
