"""Milestones of recurring tasks: each period's occurrence created when its turn comes.

Called by the import (right after the registry is written) and by every scan of the watch,
so a task 每月25日前 always has its next occurrence and never more than `ahead` upcoming
ones. Each occurrence is a milestone of its own (reminded, escalated, completed and
evaluated on its own); completing one never touches the next. Inserts are insert-once on
(project, name), so concurrent scans create each occurrence once.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from deadline_watch.core import db
from deadline_watch.domain import audit
from deadline_watch.domain.models import Milestone, MilestoneStatus, Project, ProjectStatus
from deadline_watch.domain.recurrence import KINDS, Recurrence, RecurrenceError


def recurring_projects(session: Session) -> list[tuple[int, str, date | None, int]]:
    """Active recurring projects: (id, rule, latest occurrence due date, highest position).

    The recurring projects are found first (off the partial index ix_projects_scheduled,
    whose condition the literal `schedule <> ''` repeats), and only their milestones are
    aggregated: every scan calls this, and a registry has few recurring tasks among
    hundreds of thousands of projects."""
    recurring = (
        select(Project.id, Project.schedule)
        .where(Project.schedule != literal_column("''"),
               Project.status == ProjectStatus.ACTIVE.value,
               func.substr(Project.schedule, 1, 4).in_({kind[:4] for kind in KINDS}))
        .subquery()
    )
    rows = session.execute(
        select(recurring.c.id, recurring.c.schedule, func.max(Milestone.due_date).label("last_due"),
               func.max(Milestone.position).label("last_position"))
        .select_from(recurring)
        .outerjoin(Milestone, Milestone.project_id == recurring.c.id)
        .group_by(recurring.c.id, recurring.c.schedule)
    )
    return [(row.id, row.schedule, row.last_due, row.last_position or 0) for row in rows]


def extend(session: Session, *, today: date, now: datetime, ahead: int = 1, actor: str = "watch",
           start: date | None = None) -> int:
    """Create the missing occurrences of every active recurring task; returns how many.

    One insert for all of them, whose RETURNING names the new rows (a concurrent scan's
    rows are not ours to audit), and one batch of audit events."""
    rows = []
    rules = {}
    for project_id, rule, last_due, last_position in recurring_projects(session):
        try:
            recurrence = Recurrence.parse(rule)
        except RecurrenceError:
            continue  # not a recurrence rule ("standing" or a future kind): nothing to create
        # From the last occurrence while it is past (the periods since are created, overdue);
        # once it is upcoming, from today: the `ahead` upcoming ones are counted from today,
        # and those that already exist (due <= last_due) are left out below.
        first = last_due if last_due is not None and last_due < today else max(start or today, today)
        dues = [due for due in recurrence.occurrences(start=first, today=today, ahead=ahead)
                if last_due is None or due > last_due]
        rules[project_id] = rule
        for offset, due in enumerate(dues, start=1):
            rows.append({
                "project_id": project_id, "name": recurrence.label(due), "position": last_position + offset,
                "due_date": due, "status": MilestoneStatus.OPEN.value, "evidence": "",
                "created_at": now, "updated_at": now,
            })
    new = db.insert_new(session, Milestone.__table__, rows, "project_id", "name",
                        returning=(Milestone.id, Milestone.project_id, Milestone.name, Milestone.due_date))
    events = [
        dict(at=now, actor=actor, action="milestone.occurrence_created", entity_type="milestone",
             entity_id=row.id, before=None,
             after={"name": row.name, "due_date": row.due_date, "recurrence": rules[row.project_id]})
        for row in sorted(new, key=lambda row: row.id)
    ]
    if events:
        audit.record_many(session, events)
    return len(new)
