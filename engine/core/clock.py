"""Injectable time, so timeouts, schedules and date rules are tested without sleeping.

Every part of the engine that needs "now" or "today" asks a ``Clock``.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Shanghai"


class Clock(Protocol):
    """A source of the current time in the deployment's timezone."""

    @property
    def tz(self) -> dt.tzinfo: ...

    def now(self) -> dt.datetime:
        """The current moment, timezone-aware."""
        ...

    def today(self) -> dt.date:
        """Today's date in the clock's timezone."""
        ...


class SystemClock:
    """The real clock."""

    def __init__(self, timezone: str = DEFAULT_TIMEZONE) -> None:
        self._tz = ZoneInfo(timezone)

    @property
    def tz(self) -> dt.tzinfo:
        return self._tz

    def now(self) -> dt.datetime:
        return dt.datetime.now(self._tz)

    def today(self) -> dt.date:
        return self.now().date()


class FixedClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, moment: dt.datetime, timezone: str = DEFAULT_TIMEZONE) -> None:
        self._tz = ZoneInfo(timezone)
        self._now = moment if moment.tzinfo else moment.replace(tzinfo=self._tz)

    @property
    def tz(self) -> dt.tzinfo:
        return self._tz

    def now(self) -> dt.datetime:
        return self._now.astimezone(self._tz)

    def today(self) -> dt.date:
        return self.now().date()

    def set(self, moment: dt.datetime) -> None:
        self._now = moment if moment.tzinfo else moment.replace(tzinfo=self._tz)

    def advance(self, delta: dt.timedelta) -> None:
        self._now = self._now + delta
