"""Benchmark of the meeting papers on 1,000,000 milestones (not collected by pytest).

Uses bench_evaluation's data set (40 units, 5,000 officials, 250,000 projects x 4
milestones, 10 % of milestones with their own owner, 50,000 escalations; cached in
/tmp/deadline-watch-bench-papers.db, built on first use, migrated to head and ANALYZEd
as a production database would be) and times, in this process:

- the board pages through the real app (server time from its Server-Timing header):
  /overview (target p95 < 300 ms), a 责任人画像 /officials/{id} and a 单位画像
  /units/{id} (target p95 < 150 ms), sampled over different officials and units;
- the weekly dispatch sheet (每周一调度) as .xlsx with the whole overdue backlog
  (about 85,000 rows; target < 3 s, query included);
- the monthly 通报 as .docx and .html (target < 2 s each, query included).

    .venv/bin/python bench/bench_papers.py [--repeat 30] [--db PATH]
    .venv/bin/python bench/bench_papers.py --postgres   # same data in PostgreSQL, its own schema bench_papers
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from bench_evaluation import TODAY, build_postgres, build_sqlite
from fastapi.testclient import TestClient

from deadline_watch.board import users
from deadline_watch.board.bulletin import monthly_bulletin
from deadline_watch.board.bulletin_papers import render_bulletin
from deadline_watch.board.report_files import render
from deadline_watch.board.report_tables import weekly_report
from deadline_watch.core import db
from deadline_watch.core.clock import FixedClock
from deadline_watch.core.config import Settings
from deadline_watch.core.context import AppContext
from deadline_watch.web import create_app

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, TODAY there


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def server_ms(response) -> float:
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return float(response.headers["Server-Timing"].split("dur=")[1])


def report_line(name: str, timings: list[float], cpu: list[float]) -> None:
    print(f"{name:44} {len(timings):>4} {statistics.median(timings):>9.1f} {percentile(timings, 0.95):>9.1f} "
          f"{max(timings):>9.1f}   cpu p50 {statistics.median(cpu):.1f} p95 {percentile(cpu, 0.95):.1f} ms")


def measured(client, path: str, cpu: list[float]) -> float:
    """Server time of one request; this process's CPU time for it goes into `cpu` (with
    SQLite the queries run in-process: the cost on an idle machine)."""
    started = time.process_time()
    server = server_ms(client.get(path))
    cpu.append((time.process_time() - started) * 1000)
    return server


def timed_once(label: str, runs: int, action) -> None:
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    print(f"{label:44} {runs:>4} {statistics.median(wall):>9.1f} {max(wall):>9.1f}   cpu median "
          f"{statistics.median(cpu):.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=Path("/tmp/deadline-watch-bench-papers.db"))
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3, help="runs of each paper (xlsx, docx, html)")
    parser.add_argument("--postgres", nargs="?", const="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    if args.postgres:
        url = build_postgres(args.postgres, 1_000_000, schema="bench_papers")
    else:
        build_sqlite(args.db, 1_000_000)
        url = f"sqlite:///{args.db}"
    engine = db.make_engine(url)
    db.upgrade(engine)  # a cached file built before a newer migration
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # statistics as a production database has them; on PostgreSQL also the visibility
        # map (autovacuum's work), without which no index-only scan is planned
        connection.exec_driver_sql("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM (ANALYZE)")
    sessions = db.session_factory(engine)
    users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with db.transaction(sessions) as session:
        if not any(u.username == "bench" for u in users.list_users(session)):
            users.add_user(session, username="bench", role="supervisor", password="bench-password", now=NOW)
    settings = Settings.model_validate({"web": {"secret_key": "bench-secret-key-0123456789abcdef"}})
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"{engine.dialect.name}, 1,000,000 milestones, today={TODAY}, load average {' '.join(load)}")

    app = create_app(AppContext(settings, clock=FixedClock(NOW), engine_override=engine))
    client = TestClient(app, follow_redirects=False)
    token = client.get("/login").text.split('name="csrf_token" value="')[1].split('"')[0]
    login = client.post("/login", data={"username": "bench", "password": "bench-password", "csrf_token": token})
    assert login.status_code == 303
    rng = random.Random(11)
    print(f"{'page (server time)':44} {'n':>4} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
    # the overview keeps its figures a minute: first the counting itself (cache emptied
    # before each request), then what a wall screen's reload costs
    cold, cold_cpu = [], []
    for _ in range(max(args.repeat // 2, 3)):
        app.state.overview_cache = None
        cold.append(measured(client, "/overview", cold_cpu))
    report_line("/overview, counted afresh", cold, cold_cpu)
    cases = {
        "/overview (figures kept for 60 s)": lambda: "/overview",
        "/officials/{id} (random of 5,000)": lambda: f"/officials/{rng.randint(1, 5000)}",
        "/units/{id} (random of 40)": lambda: f"/units/{rng.randint(1, 40)}",
    }
    for name, path in cases.items():
        server_ms(client.get(path()))  # warm
        cpu: list[float] = []
        report_line(name, [measured(client, path(), cpu) for _ in range(args.repeat)], cpu)

    print(f"\n{'paper (wall, query included)':44} {'n':>4} {'median ms':>9} {'max ms':>9}")
    with db.transaction(sessions) as session:
        weekly = weekly_report(session, at=TODAY, settings=settings)
    print("weekly sheets: " + ", ".join(f"{s.name} {len(s.rows):,}" for s in weekly.sheets))

    def weekly_xlsx() -> None:
        with db.transaction(sessions) as session:
            report = weekly_report(session, at=TODAY, settings=settings)
        render(report, "xlsx")

    def bulletin(fmt: str):
        def run() -> None:
            with db.transaction(sessions) as session:
                notice = monthly_bulletin(session, at=TODAY.replace(day=1), settings=settings)
            render_bulletin(notice, fmt, settings)
        return run

    timed_once("weekly dispatch xlsx (tables + write)", args.runs, weekly_xlsx)
    timed_once("通报 docx (2026-10)", args.runs, bulletin("docx"))
    timed_once("通报 html (2026-10)", args.runs, bulletin("html"))
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
