"""Crash reconciliation: rows left in `sending` by a dead worker are asked about, not re-sent blindly.

Twilio's Messages API has no idempotency key, so a claim older than
`sms.claim_timeout_seconds` is ambiguous: the provider may or may not have accepted the
message. A backend with `find_sent` is asked; a match marks the row `sent`, no match puts
it back to `pending` for a re-send. A backend without it (console) cannot know: re-send.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from deadline_watch.core.db import log_after_commit, transaction
from deadline_watch.core.errors import SmsError
from deadline_watch.core.logs import get_logger
from deadline_watch.domain.models import Notification, NotificationState
from deadline_watch.sms.base import SendResult, SmsBackend

NOTIFICATIONS = Notification.__table__
# Provider clocks and ours may differ a little; look a bit further back than the intent's birth.
LOOKUP_MARGIN = timedelta(minutes=5)
SETTLE_GROUP = 200  # stale claims settled per transaction
RECONCILE_CONCURRENCY = 32  # parallel provider lookups when settling stale claims (the HTTP pool holds 32)


@dataclass
class ReconcileResult:
    reconciled: int = 0  # the provider had it: marked sent
    requeued: int = 0  # the provider never saw it: pending again
    unresolved: int = 0  # the provider could not be asked now: left for the next pass


def find_already_sent(
    backend: SmsBackend,
    *,
    to: str,
    body: str,
    since: datetime,
    notification_id: int | None = None,
    until: datetime | None = None,
) -> SendResult | None:
    """Ask the provider (outside any transaction) whether it accepted this message since `since`.

    None when nothing matches or the backend has no lookup; raises SmsError when the
    provider cannot be asked.
    """
    find_sent = getattr(backend, "find_sent", None)
    if find_sent is None:
        return None
    try:
        return find_sent(to, body, since - LOOKUP_MARGIN, notification_id=notification_id, until=until)
    except SmsError:
        raise
    except Exception as exc:  # noqa: BLE001 - an unexpected lookup failure means "cannot ask now"
        raise SmsError(f"lookup failed: {type(exc).__name__}: {exc}", permanent=False) from exc


def provider_id_taken(session: Session, provider_message_id: str) -> bool:
    """A provider id already recorded on a row belongs to that row's intent, not another's."""
    taken = session.execute(
        sa.select(NOTIFICATIONS.c.id).where(NOTIFICATIONS.c.provider_message_id == provider_message_id)
    ).first()
    return taken is not None


def mark_sent(
    session: Session,
    notification_id: int,
    result: SendResult,
    *,
    sent_at: datetime,
    now: datetime,
    claimed_at: datetime | None = None,
) -> bool:
    """sending -> sent with the provider's id; False when the row was no longer ours."""
    values = {
        "state": NotificationState.SENT,
        "provider_message_id": result.provider_message_id,
        "sent_at": sent_at,
        "last_error": None,
        "provider_error_code": None,
        "updated_at": now,
    }
    if result.segments is not None:
        values["segments"] = result.segments
    if result.price is not None:
        values["price"] = result.price
    condition = [NOTIFICATIONS.c.id == notification_id, NOTIFICATIONS.c.state == NotificationState.SENDING]
    if claimed_at is not None:
        condition.append(NOTIFICATIONS.c.claimed_at == claimed_at)
    updated = session.execute(sa.update(NOTIFICATIONS).where(*condition).values(**values))
    return updated.rowcount == 1


def _mark_sent_statements() -> tuple[sa.Update, sa.Select]:
    n = NOTIFICATIONS.c
    update = (
        sa.update(NOTIFICATIONS)
        .where(n.id == sa.bindparam("row_id"), n.state == NotificationState.SENDING, n.claimed_at == sa.bindparam("row_claimed_at"))
        .values(
            state=NotificationState.SENT,
            provider_message_id=sa.bindparam("row_sid"),
            sent_at=sa.bindparam("row_sent_at"),
            segments=sa.func.coalesce(sa.bindparam("row_segments", type_=n.segments.type), n.segments),
            price=sa.func.coalesce(sa.bindparam("row_price", type_=n.price.type), n.price),
            last_error=None,
            provider_error_code=None,
            updated_at=sa.bindparam("row_updated_at", type_=n.updated_at.type),
        )
    )
    written = sa.select(n.id, n.provider_message_id).where(
        n.id.in_(sa.bindparam("row_ids", expanding=True)), n.state == NotificationState.SENT
    )
    return update, written


# built once: the recorder runs these for every group of outcomes, and building the
# constructs again each time was a good part of a group's CPU (issue 17)
_MARK_SENT_MANY, _WRITTEN = _mark_sent_statements()


