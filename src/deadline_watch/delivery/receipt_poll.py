"""Delivery receipts by polling, for providers that are asked rather than calling back (Aliyun).

Each delivery pass asks the backend's `delivery_status` about a bounded number of `sent`
rows without a final status, oldest asked first; a final answer is recorded exactly as a
Twilio status callback is (`receipts.apply_status_callback`): delivered, or failed with the
provider's code and 无法联系责任人 on the board. Rows still waiting go to the back of the line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from deadline_watch.core.db import transaction
from deadline_watch.core.errors import SmsError
from deadline_watch.core.logs import get_logger
from deadline_watch.delivery.receipts import apply_status_callback
from deadline_watch.domain.models import Notification, NotificationState
from deadline_watch.sms.base import SmsBackend

NOTIFICATIONS = Notification.__table__
POLL_BATCH = 100  # most rows asked about in one pass
MIN_AGE = timedelta(seconds=60)  # carriers take a moment: a message sent just now is not asked yet
MAX_AGE = timedelta(hours=72)  # after this a missing receipt will not come: the row stays `sent`


@dataclass
class PollResult:
    delivered: int = 0
    failed: int = 0
    waiting: int = 0


def poll_receipts(
    sessions: sessionmaker[Session], backend: SmsBackend, *, now: datetime, limit: int = POLL_BATCH
) -> PollResult:
    """Ask the provider about up to `limit` sent rows; record the final answers."""
    outcome = PollResult()
    delivery_status = getattr(backend, "delivery_status", None)
    if delivery_status is None:
        return outcome
    n = NOTIFICATIONS.c
    with transaction(sessions) as session:
        rows = session.execute(
            sa.select(n.id, n.to_number, n.provider_message_id, n.sent_at)
            .where(
                n.state == NotificationState.SENT,
                n.provider_message_id.is_not(None),
                n.sent_at <= now - MIN_AGE,
                n.sent_at >= now - MAX_AGE,
            )
            .order_by(n.updated_at, n.id)
            .limit(limit)
        ).all()
    log = get_logger()
    waiting: list[int] = []
    for row in rows:
        try:
            answer = delivery_status(row.to_number, row.provider_message_id, row.sent_at, notification_id=row.id)
        except SmsError as exc:
            log.warning("sms.receipt_poll_failed", notification_id=row.id, code=exc.code, error=str(exc))
            break  # the provider cannot be asked now: the next pass tries again
        if answer is None:
            waiting.append(row.id)
            continue
        status, code = answer
        params = {"MessageSid": row.provider_message_id, "MessageStatus": status}
        if code and status != "delivered":
            params["ErrorCode"] = code
        with transaction(sessions) as session:
            apply_status_callback(session, params, now=now, actor="aliyun", provider="Aliyun")
        if status == "delivered":
            outcome.delivered += 1
        else:
            outcome.failed += 1
    if waiting:
        outcome.waiting = len(waiting)
        with transaction(sessions) as session:
            _to_the_back(session, waiting, now=now)
    return outcome


def _to_the_back(session: Session, ids: list[int], *, now: datetime) -> None:
    """Rows still waiting for their receipt are asked about after the others next time."""
    session.execute(
        sa.update(NOTIFICATIONS)
        .where(NOTIFICATIONS.c.id.in_(ids), NOTIFICATIONS.c.state == NotificationState.SENT)
        .values(updated_at=now)
    )
