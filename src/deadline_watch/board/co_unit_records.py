"""协办单位的记录: for a unit that assists projects (or each such unit), the evaluation's
figures over the milestones of the projects it assists (its own projects are in the
evaluation by unit). The evaluation page asks for one unit's record when a 协办单位 is chosen.

One GROUP BY over milestones joined to project_co_units, with the evaluation's own counting
rules (`evaluation.milestone_measures`, `period_filter`), so a figure here means what it
means there.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from deadline_watch.board.evaluation import (
    EvaluationRow,
    counts_of,
    milestone_measures,
    period_filter,
    rank_rows,
    row_of,
)
from deadline_watch.domain.models import Milestone, Project, ProjectCoUnit, Unit

__all__ = ["co_unit_records"]

_LINK = ProjectCoUnit.__table__


def co_unit_records(session: Session, *, start: date, end: date, today: date,
                    co_unit: str | None = None) -> list[EvaluationRow]:
    """One row per co-unit (or only `co_unit`, by name), ranked as the units are."""
    if end < start:
        start, end = end, start
    only = [Unit.name == co_unit] if co_unit else []
    rows = session.execute(
        select(Unit.id, Unit.name, *milestone_measures(session, today))
        .select_from(Milestone)
        .join(Project, Project.id == Milestone.project_id)
        .join(_LINK, _LINK.c.project_id == Project.id)
        .join(Unit, Unit.id == _LINK.c.unit_id)
        .where(*period_filter(start, end), *only)
        .group_by(Unit.id, Unit.name)
        .order_by(Unit.name)
    ).all()
    return rank_rows([row_of(name=r.name, id=r.id, **counts_of(r)) for r in rows])
