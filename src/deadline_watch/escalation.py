"""Automatic escalation state changes, each with its audit event.

Opening uses INSERT .. ON CONFLICT DO NOTHING on `Escalation.dedup_key`, raising and
resolving are conditional UPDATEs: whichever concurrent scan wins does the change, writes
the audit event and enqueues the SMS; the others see zero rows and do nothing.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import audit, db
from .logs import get_logger
from .models import Escalation, EscalationReason, EscalationState
from .scan import EscalationDecision, EscalationFacts, MilestoneFacts, escalation_key

ACTOR = "watch"
UNRESOLVED = (EscalationState.OPEN.value, EscalationState.ACKNOWLEDGED.value)


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


def open_escalation(session: Session, facts: MilestoneFacts, level: int, *, now: datetime) -> int | None:
    """Open the board item for this milestone and due date; None if it already exists."""
    escalation_id = insert_board_item(
        session,
        dedup_key=escalation_key(facts.milestone_id, facts.due_date),
        milestone_id=facts.milestone_id,
        reason=EscalationReason.OVERDUE.value,
        due_date=facts.due_date,
        level=level,
        now=now,
        actor=ACTOR,
        audit_after={"milestone_id": facts.milestone_id, "due_date": facts.due_date, "level": level, "state": "open"},
    )
    if escalation_id is not None:
        get_logger().info(
            "escalation.opened", escalation_id=escalation_id, project_code=facts.project_code, level=level
        )
    return escalation_id


def raise_level(session: Session, decision: EscalationDecision, *, now: datetime) -> bool:
    """Move an unresolved escalation up to `decision.level`; False if someone else did."""
    assert decision.escalation_id is not None
    if not _change_unresolved(
        session,
        decision.escalation_id,
        Escalation.level < decision.level,
        values={"level": decision.level, "raised_at": now},
        now=now,
        actor=ACTOR,
        action="escalation.raised",
        before={"level": decision.from_level},
        after={"level": decision.level},
    ):
        return False
    get_logger().info(
        "escalation.raised",
        escalation_id=decision.escalation_id,
        project_code=decision.facts.project_code,
        level=decision.level,
    )
    return True


def move_due_date(session: Session, decision: EscalationDecision, current: EscalationFacts, *, now: datetime) -> bool:
    """The due date changed but is still past: the same board item follows the new date.

    If a board item for the new date already exists (a date moved back and forth), the
    old one is resolved as deadline_extended instead.
    """
    facts = decision.facts
    new_key = escalation_key(facts.milestone_id, facts.due_date)
    taken = session.scalar(sa.select(Escalation.id).where(Escalation.dedup_key == new_key))
    if taken is not None:
        return resolve(session, current, "deadline_extended", now=now, note=f"新截止日期 {facts.due_date}")
    return _change_unresolved(
        session,
        current.id,
        Escalation.due_date == current.due_date,
        values={"due_date": facts.due_date, "dedup_key": new_key, "level": decision.level},
        now=now,
        actor=ACTOR,
        action="escalation.due_date_changed",
        before={"due_date": current.due_date, "level": current.level},
        after={"due_date": facts.due_date, "level": decision.level},
    )


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
        existing = session.scalar(sa.select(Escalation.notes).where(Escalation.id == current.id)) or ""
        values["notes"] = f"{existing}\n{note}".strip()
    if not _change_unresolved(
        session,
        current.id,
        values=values,
        now=now,
        actor=actor,
        action="escalation.resolved",
        before={"state": current.state, "level": current.level},
        after={"state": "resolved", "resolution": resolution, "note": note},
    ):
        return False
    get_logger().info("escalation.resolved", escalation_id=current.id, resolution=resolution)
    return True


def _change_unresolved(
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


def resolution_note(facts: MilestoneFacts, resolution: str) -> str | None:
    if resolution == "completed_late" and facts.completed_on:
        return completed_note(facts.completed_on)
    if resolution == "deadline_extended":
        return f"新截止日期 new due date {facts.due_date.isoformat()}"
    if resolution == "cancelled":
        return f"项目状态 project {facts.project_status}, 节点状态 milestone {facts.status}"
    return None


def completed_note(completed_on: date) -> str:
    """The note on a board item resolved as completed_late (by a scan or `complete_milestone`)."""
    return f"完成日期 completed on {completed_on.isoformat()}"


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
