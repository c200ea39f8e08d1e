"""The daemon: APScheduler 3 wiring only. Each job calls a function of the core.

Jobs: scan every `scheduler.scan_interval_seconds`, delivery every
`scheduler.delivery_interval_seconds`, the weekly report on Mondays at 09:00, and the
monthly report and the month's 通报 on the 1st at 09:00, and the database's planner statistics
nightly at 03:00 (configured timezone). Every job coalesces missed
runs into one, never overlaps itself, and SIGTERM/SIGINT stop the daemon within seconds.
"""

from __future__ import annotations

import signal
import threading
import time as monotonic_time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from deadline_watch.core.context import AppContext
from deadline_watch.core.db import DATABASE_FAULTS, database_clock, describe_fault, refresh_statistics, transaction
from deadline_watch.core.errors import ClockError
from deadline_watch.core.lease import Lease, holder_id
from deadline_watch.core.logs import get_logger
from deadline_watch.daemon.clock_guard import ClockGuard, ClockReading, boot_clock
from deadline_watch.daemon.database_file import DatabaseFile
from deadline_watch.daemon.health import DaemonHealth, serve_health
from deadline_watch.daemon.tick import DELIVERY_LEASE, handover_pause, run_delivery
from deadline_watch.domain import watch_clock
from deadline_watch.domain.workdays import fallback_years
from deadline_watch.sms.base import SmsBackend
from deadline_watch.watch.service import record_tick, run_scan

REPORT_HOUR = 9
STATISTICS_HOUR = 3  # a quiet hour: ANALYZE takes a few seconds on a large SQLite file


def job_defaults(settings) -> dict:
    # a run missed by less than one scan interval still happens; older ones coalesce
    return {
        "coalesce": True,
        "max_instances": 1,
        "misfire_grace_time": max(60, settings.scheduler.scan_interval_seconds),
    }


