"""Undo a clock jump that was acted on (a `tick --now` with the wrong year): rewind the
watch to an instant.

Board items opened after it are withdrawn (reason and resolution `withdrawn`, an audit
event, no SMS) and their key freed; items raised after it go back to their earlier level;
SMS planned after it and still pending are cancelled; reminders cancelled after it are
re-armed by freeing their dedup key (a cancelled row would otherwise block the key for
good); the last scan is set back. The next real scan then plans each reminder once, with
the right text, and accuses no one. SMS already sent cannot be recalled: they are counted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.domain import audit, watch_clock
from deadline_watch.domain.models import (
    AuditEvent,
    Escalation,
    EscalationReason,
    EscalationState,
    Notification,
    NotificationState,
    Resolution,
)

KEY_LENGTH = 200
SENT_STATES = (NotificationState.SENT.value, NotificationState.DELIVERED.value, NotificationState.UNDELIVERED.value)


@dataclass
class RewindResult:
    escalations_withdrawn: int = 0
    escalations_lowered: int = 0
    notifications_cancelled: int = 0
    reminders_rearmed: int = 0
    sent_after: int = 0  # SMS already handed to the provider after the instant (cannot be recalled)
    previous_last_scan: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def freed_key(prefix: str, row_id: int, key: str) -> str:
    """A dedup key renamed out of the way: the row keeps its history, the key is free again."""
    return f"{prefix}:{row_id}:{key}"[:KEY_LENGTH]


def rewind(session: Session, to: datetime, *, now: datetime, actor: str) -> RewindResult:
    """Rewind the watch to `to` in the caller's transaction."""
    result = RewindResult()
    withdrawn_pairs: set[tuple[int, object]] = set()

    opened_after = session.scalars(
        sa.select(Escalation).where(Escalation.reason == EscalationReason.OVERDUE.value, Escalation.opened_at > to)
    ).all()
    for item in opened_after:
        before = {"state": item.state, "level": item.level, "dedup_key": item.dedup_key}
        withdrawn_pairs.add((item.milestone_id, item.due_date))
        item.dedup_key = freed_key("withdrawn", item.id, item.dedup_key)
        item.reason = EscalationReason.WITHDRAWN.value
        item.state = EscalationState.RESOLVED.value
        item.resolution = Resolution.WITHDRAWN.value
        item.resolved_at = now
        item.notes = f"{item.notes}\n时钟回拨撤回 / withdrawn by a clock rewind to {to.isoformat()}".strip()
        audit.record(
            session, now=now, actor=actor, action="escalation.withdrawn", entity_type="escalation",
            entity_id=item.id, before=before, after={"state": item.state, "resolution": item.resolution, "to": to},
        )
        result.escalations_withdrawn += 1

    raised_after = session.scalars(
        sa.select(Escalation).where(
            Escalation.reason == EscalationReason.OVERDUE.value,
            Escalation.opened_at <= to,
            Escalation.raised_at > to,
        )
    ).all()
    for item in raised_after:
        first_raise = session.scalars(
            sa.select(AuditEvent)
            .where(
                AuditEvent.entity_type == "escalation",
                AuditEvent.entity_id == item.id,
                AuditEvent.action == "escalation.raised",
                AuditEvent.at > to,
            )
            .order_by(AuditEvent.at, AuditEvent.id)
        ).first()
        earlier = (first_raise.before or {}).get("level") if first_raise is not None else None
        if earlier is None or earlier >= item.level:
            continue
        audit.record(
            session, now=now, actor=actor, action="escalation.lowered", entity_type="escalation",
            entity_id=item.id, before={"level": item.level}, after={"level": earlier, "to": to},
        )
        item.level = earlier
        item.raised_at = None
        result.escalations_lowered += 1

    result.notifications_cancelled = _cancel_planned_after(session, to, withdrawn_pairs, now=now)
    result.reminders_rearmed = _rearm_cancelled_after(session, to, now=now)
    result.sent_after = session.scalar(
        sa.select(sa.func.count(Notification.id)).where(Notification.sent_at > to, Notification.state.in_(SENT_STATES))
    ) or 0
    previous = watch_clock.reset_last_scan(session, to, now=now)
    result.previous_last_scan = previous.isoformat() if previous else None
    audit.record(
        session, now=now, actor=actor, action="watch.rewound", entity_type="watch", entity_id=0,
        before={"last_scan_at": previous}, after={"to": to, **result.as_dict()},
    )
    return result


def _cancel_planned_after(session: Session, to: datetime, withdrawn: set[tuple[int, object]], *, now: datetime) -> int:
    """Pending SMS created after `to`, and the escalation SMS of withdrawn items: cancelled, key freed."""
    rows = session.scalars(
        sa.select(Notification).where(Notification.state == NotificationState.PENDING.value)
    ).all()
    cancelled = 0
    for row in rows:
        of_withdrawn = row.rule == "escalation" and (row.milestone_id, row.due_date) in withdrawn
        if row.created_at <= to and not of_withdrawn:
            continue
        row.state = NotificationState.CANCELLED.value
        row.last_error = "cancelled: rewound"
        row.dedup_key = freed_key("rewound", row.id, row.dedup_key)
        row.updated_at = now
        cancelled += 1
    return cancelled


def _rearm_cancelled_after(session: Session, to: datetime, *, now: datetime) -> int:
    """Reminders planned before `to` but cancelled after it (e.g. as "overdue" by a jumped
    scan): their key is freed so the next real scan plans them again if they are still due."""
    rows = session.scalars(
        sa.select(Notification).where(
            Notification.state == NotificationState.CANCELLED.value,
            Notification.rule == "reminder",
            Notification.created_at <= to,
            Notification.updated_at > to,
            Notification.dedup_key.not_like("rewound:%"),
        )
    ).all()
    for row in rows:
        row.dedup_key = freed_key("rewound", row.id, row.dedup_key)
        row.updated_at = now
    return len(rows)
