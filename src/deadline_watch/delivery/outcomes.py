"""What a send attempt leaves on its outbox row: the rows a delivery pass claims and the
outcomes it records (sent, rescheduled with backoff, released, or failed onto the board).

Every write is conditioned on the claim (`state = sending` and the same `claimed_at`), so
an outcome recorded after the claim was taken over (a stale claim reconciled by another
worker) changes nothing.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.core.config import Settings
from deadline_watch.core.db import log_after_commit
from deadline_watch.core.errors import SmsError
from deadline_watch.core.logs import get_logger
from deadline_watch.delivery.reconcile import mark_sent, mark_sent_many, provider_id_taken
from deadline_watch.delivery.retry import ErrorClass, backoff_seconds, classify
from deadline_watch.delivery.unreachable import mark_opted_out, open_unreachable_escalation
from deadline_watch.domain.models import Notification, NotificationState
from deadline_watch.domain.workdays import send_window_opening
from deadline_watch.sms.base import SendResult
from deadline_watch.sms.error_codes import OPTED_OUT_CODE

NOTIFICATIONS = Notification.__table__


@dataclass
class DeliveryResult:
    sent: int = 0  # accepted by the provider in this pass
    failed: int = 0  # permanent error or retry deadline passed: never retried, on the board
    deferred: int = 0  # transient error rescheduled, or moved to the next send-window opening
    claimed: int = 0
    reconciled: int = 0  # the provider already had it (stale claim or retry): marked sent
    requeued: int = 0  # stale claims the provider never saw: pending again
    unresolved: int = 0  # stale claims the provider could not be asked about: left for later
    cancelled: int = 0  # recipient opted out
    receipts_delivered: int = 0  # polled delivery receipts (Aliyun): delivered
    receipts_failed: int = 0  # polled delivery receipts: failed, on the board
    released: int = 0  # claimed rows handed back untouched (auth failure, shutdown, claim aging)
    auth_failed: bool = False
    account_error: str | None = None  # the provider's code when it refused the account (auth_failed)

    def as_dict(self) -> dict[str, int | bool | str | None]:
        return asdict(self)


@dataclass(frozen=True)
class ClaimedRow:
    id: int
    to_number: str
    body: str
    rule: str
    due_date: date
    attempts: int
    created_at: datetime
    claimed_at: datetime
    milestone_id: int
    recipient_id: int | None
    project_code: str
    milestone_name: str
    dedup_key: str
    template: str | None = None
    template_params: dict | None = None


@dataclass(frozen=True)
class SendOutcome:
    row: ClaimedRow
    result: SendResult | None = None
    error: SmsError | None = None
    sent_at: datetime | None = None
    already_sent: bool = False  # found at the provider before a retry: not sent again
    released: bool = False  # never attempted: the pass stopped or the claim grew too old


def record_accepted(session: Session, accepted: list[SendOutcome], now: datetime, outcome: DeliveryResult) -> None:
    """The common case, in one executemany: messages the provider just accepted become `sent`."""
    log = get_logger()
    lost = mark_sent_many(
        session,
        [(sent.row.id, sent.row.claimed_at, sent.result, sent.sent_at or now) for sent in accepted if sent.result],
        now=now,
    )
    for sent in accepted:
        assert sent.result is not None
        if sent.row.id in lost:
            log.error("sms.record_conflict", notification_id=sent.row.id, provider_message_id=sent.result.provider_message_id)
            continue
        outcome.sent += 1
        log_after_commit(
            session,
            "info",
            "sms.sent",
            notification_id=sent.row.id,
            provider_message_id=sent.result.provider_message_id,
            to=sent.row.to_number,
            attempts=sent.row.attempts,
        )


def record_outcome(
    session: Session,
    sent: SendOutcome,
    settings: Settings,
    rng: random.Random,
    now: datetime,
    outcome: DeliveryResult,
) -> None:
    log = get_logger()
    row = sent.row
    if sent.released:
        _release(session, row, now=now, error=None)
        outcome.released += 1
        return
    if sent.result is not None:
        if sent.already_sent and provider_id_taken(session, sent.result.provider_message_id):
            # that provider message belongs to another row: this one was never sent
            # (only when two rows raced for one match) try again later, with a fresh lookup
            delay = backoff_seconds(
                row.attempts, base=settings.sms.retry_base_seconds, cap=settings.sms.retry_cap_seconds, rng=rng
            )
            when = send_window_opening(now + timedelta(seconds=delay), settings)
            _reschedule(session, row, now=now, when=when, error="provider match belongs to another row")
            outcome.deferred += 1
            return
        recorded = mark_sent(
            session, row.id, sent.result, sent_at=sent.sent_at or now, now=now, claimed_at=row.claimed_at
        )
        if not recorded:
            log.error("sms.record_conflict", notification_id=row.id, provider_message_id=sent.result.provider_message_id)
        elif sent.already_sent:
            outcome.reconciled += 1
            log_after_commit(session, "info", "sms.reconciled", notification_id=row.id, provider_message_id=sent.result.provider_message_id)
        else:
            outcome.sent += 1
            log_after_commit(
                session,
                "info",
                "sms.sent",
                notification_id=row.id,
                provider_message_id=sent.result.provider_message_id,
                to=row.to_number,
                attempts=row.attempts,
            )
        return

    error = sent.error
    assert error is not None
    kind = classify(error)
    message = str(error)[:1000]
    if kind is ErrorClass.AUTH:
        _release(session, row, now=now, error=message, code=error.code)
        outcome.released += 1
        if not outcome.auth_failed:
            outcome.auth_failed = True
            outcome.account_error = error.code
            log.error(
                "sms.auth_failed",
                notification_id=row.id,
                code=error.code,
                http_status=error.http_status,
                error=message,
                action="sending stopped; the queue is kept for when the credentials are fixed",
            )
        return
    deadline = row.created_at + timedelta(hours=settings.sms.retry_deadline_hours)
    if kind is ErrorClass.TRANSIENT and now < deadline:
        delay = backoff_seconds(
            row.attempts, base=settings.sms.retry_base_seconds, cap=settings.sms.retry_cap_seconds, rng=rng
        )
        when = send_window_opening(now + timedelta(seconds=delay), settings)
        _reschedule(session, row, now=now, when=when, error=message, code=error.code)
        outcome.deferred += 1
        log.warning(
            "sms.retry",
            notification_id=row.id,
            attempts=row.attempts,
            next_attempt_at=when.isoformat(),
            code=error.code,
            http_status=error.http_status,
            error=message,
        )
        return
    if kind is ErrorClass.TRANSIENT:
        message = f"gave up after {row.attempts} attempts ({settings.sms.retry_deadline_hours:g} h): {message}"
    _fail(session, row, now=now, error=message, code=error.code)
    outcome.failed += 1
    log_after_commit(session, "error", "sms.failed", notification_id=row.id, code=error.code, http_status=error.http_status, error=message)


def _owned(row: ClaimedRow) -> list:
    return [
        NOTIFICATIONS.c.id == row.id,
        NOTIFICATIONS.c.state == NotificationState.SENDING,
        NOTIFICATIONS.c.claimed_at == row.claimed_at,
    ]


def _end_claim(session: Session, row: ClaimedRow, *, now: datetime, **values: object) -> int:
    """Let go of a row this worker still owns, setting `values`; the number of rows changed
    (0 when the claim was lost meanwhile: another worker re-claimed the row)."""
    return session.execute(
        sa.update(NOTIFICATIONS).where(*_owned(row)).values(claimed_at=None, updated_at=now, **values)
    ).rowcount


def _release(session: Session, row: ClaimedRow, *, now: datetime, error: str | None, code: str | None = None) -> None:
    """Back to pending as if never claimed: the attempt is not counted."""
    values: dict = {"state": NotificationState.PENDING, "attempts": NOTIFICATIONS.c.attempts - 1}
    if error is not None:
        values.update(last_error=error, provider_error_code=code)
    _end_claim(session, row, now=now, **values)


def _reschedule(
    session: Session, row: ClaimedRow, *, now: datetime, when: datetime, error: str, code: str | None = None
) -> None:
    _end_claim(
        session,
        row,
        now=now,
        state=NotificationState.PENDING,
        next_attempt_at=when,
        last_error=error,
        provider_error_code=code,
    )


def _fail(session: Session, row: ClaimedRow, *, now: datetime, error: str, code: str | None) -> None:
    """failed, never retried, and an "unreachable" item on the board for the milestone."""
    failed = _end_claim(session, row, now=now, state=NotificationState.FAILED, last_error=error, provider_error_code=code)
    if failed != 1:
        return
    if code == OPTED_OUT_CODE:
        # the provider's opt-out list is the source of truth: record it on the person
        mark_opted_out(session, row.to_number, now, "twilio:21610")
    notification = session.get(Notification, row.id)
    assert notification is not None
    detail = f"短信发送失败 / SMS failed ({code or 'no code'}): {error}"[:2000]
    open_unreachable_escalation(session, notification, now=now, actor="dispatch", detail=detail)