class WatchJobs:
    """The callables the scheduler runs; each reads `now` from the app's clock once.

    Every job runs under the same checks: the SQLite file is still the one we opened, the
    clock is trusted (`ClockGuard`), and this daemon holds the job's lease (one scanner,
    one sender, one report writer among N daemons). A database failure is one log line
    (rate-limited), marks the daemon unhealthy and is retried with backoff.
    """

    def __init__(
        self,
        app: AppContext,
        backend: SmsBackend | None,
        stop: threading.Event | None = None,
        *,
        health: DaemonHealth | None = None,
        monotonic: Callable[[], float] = boot_clock,
    ) -> None:
        self.app = app
        self.backend = backend
        self.stop = stop or threading.Event()
        self.log = get_logger()
        self.health = health or DaemonHealth()
        self.guard = ClockGuard(app.settings.scheduler.max_clock_jump_seconds, monotonic=monotonic)
        self.database_file = DatabaseFile(app)
        self.holder = holder_id()

    # ------------------------------------------------------------------ the checks

    def _run(self, job: str, lease_name: str, body: Callable[[sessionmaker[Session], datetime], None]) -> None:
        if not self.health.may_try_database(monotonic_time.monotonic()):
            return
        try:
            self.database_file.check()
            sessions = self.app.checked_sessions()
            now = self.app.now()
            if not self._clock_trusted(sessions, now):
                self.health.database_ok()
                return
            lease = Lease(self.app.engine, lease_name)
            held = lease.acquire()
            self.health.leader[lease_name] = held
            if not held:
                self.health.database_ok()
                return
            try:
                body(sessions, now)
            finally:
                lease.release()
            self.health.ran(job)
            self.health.database_ok()
        except DATABASE_FAULTS as exc:
            self.health.database_failed(job, describe_fault(exc), monotonic_time.monotonic())
        except ClockError as exc:  # a scan found a later last scan than the guard saw
            self.log.error("clock.held", state="behind_last_scan", detail=exc.message_en, job=job)
        except Exception:  # the daemon must outlive one bad job; the next one retries
            self.log.exception("tick.failed", job=job)

    def _clock_trusted(self, sessions: sessionmaker[Session], now: datetime) -> bool:
        with transaction(sessions) as session:
            database_now = database_clock(session)
            reading = ClockReading(
                wall=now,
                database=database_now,
                last_scan=watch_clock.last_scan_at(session),
                confirmations=watch_clock.confirmations(session),
            )
            was = self.guard.state
            trusted = self.guard.check(reading)
            if self.guard.state != was or not trusted:  # a held daemon refreshes its row each job
                # stamped with the database's clock where there is one: ours is the suspect
                stamp = database_now or now
                watch_clock.record_hold(session, self.holder, "" if trusted else self.guard.detail, now=stamp)
        self.health.clock_state, self.health.clock_detail = self.guard.state, self.guard.detail
        return trusted

    # ------------------------------------------------------------------ the jobs

    def scan(self) -> None:
        self._run("scan", "scan", self._scan)

    def _scan(self, sessions: sessionmaker[Session], now: datetime) -> None:
        started = monotonic_time.perf_counter()
        counts, due = run_scan(sessions, self.app.settings, now=now)
        duration_ms = int((monotonic_time.perf_counter() - started) * 1000)
        values = {
            **counts.as_dict(),
            "due_now": due,
            "duration_ms": duration_ms,
            "calendar_fallback_years": fallback_years(),
        }
        record_tick(sessions, "scan", values, started_at=now, duration_ms=duration_ms)
        self.health.last_scan = now.isoformat()
        self.log.info("tick.done", job="scan", **values)

    def deliver(self) -> None:
        if self.stop.is_set():
            return
        self._run("delivery", DELIVERY_LEASE, self._deliver)

    def _deliver(self, sessions: sessionmaker[Session], now: datetime) -> None:
        handover_pause(sessions, now=now, stop=self.stop)
        started = monotonic_time.perf_counter()
        # the stop event lets SIGTERM end a long pass: in-flight sends finish, the rest go back
        options: dict[str, Any] = {"clock": self.app.clock, "stop": self.stop}
        status, sent, failed, deferred, account_error = run_delivery(
            sessions, self.backend, self.app.settings, now=now, **options
        )
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
            record_tick(sessions, "delivery", values, started_at=now, duration_ms=duration_ms)
        self.log.info("tick.done", job="delivery", **values)

    def report(self, kind: str) -> None:
        self._run("report", "report", lambda sessions, now: self._report(sessions, now, kind))

    def _report(self, sessions: sessionmaker[Session], now: datetime, kind: str) -> None:
        from deadline_watch.board.report_files import write_scheduled_report

        paths = write_scheduled_report(sessions, self.app.settings, kind, now=now, writer=self.holder)
        if not paths:
            self.log.info("report.skipped", kind=kind, reason="already written for this period")
            return
        record_tick(sessions, "report", {"kind": kind, "files": [str(p) for p in paths]}, started_at=now, duration_ms=0)
        self.log.info("report.written", kind=kind, files=[str(path) for path in paths])

    def bulletin(self) -> None:
        """The month's 通报 (.docx and .html), on the 1st beside the monthly summary."""
        self._run("bulletin", "report", self._bulletin)

    def _bulletin(self, sessions: sessionmaker[Session], now: datetime) -> None:
        from deadline_watch.board.bulletin_papers import write_scheduled_bulletin

        paths = write_scheduled_bulletin(sessions, self.app.settings, now=now, writer=self.holder)
        if not paths:
            self.log.info("report.skipped", kind="bulletin", reason="already written for this period")
            return
        files = [str(path) for path in paths]
        record_tick(sessions, "report", {"kind": "bulletin", "files": files}, started_at=now, duration_ms=0)
        self.log.info("report.written", kind="bulletin", files=files)


    def statistics(self) -> None:
        """The planner's statistics, refreshed nightly (SQLite; see db.refresh_statistics)."""
        self._run("statistics", "statistics", self._statistics)

    def _statistics(self, sessions: sessionmaker[Session], now: datetime) -> None:
        with transaction(sessions) as session:
            refreshed = refresh_statistics(session)
        if refreshed:
            self.log.info("db.statistics_refreshed")


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
    scheduler.add_job(
        jobs.bulletin,
        CronTrigger(day=1, hour=REPORT_HOUR, minute=0, timezone=tz),
        id="monthly_bulletin",
        name="monthly bulletin",
        misfire_grace_time=6 * 3600,
    )
    scheduler.add_job(
        jobs.statistics,
        CronTrigger(hour=STATISTICS_HOUR, minute=0, timezone=tz),
        id="statistics",
        name="planner statistics",
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
    port = app.settings.scheduler.health_port
    server = serve_health(jobs.health, port) if port else None
    log.info(
        "daemon.started",
        scan_interval_seconds=app.settings.scheduler.scan_interval_seconds,
        delivery_interval_seconds=app.settings.scheduler.delivery_interval_seconds,
        timezone=app.settings.timezone,
        health_port=port or None,
        holder=jobs.holder,
    )
    try:
        scheduler.start()  # blocks until the signal handler shuts it down
    finally:
        if server is not None:
            server.shutdown()
    log.info("daemon.stopped")
