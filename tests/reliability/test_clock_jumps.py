"""Clock jumps that cannot hurt: a forward jump acted on and undone by `watch rewind`, a
backward tick, and a daemon whose wall clock jumps. Real SQLite and PostgreSQL, in process.

Each test prints its tally (intents, sent, duplicates, lost) for the closing note.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

import factories as f
from deadline_watch.cli import main
from deadline_watch.core import db
from deadline_watch.core.clock import FixedClock
from deadline_watch.core.context import AppContext
from deadline_watch.daemon.health import serve_health
from deadline_watch.daemon.schedule import WatchJobs
from deadline_watch.daemon.tick import run_tick
from deadline_watch.domain import watch_clock
from deadline_watch.domain.models import Escalation, Notification
from deadline_watch.web import create_app
from watch_support import RecordingBackend, at, fast_settings

T0_DAY = date(2026, 3, 2)  # a Monday
MILESTONES = 10


def make_milestones(sessions, count: int = MILESTONES, first_due: date | None = None) -> list[int]:
    """`count` milestones of distinct owners, due on consecutive days from `first_due`."""
    first_due = first_due or T0_DAY + timedelta(days=2)
    with db.transaction(sessions) as session:
        ids = []
        for index in range(count):
            owner = f.person(session)
            ids.append(f.milestone(session, first_due + timedelta(days=index), project_=f.project(session, owner=owner)).id)
        return ids


def open_board_items(sessions) -> list[Escalation]:
    with db.transaction(sessions) as session:
        return list(session.scalars(sa.select(Escalation).where(Escalation.state != "resolved")))


def tally(backend: RecordingBackend, wanted: set[str]) -> dict[str, int]:
    got = Counter(backend.keys())
    return {
        "intents": len(wanted),
        "sent": sum(got.values()),
        "duplicates": sum(n - 1 for n in got.values() if n > 1),
        "lost": len(wanted - set(got)),
        "unwanted": len(set(got) - wanted),
    }


def test_forward_jump_then_rewind_then_real_time_sends_each_reminder_once_and_accuses_no_one(sessions, db_url):
    ids = make_milestones(sessions)
    settings = fast_settings(reminders__days_before=[12])  # every milestone is in the window
    backend = RecordingBackend()
    # 21:00, after the send window: the reminders due now wait for tomorrow 08:30
    evening = at(T0_DAY, 21)
    first = run_tick(sessions, settings, now=evening, backend=backend)
    assert first.scan.reminders_enqueued > 0 and backend.sent == []

    # the wrong year, outside the window: every pending reminder cancelled as "overdue",
    # every milestone escalated with its level-2 SMS queued
    jumped = at(date(2030, 6, 3), 22)
    wrong = run_tick(sessions, settings, now=jumped, backend=backend)
    assert wrong.scan.escalations_opened == MILESTONES
    assert wrong.scan.notifications_cancelled == first.scan.reminders_enqueued
    assert backend.sent == []

    assert main(["--db", db_url, "watch", "rewind", "--to", evening.isoformat()]) == 0
    assert open_board_items(sessions) == []
    with db.transaction(sessions) as session:
        assert watch_clock.last_scan_at(session) == evening
        withdrawn = session.scalars(sa.select(Escalation).where(Escalation.resolution == "withdrawn")).all()
        assert len(withdrawn) == MILESTONES and all(item.reason == "withdrawn" for item in withdrawn)
        pending = session.scalars(sa.select(Notification).where(Notification.state == "pending")).all()
        assert pending == []  # the jump's escalation SMS are cancelled, never sent

    # real time again: a tick a day in the window up to the first due date
    day = T0_DAY + timedelta(days=1)
    while day <= T0_DAY + timedelta(days=2):
        run_tick(sessions, settings, now=at(day, 9), backend=backend)
        day += timedelta(days=1)

    with db.transaction(sessions) as session:
        wanted = set(
            session.scalars(sa.select(Notification.dedup_key).where(Notification.state == "sent")).all()
        )
    reminder_sent = Counter(message.dedup_key.split(":")[1] for message in backend.sent if message.kind == "reminder")
    counts = tally(backend, wanted)
    print("forward jump + rewind tally:", counts)
    assert set(reminder_sent) == {str(milestone_id) for milestone_id in ids}  # every milestone reminded
    assert max(reminder_sent.values()) == 1  # once each
    assert all(message.kind == "reminder" for message in backend.sent)  # nobody accused
    assert counts["duplicates"] == counts["lost"] == 0
    assert open_board_items(sessions) == []  # nothing overdue yet in real time


def test_backward_tick_plans_and_sends_nothing_and_forced_never_contradicts(sessions, db_url, capsys):
    settings = fast_settings(reminders__days_before=[7, 3])
    with db.transaction(sessions) as session:
        late = f.milestone(session, T0_DAY - timedelta(days=2), project_=f.project(session, owner=f.person(session)))
        soon = f.milestone(session, T0_DAY + timedelta(days=2), project_=f.project(session, owner=f.person(session)))
        late_id, soon_id = late.id, soon.id
    backend = RecordingBackend()
    today = at(T0_DAY, 10)
    run_tick(sessions, settings, now=today, backend=backend)
    told = {message.dedup_key.split(":")[0] + ":" + message.dedup_key.split(":")[1] for message in backend.sent}
    assert f"escalation:{late_id}" in told and f"reminder:{soon_id}" in told
    sent_before = len(backend.sent)

    five_days_back = today - timedelta(days=5)
    assert main(["--db", db_url, "tick", "--now", five_days_back.isoformat()]) == 2
    err = capsys.readouterr().err
    assert "时钟倒退" in err and "clock went backward" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1

    forced = run_tick(sessions, settings, now=five_days_back, backend=backend, force=True)
    new = backend.sent[sent_before:]
    print("backward tick tally:", {"intents": 0, "sent": len(new), "duplicates": 0, "lost": 0})
    # the late milestone is escalated: no "剩余3天"; the soon one was told 2 days: no "剩余7天"
    assert forced.scan.reminders_enqueued == 0 and new == []
    with db.transaction(sessions) as session:
        assert watch_clock.last_scan_at(session) == today  # a forced tick never moves time back


class WallClock(FixedClock):
    """The daemon's wall clock, moved by the test; `boot` is its monotonic clock."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.boot = 1000.0

    def tick(self, seconds: float) -> None:
        self.advance(timedelta(seconds=seconds))
        self.boot += seconds


