"""The outbox as rows: cancel pending SMS (stale, completed work) and list them.

Used by the watch, the board's completion and the CLI; writing new intents is the
watch's job (`watch.enqueue`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.core.db import log_after_commit
from deadline_watch.domain.models import Notification, NotificationState


def cancel(session: Session, reasons: dict[int, str], *, now: datetime) -> int:
    """Cancel pending notifications (id -> reason); rows already claimed are left alone."""
    cancelled = 0
    by_reason: dict[str, list[int]] = {}
    for notification_id, reason in reasons.items():
        by_reason.setdefault(reason, []).append(notification_id)
    for reason, ids in by_reason.items():
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            result = session.execute(
                sa.update(Notification)
                .where(Notification.id.in_(chunk), Notification.state == NotificationState.PENDING.value)
                .values(state=NotificationState.CANCELLED.value, last_error=f"cancelled: {reason}", updated_at=now)
                .execution_options(synchronize_session=False)
            )
            cancelled += result.rowcount or 0
    if cancelled:
        log_after_commit(session, "info", "outbox.cancelled", count=cancelled, reasons=dict(Counter(reasons.values())))
    return cancelled


def cancel_for_milestone(session: Session, milestone_id: int, reason: str, *, now: datetime) -> int:
    """Cancel every pending notification of one milestone (completion, cancellation)."""
    ids = session.scalars(
        sa.select(Notification.id).where(
            Notification.milestone_id == milestone_id, Notification.state == NotificationState.PENDING.value
        )
    ).all()
    return cancel(session, {notification_id: reason for notification_id in ids}, now=now)


def list_notifications(session: Session, *, state: str | None = None, limit: int = 200) -> list[Notification]:
    statement = sa.select(Notification).order_by(Notification.id.desc()).limit(limit)
    if state and state != "all":
        statement = statement.where(Notification.state == state)
    return list(session.scalars(statement))
