"""The one source of "now". Everything else takes `now` as a parameter.

Instants are timezone-aware; milestone dates are plain `date`s in the configured zone.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
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
    return instant.astimezone(UTC)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    """The calendar date of `instant` in the configured zone."""
    return utc(instant).astimezone(tz).date()


def start_of_day(day: date, tz: ZoneInfo) -> datetime:
    """00:00 of `day` in `tz`, as an aware instant."""
    return datetime(day.year, day.month, day.day, tzinfo=tz)


# Every date or instant a person types (CLI options, web parameters, registry cells) lies in
# this range; beyond it date arithmetic overflows, and no deadline of the office is there.
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class DateRangeError(ValueError):
    """A date or instant outside EARLIEST..LATEST, or not in ISO form."""


def check_day(day: date) -> date:
    if not EARLIEST <= day <= LATEST:
        raise DateRangeError(f"{day.isoformat()} is outside {EARLIEST.year}-{LATEST.year}")
    return day


def parse_day(text: str) -> date:
    """A YYYY-MM-DD date (ASCII digits only) within EARLIEST..LATEST; ValueError otherwise."""
    text = text.strip()
    if not _ISO_DAY.fullmatch(text):
        raise DateRangeError(f"not a YYYY-MM-DD date: {text[:40]!r}")
    return check_day(date.fromisoformat(text))


def parse_instant(text: str, tz: ZoneInfo) -> datetime:
    """An ISO 8601 instant from the command line; a naive one is read in the configured zone.
    ValueError when it is not one, or lies outside EARLIEST..LATEST."""
    text = text.strip()
    if not text.isascii():
        raise DateRangeError(f"not an ISO 8601 instant: {text[:40]!r}")
    parsed = datetime.fromisoformat(text)
    check_day(parsed.date())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
