"""Board items (escalations) as rows: open one once, change or resolve an unresolved one.

Shared by the watch (overdue items) and delivery (unreachable officials). Opening uses
INSERT .. ON CONFLICT DO NOTHING on `Escalation.dedup_key`; every change is a conditional
UPDATE of an unresolved row, so whichever concurrent actor wins writes the change and its
audit event and the others see zero rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.core import db
from deadline_watch.domain import audit
from deadline_watch.domain.models import Escalation, EscalationReason, EscalationState


@dataclass(frozen=True)
class EscalationFacts:
    id: int
    milestone_id: int
    due_date: date
    level: int
    state: str
    resolution: str | None = None


ACTOR = "watch"
UNRESOLVED = (EscalationState.OPEN.value, EscalationState.ACKNOWLEDGED.value)
# Resolutions that hold only while the milestone is completed or cancelled: when it is
# open again (a re-import without the completion date, an admin correction) the item
# goes back to supervision.
RESOLVED_BY_FACTS = ("completed_late", "completed", "cancelled")


def insert_board_item(
    session: Session,
    *,
    dedup_key: str,
    milestone_id: int,
    reason: str,
    due_date: date,
    level: int,
    now: datetime,
    actor: str,
    audit_after: dict,
    notes: str = "",
    raised_at: datetime | None = None,
) -> int | None:
    """Insert one Escalation unless its dedup key exists, with its `escalation.opened` audit
    event; returns the new id, or None when another scan (or callback) got there first."""
    row = {
        "dedup_key": dedup_key,
        "milestone_id": milestone_id,
        "reason": reason,
        "due_date": due_date,
        "level": level,
        "state": EscalationState.OPEN.value,
        "opened_at": now,
        "raised_at": raised_at,
        "notes": notes,
    }
    if not db.insert_ignore(session, Escalation.__table__, [row], "dedup_key"):
        return None
    escalation_id = session.scalar(sa.select(Escalation.id).where(Escalation.dedup_key == dedup_key))
    assert escalation_id is not None
    audit.record(
        session,
        now=now,
        actor=actor,
        action="escalation.opened",
        entity_type="escalation",
        entity_id=escalation_id,
        after=audit_after,
    )
    return escalation_id


def resolve(
    session: Session,
    current: EscalationFacts,
    resolution: str,
    *,
    now: datetime,
    note: str | None = None,
    actor: str = ACTOR,
) -> bool:
    """Resolve an unresolved escalation (completed_late, deadline_extended, cancelled...)."""
    values: dict = {"state": EscalationState.RESOLVED.value, "resolution": resolution, "resolved_at": now}
    if note:
        values["notes"] = appended_note(note)
    if not change_unresolved(
        session,
        current.id,
        # as the scan read it, so that the audit event's `before` is what was replaced
        Escalation.state == current.state,
        Escalation.level == current.level,
        values=values,
        now=now,
        actor=actor,
        action="escalation.resolved",
        before={"state": current.state, "level": current.level},
        after={"state": "resolved", "resolution": resolution, "note": note},
    ):
        return False
    db.log_after_commit(session, "info", "escalation.resolved", escalation_id=current.id, resolution=resolution)
    return True


def appended_note(line: str) -> sa.ColumnElement[str]:
    """`notes` with `line` appended, as SQL: two writers adding notes at once both keep theirs."""
    existing = sa.func.coalesce(Escalation.notes, "")
    return sa.case((existing == "", sa.literal(line)), else_=existing + "\n" + sa.literal(line))


def change_unresolved(
    session: Session,
    escalation_id: int,
    *conditions: sa.ColumnElement[bool],
    values: dict,
    now: datetime,
    actor: str,
    action: str,
    before: dict,
    after: dict,
) -> bool:
    """One conditional UPDATE of an unresolved escalation and, when it took, its audit event.

    False (and nothing written) when the escalation is resolved meanwhile or `conditions`
    no longer hold: a concurrent scan or callback made the change first.
    """
    result = session.execute(
        sa.update(Escalation)
        .where(Escalation.id == escalation_id, Escalation.state.in_(UNRESOLVED), *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        return False
    audit.record(
        session,
        now=now,
        actor=actor,
        action=action,
        entity_type="escalation",
        entity_id=escalation_id,
        before=before,
        after=after,
    )
    return True


def reopen(
    session: Session,
    escalation_id: int,
    *,
    resolutions: tuple[str, ...],
    level: int,
    now: datetime,
    actor: str,
    action: str,
    note: str,
) -> bool:
    """Put a resolved item back on the queue (state open, resolution cleared, at `level`),
    only while it is still resolved with one of `resolutions`: one conditional UPDATE, so of
    a scan and a supervisor acting at once exactly one reopens it. False when it did not take."""
    before = session.execute(
        sa.select(Escalation.resolution, Escalation.level, Escalation.notes).where(Escalation.id == escalation_id)
    ).first()
    if before is None:
        return False
    result = session.execute(
        sa.update(Escalation)
        .where(
            Escalation.id == escalation_id,
            Escalation.state == EscalationState.RESOLVED.value,
            Escalation.resolution.in_(resolutions),
        )
        .values(
            state=EscalationState.OPEN.value,
            resolution=None,
            resolved_at=None,
            level=max(before.level, level),
            notes=f"{before.notes}\n{note}".strip() if before.notes else note,
        )
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        return False
    audit.record(
        session,
        now=now,
        actor=actor,
        action=action,
        entity_type="escalation",
        entity_id=escalation_id,
        before={"state": "resolved", "resolution": before.resolution, "level": before.level},
        after={"state": "open", "level": max(before.level, level), "note": note},
    )
    db.log_after_commit(session, "info", "escalation.reopened", escalation_id=escalation_id, level=max(before.level, level))
    return True


def completed_note(completed_on: date) -> str:
    """The note on a board item resolved as completed_late (by a scan or `complete_milestone`)."""
    return f"节点已完成,完成日期 {completed_on.isoformat()}"


def unresolved_for_milestone(session: Session, milestone_id: int) -> list[EscalationFacts]:
    return _unresolved(
        session, Escalation.milestone_id == milestone_id, Escalation.reason == EscalationReason.OVERDUE.value
    )


def unresolved_by_key(session: Session, dedup_key: str) -> EscalationFacts | None:
    """The unresolved escalation with this dedup key (e.g. an unreachable item), if any."""
    found = _unresolved(session, Escalation.dedup_key == dedup_key)
    return found[0] if found else None


def _unresolved(session: Session, *conditions: sa.ColumnElement[bool]) -> list[EscalationFacts]:
    rows = session.execute(
        sa.select(Escalation.id, Escalation.milestone_id, Escalation.due_date, Escalation.level, Escalation.state).where(
            Escalation.state.in_(UNRESOLVED), *conditions
        )
    )
    return [EscalationFacts(*row) for row in rows]