def test_daemon_whose_wall_clock_jumps_acts_on_nothing_until_the_clocks_agree(engine, sessions, db_url):
    make_milestones(sessions)
    clock = WallClock(at(T0_DAY, 9))
    app = AppContext(settings=fast_settings(), clock=clock, engine_override=engine)
    backend = RecordingBackend()
    jobs = WatchJobs(app, backend, monotonic=lambda: clock.boot)
    jobs.scan()
    jobs.deliver()
    reminders = len(backend.sent)
    assert reminders > 0 and jobs.health.healthy

    clock.tick(60)
    clock.set(at(date(2030, 6, 3), 10))  # the wall clock jumps four years; the monotonic one 60 s
    with capture_logs() as logs:
        for _ in range(3):
            clock.boot += 30
            jobs.scan()
            jobs.deliver()
    assert len(backend.sent) == reminders and open_board_items(sessions) == []
    assert jobs.health.clock_state == "forward_jump" and not jobs.health.healthy
    assert [entry["event"] for entry in logs].count("clock.held") == 1
    with db.transaction(sessions) as session:
        assert list(watch_clock.holds(session).values())[0].startswith("墙上时钟向前跳变")
    # the daemon's own /healthz and /metrics, and the board's /healthz, say so
    server = serve_health(jobs.health, 0)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(base + "/healthz", timeout=5)
        assert answer.value.code == 503 and json.loads(answer.value.read())["clock_state"] == "forward_jump"
        metrics = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
        assert 'deadline_watch_daemon_clock_held{state="forward_jump"} 1' in metrics
    finally:
        server.shutdown()
    board_settings = fast_settings(web__secret_key="k" * 40)
    board = TestClient(create_app(AppContext(settings=board_settings, engine_override=engine)))  # real time
    answer = board.get("/healthz")
    assert answer.status_code == 503 and "held" in json.dumps(answer.json()["clock"], ensure_ascii=False)

    # the clock is put right again: the daemon acts again by itself
    clock.set(at(T0_DAY, 9, 3))
    clock.boot += 30
    with capture_logs() as logs:
        jobs.scan()
    assert jobs.health.clock_state == "ok" and "clock.resumed" in [entry["event"] for entry in logs]
    with db.transaction(sessions) as session:
        assert watch_clock.holds(session) == {}
    print("daemon wall-clock jump tally:", {"intents": reminders, "sent": len(backend.sent), "duplicates": 0, "lost": 0})


def test_a_jump_confirmed_by_an_operator_is_acted_on(engine, sessions, db_url):
    clock = WallClock(at(T0_DAY, 9))
    app = AppContext(settings=fast_settings(), clock=clock, engine_override=engine)
    jobs = WatchJobs(app, RecordingBackend(), monotonic=lambda: clock.boot)
    jobs.scan()
    clock.set(at(T0_DAY + timedelta(days=2), 9))  # two days ahead, monotonic unmoved
    jobs.scan()
    assert jobs.health.clock_state == "forward_jump"
    assert main(["--db", db_url, "watch", "confirm-clock"]) == 0
    jobs.scan()
    assert jobs.health.clock_state == "ok"
    with db.transaction(sessions) as session:
        assert watch_clock.last_scan_at(session) == at(T0_DAY + timedelta(days=2), 9)


def test_daemon_clock_earlier_than_the_last_scan_holds(engine, sessions):
    make_milestones(sessions)
    backend = RecordingBackend()
    run_tick(sessions, fast_settings(), now=at(T0_DAY + timedelta(days=1), 10), backend=backend)
    sent = len(backend.sent)
    clock = WallClock(at(T0_DAY, 10))  # a day behind the last scan (another process ran it)
    jobs = WatchJobs(AppContext(settings=fast_settings(), clock=clock, engine_override=engine), backend,
                     monotonic=lambda: clock.boot)
    jobs.scan()
    jobs.deliver()
    assert jobs.health.clock_state == "behind_last_scan" and len(backend.sent) == sent
