"""One delivery pass: reconcile stale claims, claim due rows, send through a backend, record each outcome.

The claim is a single UPDATE .. WHERE id IN (SELECT .. FOR UPDATE SKIP LOCKED LIMIT n)
RETURNING .. committed before any network call, so two workers never take the same row
and no transaction is open while the provider is talking. Outcomes are recorded as soon
as they arrive (those that finish together share one transaction), which keeps the set of
ambiguous `sending` rows a crash can leave small; reconcile.py settles those, and
outcomes.py writes them (sent, rescheduled, released or failed).
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from deadline_watch.core.clock import Clock
from deadline_watch.core.config import Settings
from deadline_watch.core.db import transaction
from deadline_watch.core.errors import SmsError
from deadline_watch.core.logs import get_logger
from deadline_watch.delivery.outcomes import (
    ClaimedRow,
    DeliveryResult,
    SendOutcome,
    record_accepted,
    record_outcome,
)
from deadline_watch.delivery.ratelimit import RateLimiter, shared_limiter
from deadline_watch.delivery.receipt_poll import poll_receipts
from deadline_watch.delivery.reconcile import (
    find_already_sent,
    provider_id_taken,
    reconcile_stale,
)
from deadline_watch.delivery.retry import ErrorClass, classify
from deadline_watch.domain.models import (
    Milestone,
    Notification,
    NotificationState,
    Person,
    Project,
)
from deadline_watch.domain.workdays import in_send_window, send_window_opening
from deadline_watch.sms.base import OutgoingSms, SmsBackend

NOTIFICATIONS = Notification.__table__

RECORD_GROUP = 200  # most outcomes recorded in one transaction
# how long the recorder waits for more outcomes before writing a group: against a fast
# provider, a group per finished request meant a transaction (and a WAL commit) per few SMS.
# 20 ms (~20 outcomes at 1,000 msg/s) took a tenth off the pass's CPU per SMS against 5 ms
# (issue 17); what a crash can leave in `sending` grows by as much, and reconcile settles it.
RECORD_LINGER_SECONDS = 0.02


# ---------------------------------------------------------------- claim


def claim_due(sessions: sessionmaker[Session], *, now: datetime, limit: int) -> list[ClaimedRow]:
    """Take up to `limit` due pending rows in ONE statement and commit before returning."""
    with transaction(sessions) as session:
        return claim_rows(session, now=now, limit=limit)


def claim_rows(session: Session, *, now: datetime, limit: int) -> list[ClaimedRow]:
    """The claim statement itself, in the caller's transaction (which must commit before any send).

    PostgreSQL: WITH due AS MATERIALIZED (SELECT .. LIMIT n FOR UPDATE SKIP LOCKED)
    UPDATE .. FROM due RETURNING id: a row another transaction is claiming is skipped, not
    waited for and never taken twice. The CTE is materialised so the locking LIMIT runs
    once: as an `IN (subquery)` the planner may rescan it per outer row, and each rescan
    skips the rows this statement has just updated and takes the next ones (5 rows claimed
    under LIMIT 3, seen in the two-worker test). On SQLite every write transaction is BEGIN
    IMMEDIATE, so claims simply run one after another.
    """
    due = (
        sa.select(NOTIFICATIONS.c.id)
        .where(NOTIFICATIONS.c.state == NotificationState.PENDING, NOTIFICATIONS.c.next_attempt_at <= now)
        .order_by(NOTIFICATIONS.c.next_attempt_at, NOTIFICATIONS.c.id)
        .limit(limit)
    )
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        locked = due.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        chosen = NOTIFICATIONS.c.id == locked.c.id
    else:
        chosen = NOTIFICATIONS.c.id.in_(due.scalar_subquery())
    claimed = session.execute(
        sa.update(NOTIFICATIONS)
        .where(chosen)
        .values(
            state=NotificationState.SENDING,
            # the claim's time is the database's: staleness is judged by that one clock, so
            # a worker whose own clock runs ahead never takes a live worker's claims
            claimed_at=sa.func.now() if postgres else now,
            attempts=NOTIFICATIONS.c.attempts + 1,
            updated_at=now,
        )
        .returning(NOTIFICATIONS.c.id)
    ).scalars().all()
    return _claimed_details(session, list(claimed))


def _claimed_details(session: Session, ids: list[int]) -> list[ClaimedRow]:
    if not ids:
        return []
    n = NOTIFICATIONS.c
    query = (
        sa.select(
            n.id, n.to_number, n.body, n.rule, n.due_date, n.attempts, n.created_at, n.claimed_at,
            n.milestone_id, n.recipient_id, Project.code, Milestone.name, n.dedup_key,
            n.template, n.template_params,
        )
        .join(Milestone, Milestone.id == n.milestone_id)
        .join(Project, Project.id == Milestone.project_id)
        .where(n.id.in_(ids))
        .order_by(n.next_attempt_at, n.id)
    )
    return [ClaimedRow(*row) for row in session.execute(query).all()]


# ---------------------------------------------------------------- housekeeping before claiming


def cancel_opted_out(sessions: sessionmaker[Session], *, now: datetime) -> list[int]:
    """Pending rows whose recipient opted out are cancelled, never sent."""
    with transaction(sessions) as session:
        opted_out = sa.select(Person.id).where(Person.opted_out_at.is_not(None))
        return list(
            session.execute(
                sa.update(NOTIFICATIONS)
                .where(NOTIFICATIONS.c.state == NotificationState.PENDING, NOTIFICATIONS.c.recipient_id.in_(opted_out))
                .values(
                    state=NotificationState.CANCELLED,
                    last_error="recipient opted out / 接收人已退订",
                    updated_at=now,
                )
                .returning(NOTIFICATIONS.c.id)
            ).scalars()
        )


def defer_to_window(sessions: sessionmaker[Session], settings: Settings, *, now: datetime) -> int:
    """Outside the send window: due rows wait for the next opening instead of being claimed."""
    opening = send_window_opening(now, settings)
    with transaction(sessions) as session:
        moved = session.execute(
            sa.update(NOTIFICATIONS)
            .where(NOTIFICATIONS.c.state == NotificationState.PENDING, NOTIFICATIONS.c.next_attempt_at <= now)
            .values(next_attempt_at=opening, updated_at=now)
        )
        return moved.rowcount


# ---------------------------------------------------------------- the pass


def batch_limit(settings: Settings) -> int:
    """Rows per claim: a batch must finish well inside the claim timeout even at the rate cap,
    or another worker would take its unsent tail for a crashed one."""
    sms = settings.sms
    by_rate = int(sms.rate_per_second * sms.claim_timeout_seconds / 2)
    return max(1, min(sms.batch_size, by_rate))


def run_delivery_pass(
    sessions: sessionmaker[Session],
    backend: SmsBackend,
    settings: Settings,
    *,
    now: datetime,
    clock: Clock | None = None,
    limiter: RateLimiter | None = None,
    rng: random.Random | None = None,
    stop: threading.Event | None = None,
) -> DeliveryResult:
    """Deliver everything due at `now`. With `clock`, later batches and send times use its time.

    Setting `stop` (the daemon's shutdown) lets the requests in flight finish and be
    recorded, and hands the rest of the claimed rows back to `pending` untouched.
    """
    if now.tzinfo is None:
        raise ValueError("run_delivery_pass needs an aware `now`")
    log = get_logger()
    outcome = DeliveryResult()
    current: Callable[[], datetime] = clock.now if clock is not None else (lambda: now)
    limiter = limiter or shared_limiter(settings.sms.rate_per_second)
    rng = rng or random.Random()

    settled = reconcile_stale(sessions, backend, claim_timeout_seconds=settings.sms.claim_timeout_seconds, now=now)
    outcome.reconciled += settled.reconciled
    outcome.requeued += settled.requeued
    outcome.unresolved += settled.unresolved

    polled = poll_receipts(sessions, backend, now=now)
    outcome.receipts_delivered += polled.delivered
    outcome.receipts_failed += polled.failed

    cancelled = cancel_opted_out(sessions, now=now)
    outcome.cancelled += len(cancelled)
    if cancelled:
        log.info("sms.cancelled", notification_ids=cancelled, reason="opted_out")

    if not in_send_window(now, settings):
        outcome.deferred += defer_to_window(sessions, settings, now=now)
        log.info("delivery.done", **outcome.as_dict(), outside_window=True)
        return outcome

    size = batch_limit(settings)
    with ThreadPoolExecutor(max_workers=settings.sms.concurrency, thread_name_prefix="sms-send") as pool:
        while not outcome.auth_failed and not (stop is not None and stop.is_set()):
            claim_at = current()
            if not in_send_window(claim_at, settings):
                break
            claimed = claim_due(sessions, now=claim_at, limit=size)
            if not claimed:
                break
            outcome.claimed += len(claimed)
            _deliver_batch(pool, claimed, claim_at, sessions, backend, settings, limiter, rng, current, outcome, stop)
    log.info("delivery.done", **outcome.as_dict())
    return outcome


def _deliver_batch(
    pool: ThreadPoolExecutor,
    claimed: list[ClaimedRow],
    claim_at: datetime,
    sessions: sessionmaker[Session],
    backend: SmsBackend,
    settings: Settings,
    limiter: RateLimiter,
    rng: random.Random,
    current: Callable[[], datetime],
    outcome: DeliveryResult,
    shutdown: threading.Event | None,
) -> None:
    stop = _EitherEvent(threading.Event(), shutdown)
    # A claim older than the timeout may be taken over by another worker's reconciliation:
    # a row still unsent at half the timeout goes back to the queue instead of out. Measured
    # on this process's own clock from the claim (the stored claim time may be the database's).
    send_by = claim_at + timedelta(seconds=settings.sms.claim_timeout_seconds / 2)

    def sid_taken(provider_message_id: str) -> bool:
        with transaction(sessions) as session:
            return provider_id_taken(session, provider_message_id)

    finished: queue.SimpleQueue[SendOutcome] = queue.SimpleQueue()

    def send_and_report(row: ClaimedRow) -> None:
        try:
            finished.put(_send_one(row, backend, limiter, stop, current, sid_taken, send_by))
        except BaseException as exc:  # a bug must not strand the row: retry it later
            finished.put(SendOutcome(row, error=SmsError(f"{type(exc).__name__}: {exc}", permanent=False)))

    for row in claimed:
        pool.submit(send_and_report, row)
    # Outcomes are recorded here, on the calling thread: a single writer keeps SQLite free
    # of lock contention. Whatever has finished meanwhile is recorded in one transaction
    # (a group commit): one commit per message would cap PostgreSQL at its fsync rate, and
    # a crash in between is settled by reconciliation.
    try:
        _record_as_they_finish(finished, len(claimed), sessions, settings, rng, current, outcome)
    except BaseException:
        # the database failed us: send nothing more whose outcome could not be recorded
        stop.set()
        raise


def _record_as_they_finish(
    finished: queue.SimpleQueue[SendOutcome],
    remaining: int,
    sessions: sessionmaker[Session],
    settings: Settings,
    rng: random.Random,
    current: Callable[[], datetime],
    outcome: DeliveryResult,
) -> None:
    while remaining:
        group = [finished.get()]
        until = time.monotonic() + RECORD_LINGER_SECONDS
        while len(group) < min(RECORD_GROUP, remaining):
            try:
                group.append(finished.get(timeout=max(until - time.monotonic(), 0)))
            except queue.Empty:
                break
        remaining -= len(group)
        now = current()
        with transaction(sessions) as session:
            accepted = [sent for sent in group if sent.result is not None and not sent.already_sent]
            record_accepted(session, accepted, now, outcome)
            for sent in group:
                if not (sent.result is not None and not sent.already_sent):
                    record_outcome(session, sent, settings, rng, now, outcome)


class _EitherEvent:
    """Set by this batch (an auth failure) or by the daemon's shutdown, whichever comes first."""

    def __init__(self, own: threading.Event, outer: threading.Event | None) -> None:
        self.own = own
        self.outer = outer

    def set(self) -> None:
        self.own.set()

    def is_set(self) -> bool:
        return self.own.is_set() or (self.outer is not None and self.outer.is_set())


def _send_one(
    row: ClaimedRow,
    backend: SmsBackend,
    limiter: RateLimiter,
    stop: _EitherEvent,
    current: Callable[[], datetime],
    sid_taken: Callable[[str], bool],
    send_by: datetime,
) -> SendOutcome:
    if stop.is_set() or current() > send_by:
        return SendOutcome(row, released=True)
    if row.attempts > 1:
        # A retry may follow an ambiguous failure (a timeout after the request left):
        # ask the provider first, since a second send would be a duplicate.
        try:
            found = find_already_sent(
                backend, to=row.to_number, body=row.body, since=row.created_at, notification_id=row.id,
                until=current(),
            )
        except SmsError as exc:
            return SendOutcome(row, error=exc)
        except Exception as exc:  # noqa: BLE001 - any lookup failure only postpones the message
            return SendOutcome(row, error=SmsError(f"{type(exc).__name__}: {exc}", permanent=False))
        # a match already recorded on another row is that row's message (identical texts)
        if found is not None and not sid_taken(found.provider_message_id):
            return SendOutcome(row, result=found, sent_at=row.claimed_at, already_sent=True)
    permit = limiter.acquire(stop)
    if permit is None:
        return SendOutcome(row, released=True)
    if current() > send_by:
        limiter.done(permit)
        return SendOutcome(row, released=True)
    try:
        return _send_now(row, backend, stop, current)
    finally:
        limiter.done(permit)


def _send_now(
    row: ClaimedRow, backend: SmsBackend, stop: _EitherEvent, current: Callable[[], datetime]
) -> SendOutcome:
    sent_at = current()
    message = OutgoingSms(
        to=row.to_number,
        body=row.body,
        dedup_key=row.dedup_key,
        kind=row.rule,
        project_code=row.project_code,
        milestone=row.milestone_name,
        due_date=row.due_date,
        notification_id=row.id,
        sent_at=sent_at,
        template=row.template,
        template_params=row.template_params,
    )
    try:
        result = backend.send(message)
    except SmsError as exc:
        if classify(exc) is ErrorClass.AUTH:
            stop.set()
        return SendOutcome(row, error=exc)
    except Exception as exc:  # noqa: BLE001 - an unknown failure is retried; the retry asks first
        return SendOutcome(row, error=SmsError(f"{type(exc).__name__}: {exc}", permanent=False))
    return SendOutcome(row, result=result, sent_at=sent_at)
