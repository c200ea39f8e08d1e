"""One tick: a scan of the watch, then (unless dry) one delivery pass, recorded as a TickRun.

The composition of two use cases (watch, delivery) lives at the edge so that neither imports the other.
"""

from __future__ import annotations

import time as monotonic_time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from deadline_watch.core.config import Settings
from deadline_watch.core.db import transaction
from deadline_watch.core.errors import DeadlineWatchError
from deadline_watch.core.lease import Lease, holder_id
from deadline_watch.core.logs import get_logger
from deadline_watch.delivery.dispatch import run_delivery_pass
from deadline_watch.delivery.outcomes import DeliveryResult
from deadline_watch.domain import watch_clock
from deadline_watch.domain.workdays import fallback_years
from deadline_watch.sms.base import SmsBackend
from deadline_watch.watch.service import ScanCounts, record_tick, run_scan


@dataclass
class TickResult:
    scan: ScanCounts
    sent: int = 0
    failed: int = 0
    deferred: int = 0
    due_now: int = 0  # pending rows due at `now` (what a dry run would try to send)
    delivery: str = "ok"  # ok | skipped
    account_error: str | None = None  # the provider refused the account: sending stopped
    dry_run: bool = False
    duration_ms: int = 0
    calendar_fallback_years: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        values = self.scan.as_dict()
        values.update(
            sent=self.sent,
            failed=self.failed,
            deferred=self.deferred,
            due_now=self.due_now,
            delivery=self.delivery,
            account_error=self.account_error,
            dry_run=self.dry_run,
            duration_ms=self.duration_ms,
            calendar_fallback_years=self.calendar_fallback_years,
        )
        return values


DELIVERY_LEASE = "delivery"
HANDOVER_PAUSE_SECONDS = 1.0  # the previous holder's sends fall out of every one-second window


def lease_busy_error(wait_seconds: float) -> DeadlineWatchError:
    return DeadlineWatchError(
        f"另一进程正在发送短信,已等待 {wait_seconds:g} 秒仍未结束;稍后再试",
        f"another process is delivering and did not finish within {wait_seconds:g} s; try again later",
    )


def handover_pause(sessions: sessionmaker[Session], *, now: datetime, stop=None) -> bool:
    """Record this process as the delivery lease's holder; after another holder, wait one
    second before sending so the rate cap holds at the provider across processes.
    Returns True when it paused."""
    me = holder_id()
    with transaction(sessions) as session:
        previous = watch_clock.take_lease_record(session, DELIVERY_LEASE, me, now=now)
    if not previous or previous == me:
        return False
    if stop is not None:
        stop.wait(HANDOVER_PAUSE_SECONDS)
    else:
        monotonic_time.sleep(HANDOVER_PAUSE_SECONDS)
    return True


def deliver_under_lease(
    engine: Engine,
    sessions: sessionmaker[Session],
    backend: SmsBackend,
    settings: Settings,
    *,
    now: datetime,
    wait_seconds: float,
    **kwargs,
) -> DeliveryResult | None:
    """One delivery pass holding the delivery lease (None: another process held it for
    longer than `wait_seconds`). With N daemons and manual `deliver`s only one sends at a
    time, so the rate cap holds at the provider."""
    lease = Lease(engine, DELIVERY_LEASE, wait_seconds=wait_seconds)
    if not lease.acquire():
        return None
    try:
        handover_pause(sessions, now=now, stop=kwargs.get("stop"))
        return run_delivery_pass(sessions, backend, settings, now=now, **kwargs)
    finally:
        lease.release()


def run_delivery(
    sessions: sessionmaker[Session],
    backend: SmsBackend | None,
    settings: Settings,
    *,
    now: datetime,
    engine: Engine | None = None,
    wait_seconds: float = 0.0,
    **kwargs,
) -> tuple[str, int, int, int, str | None]:
    """One delivery pass (`dispatch.run_delivery_pass`): (status, sent, failed, deferred, account error).

    With `engine` the pass runs under the delivery lease ("busy" when another process held
    it for longer than `wait_seconds`)."""
    if backend is None:
        return "skipped", 0, 0, 0, None
    if engine is None:
        result = run_delivery_pass(sessions, backend, settings, now=now, **kwargs)
    else:
        leased = deliver_under_lease(engine, sessions, backend, settings, now=now, wait_seconds=wait_seconds, **kwargs)
        if leased is None:
            return "busy", 0, 0, 0, None
        result = leased
    return "ok", result.sent, result.failed, result.deferred, result.account_error


def run_tick(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime,
    backend: SmsBackend | None = None,
    dry_run: bool = False,
    force: bool = False,
    **delivery_options,
) -> TickResult:
    """One scan then (unless dry) one delivery pass, recorded as a TickRun of kind "scan".

    A `now` earlier than the last scan raises `ClockError` before anything is planned or
    sent, unless `force` (which still never sends an SMS contradicting one already sent)."""
    started = monotonic_time.perf_counter()
    counts, due = run_scan(sessions, settings, now=now, dry_run=dry_run, force=force)
    result = TickResult(scan=counts, due_now=due, dry_run=dry_run)
    if dry_run:
        result.delivery = "skipped"
    else:
        result.delivery, result.sent, result.failed, result.deferred, result.account_error = run_delivery(
            sessions, backend, settings, now=now, **delivery_options
        )
    result.duration_ms = int((monotonic_time.perf_counter() - started) * 1000)
    result.calendar_fallback_years = fallback_years()
    if not dry_run:
        record_tick(sessions, "scan", result.as_dict(), started_at=now, duration_ms=result.duration_ms)
    get_logger().info("tick.done", **result.as_dict())
    return result