def mark_sent_many(session: Session, sent: list[tuple[int, datetime, SendResult, datetime]], *, now: datetime) -> set[int]:
    """`mark_sent` for many rows in one executemany: (id, claimed_at, result, sent_at) each.

    Returns the ids that were no longer ours (not `sending` under that claim).
    """
    if not sent:
        return set()
    session.execute(
        _MARK_SENT_MANY,
        [
            {
                "row_id": row_id,
                "row_claimed_at": claimed_at,
                "row_sid": result.provider_message_id,
                "row_sent_at": sent_at,
                "row_segments": result.segments,
                "row_price": result.price,
                "row_updated_at": now,
            }
            for row_id, claimed_at, result, sent_at in sent
        ],
    )
    # executemany row counts are not reliable on every driver: check what was written
    expected = {row_id: result.provider_message_id for row_id, _claimed, result, _sent_at in sent}
    written = session.execute(_WRITTEN, {"row_ids": list(expected)}).all()
    confirmed = {row_id for row_id, sid in written if expected.get(row_id) == sid}
    return set(expected) - confirmed


def stale_cutoff(session: Session, claim_timeout_seconds: float, *, now: datetime) -> sa.ColumnElement | datetime:
    """Claims older than this are stale. On PostgreSQL claims carry the database's time and
    are judged by the database's clock alone (a worker whose clock runs ahead must not take
    a live worker's claims); on SQLite there is one process and one clock: `now`."""
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, float(claim_timeout_seconds))
    return now - timedelta(seconds=claim_timeout_seconds)


def reconcile_stale(
    sessions: sessionmaker[Session],
    backend: SmsBackend,
    *,
    claim_timeout_seconds: float,
    now: datetime,
    concurrency: int = RECONCILE_CONCURRENCY,
) -> ReconcileResult:
    """Settle every `sending` row whose claim is older than the timeout.

    The provider is asked about the first row alone: when it cannot be asked, every row
    stays `sending` for the next pass without waiting out one timeout per row. Otherwise
    the rest are asked `concurrency` at a time (lookups, not sends: the send rate cap is
    untouched), so 300 stale claims at 200-400 ms a lookup settle in about 4 s, not two minutes.
    """
    log = get_logger()
    outcome = ReconcileResult()
    with transaction(sessions) as session:
        cutoff = stale_cutoff(session, claim_timeout_seconds, now=now)
        stale = session.execute(
            sa.select(
                NOTIFICATIONS.c.id,
                NOTIFICATIONS.c.to_number,
                NOTIFICATIONS.c.body,
                NOTIFICATIONS.c.claimed_at,
                NOTIFICATIONS.c.created_at,
            )
            .where(NOTIFICATIONS.c.state == NotificationState.SENDING, NOTIFICATIONS.c.claimed_at < cutoff)
            .order_by(NOTIFICATIONS.c.claimed_at, NOTIFICATIONS.c.id)
        ).all()
    if not stale:
        return outcome
    provider_down = threading.Event()

    def ask(row: sa.Row) -> tuple[sa.Row, SendResult | None, SmsError | None]:
        if provider_down.is_set():
            return row, None, SmsError("provider could not be asked", permanent=False)
        try:
            found = find_already_sent(
                backend, to=row.to_number, body=row.body, since=row.created_at, notification_id=row.id, until=now
            )
            return row, found, None
        except SmsError as exc:
            provider_down.set()
            return row, None, exc

    answers = [ask(stale[0])]
    if answers[0][2] is None and len(stale) > 1:
        workers = max(1, min(concurrency, len(stale) - 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sms-reconcile") as pool:
            answers.extend(pool.map(ask, stale[1:]))
    else:
        answers.extend((row, None, SmsError("provider could not be asked", permanent=False)) for row in stale[1:])
    unanswered = [(row, error) for row, _found, error in answers if error is not None]
    if unanswered:
        # the provider cannot be asked now: these stay `sending` for the next pass
        outcome.unresolved += len(unanswered)
        log.warning(
            "sms.reconcile_unresolved",
            notification_ids=[row.id for row, _error in unanswered],
            error=str(unanswered[0][1]),
        )
    answered = [(row, found) for row, found, error in answers if error is None]
    for start in range(0, len(answered), SETTLE_GROUP):
        with transaction(sessions) as session:  # one commit per group, not per row
            for row, found in answered[start : start + SETTLE_GROUP]:
                _settle(session, row, found, now=now, outcome=outcome)
    return outcome


def _settle(session: Session, row: sa.Row, found: SendResult | None, *, now: datetime,
            outcome: ReconcileResult) -> None:
    """One stale claim, once the provider answered: sent (it had it) or pending again."""
    if found is not None and not provider_id_taken(session, found.provider_message_id):
        if mark_sent(session, row.id, found, sent_at=row.claimed_at, now=now, claimed_at=row.claimed_at):
            outcome.reconciled += 1
            log_after_commit(
                session, "info", "sms.reconciled", notification_id=row.id,
                provider_message_id=found.provider_message_id,
            )
        return
    requeued = session.execute(
        sa.update(NOTIFICATIONS)
        .where(
            NOTIFICATIONS.c.id == row.id,
            NOTIFICATIONS.c.state == NotificationState.SENDING,
            NOTIFICATIONS.c.claimed_at == row.claimed_at,
        )
        .values(
            state=NotificationState.PENDING,
            next_attempt_at=now,
            claimed_at=None,
            last_error="claim expired, provider has no record: will re-send",
            updated_at=now,
        )
    )
    if requeued.rowcount == 1:
        outcome.requeued += 1
        log_after_commit(session, "warning", "sms.requeued", notification_id=row.id)
