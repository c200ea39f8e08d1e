"""Registry import benchmark: a 100,000-row / 25,000-project GB18030 CSV into SQLite.

    .venv/bin/python bench/bench_import.py            # generates bench/out/registry_100k.csv if missing

    .venv/bin/python bench/bench_import.py --database pg   # the same into PostgreSQL (schema bench_import_*)

Each measurement runs in a fresh child process so that its peak RSS (getrusage
ru_maxrss) is its own. Measured: the first import into an empty database, a re-import of
the same file (zero changes), a --dry-run (SQLite), and the lower bounds: issue 17's
"parse with `csv` + plain executemany (SQLite) / COPY (PostgreSQL) into the migrated,
indexed tables" (all timed) and, for the re-import, "read the file + one indexed SELECT of
the existing rows"; and issue 4's (SQLite): executemany of rows already parsed by the
importer's own reader (parsing not timed).
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
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 7, 1, 1, 0, tzinfo=UTC)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_import(url: str, csv_path: Path, dry_run: bool) -> dict:
    from deadline_watch.core import db
    from deadline_watch.registry import ImportOptions, import_path

    engine = db.make_engine(url)
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


_DATE_SEPARATORS = str.maketrans({"年": "-", "月": "-", "日": None, "/": "-", ".": "-"})


def plain_date(text: str) -> str | None:
    """The four date styles of the generated file as ISO text, with no checks."""
    if not text:
        return None
    year, month, day = text.translate(_DATE_SEPARATORS).split("-")
    return f"{year}-{int(month):02d}-{int(day):02d}"


def plain_rows(csv_path: Path) -> dict[str, list[tuple]]:
    """The registry parsed with `csv` alone (no validation, no normalising): rows for
    units, persons, projects and milestones with ids assigned here, in insert order."""
    import csv

    now = NOW.replace(tzinfo=None).isoformat(sep=" ")
    units: dict[str, int] = {}
    persons: dict[str, tuple] = {}
    projects: dict[str, tuple] = {}
    milestones: list[tuple] = []
    with csv_path.open(encoding="gb18030", newline="") as stream:
        reader = csv.reader(stream)
        next(reader)
        for (code, name, unit, lead, lead_mobile, owner, owner_mobile, stage, due, done, co_units, level,
             note) in reader:
            unit_id = units.setdefault(unit.strip(), len(units) + 1)
            for person, mobile in ((lead, lead_mobile), (owner, owner_mobile)):
                if mobile not in persons:
                    persons[mobile] = (len(persons) + 1, person, mobile, "owner", now)
            if code not in projects:
                projects[code] = (len(projects) + 1, code, name, unit_id, co_units, persons[owner_mobile][0],
                                  persons[lead_mobile][0], level, "active", note, now, now)
            milestones.append((len(milestones) + 1, projects[code][0], stage, len(milestones) % 4, plain_date(due),
                               plain_date(done), "", "completed" if done else "open", now, now))
    return {
        "units": [(unit_id, name, now) for name, unit_id in units.items()],
        "persons": list(persons.values()),
        "projects": list(projects.values()),
        "milestones": milestones,
    }


PLAIN_COLUMNS = {
    "units": "id, name, created_at",
    "persons": "id, name, mobile, roles, created_at",
    "projects": "id, code, name, unit_id, co_units, owner_id, lead_leader_id, level, status, note, created_at,"
                " updated_at",
    "milestones": "id, project_id, name, position, due_date, completed_on, evidence, status, created_at, updated_at",
}


def child_plain(url: str, csv_path: Path) -> dict:
    """Issue 17's lower bound: parse with `csv` and write the same rows into the migrated,
    indexed tables with a plain sqlite3 executemany (SQLite) or COPY (PostgreSQL); all timed."""
    start, cpu_start = time.perf_counter(), cpu_seconds()
    tables = plain_rows(csv_path)
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("BEGIN IMMEDIATE")
        for table, columns in PLAIN_COLUMNS.items():
            marks = ", ".join("?" * len(columns.split(",")))
            connection.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tables[table])
        connection.execute("COMMIT")
        connection.close()
    else:
        import psycopg

        plain, _, options = url.replace("postgresql+psycopg://", "postgresql://").partition("?options=")
        schema = options.split("%3D")[1]
        with psycopg.connect(plain, options=f"-csearch_path={schema}") as connection, connection.cursor() as cursor:
            for table, columns in PLAIN_COLUMNS.items():
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as sink:
                    for row in tables[table]:
                        sink.write_row(row)
            connection.commit()
    return {"seconds": time.perf_counter() - start, "cpu_seconds": cpu_seconds() - cpu_start,
            "peak_rss_mb": peak_rss_mb(), "rows": len(tables["milestones"])}


def child_reread(url: str, csv_path: Path) -> dict:
    """Issue 17's lower bound of a re-import that changes nothing: read the file (`csv`)
    and one indexed SELECT of the existing projects with their milestones."""
    from deadline_watch.core import db

    engine = db.make_engine(url)
    with engine.connect() as connection:
        connection.exec_driver_sql("select 1")
        start, cpu_start = time.perf_counter(), cpu_seconds()
        tables = plain_rows(csv_path)
        existing = connection.exec_driver_sql(
            "SELECT p.code, p.name, p.unit_id, p.owner_id, m.name, m.due_date, m.completed_on, m.status"
            " FROM projects p JOIN milestones m ON m.project_id = p.id ORDER BY p.id, m.position").fetchall()
        elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
    assert len(existing) == len(tables["milestones"]), (len(existing), len(tables["milestones"]))
    return {"seconds": elapsed, "cpu_seconds": cpu, "peak_rss_mb": peak_rss_mb()}


def fresh_db(template: Path, path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, path)
    return path


def run_child(*args: str) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True,
                            text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


PG_URL = os.environ.get("DEADLINE_WATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--csv", type=Path, default=ROOT / "bench/out/registry_100k.csv")
    parser.add_argument("--projects", type=int, default=25_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, target, csv_path = args.child
        if kind == "baseline":
            result = child_baseline(Path(target), Path(csv_path))
        elif kind == "plain":
            result = child_plain(target, Path(csv_path))
        elif kind == "reread":
            result = child_reread(target, Path(csv_path))
        else:
            result = child_import(target, Path(csv_path), dry_run=kind == "dry-run")
        print(json.dumps(result))
        return

    sys.path.insert(0, str(ROOT / "bench"))
    from make_registry import write
    from pg_schema import migrated_schema
    from summary import record

    if not args.csv.exists():
        rows = write(args.csv, args.projects, "gb18030")
        print(f"generated {args.csv} ({rows} rows)")
    out = args.csv.parent
    from deadline_watch.core import db
    template = out / "template.db"
    if args.database == "sqlite":
        template.unlink(missing_ok=True)
        engine = db.make_engine(f"sqlite:///{template}")
        db.upgrade(engine)
        engine.dispose()

    def fresh_target(name: str) -> str:
        if args.database == "pg":
            return migrated_schema(PG_URL, f"bench_import_{name}")
        return f"sqlite:///{fresh_db(template, out / f'{name}.db')}"

    print(f"file: {args.csv} ({args.csv.stat().st_size / 1e6:.1f} MB), database: {args.database}")
    results: dict[str, list[dict]] = {"import": [], "reimport": [], "reread": [], "plain": []}
    if args.database == "sqlite":
        results.update({"dry-run": [], "baseline": []})
    for _ in range(args.runs):
        target = fresh_target("bench")
        results["import"].append(run_child("import", target, str(args.csv)))
        results["reimport"].append(run_child("import", target, str(args.csv)))
        results["reread"].append(run_child("reread", target, str(args.csv)))
        if args.database == "sqlite":
            results["dry-run"].append(run_child("dry-run", target, str(args.csv)))
            results["baseline"].append(run_child("baseline", str(fresh_db(template, out / "baseline.db")),
                                                 str(args.csv)))
        results["plain"].append(run_child("plain", fresh_target("plain"), str(args.csv)))
    for name, runs in results.items():
        best = min(runs, key=lambda run: run["seconds"])
        seconds = ", ".join(f"{run['seconds']:.2f}" for run in runs)
        rss = max(run["peak_rss_mb"] for run in runs)
        extra = {k: v for k, v in best.items() if k not in ("seconds", "cpu_seconds", "peak_rss_mb")}
        print(f"{name:9s} best {best['seconds']:.2f} s wall, {best['cpu_seconds']:.2f} s CPU "
              f"(wall runs: {seconds}); peak RSS {rss:.0f} MB; {extra}")

    def best(name: str, key: str = "seconds") -> float:
        return min(run[key] for run in results[name])

    if args.database == "sqlite":
        print(f"ratio import / sqlite3 executemany of the already parsed rows (issue 4's bound): "
              f"{best('import') / best('baseline'):.1f}x")
    print(f"load average at the end: {os.getloadavg()}")
    database = {"sqlite": "SQLite", "pg": "PostgreSQL"}[args.database]
    plain = "csv + executemany" if args.database == "sqlite" else "csv + COPY"
    rows = results["plain"][0]["rows"]
    record(f"import of {rows:,} rows, {database}, vs {plain} (best wall)", best("import") / best("plain"), 3.0,
           note=f"{best('import'):.2f} s vs {best('plain'):.2f} s; CPU {best('import', 'cpu_seconds') / best('plain', 'cpu_seconds'):.1f}x")
    record(f"import of {rows:,} rows, {database}, peak RSS", max(run["peak_rss_mb"] for run in results["import"]),
           250, unit=" MB")
    record(f"re-import of the same {rows:,} rows, {database}, vs reading the file + one SELECT (best wall)",
           best("reimport") / best("reread"), 2.0, note=f"{best('reimport'):.2f} s vs {best('reread'):.2f} s")


if __name__ == "__main__":
    main()
