"""One tick: a scan of the watch, then (unless dry) one delivery pass, recorded as a TickRun.

The composition of two use cases (watch, delivery) lives at the edge so that neither imports the other.
"""

from __future__ import annotations

import time as monotonic_time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from deadline_watch.core.config import Settings
from deadline_watch.core.logs import get_logger
from deadline_watch.delivery.dispatch import run_delivery_pass
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


def run_delivery(
    sessions: sessionmaker[Session], backend: SmsBackend | None, settings: Settings, *, now: datetime, **kwargs
) -> tuple[str, int, int, int, str | None]:
    """One delivery pass (`dispatch.run_delivery_pass`): (status, sent, failed, deferred, account error)."""
    if backend is None:
        return "skipped", 0, 0, 0, None
    result = run_delivery_pass(sessions, backend, settings, now=now, **kwargs)
    return "ok", result.sent, result.failed, result.deferred, result.account_error


def run_tick(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime,
    backend: SmsBackend | None = None,
    dry_run: bool = False,
    **delivery_options,
) -> TickResult:
    """One scan then (unless dry) one delivery pass, recorded as a TickRun of kind "scan"."""
    started = monotonic_time.perf_counter()
    counts, due = run_scan(sessions, settings, now=now, dry_run=dry_run)
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
