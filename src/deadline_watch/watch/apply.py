"""Watch decisions applied to the board: open, raise and move overdue escalations.

Each change goes through `domain.board_items` (insert-once, conditional UPDATE), so a
concurrent scan that loses sees zero rows and writes nothing.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.core import db
from deadline_watch.domain.board_items import (
    ACTOR,
    RESOLVED_BY_FACTS,
    change_unresolved,
    completed_note,
    insert_board_item,
    reopen,
    resolve,
)
from deadline_watch.domain.models import Escalation, EscalationReason
from deadline_watch.watch.decisions import Move, Raise, Reopen
from deadline_watch.watch.facts import MilestoneFacts
from deadline_watch.watch.rules import escalation_key


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
        db.log_after_commit(
            session, "info", "escalation.opened", escalation_id=escalation_id, project_code=facts.project_code, level=level
        )
    return escalation_id


def raise_level(session: Session, decision: Raise, *, now: datetime) -> bool:
    """Move an unresolved escalation up to `decision.level`; False if someone else did."""
    if not change_unresolved(
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
    db.log_after_commit(
        session,
        "info",
        "escalation.raised",
        escalation_id=decision.escalation_id,
        project_code=decision.facts.project_code,
        level=decision.level,
    )
    return True


def reopen_escalation(session: Session, decision: Reopen, *, now: datetime) -> bool:
    """The milestone of an item resolved as completed (or cancelled) is open and overdue again:
    the item comes back to the queue; False if another scan did it first."""
    return reopen(
        session,
        decision.escalation_id,
        resolutions=RESOLVED_BY_FACTS,
        level=decision.level,
        now=now,
        actor=ACTOR,
        action="escalation.reopened",
        note="节点重新打开(完成登记被撤销或节点恢复),督办事项重新进入督办队列",
    )


def move_due_date(session: Session, decision: Move, *, now: datetime) -> bool:
    """The due date changed but is still past: the same board item follows the new date.

    If a board item for the new date already exists (a date moved back and forth), the
    old one is resolved as deadline_extended instead.
    """
    facts, current = decision.facts, decision.current
    new_key = escalation_key(facts.milestone_id, facts.due_date)
    taken = session.scalar(sa.select(Escalation.id).where(Escalation.dedup_key == new_key))
    if taken is not None:
        return resolve(session, current, "deadline_extended", now=now, note=f"新截止日期 {facts.due_date}")
    return change_unresolved(
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


def resolution_note(facts: MilestoneFacts, resolution: str) -> str | None:
    if resolution == "completed_late" and facts.completed_on:
        return completed_note(facts.completed_on)
    if resolution == "deadline_extended":
        return f"新截止日期 {facts.due_date.isoformat()}"
    if resolution == "cancelled":
        return "项目或节点已终止,不再督办"
    return None
