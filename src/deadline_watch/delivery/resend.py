"""An operator's resend: a failed, undelivered or cancelled SMS goes back in the queue."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from deadline_watch.core.errors import DeadlineWatchError, NotFoundError
from deadline_watch.domain import audit
from deadline_watch.domain.models import Notification, NotificationState

RESENDABLE = (NotificationState.FAILED, NotificationState.UNDELIVERED, NotificationState.CANCELLED)


def requeue(session: Session, notification_id: int, *, now: datetime, actor: str) -> Notification:
    """Put a failed, undelivered or cancelled notification back in the queue (an operator's call)."""
    row = session.get(Notification, notification_id)
    if row is None:
        raise NotFoundError(f"没有编号为 {notification_id} 的短信", f"no notification with id {notification_id}")
    if row.state not in RESENDABLE:
        raise DeadlineWatchError(
            f"短信 {notification_id} 状态为 {row.state},只有 failed/undelivered/cancelled 可以重发",
            f"notification {notification_id} is {row.state}; only failed, undelivered or cancelled ones can be re-sent",
        )
    before = {"state": row.state, "attempts": row.attempts, "provider_error_code": row.provider_error_code}
    row.state = NotificationState.PENDING
    row.attempts = 0
    row.next_attempt_at = now
    row.claimed_at = None
    row.last_error = None
    row.provider_error_code = None
    row.updated_at = now
    audit.record(
        session,
        now=now,
        actor=actor,
        action="notification.requeued",
        entity_type="notification",
        entity_id=row.id,
        before=before,
        after={"state": row.state, "next_attempt_at": now},
    )
    return row
