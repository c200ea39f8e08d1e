"""The daemon wiring: job options, report times, and a clean stop on SIGTERM/SIGINT."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from structlog.testing import capture_logs

import factories as f
from deadline_watch.core import db
from deadline_watch.core.clock import FixedClock
from deadline_watch.core.context import AppContext
from deadline_watch.daemon.schedule import WatchJobs, build_scheduler
from deadline_watch.domain.models import Notification, TickRun
from watch_support import TZ, RecordingBackend, at, fast_settings


def scheduler_for(settings, now):
    app = AppContext(settings=settings, clock=FixedClock(now))
    jobs = WatchJobs(app, RecordingBackend())
    return build_scheduler(app, jobs, scheduler_factory=BackgroundScheduler), jobs


def test_every_job_coalesces_never_overlaps_and_tolerates_a_late_start():
    scheduler, _ = scheduler_for(fast_settings(), at(date(2026, 12, 2), 10))
    scheduler.start(paused=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"scan", "delivery", "weekly_report", "monthly_report", "monthly_bulletin", "statistics"}
        for job in jobs.values():
            assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time >= 60
        assert jobs["scan"].trigger.interval == timedelta(seconds=300)
        assert jobs["delivery"].trigger.interval == timedelta(seconds=30)
    finally:
        scheduler.shutdown(wait=False)


def test_reports_fire_monday_and_first_of_month_at_nine_local_time():
    scheduler, _ = scheduler_for(fast_settings(), at(date(2026, 12, 2), 10))
    scheduler.start(paused=True)
    try:
        weekly = scheduler.get_job("weekly_report").trigger
        monthly = scheduler.get_job("monthly_report").trigger
        bulletin = scheduler.get_job("monthly_bulletin").trigger
        wednesday = datetime(2026, 12, 2, 10, 0, tzinfo=TZ)
        assert bulletin.get_next_fire_time(None, wednesday) == datetime(2027, 1, 1, 9, 0, tzinfo=TZ)
        assert weekly.get_next_fire_time(None, wednesday) == datetime(2026, 12, 7, 9, 0, tzinfo=TZ)
        assert monthly.get_next_fire_time(None, wednesday) == datetime(2027, 1, 1, 9, 0, tzinfo=TZ)
    finally:
        scheduler.shutdown(wait=False)


def test_intervals_come_from_settings():
    settings = fast_settings(scheduler__scan_interval_seconds=60, scheduler__delivery_interval_seconds=5)
    scheduler, _ = scheduler_for(settings, at(date(2026, 12, 2), 10))
    scheduler.start(paused=True)
    try:
        assert scheduler.get_job("scan").trigger.interval == timedelta(seconds=60)
        assert scheduler.get_job("delivery").trigger.interval == timedelta(seconds=5)
    finally:
        scheduler.shutdown(wait=False)


def test_scan_and_delivery_jobs_do_their_work_and_record_tick_runs(engine, sessions):
    with db.transaction(sessions) as session:
        f.milestone(session, date(2026, 12, 8))
    app = AppContext(settings=fast_settings(), clock=FixedClock(at(date(2026, 12, 1), 9)), engine_override=engine)
    backend = RecordingBackend()
    jobs = WatchJobs(app, backend)
    with capture_logs() as logs:
        jobs.scan()
        jobs.deliver()
    assert len(backend.sent) == 1
    with db.transaction(sessions) as session:
        kinds = session.scalars(sa.select(TickRun.kind).order_by(TickRun.id)).all()
    assert kinds == ["scan", "delivery"]
    done = [entry for entry in logs if entry["event"] == "tick.done"]
    assert {entry["job"] for entry in done} == {"scan", "delivery"}
    assert all("duration_ms" in entry for entry in done)


def test_a_failing_tick_is_logged_and_the_daemon_goes_on(tmp_path):
    app = AppContext(settings=fast_settings(database__url=f"sqlite:///{tmp_path/'none.db'}"),
                     clock=FixedClock(at(date(2026, 12, 1), 9)))
    jobs = WatchJobs(app, RecordingBackend())
    with capture_logs() as logs:
        jobs.scan()  # database missing: one line, not raised, no traceback
        jobs.deliver()  # backing off: not even tried
    assert [entry["event"] for entry in logs] == ["database.unavailable"]
    assert "exc_info" not in logs[0]
    assert not jobs.health.healthy and jobs.health.as_dict()["status"] == "error"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_daemon_stops_within_seconds_on_signal(tmp_path, signum):
    database = tmp_path / "daemon.db"
    engine = db.make_engine(f"sqlite:///{database}")
    db.upgrade(engine)
    engine.dispose()
    env = {**os.environ, "DEADLINE_WATCH_DB_URL": f"sqlite:///{database}", "DEADLINE_WATCH_SMS_BACKEND": "console"}
    process = subprocess.Popen(
        [sys.executable, "-m", "deadline_watch", "run"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            check = db.make_engine(f"sqlite:///{database}")
            with check.connect() as connection:
                ticks = connection.execute(sa.text("select count(*) from tick_runs")).scalar()
            check.dispose()
            if ticks:
                break
            time.sleep(0.05)
        assert ticks, "the daemon never ran its first scan"
        process.send_signal(signum)
        started = time.monotonic()
        output, _ = process.communicate(timeout=10)
        assert time.monotonic() - started < 5
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "daemon.stopped" in output and "Traceback" not in output


class HeldBackend(RecordingBackend):
    """A slow provider: the first message is accepted, then held until the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        self.sending = threading.Event()
        self.release = threading.Event()

    def send(self, message):
        result = super().send(message)
        self.sending.set()
        self.release.wait(timeout=30)
        return result


