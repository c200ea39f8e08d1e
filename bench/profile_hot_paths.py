"""The profiles behind docs/benchmarks.md's issue 17 section (pyinstrument, not timed figures).

    .venv/bin/python bench/profile_hot_paths.py scan       # one tick on bench/out/scan/total-1000000.db (bench_scan.py builds it)
    .venv/bin/python bench/profile_hot_paths.py scan-cprofile [DB]  # the same under cProfile, by own time
    .venv/bin/python bench/profile_hot_paths.py import     # first import + re-import of bench/out/registry_100k.csv, SQLite
    .venv/bin/python bench/profile_hot_paths.py import-pg  # first import into PostgreSQL schema bench_import_prof
    .venv/bin/python bench/profile_hot_paths.py dispatch   # one uncapped delivery pass of 3,000 SMS through the fake Twilio
    .venv/bin/python bench/profile_hot_paths.py dispatch-threads  # the same pass, cProfile on every thread (senders too)

The query plans were read with EXPLAIN QUERY PLAN (SQLite) and EXPLAIN ANALYZE (PostgreSQL,
schema bench_board from `bench_board.py --postgres`) on the statements `list_escalations`
and `project_board_count` send; see the section for what they showed.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pyinstrument import Profiler

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from deadline_watch.core import db  # noqa: E402
from deadline_watch.core.logs import configure_logging  # noqa: E402

IMPORTED_AT = datetime(2026, 7, 1, 1, tzinfo=UTC)


def profiled(label: str, work) -> None:
    profiler = Profiler(interval=0.001)
    profiler.start()
    work()
    profiler.stop()
    print(f"===== {label}")
    print(profiler.output_text(unicode=False, color=False))


def scan() -> None:
    from deadline_watch.core.config import Settings
    from deadline_watch.watch.service import run_scan

    work = Path(tempfile.mkdtemp()) / "scan.db"
    shutil.copyfile(BENCH / "out/scan/total-1000000.db", work)
    sessions = db.session_factory(db.make_engine(f"sqlite:///{work}"))
    now = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    profiled("scan + enqueue, 10,000 due among 1,000,000", lambda: run_scan(sessions, Settings(), now=now))


def scan_cprofile(template: Path) -> None:
    """One tick under cProfile, sorted by own time (pyinstrument's samples hide the many
    small per-reminder calls)."""
    import cProfile
    import pstats

    from deadline_watch.core.config import Settings
    from deadline_watch.watch.service import run_scan

    work = Path(tempfile.mkdtemp()) / "scan.db"
    shutil.copyfile(template, work)
    sessions = db.session_factory(db.make_engine(f"sqlite:///{work}"))
    now = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    profile = cProfile.Profile()
    profile.runcall(run_scan, sessions, Settings(), now=now)
    print(f"===== scan + enqueue under cProfile, {template.name}")
    pstats.Stats(profile).sort_stats("tottime").print_stats(40)


def registry_import(url: str | None) -> None:
    from pg_schema import migrated_schema

    from deadline_watch.registry import ImportOptions, import_path

    if url is None:
        path = Path(tempfile.mkdtemp()) / "import.db"
        url = f"sqlite:///{path}"
        db.upgrade(db.make_engine(url))
    else:
        url = migrated_schema(url, "bench_import_prof")
    sessions = db.session_factory(db.make_engine(url))
    source = BENCH / "out/registry_100k.csv"
    for label in ("first import", "re-import"):
        profiled(f"{label} of {source.name}",
                 lambda: import_path(sessions, source, now=IMPORTED_AT, options=ImportOptions()))


def uncapped_setup(count: int):
    """The fake Twilio started, `count` SMS queued in a fresh SQLite file, settings for an
    uncapped 4-worker pass and the real backend: (fake process, engine, settings, backend)."""
    import bench_dispatch as bench

    from deadline_watch.sms.twilio_backend import twilio_backend_from_settings

    work = Path(tempfile.mkdtemp())
    fake, env = bench.start_fake(work / "received.jsonl")
    try:
        engine = db.make_engine(f"sqlite:///{work / 'dispatch.db'}")
        db.upgrade(engine)
        settings = bench.twilio_settings(env)
        bench.queue_rows(engine, count, "profile")
        sms = settings.sms.model_copy(update={"rate_per_second": 1e9, "concurrency": 4, "batch_size": 500})
        settings = settings.model_copy(update={"sms": sms})
        return fake, engine, settings, twilio_backend_from_settings(settings)
    except BaseException:
        fake.terminate()
        raise


def dispatch() -> None:
    import bench_dispatch as bench

    from deadline_watch.delivery.dispatch import run_delivery_pass
    from deadline_watch.delivery.ratelimit import RateLimiter

    fake, engine, settings, backend = uncapped_setup(3000)
    try:
        profiled("one uncapped delivery pass, 3,000 SMS, 4 workers", lambda: run_delivery_pass(
            db.session_factory(engine), backend, settings, now=bench.NOW, limiter=RateLimiter(1e9)))
    finally:
        fake.terminate()


def dispatch_threads(count: int = 3000) -> None:
    """cProfile on the calling thread and on every thread the pass starts (pyinstrument follows only one)."""
    import cProfile
    import pstats
    import threading
    import time

    import bench_dispatch as bench

    from deadline_watch.delivery.dispatch import run_delivery_pass
    from deadline_watch.delivery.ratelimit import RateLimiter

    profiles: list[tuple[str, cProfile.Profile]] = []

    def start_profiling(frame, event, arg) -> None:  # the first event of a new thread swaps in cProfile
        profile = cProfile.Profile(time.thread_time)  # CPU, not GIL waits
        profiles.append((threading.current_thread().name, profile))
        profile.enable()

    fake, engine, settings, backend = uncapped_setup(count)
    try:
        caller = cProfile.Profile(time.thread_time)
        threading.setprofile(start_profiling)
        caller.enable()
        run_delivery_pass(db.session_factory(engine), backend, settings, now=bench.NOW, limiter=RateLimiter(1e9))
        caller.disable()
        threading.setprofile(None)
    finally:
        fake.terminate()
    senders = [profile for name, profile in profiles if name.startswith("sms-send")]
    print(f"===== sender threads ({len(senders)}), {count} SMS: per-call times are summed over the threads")
    pstats.Stats(*senders).sort_stats("tottime").print_stats(35)
    pstats.Stats(*senders).sort_stats("cumulative").print_stats(45)
    print("===== the calling (recording) thread")
    pstats.Stats(caller).sort_stats("cumulative").print_stats(30)
    pstats.Stats(caller).sort_stats("tottime").print_stats(30)


def main() -> None:
    configure_logging("error", "json", sys.stderr)
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "scan":
        scan()
    elif what == "scan-cprofile":
        scan_cprofile(Path(sys.argv[2]) if len(sys.argv) > 2 else BENCH / "out/scan/total-1000000.db")
    elif what == "import":
        registry_import(None)
    elif what == "import-pg":
        registry_import("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    elif what == "dispatch":
        dispatch()
    elif what == "dispatch-threads":
        dispatch_threads()
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
