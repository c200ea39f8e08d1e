"""Several replicas, one sender: skewed clocks, N daemons and a manual deliver, a killed
leader, reports once. Real PostgreSQL (and SQLite where one machine applies), a real
local fake Twilio, the real CLI in child processes. Each test prints its tally."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from daemon_child import start, stop, write_daemon_config
from delivery_child import received
from structlog.testing import capture_logs

from deadline_watch.core.clock import FixedClock
from deadline_watch.core.context import AppContext
from deadline_watch.core.db import transaction
from deadline_watch.daemon.schedule import WatchJobs
from deadline_watch.delivery.dispatch import run_delivery_pass
from deadline_watch.delivery.ratelimit import RateLimiter
from deadline_watch.domain.models import Notification, ReportRun, WatchState
from deadline_watch.fakes.twilio import FakeTwilio
from delivery_rows import queue
from watch_support import RecordingBackend, fast_settings

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, inside the send window
FAR_DUE = datetime(2027, 9, 1).date()  # milestones nowhere near a reminder or an escalation


def states(sessions) -> dict[str, int]:
    with transaction(sessions) as session:
        return dict(session.execute(sa.select(Notification.state, sa.func.count()).group_by(Notification.state)).all())


def tally(fake: FakeTwilio, sessions) -> dict[str, int]:
    with transaction(sessions) as session:
        wanted = {(row.to_number, row.body) for row in session.execute(sa.select(Notification.to_number, Notification.body))}
    got = received(fake)
    return {
        "intents": len(wanted),
        "sent": sum(got.values()),
        "duplicates": sum(n - 1 for n in got.values() if n > 1),
        "lost": len(wanted - set(got)),
    }


def wait_until(condition, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


class SlowRecording(RecordingBackend):
    def send(self, message):
        time.sleep(0.02)
        return super().send(message)


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_deliver_whose_clock_runs_ahead_never_takes_a_live_claim(sessions) -> None:
    """Claims carry the database's time and are stale only by its clock: a worker 10 min
    ahead (twice the 300 s claim timeout) beside a live one sends no duplicate."""
    queue(sessions, 60, now=NOW, due_date=FAR_DUE)
    backend = SlowRecording()
    settings = fast_settings(sms__concurrency=1)
    live = threading.Thread(
        target=run_delivery_pass, args=(sessions, backend, settings),
        kwargs={"now": NOW, "limiter": RateLimiter(1000)},
    )
    live.start()
    assert wait_until(lambda: 0 < len(backend.sent), 10, 0.01)
    ahead = run_delivery_pass(sessions, backend, settings, now=NOW + timedelta(minutes=10), limiter=RateLimiter(1000))
    live.join(timeout=30)
    sent = Counter(message.notification_id for message in backend.sent)
    counts = {"intents": 60, "sent": sum(sent.values()), "duplicates": sum(n - 1 for n in sent.values() if n > 1),
              "lost": 60 - len(sent)}
    print("skewed deliver tally:", counts)
    assert ahead.requeued == ahead.reconciled == 0
    assert counts["duplicates"] == 0 and counts["lost"] == 0
    assert states(sessions) == {"sent": 60}


def test_two_daemons_and_a_manual_deliver_keep_the_cap_at_the_provider(sessions, db_url, tmp_path) -> None:
    queue(sessions, 40, now=NOW, due_date=FAR_DUE, mobiles=[f"+86139{n:08d}" for n in range(1, 41)])
    rate = 4
    config = write_daemon_config(tmp_path, rate=rate)
    with FakeTwilio() as fake:
        daemons = [start(fake, config, db_url, "run", log=tmp_path / f"daemon{n}.log") for n in (1, 2)]
        try:
            manual = start(fake, config, db_url, "deliver", "--json", log=tmp_path / "manual.log")
            assert wait_until(lambda: states(sessions).get("sent", 0) == 40, 45), states(sessions)
            manual.wait(timeout=60)
        finally:
            for daemon in daemons:
                stop(daemon)
        counts = tally(fake, sessions)
        busiest = fake.max_in_window(1.0)
    print("two daemons + manual deliver tally:", counts, "busiest second:", busiest, "cap:", rate)
    assert counts["duplicates"] == counts["lost"] == 0 and counts["sent"] == 40
    assert busiest <= rate
    assert manual.returncode == 0, (tmp_path / "manual.log").read_text()
    for n in (1, 2):
        assert "Traceback" not in (tmp_path / f"daemon{n}.log").read_text()


def test_leader_killed_another_daemon_sends_within_the_bound(sessions, db_url, tmp_path) -> None:
    queue(sessions, 40, now=NOW, due_date=FAR_DUE, mobiles=[f"+86139{n:08d}" for n in range(1, 41)])
    config = write_daemon_config(tmp_path, rate=2, claim_timeout=10)
    with FakeTwilio() as fake:
        daemons = [start(fake, config, db_url, "run", log=tmp_path / f"daemon{n}.log") for n in (1, 2)]
        try:
            assert wait_until(lambda: len(fake.messages) >= 3, 30)
            with transaction(sessions) as session:
                holder = session.scalar(sa.select(WatchState.detail).where(WatchState.name == "lease:delivery"))
            leader = next(daemon for daemon in daemons if holder.endswith(f":{daemon.pid}"))
            stop(leader, kill=True)
            killed_at, before = time.monotonic(), len(fake.messages)
            assert wait_until(lambda: len(fake.messages) > before, 30)
            takeover = time.monotonic() - killed_at
            # the dead leader's claims are settled after the claim timeout, never re-sent blindly
            assert wait_until(lambda: states(sessions) == {"sent": 40}, 50), states(sessions)
        finally:
            for daemon in daemons:
                stop(daemon)
        counts = tally(fake, sessions)
    print("leader killed tally:", counts, f"takeover after {takeover:.1f} s")
    assert takeover < 30
    assert counts["duplicates"] == counts["lost"] == 0


def test_two_daemons_write_each_report_once(engine, sessions, tmp_path) -> None:
    settings = fast_settings(reports__dir=tmp_path / "reports")
    clock = FixedClock(datetime(2026, 3, 1, 1, 0, tzinfo=UTC))  # the 1st, 09:00 in Shanghai
    first = WatchJobs(AppContext(settings=settings, clock=clock, engine_override=engine), None)
    second = WatchJobs(AppContext(settings=settings, clock=clock, engine_override=engine), None)
    with capture_logs() as logs:
        first.report("monthly")
        second.report("monthly")
    events = [entry["event"] for entry in logs]
    assert events.count("report.written") == 1 and events.count("report.skipped") == 1
    with transaction(sessions) as session:
        assert session.scalar(sa.select(sa.func.count(ReportRun.id))) == 1