def test_stop_event_ends_a_long_delivery_pass_and_keeps_the_rest_pending(engine, sessions):
    with db.transaction(sessions) as session:
        for _ in range(40):
            f.milestone(session, date(2026, 12, 8), project_=f.project(session))
    settings = fast_settings(sms__concurrency=1)
    app = AppContext(settings=settings, clock=FixedClock(at(date(2026, 12, 1), 9)), engine_override=engine)
    backend = HeldBackend()
    jobs = WatchJobs(app, backend)
    jobs.scan()
    worker = threading.Thread(target=jobs.deliver)
    worker.start()
    assert backend.sending.wait(timeout=30), "the delivery pass never sent"
    jobs.stop.set()  # the stop arrives while a send is in flight
    backend.release.set()
    worker.join(timeout=30)
    assert not worker.is_alive()
    with db.transaction(sessions) as session:
        states = session.scalars(sa.select(Notification.state)).all()
    assert states.count("sent") == len(backend.sent) < 40
    assert states.count("pending") == 40 - len(backend.sent)  # nothing left half-claimed


def test_bulletin_job_writes_docx_and_html_of_the_month_before(engine, sessions, tmp_path):
    with db.transaction(sessions) as session:
        f.milestone(session, date(2026, 11, 10))
    settings = fast_settings(reports__dir=tmp_path / "out")
    app = AppContext(settings=settings, clock=FixedClock(at(date(2026, 12, 1), 9)), engine_override=engine)
    with capture_logs() as logs:
        WatchJobs(app, RecordingBackend()).bulletin()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["bulletin-2026-11.docx", "bulletin-2026-11.html"]
    written = [entry for entry in logs if entry["event"] == "report.written"]
    assert written and written[0]["kind"] == "bulletin"


def test_statistics_job_runs_nightly_and_gives_sqlite_its_planner_statistics(engine, sessions, backend):
    scheduler, _ = scheduler_for(fast_settings(), at(date(2026, 12, 2), 10))
    scheduler.start(paused=True)
    try:
        trigger = scheduler.get_job("statistics").trigger
        assert trigger.get_next_fire_time(None, at(date(2026, 12, 2), 10)) == datetime(2026, 12, 3, 3, 0, tzinfo=TZ)
    finally:
        scheduler.shutdown(wait=False)
    with db.transaction(sessions) as session:
        f.milestone(session, date(2026, 11, 10))
    app = AppContext(settings=fast_settings(), clock=FixedClock(at(date(2026, 12, 2), 3)), engine_override=engine)
    with capture_logs() as logs:
        WatchJobs(app, RecordingBackend()).statistics()
    refreshed = [entry for entry in logs if entry["event"] == "db.statistics_refreshed"]
    if backend == "sqlite":
        with db.transaction(sessions) as session:
            analysed = set(session.execute(sa.text("SELECT tbl FROM sqlite_stat1")).scalars())
        assert {"milestones", "projects"} <= analysed and refreshed
    else:
        assert not refreshed  # autovacuum keeps PostgreSQL's statistics
