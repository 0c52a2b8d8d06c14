"""An in-process sliding-window counter, for sign-in attempts and refused tokens.

Each key (``ip:10.0.0.8``, ``login:alice@10.0.0.8``) keeps the times of its recent
events; a key with ``limit`` events in the last ``window`` seconds is
blocked until the oldest of them leaves the window. Memory stays bounded:
old events are dropped as keys are touched, and the least recently touched
keys go first when there are too many.

It is per process: several web processes each count on their own, which
multiplies the allowance by their number — acceptable for slowing down
password guessing, and it needs no shared store.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class SlidingWindow:
    """``limit`` events per ``window`` seconds, per key."""

    def __init__(self, limit: int, window: float, *, now: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.now = now
        self.max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, moment: float) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        while events and events[0] <= moment - self.window:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events

    def retry_after(self, *keys: str) -> int | None:
        """Seconds until every key may act again, or None when none is blocked."""
        with self._lock:
            return self._wait(keys, self.now())

    def _wait(self, keys: tuple[str, ...], moment: float) -> int | None:
        waits = []
        for key in keys:
            events = self._recent(key, moment)
            if events is not None and len(events) >= self.limit:
                waits.append(events[-self.limit] + self.window - moment)
        return max(1, math.ceil(max(waits))) if waits else None

    def hit(self, *keys: str) -> None:
        """Count one event for each key."""
        with self._lock:
            self._count(keys, self.now())

    def _count(self, keys: tuple[str, ...], moment: float) -> None:
        for key in keys:
            events = self._recent(key, moment)
            if events is None:
                events = self._events[key] = deque(maxlen=max(self.limit, 1))
            events.append(moment)
            self._events.move_to_end(key)
        while len(self._events) > self.max_keys:
            self._events.popitem(last=False)

    def acquire(self, *keys: str) -> int | None:
        """Check and count in one step: the seconds to wait when a key is
        blocked (nothing counted), else None with one event counted for each
        key. Forty requests at once get ``limit`` tries between them, not
        ``limit`` plus however many checked before the first one counted."""
        moment = self.now()
        with self._lock:
            wait = self._wait(keys, moment)
            if wait is None:
                self._count(keys, moment)
            return wait

    def release(self, *keys: str) -> None:
        """Take back the newest event of each key (an attempt ``acquire``
        counted that turned out not to be a failure)."""
        with self._lock:
            for key in keys:
                events = self._events.get(key)
                if events:
                    events.pop()
                    if not events:
                        del self._events[key]

    def reset(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._events.pop(key, None)
