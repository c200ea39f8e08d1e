"""长期任务 in the reports: counted beside the figures, never in them.

A standing task (长期坚持, `Project.schedule == "standing"`) has no deadline, so it is in no
on-time rate and no overdue list (`domain.recurrence.has_deadline` keeps it out of those
queries); the monthly summary and the 通报 show how many each unit carries instead.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from deadline_watch.board.evaluation import EvaluationRow, row_of
from deadline_watch.domain.models import Project, ProjectStatus, Unit
from deadline_watch.domain.recurrence import STANDING

__all__ = ["standing_counts_by_unit", "with_standing_units"]


def standing_counts_by_unit(session: Session) -> dict[str, int]:
    """Active 长期 tasks per host unit's name (read off the projects' status index)."""
    rows = session.execute(
        select(Unit.name, func.count(Project.id))
        .join(Unit, Unit.id == Project.unit_id)
        .where(Project.status == ProjectStatus.ACTIVE, Project.schedule == STANDING)
        .group_by(Unit.name)
    )
    return {name: count for name, count in rows}


def with_standing_units(units: list[EvaluationRow], standing: dict[str, int]) -> list[EvaluationRow]:
    """The evaluation's unit rows plus an empty row for each unit that has only 长期 tasks,
    so its count has a line (no rate: unranked, listed last)."""
    listed = {row.name for row in units}
    extra = [row_of(name=name, due=0, on_time=0, late=0, overdue=0, days_late=0, escalations=0)
             for name in sorted(standing) if name not in listed]
    return units + extra
