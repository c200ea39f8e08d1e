"""The daemon: APScheduler 3 wiring only. Each job calls a function of the core.

Jobs: scan every `scheduler.scan_interval_seconds`, delivery every
`scheduler.delivery_interval_seconds`, the weekly report on Mondays at 09:00 and the
monthly report on the 1st at 09:00 (configured timezone). Every job coalesces missed
runs into one, never overlaps itself, and SIGTERM/SIGINT stop the daemon within seconds.
"""

from __future__ import annotations

import signal
import threading
import time as monotonic_time
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from deadline_watch.core.context import AppContext
from deadline_watch.core.logs import get_logger
from deadline_watch.daemon.tick import run_delivery
from deadline_watch.domain.workdays import fallback_years
from deadline_watch.sms.base import SmsBackend
from deadline_watch.watch.service import record_tick, run_scan

REPORT_HOUR = 9


def job_defaults(settings) -> dict:
    # a run missed by less than one scan interval still happens; older ones coalesce
    return {
        "coalesce": True,
        "max_instances": 1,
        "misfire_grace_time": max(60, settings.scheduler.scan_interval_seconds),
    }


class WatchJobs:
    """The callables the scheduler runs; each reads `now` from the app's clock once."""

    def __init__(self, app: AppContext, backend: SmsBackend | None, stop: threading.Event | None = None) -> None:
        self.app = app
        self.backend = backend
        self.stop = stop or threading.Event()
        self.log = get_logger()

    def scan(self) -> None:
        now = self.app.now()
        started = monotonic_time.perf_counter()
        try:
            counts, due = run_scan(self.app.checked_sessions(), self.app.settings, now=now)
        except Exception:  # the daemon must outlive one bad tick; the next one retries
            self.log.exception("tick.failed", job="scan")
            return
        duration_ms = int((monotonic_time.perf_counter() - started) * 1000)
        values = {
            **counts.as_dict(),
            "due_now": due,
            "duration_ms": duration_ms,
            "calendar_fallback_years": fallback_years(),
        }
        record_tick(self.app.sessions, "scan", values, started_at=now, duration_ms=duration_ms)
        self.log.info("tick.done", job="scan", **values)

    def deliver(self) -> None:
        if self.stop.is_set():
            return
        now = self.app.now()
        started = monotonic_time.perf_counter()
        # the stop event lets SIGTERM end a long pass: in-flight sends finish, the rest go back
        options: dict[str, Any] = {"clock": self.app.clock, "stop": self.stop}
        try:
            status, sent, failed, deferred, account_error = run_delivery(
                self.app.checked_sessions(), self.backend, self.app.settings, now=now, **options
            )
        except Exception:
            self.log.exception("tick.failed", job="delivery")
            return
        duration_ms = int((monotonic_time.perf_counter() - started) * 1000)
        values = {
            "delivery": status,
            "sent": sent,
            "failed": failed,
            "deferred": deferred,
            "account_error": account_error,
            "duration_ms": duration_ms,
        }
        # an idle pass every 30 s is not worth a row; a refused account is (/healthz shows it)
        if sent or failed or deferred or account_error:
            record_tick(self.app.sessions, "delivery", values, started_at=now, duration_ms=duration_ms)
        self.log.info("tick.done", job="delivery", **values)

    def report(self, kind: str) -> None:
        now = self.app.now()
        from deadline_watch.board.report_files import write_scheduled_report

        try:
            paths = write_scheduled_report(self.app.checked_sessions(), self.app.settings, kind, now=now)
        except Exception:
            self.log.exception("report.failed", kind=kind)
            return
        record_tick(self.app.sessions, "report", {"kind": kind, "files": [str(p) for p in paths]}, started_at=now, duration_ms=0)
        self.log.info("report.written", kind=kind, files=[str(path) for path in paths])


def build_scheduler(
    app: AppContext,
    jobs: WatchJobs,
    *,
    scheduler_factory: Callable[..., BaseScheduler] = BlockingScheduler,
) -> BaseScheduler:
    settings = app.settings
    tz = settings.tz
    scheduler = scheduler_factory(timezone=tz, job_defaults=job_defaults(settings))
    first = app.now()
    scheduler.add_job(
        jobs.scan,
        IntervalTrigger(seconds=settings.scheduler.scan_interval_seconds, timezone=tz),
        id="scan",
        name="scan and enqueue",
        next_run_time=first,
    )
    scheduler.add_job(
        jobs.deliver,
        IntervalTrigger(seconds=settings.scheduler.delivery_interval_seconds, timezone=tz),
        id="delivery",
        name="delivery pass",
        next_run_time=first,
    )
    scheduler.add_job(
        jobs.report,
        CronTrigger(day_of_week="mon", hour=REPORT_HOUR, minute=0, timezone=tz),
        args=["weekly"],
        id="weekly_report",
        name="weekly report",
        misfire_grace_time=6 * 3600,
    )
    scheduler.add_job(
        jobs.report,
        CronTrigger(day=1, hour=REPORT_HOUR, minute=0, timezone=tz),
        args=["monthly"],
        id="monthly_report",
        name="monthly report",
        misfire_grace_time=6 * 3600,
    )
    return scheduler


def install_signal_handlers(scheduler: BaseScheduler, stop: threading.Event) -> None:
    """SIGTERM / SIGINT: stop taking new work, let the running job finish or release its
    rows (`stop` is handed to the delivery pass), and leave `start()`."""

    def _stop(signum: int, _frame: Any) -> None:
        get_logger().info("daemon.stopping", signal=signal.Signals(signum).name)
        stop.set()
        if scheduler.running:
            scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)


def run_daemon(app: AppContext, backend: SmsBackend | None) -> None:
    """Run until SIGTERM/SIGINT (the `deadline-watch run` command)."""
    app.checked_sessions()  # refuse a database not at head before starting anything
    stop = threading.Event()
    jobs = WatchJobs(app, backend, stop)
    scheduler = build_scheduler(app, jobs)
    install_signal_handlers(scheduler, stop)
    log = get_logger()
    log.info(
        "daemon.started",
        scan_interval_seconds=app.settings.scheduler.scan_interval_seconds,
        delivery_interval_seconds=app.settings.scheduler.delivery_interval_seconds,
        timezone=app.settings.timezone,
    )
    scheduler.start()  # blocks until the signal handler shuts it down
    log.info("daemon.stopped")
