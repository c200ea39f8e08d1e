"""Day counting (calendar days or Chinese working days) and the SMS send window.

Working days follow the State Council arrangement shipped in `chinese_calendar`
(holidays and 调休 make-up Saturdays). A year the library does not know yet falls back
to Monday–Friday: logged once per year, and listed by `fallback_years()` for /healthz.
"""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

from deadline_watch.core.clock import local_date, start_of_day
from deadline_watch.core.config import Settings
from deadline_watch.core.logs import get_logger

CALENDAR = "calendar"
WORKDAYS = "workdays"

_fallback_lock = threading.Lock()
_fallback_years: set[int] = set()


def fallback_years() -> list[int]:
    """Years met so far that the holiday data does not cover (Monday–Friday was assumed)."""
    with _fallback_lock:
        return sorted(_fallback_years)


def _note_fallback(year: int) -> None:
    with _fallback_lock:
        if year in _fallback_years:
            return
        _fallback_years.add(year)
    get_logger().warning(
        "calendar.fallback",
        year=year,
        detail="chinese_calendar has no holiday data for this year; counting Monday-Friday as working days",
    )


@lru_cache(maxsize=8192)
def _official_workday(day: date) -> bool | None:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


def is_workday(day: date) -> bool:
    """A Chinese official working day (调休 Saturdays included); Mon–Fri for unknown years."""
    official = _official_workday(day)
    if official is not None:
        return official
    _note_fallback(day.year)
    return day.weekday() < 5


def _reset_fallback_for_tests() -> None:
    with _fallback_lock:
        _fallback_years.clear()


def working_days_between(start: date, end: date) -> int:
    """How many working days d with start < d <= end (negative when end < start)."""
    if end == start:
        return 0
    if end < start:
        return -working_days_between(end, start)
    return sum(1 for offset in range(1, (end - start).days + 1) if is_workday(start + timedelta(days=offset)))


def days_left(today: date, due_date: date, day_mode: str) -> int:
    """Days from `today` until the end of `due_date`: 0 on the due date itself.

    In workdays mode only working days after today up to the due date count, so a
    Friday before a milestone due on Monday has 1 working day left.
    """
    if day_mode == WORKDAYS:
        return working_days_between(today, due_date)
    return (due_date - today).days


def days_overdue(today: date, due_date: date, *, stopped_on: date | None = None) -> int:
    """Days overdue: the one figure the rules, the SMS, the queue, the escalation page, the
    project page and the reports all show.

    Calendar days past `due_date` (1 on the day after it), counted until `stopped_on` (the
    day the deadline stopped running: the milestone was completed) or `today`, whichever
    comes first; 0 when not late. A completion after `today` has not happened yet as of
    `today`, so a report for a past date stays the same.
    """
    end = today if stopped_on is None or stopped_on > today else stopped_on
    return max((end - due_date).days, 0)


def escalation_days_overdue(
    due_date: date,
    *,
    milestone_due: date,
    milestone_cancelled: bool,
    completed_on: date | None,
    resolved_at: datetime | None,
    today: date,
    tz: ZoneInfo,
) -> int:
    """`days_overdue` of an escalated deadline (`due_date`), as the queue and the escalation
    page show it.

    While that deadline is still the milestone's, it runs like the milestone's own (until
    completion), so the queue, the escalation page, the project page and the reports show
    one figure. A deadline since moved or cancelled also stopped running on the (local) day
    the escalation was resolved.
    """
    stopped_on = completed_on
    if (due_date != milestone_due or milestone_cancelled) and resolved_at is not None:
        resolved_on = local_date(resolved_at, tz)
        stopped_on = resolved_on if stopped_on is None else min(stopped_on, resolved_on)
    return days_overdue(today, due_date, stopped_on=stopped_on)


def next_send_time(
    now: datetime, window: tuple[time, time], tz: ZoneInfo, day_mode: str = CALENDAR
) -> datetime:
    """`now` when it is inside the send window (on a working day in workdays mode), else the
    next window opening. SMS are never handed over outside the window."""
    opening, closing = window
    local = now.astimezone(tz)
    day = local.date()
    for _ in range(400):  # a year of holidays cannot exhaust this
        if day_mode != WORKDAYS or is_workday(day):
            start = datetime.combine(day, opening, tzinfo=tz)
            end = datetime.combine(day, closing, tzinfo=tz)
            if day == local.date() and start <= local < end:
                return now
            if local < start:
                return start
        day += timedelta(days=1)
    raise RuntimeError("no send window within 400 days")  # pragma: no cover


def send_window_opening(instant: datetime, settings: Settings) -> datetime:
    """The send window as configured: `instant` when it is inside `[reminders] send_window`
    (on a working day in workdays mode), else the next opening. The scan dates its SMS with
    it, delivery sends and retries only inside it."""
    reminders = settings.reminders
    return next_send_time(instant, reminders.send_window, settings.tz, reminders.day_mode)


def in_send_window(instant: datetime, settings: Settings) -> bool:
    return send_window_opening(instant, settings) == instant


def today_in(now: datetime, tz: ZoneInfo) -> date:
    return local_date(now, tz)


__all__ = [
    "CALENDAR",
    "WORKDAYS",
    "days_left",
    "days_overdue",
    "escalation_days_overdue",
    "fallback_years",
    "in_send_window",
    "is_workday",
    "next_send_time",
    "send_window_opening",
    "start_of_day",
    "today_in",
    "working_days_between",
]
