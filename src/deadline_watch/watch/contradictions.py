"""SMS that must never follow one already planned or sent for the same milestone and due date.

Whatever `now` a scan is given (a forced backward tick, a clock that went back), an
official is never told less than they were already told: no reminder once the milestone
has been escalated for that due date, and no reminder with more days left than one
already sent or queued.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.core import db
from deadline_watch.domain.models import Escalation, EscalationReason, Notification, NotificationState
from deadline_watch.watch.decisions import SmsIntent

LIVE = (
    NotificationState.PENDING.value,
    NotificationState.SENDING.value,
    NotificationState.SENT.value,
    NotificationState.DELIVERED.value,
    NotificationState.UNDELIVERED.value,
)


def drop_contradicting(session: Session, reminders: list[SmsIntent]) -> list[SmsIntent]:
    """The reminders that contradict nothing already escalated, queued or sent."""
    if not reminders:
        return reminders
    ids = sorted({intent.milestone_id for intent in reminders})
    escalated: set[tuple[int, object]] = {
        (milestone_id, due_date)
        for milestone_id, due_date in session.execute(
            sa.select(Escalation.milestone_id, Escalation.due_date).where(
                db.in_values(session, Escalation.milestone_id, ids), Escalation.reason == EscalationReason.OVERDUE.value
            )
        )
    }
    fewest_left: dict[tuple[int, object], int] = {}
    for milestone_id, due_date, rule, days_left in session.execute(
        sa.select(Notification.milestone_id, Notification.due_date, Notification.rule, Notification.days_left).where(
            db.in_values(session, Notification.milestone_id, ids), Notification.state.in_(LIVE)
        )
    ):
        key = (milestone_id, due_date)
        if rule == "escalation":
            escalated.add(key)
        elif days_left is not None:
            fewest_left[key] = min(days_left, fewest_left.get(key, days_left))
    kept = []
    for intent in reminders:
        key = (intent.milestone_id, intent.due_date)
        if key in escalated:
            continue
        if intent.days_left is not None and key in fewest_left and intent.days_left > fewest_left[key]:
            continue
        kept.append(intent)
    return kept
