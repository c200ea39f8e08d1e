"""Recurring deadlines (每月25日前, 每季度末, 每半年, 每周五前): the rule and its occurrences.

A rule is stored on the project as a short string (`monthly:25`, `monthly:last`,
`quarterly`, `half_yearly`, `yearly`, `weekly:5`); each occurrence becomes a milestone of
its own, named for its period ("2027年01月", "2027年第1季度"), so it is reminded, escalated,
completed and evaluated one by one. Everything here is a plain function of dates.

A project's schedule is "" (its milestones' dates), a rule, or "standing" (长期: no deadline);
`is_standing`, `has_deadline` (the same in SQL) and `series_label` are the one place that says so.
"""

from __future__ import annotations

import calendar as std_calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement

KINDS = ("monthly", "quarterly", "half_yearly", "yearly", "weekly")
WEEKDAY_NAMES = "一二三四五六日"


STANDING = "standing"  # a project's schedule for a task without a deadline (长期坚持)
STANDING_LABEL = "长期"


class RecurrenceError(ValueError):
    pass


def is_recurring(schedule: str) -> bool:
    """Whether a project's schedule is a recurrence rule (not "" or "standing")."""
    return schedule.partition(":")[0] in KINDS


def is_standing(schedule: str | None) -> bool:
    """Whether a project is a standing task: no deadline, never reminded or escalated."""
    return schedule == STANDING


def has_deadline(schedule_column: ColumnElement[str]) -> ColumnElement[bool]:
    """SQL: the project is not a standing task. 长期 has no deadline, so nothing of it is
    overdue, reminded, escalated or counted in an on-time rate."""
    return schedule_column != STANDING


def series_label(schedule: str | None) -> str:
    """What the board shows for a task's schedule: 长期, the series (每月25日前), or ""."""
    if not schedule:
        return ""
    if is_standing(schedule):
        return STANDING_LABEL
    try:
        return Recurrence.parse(schedule).phrase
    except RecurrenceError:
        return ""


@dataclass(frozen=True)
class Recurrence:
    kind: str  # one of KINDS
    day: int | None = None  # monthly: 1..31 or None for the last day; weekly: 1 (Mon) .. 7 (Sun)

    @classmethod
    def parse(cls, rule: str) -> Recurrence:
        """The rule stored on a project; RecurrenceError when it is not one."""
        kind, _, day = rule.partition(":")
        if kind not in KINDS:
            raise RecurrenceError(f"unknown recurrence {rule!r}")
        if kind == "monthly":
            if day == "last":
                return cls(kind)
            if day.isdigit() and 1 <= int(day) <= 31:
                return cls(kind, int(day))
            raise RecurrenceError(f"monthly needs a day 1-31 or 'last': {rule!r}")
        if kind == "weekly":
            if day.isdigit() and 1 <= int(day) <= 7:
                return cls(kind, int(day))
            raise RecurrenceError(f"weekly needs a weekday 1-7: {rule!r}")
        if day:
            raise RecurrenceError(f"{kind} takes no day: {rule!r}")
        return cls(kind)

    @property
    def rule(self) -> str:
        if self.kind == "monthly":
            return f"monthly:{self.day if self.day else 'last'}"
        if self.kind == "weekly":
            return f"weekly:{self.day}"
        return self.kind

    @property
    def phrase(self) -> str:
        """The canonical Chinese wording (what export writes in 周期)."""
        if self.kind == "monthly":
            return f"每月{self.day}日前" if self.day else "每月底前"
        if self.kind == "weekly":
            return f"每周{WEEKDAY_NAMES[self.day - 1]}前"  # type: ignore[operator]
        return {"quarterly": "每季度末", "half_yearly": "每半年", "yearly": "每年底"}[self.kind]

    def due_in_period(self, period_start: date) -> date:
        """The due date of the occurrence whose period starts on `period_start`."""
        if self.kind == "weekly":
            return period_start + timedelta(days=self.day - 1)  # type: ignore[operator]
        if self.kind == "monthly":
            last = std_calendar.monthrange(period_start.year, period_start.month)[1]
            return period_start.replace(day=min(self.day or last, last))
        months = {"quarterly": 3, "half_yearly": 6, "yearly": 12}[self.kind]
        end_month = period_start.month + months - 1
        return date(period_start.year, end_month, std_calendar.monthrange(period_start.year, end_month)[1])

    def period_start(self, day: date) -> date:
        """The first day of the period that contains `day`."""
        if self.kind == "weekly":
            return day - timedelta(days=day.weekday())
        if self.kind == "monthly":
            return day.replace(day=1)
        months = {"quarterly": 3, "half_yearly": 6, "yearly": 12}[self.kind]
        return date(day.year, (day.month - 1) // months * months + 1, 1)

    def next_period(self, period_start: date) -> date:
        if self.kind == "weekly":
            return period_start + timedelta(days=7)
        months = {"monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 12}[self.kind]
        month = period_start.month - 1 + months
        return date(period_start.year + month // 12, month % 12 + 1, 1)

    def label(self, due: date) -> str:
        """The milestone name of the occurrence due on `due` (unique within the task)."""
        start = self.period_start(due)
        if self.kind == "weekly":
            year, week, _ = start.isocalendar()
            return f"{year}年第{week:02d}周"
        if self.kind == "monthly":
            return f"{start.year}年{start.month:02d}月"
        if self.kind == "quarterly":
            return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
        if self.kind == "half_yearly":
            return f"{start.year}年{'上' if start.month == 1 else '下'}半年"
        return f"{start.year}年"

    def occurrences(self, *, start: date, today: date, ahead: int = 1, until: date | None = None) -> list[date]:
        """Due dates from the period containing `start` up to and including the `ahead`-th
        occurrence due on or after `today` (never past `until`). With ahead=1 nothing is
        created further out than the next occurrence."""
        dues: list[date] = []
        upcoming = 0
        period = self.period_start(start)
        while upcoming < max(1, ahead):
            due = self.due_in_period(period)
            if until is not None and due > until:
                break
            if due >= start:
                dues.append(due)
                if due >= today:
                    upcoming += 1
            period = self.next_period(period)
        return dues
