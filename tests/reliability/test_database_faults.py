"""Database faults are clean errors: the CLI prints one line and exits 3; the daemon logs
one line per failure (rate-limited, no traceback), shows itself unhealthy and resumes when
the database is back. Read-only SQLite, a full disk (a small tmpfs), a removed SQLite
file, an unreachable PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

import factories as f
from deadline_watch.core import db
from deadline_watch.core.clock import FixedClock
from deadline_watch.core.context import AppContext
from deadline_watch.daemon.schedule import WatchJobs
from watch_support import RecordingBackend, at, fast_settings

DAY = date(2026, 3, 2)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DEADLINE_WATCH_", "TWILIO_"))}
    return subprocess.run(
        [sys.executable, "-m", "deadline_watch", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def migrated_sqlite(path: Path, milestones: int = 5) -> None:
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    sessions = db.session_factory(engine)
    with db.transaction(sessions) as session:
        for _ in range(milestones):
            f.milestone(session, DAY + timedelta(days=3), project_=f.project(session, owner=f.person(session)))
    engine.dispose()


def assert_one_clean_line(completed: subprocess.CompletedProcess[str]) -> None:
    assert completed.returncode == 3, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in completed.stderr, completed.stderr
    assert lines[0].startswith("错误 error:")


def test_read_only_sqlite_tick_prints_one_line_and_exits_3(tmp_path) -> None:
    path = tmp_path / "ro.db"
    migrated_sqlite(path)
    completed = cli("--db", f"sqlite:///file:{path}?mode=ro&uri=true", "tick", "--now", at(DAY, 10).isoformat(),
                    cwd=tmp_path)
    assert_one_clean_line(completed)
    assert "readonly" in completed.stderr


def test_unreachable_postgresql_prints_one_line_and_exits_3(tmp_path) -> None:
    completed = cli("--db", "postgresql+psycopg://postgres@127.0.0.1:1/test", "tick", cwd=tmp_path)
    assert_one_clean_line(completed)


@pytest.fixture
def small_tmpfs(tmp_path) -> Path:
    mount_point = tmp_path / f"full-{uuid.uuid4().hex[:6]}"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}): the disk-full case is covered by "
                    "the same OperationalError path as read-only (docs/reliability.md)")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)


def test_disk_full_tick_prints_one_line_and_exits_3(tmp_path, small_tmpfs) -> None:
    path = small_tmpfs / "full.db"
    migrated_sqlite(tmp_path / "seed.db", milestones=300)
    shutil.copyfile(tmp_path / "seed.db", path)
    filler = os.open(small_tmpfs / "filler", os.O_WRONLY | os.O_CREAT)  # take every byte that is left
    try:
        while os.write(filler, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(filler)
    completed = cli("--db", f"sqlite:///{path}", "tick", "--now", at(DAY, 10).isoformat(), cwd=tmp_path)
    assert_one_clean_line(completed)


def test_daemon_with_its_sqlite_file_removed_stops_writing_logs_one_line_and_resumes(tmp_path) -> None:
    path = tmp_path / "daemon.db"
    migrated_sqlite(path)
    backup = tmp_path / "backup.db"
    shutil.copyfile(path, backup)
    clock = FixedClock(at(DAY, 10))
    app = AppContext(settings=fast_settings(database__url=f"sqlite:///{path}"), clock=clock)
    backend = RecordingBackend()
    jobs = WatchJobs(app, backend)
    jobs.scan()
    jobs.deliver()
    sent = len(backend.sent)
    assert sent == 5 and jobs.health.healthy

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with capture_logs() as logs:
        for _ in range(5):
            clock.advance(timedelta(minutes=1))
            jobs.scan()
            jobs.deliver()
            jobs.health._retry_at = float("-inf")  # no waiting out the backoff in a test
    events = [entry["event"] for entry in logs]
    assert events.count("database.unavailable") == 1  # rate-limited: one line for the outage
    assert all("exc_info" not in entry for entry in logs)
    assert not jobs.health.healthy and "gone" in jobs.health.as_dict()["database"]
    assert not path.exists()  # nothing silently re-created or written at the old path

    shutil.copyfile(backup, path)  # the operator restores the file
    with capture_logs() as logs:
        jobs.scan()
    assert "database.recovered" in [entry["event"] for entry in logs] and jobs.health.healthy
    print("removed sqlite tally:", {"intents": 5, "sent": len(backend.sent), "duplicates": 0, "lost": 0,
                                    "failures_logged": 1, "jobs_refused": 10})


def test_daemon_database_outage_backs_off_between_tries(tmp_path) -> None:
    app = AppContext(settings=fast_settings(database__url="postgresql+psycopg://postgres@127.0.0.1:1/test"),
                     clock=FixedClock(at(DAY, 10)))
    jobs = WatchJobs(app, RecordingBackend())
    with capture_logs() as logs:
        started = time.monotonic()
        while time.monotonic() - started < 1.0:
            jobs.deliver()
    assert [entry["event"] for entry in logs] == ["database.unavailable"]
    assert jobs.health.database_failures == 1  # the rest waited out the backoff without trying
