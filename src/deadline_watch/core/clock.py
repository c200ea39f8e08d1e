"""The one source of "now". Everything else takes `now` as a parameter.

Instants are timezone-aware; milestone dates are plain `date`s in the configured zone.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""


class SystemClock:
    """Wall-clock time (freezegun can still freeze it in tests)."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(self.tz)


class FixedClock:
    """A clock that only moves when told to: simulations, the demo, tests."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware start")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("FixedClock needs timezone-aware instants")
        self._now = instant

    def advance(self, delta: timedelta) -> datetime:
        self._now = self._now + delta
        return self._now


def utc(instant: datetime) -> datetime:
    """The same instant in UTC; refuses naive datetimes, which would be ambiguous."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: attach a timezone first")
    return instant.astimezone(timezone.utc)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    """The calendar date of `instant` in the configured zone."""
    return utc(instant).astimezone(tz).date()


def start_of_day(day: date, tz: ZoneInfo) -> datetime:
    """00:00 of `day` in `tz`, as an aware instant."""
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def parse_instant(text: str, tz: ZoneInfo) -> datetime:
    """An ISO 8601 instant from the command line; a naive one is read in the configured zone."""
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
