"""Benchmark: the monthly evaluation (and the reports built on it) over 1,000,000 milestones.

Builds a SQLite file with the real migrations, then bulk-inserts with plain sqlite3
(the ORM would take far longer than the thing being measured):
  40 units, 5,000 officials, 250,000 projects x 4 milestones = 1,000,000 milestones with
  due dates spread over 2024-01..2027-12 (about 21,000 due per month), 90 % of past ones
  completed (70 % on time), and 50,000 escalations (a third at level 2).

    .venv/bin/python bench/bench_evaluation.py [--milestones 1000000] [--db PATH] [--runs 7]
    .venv/bin/python bench/bench_evaluation.py --postgres   # same data in PostgreSQL (COPY)

The database file is kept and reused when it already holds the requested size.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from pg_schema import migrated_schema

from deadline_watch.board.evaluation import evaluate
from deadline_watch.board.report_files import render
from deadline_watch.board.report_tables import monthly_report, weekly_report
from deadline_watch.core import db
from deadline_watch.core.config import Settings

TODAY = date(2026, 11, 23)
FIRST_DUE = date(2024, 1, 1)
SPAN_DAYS = (date(2027, 12, 31) - FIRST_DUE).days
STAGES = ("谋划立项", "组织实施", "阶段成果", "验收结项")
CREATED = "2026-01-01 00:00:00.000000"


def generate(milestones: int, seed: int = 7):
    """Rows for every table, as tuples in column order."""
    rng = random.Random(seed)
    units = [(i, f"第{i}责任单位") for i in range(1, 41)]
    persons = [(i, f"官员{i}", f"+86139{i:08d}", 1 + i % 40) for i in range(1, 5001)]
    projects_count = milestones // 4
    projects = []
    milestone_rows = []
    escalations = []
    mid = 0
    levels = ("省级", "市级", "区级")
    for pid in range(1, projects_count + 1):
        owner = rng.randint(1, 5000)
        status = "active" if rng.random() < 0.95 else rng.choice(("completed", "suspended", "cancelled"))
        projects.append((pid, f"GX-{pid:07d}", f"重点项目{pid}", 1 + pid % 40, owner, levels[pid % 3], status))
        base = rng.randint(0, SPAN_DAYS - 400)
        for position, stage in enumerate(STAGES):
            mid += 1
            due = FIRST_DUE + timedelta(days=base + position * rng.randint(60, 120))
            completed = None
            m_status = "open"
            if due < TODAY:
                roll = rng.random()
                if roll < 0.70:
                    completed = due - timedelta(days=rng.randint(0, 10))
                elif roll < 0.90:
                    completed = due + timedelta(days=rng.randint(1, 40))
                if completed is not None and completed > TODAY:
                    completed = None
            if completed is not None:
                m_status = "completed"
            elif rng.random() < 0.01:
                m_status = "cancelled"
            override = rng.randint(1, 5000) if rng.random() < 0.1 else None
            milestone_rows.append((mid, pid, stage, position, due.isoformat(), override,
                                   completed.isoformat() if completed else None, m_status))
            if len(escalations) < 50_000 and due < TODAY and (completed is None or completed > due) and rng.random() < 0.35:
                escalations.append((len(escalations) + 1, f"overdue:{mid}:{due}", mid, due.isoformat(),
                                    2 if rng.random() < 0.33 else 1))
    return units, persons, projects, milestone_rows, escalations


def build_sqlite(path: Path, milestones: int) -> None:
    if path.exists():
        with sqlite3.connect(path) as check:
            try:
                if check.execute("select count(*) from milestones").fetchone()[0] == milestones:
                    return
            except sqlite3.OperationalError:
                pass
        path.unlink()
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    units, persons, projects, milestone_rows, escalations = generate(milestones)
    started = time.perf_counter()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    with con:
        con.executemany(f"insert into units (id, name, created_at) values (?, ?, '{CREATED}')", units)
        con.executemany(
            f"insert into persons (id, name, mobile, unit_id, roles, created_at) values (?, ?, ?, ?, 'owner', '{CREATED}')",
            persons,
        )
        con.executemany(
            "insert into projects (id, code, name, unit_id, owner_id, level, status, co_units, note, created_at, updated_at)"
            f" values (?, ?, ?, ?, ?, ?, ?, '', '', '{CREATED}', '{CREATED}')",
            projects,
        )
        con.executemany(
            "insert into milestones (id, project_id, name, position, due_date, owner_id, completed_on, status, evidence,"
            f" created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, '', '{CREATED}', '{CREATED}')",
            milestone_rows,
        )
        con.executemany(
            "insert into escalations (id, dedup_key, milestone_id, due_date, level, reason, state, notes, opened_at)"
            f" values (?, ?, ?, ?, ?, 'overdue', 'open', '', '{CREATED}')",
            escalations,
        )
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    print(f"built {path} in {time.perf_counter() - started:.1f}s", file=sys.stderr)


def build_postgres(url: str, milestones: int, schema: str = "bench_eval") -> str:
    """A fresh `schema` filled with COPY; returns the engine URL with its search_path."""
    import psycopg

    scoped = migrated_schema(url, schema)
    units, persons, projects, milestone_rows, escalations = generate(milestones)
    created = "2026-01-01 00:00:00+00"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    started = time.perf_counter()
    with psycopg.connect(plain, options=f"-csearch_path={schema}") as con, con.cursor() as cur:
        def copy(table: str, columns: str, rows) -> None:
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as sink:
                for row in rows:
                    sink.write_row(row)

        copy("units", "id, name, created_at", ((*r, created) for r in units))
        copy("persons", "id, name, mobile, unit_id, roles, created_at", ((*r, "owner", created) for r in persons))
        copy("projects", "id, code, name, unit_id, owner_id, level, status, co_units, note, created_at, updated_at",
             ((*r, "", "", created, created) for r in projects))
        copy("milestones", "id, project_id, name, position, due_date, owner_id, completed_on, status, evidence,"
             " created_at, updated_at", ((*r, "", created, created) for r in milestone_rows))
        copy("escalations", "id, dedup_key, milestone_id, due_date, level, reason, state, notes, opened_at",
             ((*r, "overdue", "open", "", created) for r in escalations))
        for table in ("units", "persons", "projects", "milestones", "escalations"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        con.commit()
        con.autocommit = True
        cur.execute("ANALYZE")
    print(f"built PostgreSQL schema {schema} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return scoped


def timed(label: str, runs: int, action) -> list[float]:
    """Wall-clock and this process's CPU time. With SQLite the query runs in-process, so the
    CPU figure is what the work costs when the machine is not shared; wall time includes
    waiting for the cores other processes hold."""
    times, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        action()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    print(f"{label:<46} median {statistics.median(times):8.1f} ms   max {max(times):8.1f} ms   "
          f"cpu median {statistics.median(cpu):8.1f} ms   (n={runs})")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--milestones", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/deadline-watch-bench-eval.db"))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--postgres", nargs="?", const="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()

    if args.postgres:
        url = build_postgres(args.postgres, args.milestones)
    else:
        build_sqlite(args.db, args.milestones)
        url = f"sqlite:///{args.db}"
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    settings = Settings()
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else "?"
    print(f"{engine.dialect.name}, {args.milestones:,} milestones, today={TODAY}, load average {' '.join(load)}")

    def month(start: date, end: date):
        def run():
            with db.transaction(sessions) as session:
                result = evaluate(session, start=start, end=end, today=TODAY)
            return result
        return run

    with db.transaction(sessions) as session:
        sample = evaluate(session, start=date(2026, 10, 1), end=date(2026, 10, 31), today=TODAY)
    print(f"October 2026: {sample.total.milestones_due:,} milestones due, {len(sample.units)} units, "
          f"{len(sample.officials):,} officials, on-time rate {sample.total.on_time_rate:.3f}")
    timed("evaluate(month: 2026-10)", args.runs, month(date(2026, 10, 1), date(2026, 10, 31)))
    timed("evaluate(month: 2027-03, mostly not yet due)", args.runs, month(date(2027, 3, 1), date(2027, 3, 31)))
    timed("evaluate(quarter: 2026-Q3)", 3, month(date(2026, 7, 1), date(2026, 9, 30)))

    def monthly_xlsx():
        with db.transaction(sessions) as session:
            report = monthly_report(session, at=date(2026, 11, 1), settings=settings)
        render(report, "xlsx")

    def weekly_build():
        with db.transaction(sessions) as session:
            return weekly_report(session, at=TODAY, settings=settings)

    timed("monthly_report + xlsx (2026-10)", 3, monthly_xlsx)
    weekly = weekly_build()
    print("weekly rows: " + ", ".join(f"{s.name} {len(s.rows):,}" for s in weekly.sheets))
    timed("weekly_report tables (2026-W47)", 3, weekly_build)
    timed("weekly render xlsx", 1, lambda: render(weekly, "xlsx"))
    timed("weekly render csv", 3, lambda: render(weekly, "csv"))
    engine.dispose()


if __name__ == "__main__":
    main()
