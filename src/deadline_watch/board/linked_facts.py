"""Facts the papers take from other parts of the board when those parts exist.

Extensions and returned requests (the officials' reviews), progress notes, and referrals
to accountability (移交问责) come from their own modules. Each function here answers
`None` ("not recorded") while its source is absent, so the 画像, 体检, weekly sheet and
通报 work without it and show the column once it is there. A number, even 0, means the
source exists and was counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import import_module
from types import ModuleType

from sqlalchemy import Select
from sqlalchemy.orm import Session

__all__ = [
    "ProgressNote",
    "referral_counts_by_unit",
    "referrals_made",
    "review_counts",
    "latest_progress",
]


# the milestones asked about: a list of ids, or a SELECT of ids (a whole unit's, say)
MilestoneIds = Sequence[int] | Select


@dataclass(frozen=True)
class ProgressNote:
    milestone_id: int
    at: datetime
    text: str
    project: str = ""
    milestone: str = ""


@cache
def _module(name: str) -> ModuleType | None:
    # looked up once per process: a failed import searches the whole path every time
    try:
        return import_module(f"deadline_watch.board.{name}")
    except ImportError:
        return None


def referral_counts_by_unit(session: Session, *, start: date, end: date) -> dict[str, int] | None:
    """Referrals made in [start, end] per unit name, or None without referrals."""
    referrals = _module("referrals")
    counter = getattr(referrals, "referral_counts_by_unit", None)
    if counter is None:
        return None
    # board.referrals answers UnitReferrals(unit name, total, answered) rows, most first
    return {str(row.unit): int(row.total) for row in counter(session, start=start, end=end)}


def referrals_made(session: Session, *, start: date, end: date) -> int | None:
    by_unit = referral_counts_by_unit(session, start=start, end=end)
    return None if by_unit is None else sum(by_unit.values())


def review_counts(session: Session, milestone_ids: MilestoneIds) -> tuple[int | None, int | None]:
    """(extensions granted, requests returned) over these milestones, or (None, None)."""
    reviews = _module("reviews")
    counter = getattr(reviews, "review_counts", None)
    if counter is None:
        return None, None
    extensions, returns = counter(session, milestone_ids)
    return int(extensions), int(returns)


def latest_progress(session: Session, milestone_ids: MilestoneIds, *, limit: int | None = None) -> list[ProgressNote]:
    """The newest progress note (填报进展) of each milestone, newest first, from
    `board.reviews.latest_progress`; [] while that does not exist."""
    reviews = _module("reviews")
    reader = getattr(reviews, "latest_progress", None)
    if reader is None:
        return []
    found: dict = {}
    if isinstance(milestone_ids, Select):  # one query: the database picks the newest `limit`
        found.update(reader(session, milestone_ids, limit=limit))
    else:
        ids = list(milestone_ids)
        for start in range(0, len(ids), 900):  # within every database's limit on bound values
            found.update(reader(session, ids[start:start + 900]))
    notes = [
        ProgressNote(milestone_id=m_id, at=p.at,
                     text=p.note + ("" if getattr(p, "percent", None) is None else f"({p.percent}%)"))
        for m_id, p in found.items()
    ]
    notes.sort(key=lambda n: n.at, reverse=True)
    notes = notes[:limit] if limit is not None else notes
    if notes and limit is not None:  # a short list names its project and node
        from sqlalchemy import select

        from deadline_watch.domain.models import Milestone, Project
        names = {row.id: (row.project, row.milestone) for row in session.execute(
            select(Milestone.id, Project.name.label("project"), Milestone.name.label("milestone"))
            .join(Project, Project.id == Milestone.project_id)
            .where(Milestone.id.in_([n.milestone_id for n in notes])))}
        notes = [ProgressNote(n.milestone_id, n.at, n.text, *names.get(n.milestone_id, ("", ""))) for n in notes]
    return notes
