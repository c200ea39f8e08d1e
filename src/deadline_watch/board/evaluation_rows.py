"""The rows of an evaluation (考核评价) and their ranking: plain values, no database.

`on_time_rate` is completed on time / milestones that have come due (on time + late +
still overdue): None, not 0 %, while nothing has come due. `avg_days_late` averages days
late over late completions and still-overdue milestones. 排名 (`rank_rows`): by on-time
rate, highest first; equal rates share a rank (1, 2, 2, 4); within a tie, fewer
still-overdue milestones, then fewer completed late, then the name; rows with no rate are
unranked and listed last. How the counts are made: `board.evaluation`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction


@dataclass(frozen=True)
class EvaluationRow:
    name: str
    milestones_due: int
    completed_on_time: int
    completed_late: int
    still_overdue: int
    on_time_rate: float | None  # completed_on_time / milestones come due; None when none has
    avg_days_late: float | None  # None when nothing was late
    escalations_level2: int
    id: int | None = None
    mobile: str | None = None  # officials only
    unit: str | None = None  # officials only: their own unit, else the unit of their projects
    not_yet_due: int = 0
    days_late_total: int = 0
    extensions_granted: int = 0
    requests_returned: int = 0
    evidence_completions: int = 0
    rank: int | None = None  # 排名 by on-time rate (rank_rows); None: nothing came due

    @property
    def come_due(self) -> int:
        return self.completed_on_time + self.completed_late + self.still_overdue

    @property
    def label(self) -> str:
        """Name as shown in tables: an official's name with the mobile that identifies them."""
        return f"{self.name} ({self.mobile})" if self.mobile else self.name


@dataclass(frozen=True)
class Evaluation:
    start: date
    end: date
    today: date
    units: list[EvaluationRow]
    officials: list[EvaluationRow]

    @property
    def total(self) -> EvaluationRow:
        """All units together (each milestone belongs to exactly one unit)."""
        return make_row(
            name="合计",
            due=sum(r.milestones_due for r in self.units),
            on_time=sum(r.completed_on_time for r in self.units),
            late=sum(r.completed_late for r in self.units),
            overdue=sum(r.still_overdue for r in self.units),
            days_late=sum(r.days_late_total for r in self.units),
            escalations=sum(r.escalations_level2 for r in self.units),
            extensions_granted=sum(r.extensions_granted for r in self.units),
            requests_returned=sum(r.requests_returned for r in self.units),
            evidence_completions=sum(r.evidence_completions for r in self.units),
        )


def make_row(*, name: str, due: int, on_time: int, late: int, overdue: int, days_late: int, escalations: int, **extra) -> EvaluationRow:
    late_count = late + overdue
    come_due = on_time + late + overdue
    return EvaluationRow(
        name=name,
        milestones_due=due,
        completed_on_time=on_time,
        completed_late=late,
        still_overdue=overdue,
        on_time_rate=(on_time / come_due) if come_due else None,
        avg_days_late=(days_late / late_count) if late_count else None,
        escalations_level2=escalations,
        not_yet_due=due - on_time - late - overdue,
        days_late_total=days_late,
        **extra,
    )


def rank_rows(rows: list[EvaluationRow]) -> list[EvaluationRow]:
    """The rows in ranking order with `rank` set (see the module docstring for the rule)."""
    rated = [r for r in rows if r.come_due]
    unrated = sorted((r for r in rows if not r.come_due), key=lambda r: r.name)

    def exact(r: EvaluationRow) -> Fraction:
        return Fraction(r.completed_on_time, r.come_due)

    rated.sort(key=lambda r: (-exact(r), r.still_overdue, r.completed_late, r.name))
    ranked: list[EvaluationRow] = []
    for position, r in enumerate(rated, start=1):
        shares = ranked and exact(ranked[-1]) == exact(r)
        ranked.append(replace(r, rank=ranked[-1].rank if shares else position))
    return ranked + [replace(r, rank=None) for r in unrated]
