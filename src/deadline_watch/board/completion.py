"""Marking a milestone complete (cancel its pending SMS, resolve its board item), and the
admin's correction that undoes it.

The same changes happen when the registry import fills in or clears a completion date:
the next scan sees them. Completing resolves at once, in one transaction; reopening leaves
the board to the next scan, which brings the item back at the level its days overdue call for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.core.errors import DeadlineWatchError, NotFoundError
from deadline_watch.domain import audit, outbox
from deadline_watch.domain import board_items as escalation
from deadline_watch.domain.models import Milestone, MilestoneStatus, Project


@dataclass(frozen=True)
class CompletionResult:
    milestone_id: int
    completed_on: date
    notifications_cancelled: int
    escalations_resolved: int
    late: bool


def _find(session: Session, project_code: str, milestone_name: str) -> Milestone:
    milestone = session.scalars(
        sa.select(Milestone)
        .join(Project, Project.id == Milestone.project_id)
        .where(Project.code == project_code, Milestone.name == milestone_name)
    ).first()
    if milestone is None:
        raise NotFoundError(
            f"找不到项目 {project_code} 的节点 “{milestone_name}”",
            f"no milestone {milestone_name!r} in project {project_code}",
        )
    return milestone


def reopen_milestone(session: Session, project_code: str, milestone_name: str, *, now: datetime,
                     actor: str) -> int:
    """An admin's correction: a milestone marked completed by mistake is open again (its
    completion date cleared). Returns its id; the next scan puts its board item back."""
    milestone = _find(session, project_code, milestone_name)
    if milestone.status != MilestoneStatus.COMPLETED and milestone.completed_on is None:
        raise DeadlineWatchError(
            f"节点 “{milestone_name}” 未登记完成,无需撤销", f"milestone {milestone_name!r} is not completed"
        )
    before = {"status": milestone.status, "completed_on": milestone.completed_on}
    milestone.status = MilestoneStatus.OPEN.value
    milestone.completed_on = None
    milestone.updated_at = now
    session.flush()
    audit.record(
        session,
        now=now,
        actor=actor,
        action="milestone.reopened",
        entity_type="milestone",
        entity_id=milestone.id,
        before=before,
        after={"status": milestone.status, "completed_on": None},
    )
    return milestone.id


def complete_milestone(
    session: Session,
    project_code: str,
    milestone_name: str,
    *,
    on: date,
    evidence: str | None,
    now: datetime,
    actor: str,
) -> CompletionResult:
    return complete(session, _find(session, project_code, milestone_name), on=on, evidence=evidence, now=now,
                    actor=actor)


def complete(
    session: Session, milestone: Milestone, *, on: date, evidence: str | None, now: datetime, actor: str
) -> CompletionResult:
    """Complete `milestone` as of `on` (the date it was done, not the date it is recorded):
    cancel its pending SMS and resolve its board item — 已逾期完成 when `on` is after the
    due date, else 已按期完成 (an official's on-time report approved after the date)."""
    milestone_name = milestone.name
    if milestone.status == MilestoneStatus.CANCELLED:
        raise DeadlineWatchError(
            f"节点 “{milestone_name}” 已取消,不能标记完成", f"milestone {milestone_name!r} is cancelled"
        )
    before = {"status": milestone.status, "completed_on": milestone.completed_on, "evidence": milestone.evidence}
    milestone.status = MilestoneStatus.COMPLETED.value
    milestone.completed_on = on
    if evidence:
        milestone.evidence = evidence
    milestone.updated_at = now
    session.flush()
    audit.record(
        session,
        now=now,
        actor=actor,
        action="milestone.completed",
        entity_type="milestone",
        entity_id=milestone.id,
        before=before,
        after={"status": milestone.status, "completed_on": on, "evidence": milestone.evidence},
    )
    cancelled = outbox.cancel_for_milestone(session, milestone.id, "milestone_completed", now=now)
    late = on > milestone.due_date
    resolved = 0
    for current in escalation.unresolved_for_milestone(session, milestone.id):
        note = escalation.completed_note(on)
        resolution = "completed_late" if late else "completed"
        if escalation.resolve(session, current, resolution, now=now, note=note, actor=actor):
            resolved += 1
    return CompletionResult(milestone.id, on, cancelled, resolved, late=late)
