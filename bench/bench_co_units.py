"""Benchmark of the 协办单位 filters at scale (not collected by pytest).

Takes the board benchmark's data set (`bench_board.py`: 250,000 projects, 1,000,000
milestones, 50,000 escalations; built once into bench/out/ when missing), gives each project
0-2 co-units (about 250,000 project_co_units rows), and times the filtered reads as the pages
call them, with the query plan of the filter clause:

    .venv/bin/python bench/bench_co_units.py [--repeat 20]
    .venv/bin/python bench/bench_co_units.py --postgres   # same rows in PostgreSQL schema bench_co_units

The filter is one `IN (SELECT project_id FROM project_co_units WHERE unit_id = ...)` clause
(`domain.co_units.projects_assisted_by`), read through ix_project_co_units_unit_id.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time

import bench_board
from bench_board import DB_PATH, NOW, PROJECTS, TODAY, UNITS, build, percentile

from deadline_watch.board.co_unit_records import co_unit_records
from deadline_watch.board.escalation_queue import EscalationFilter, list_escalations
from deadline_watch.board.evaluation import evaluate
from deadline_watch.board.project_board import project_board, project_board_count
from deadline_watch.core import db
from deadline_watch.core.config import Settings
from deadline_watch.domain import co_units


def add_co_units(path) -> list[tuple[int, int]]:
    """0-2 co-units per project (never its host), once; returns the rows."""
    con = sqlite3.connect(path)
    if con.execute("SELECT count(*) FROM project_co_units").fetchone()[0] == 0:
        rng = random.Random(18)
        hosts = dict(con.execute("SELECT id, unit_id FROM projects"))
        rows = []
        for project_id in range(1, PROJECTS + 1):
            choices = [u for u in range(1, len(UNITS) + 1) if u != hosts[project_id]]
            rows.extend((project_id, unit_id) for unit_id in rng.sample(choices, rng.randint(0, 2)))
        con.executemany("INSERT INTO project_co_units (project_id, unit_id) VALUES (?, ?)", rows)
        con.commit()
        con.execute("ANALYZE")
    rows = con.execute("SELECT project_id, unit_id FROM project_co_units").fetchall()
    con.close()
    return rows


def copy_co_units_to_postgres(url: str, rows: list[tuple[int, int]]) -> None:
    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM project_co_units")
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy("COPY project_co_units (project_id, unit_id) FROM STDIN") as sink:
            for row in rows:
                sink.write_row(row)
        connection.exec_driver_sql("ANALYZE project_co_units")
    engine.dispose()


def timed(runs: int, action) -> tuple[float, float]:
    action()  # warm the cache
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), percentile(timings, 0.95)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    if not DB_PATH.exists():
        build(DB_PATH)
    rows = add_co_units(DB_PATH)
    if args.postgres:
        bench_board.PG_SCHEMA = "bench_co_units"  # its own schema: never the board benchmark's
        url = bench_board.build_postgres(DB_PATH)
        copy_co_units_to_postgres(url, rows)
    else:
        url = f"sqlite:///{DB_PATH}"
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    settings = Settings()
    unit = UNITS[3]
    tz = settings.tz
    month = {"start": TODAY.replace(month=10, day=1), "end": TODAY.replace(month=10, day=31), "today": TODAY}
    with sessions() as session:
        statement = co_units.projects_assisted_by(unit)
        assisted = len(session.execute(statement).all())
        explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
        plan = [" ".join(str(c) for c in r) for r in session.connection().exec_driver_sql(explain + str(compiled))]
        cases = {
            "queue, co-unit filter, first page": lambda: list_escalations(
                session, EscalationFilter(co_unit=unit), today=TODAY, tz=tz, limit=50),
            "queue, co-unit + unit filter": lambda: list_escalations(
                session, EscalationFilter(co_unit=unit, unit=UNITS[0]), today=TODAY, tz=tz, limit=50),
            "/projects, co-unit filter, page + count": lambda: (
                project_board(session, today=TODAY, settings=settings, co_unit=unit, limit=100),
                project_board_count(session, today=TODAY, settings=settings, co_unit=unit)),
            "evaluation of one month, co-unit filter": lambda: evaluate(session, co_unit=unit, **month),
            "evaluation of one month, unfiltered": lambda: evaluate(session, **month),
            "协办记录 of one unit, one month": lambda: co_unit_records(session, co_unit=unit, **month),
        }
        print(f"{engine.dialect.name}: {len(rows):,} co-unit rows; {unit} assists {assisted:,} projects; "
              f"as of {NOW:%Y-%m-%d}", file=sys.stderr)
        print("plan of the filter clause:\n  " + "\n  ".join(plan))
        print(f"{'case':44} {'n':>4} {'p50 ms':>9} {'p95 ms':>9}")
        for name, action in cases.items():
            runs = args.repeat if "evaluation" not in name and "协办记录" not in name else max(args.repeat // 4, 3)
            p50, p95 = timed(runs, action)
            print(f"{name:44} {runs:>4} {p50:>9.1f} {p95:>9.1f}")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
