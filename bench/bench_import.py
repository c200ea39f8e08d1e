"""Registry import benchmark: a 100,000-row / 25,000-project GB18030 CSV into SQLite.

    .venv/bin/python bench/bench_import.py            # generates bench/out/registry_100k.csv if missing

Each measurement runs in a fresh child process so that its peak RSS (getrusage
ru_maxrss) is its own. Measured: the first import into an empty database, a re-import of
the same file (zero changes), a --dry-run, and the lower bound: a plain sqlite3
executemany of the same parsed rows into the same migrated schema (parsing not timed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 7, 1, 1, 0, tzinfo=timezone.utc)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_import(db_path: Path, csv_path: Path, dry_run: bool) -> dict:
    from deadline_watch.core import db
    from deadline_watch.registry import ImportOptions, import_path

    engine = db.make_engine(f"sqlite:///{db_path}")
    sessions = db.session_factory(engine)
    start, cpu_start = time.perf_counter(), cpu_seconds()
    report = import_path(sessions, csv_path, now=NOW, options=ImportOptions(dry_run=dry_run))
    elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    counts = {key: value for key, value in report.to_dict().items()
              if key.endswith(("created", "updated", "unchanged")) or key == "pruned"}
    return {"seconds": elapsed, "cpu_seconds": cpu, "peak_rss_mb": peak_rss_mb(),
            "errors": len(report.errors), **counts}


def child_baseline(db_path: Path, csv_path: Path) -> dict:
    """The lower bound: the same parsed rows, inserted with sqlite3 executemany."""
    from deadline_watch.registry.reader import open_registry
    from deadline_watch.registry.report import ImportReport
    from deadline_watch.registry.validate import read_registry

    parse_start = time.perf_counter()
    report = ImportReport(source=str(csv_path))
    source = open_registry(lambda: csv_path.open("rb"), csv_path.name)
    parsed = read_registry(source.rows, report)
    parse_seconds = time.perf_counter() - parse_start
    assert not report.errors, report.errors[:3]
    now = NOW.replace(tzinfo=None).isoformat(sep=" ")
    units = {project.unit for project in parsed.projects.values()}
    start, cpu_start = time.perf_counter(), cpu_seconds()
    connection = sqlite3.connect(db_path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany("INSERT INTO units (name, created_at) VALUES (?, ?)", [(u, now) for u in units])
    unit_ids = dict(connection.execute("SELECT name, id FROM units"))
    connection.executemany(
        "INSERT INTO persons (name, mobile, roles, created_at) VALUES (?, ?, ?, ?)",
        [(name, mobile, "owner", now) for mobile, (name, _) in parsed.persons.items()],
    )
    person_ids = dict(connection.execute("SELECT mobile, id FROM persons"))
    connection.executemany(
        "INSERT INTO projects (code, name, unit_id, co_units, owner_id, lead_leader_id, level, status,"
        " note, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)",
        [(p.code, p.name, unit_ids[p.unit], p.co_units, person_ids[p.owner_mobile],
          person_ids.get(p.lead_mobile), p.level, p.note, now, now) for p in parsed.projects.values()],
    )
    project_ids = dict(connection.execute("SELECT code, id FROM projects"))
    connection.executemany(
        "INSERT INTO milestones (project_id, name, position, due_date, completed_on, evidence, status,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, '', ?, ?, ?)",
        [(project_ids[p.code], m.name, m.position, m.due_date.isoformat(),
          m.completed_on.isoformat() if m.completed_on else None,
          "completed" if m.completed_on else "open", now, now)
         for p in parsed.projects.values() for m in p.milestones.values()],
    )
    connection.execute("COMMIT")
    connection.close()
    return {"seconds": time.perf_counter() - start, "cpu_seconds": cpu_seconds() - cpu_start,
            "parse_seconds": parse_seconds, "peak_rss_mb": peak_rss_mb()}


def fresh_db(template: Path, path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, path)
    return path


def run_child(*args: str) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                            text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv", type=Path, default=ROOT / "bench/out/registry_100k.csv")
    parser.add_argument("--projects", type=int, default=25_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, db_path, csv_path = args.child
        if kind == "baseline":
            result = child_baseline(Path(db_path), Path(csv_path))
        else:
            result = child_import(Path(db_path), Path(csv_path), dry_run=kind == "dry-run")
        print(json.dumps(result))
        return

    sys.path.insert(0, str(ROOT / "bench"))
    from make_registry import write

    if not args.csv.exists():
        rows = write(args.csv, args.projects, "gb18030")
        print(f"generated {args.csv} ({rows} rows)")
    out = args.csv.parent
    from deadline_watch.core import db
    template = out / "template.db"
    fresh = fresh_db
    template.unlink(missing_ok=True)
    engine = db.make_engine(f"sqlite:///{template}")
    db.upgrade(engine)
    engine.dispose()

    print(f"file: {args.csv} ({args.csv.stat().st_size / 1e6:.1f} MB)")
    results: dict[str, list[dict]] = {"import": [], "reimport": [], "dry-run": [], "baseline": []}
    for _ in range(args.runs):
        target = fresh(template, out / "bench.db")
        results["import"].append(run_child("import", str(target), str(args.csv)))
        results["reimport"].append(run_child("import", str(target), str(args.csv)))
        results["dry-run"].append(run_child("dry-run", str(target), str(args.csv)))
        target = fresh(template, out / "baseline.db")
        results["baseline"].append(run_child("baseline", str(target), str(args.csv)))
    for name, runs in results.items():
        best = min(runs, key=lambda run: run["seconds"])
        seconds = ", ".join(f"{run['seconds']:.2f}" for run in runs)
        rss = max(run["peak_rss_mb"] for run in runs)
        extra = {k: v for k, v in best.items() if k not in ("seconds", "cpu_seconds", "peak_rss_mb")}
        print(f"{name:9s} best {best['seconds']:.2f} s wall, {best['cpu_seconds']:.2f} s CPU "
              f"(wall runs: {seconds}); peak RSS {rss:.0f} MB; {extra}")
    first = min(run["seconds"] for run in results["import"])
    lower = min(run["seconds"] for run in results["baseline"])
    parse = min(run["parse_seconds"] for run in results["baseline"])
    print(f"ratio import / sqlite3 executemany of parsed rows: {first / lower:.1f}x")
    first_cpu = min(run["cpu_seconds"] for run in results["import"])
    lower_cpu = min(run["cpu_seconds"] for run in results["baseline"])
    print(f"same ratio in CPU time: {first_cpu / lower_cpu:.1f}x")
    print(f"load average at the end: {os.getloadavg()}")
    print(f"ratio import / (parse + executemany): {first / (parse + lower):.2f}x")


if __name__ == "__main__":
    main()
