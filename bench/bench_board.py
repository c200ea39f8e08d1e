"""Benchmark of the supervision board at scale (not collected by pytest).

Builds (once, cached in bench/out/) a migrated SQLite database with 1,000,000 milestones
(250,000 projects x 4 nodes) and 50,000 open/acknowledged escalations using plain sqlite3
bulk inserts, then times the real app's requests in-process and reports the server time
(the app's own `Server-Timing` header) at p50/p95:

    .venv/bin/python bench/bench_board.py [--rebuild] [--repeat 40]
    .venv/bin/python bench/bench_board.py --postgres   # same rows copied into PostgreSQL schema bench_board

Targets (issue 7): queue first page and a filtered page < 150 ms p95; evaluation for a
month < 1 s.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from pg_schema import migrated_schema
from summary import record

from deadline_watch.board import users
from deadline_watch.core import db
from deadline_watch.core.clock import FixedClock
from deadline_watch.core.config import Settings
from deadline_watch.core.context import AppContext
from deadline_watch.web.server import serving_app

OUT = Path(__file__).resolve().parent / "out"
DB_PATH = OUT / "board-1m.db"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)
PROJECTS = 250_000
STAGES = ("谋划立项", "组织实施", "阶段成果", "验收结项")
ESCALATIONS = 50_000
UNITS = [f"{name}{n}" for n in range(1, 11) for name in ("新经济发展局", "生态环境局", "住房建设局", "交通运输局", "教育文化局")]
LEVELS = ("省级", "市级", "区级")
STAMP = "2026-01-01 00:00:00.000000"


def build(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    rng = random.Random(7)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    started = time.perf_counter()
    con.executemany("INSERT INTO units (id, name, created_at) VALUES (?, ?, ?)",
                    [(i + 1, name, STAMP) for i, name in enumerate(UNITS)])
    persons = 20_000
    con.executemany(
        "INSERT INTO persons (id, name, mobile, unit_id, roles, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        [(i, f"官员{i}", f"+86138{i:08d}", rng.randint(1, len(UNITS)), "owner", STAMP) for i in range(1, persons + 1)],
    )
    project_rows = []
    milestone_rows = []
    overdue_open = []
    milestone_id = 0
    for pid in range(1, PROJECTS + 1):
        unit_id = rng.randint(1, len(UNITS))
        project_rows.append((pid, f"GX-B-{pid:07d}", f"重点项目{pid}号", unit_id, "", None, rng.randint(1, persons),
                             LEVELS[pid % 3], "active", "", STAMP, STAMP))
        first_due = TODAY + timedelta(days=rng.randint(-700, 200))
        for position, stage in enumerate(STAGES):
            milestone_id += 1
            due = first_due + timedelta(days=90 * position)
            completed_on = None
            status = "open"
            if due < TODAY and rng.random() < 0.9:
                completed_on = due + timedelta(days=rng.choice([-5, -1, 0, 0, 0, 3, 12]))
                status = "completed"
            elif due < TODAY:
                overdue_open.append((milestone_id, due))
            milestone_rows.append((milestone_id, pid, stage, position, due.isoformat(), None,
                                   completed_on.isoformat() if completed_on else None, "", status, STAMP, STAMP))
    con.executemany("INSERT INTO projects (id, code, name, unit_id, co_units, lead_leader_id, owner_id, level, status,"
                    " note, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", project_rows)
    con.executemany("INSERT INTO milestones (id, project_id, name, position, due_date, owner_id, completed_on, evidence,"
                    " status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", milestone_rows)
    rng.shuffle(overdue_open)
    chosen = overdue_open[:ESCALATIONS]
    escalation_rows = []
    notification_rows = []
    for eid, (mid, due) in enumerate(chosen, start=1):
        days = (TODAY - due).days
        level = 2 if days > 7 else 1
        state = "acknowledged" if eid % 5 == 0 else "open"
        escalation_rows.append((eid, f"esc:{mid}:{due}", mid, "overdue", due.isoformat(), level, state, STAMP, ""))
        sms_state = rng.choice(["delivered", "delivered", "delivered", "sent", "failed", "undelivered"])
        notification_rows.append((eid, f"sms:{mid}:{due}:{level}", mid, "escalation", level, due.isoformat(), -days,
                                  f"+86138{eid % 20000 + 1:08d}", "【高新区督办】节点已逾期", 1, sms_state, 1, STAMP,
                                  "2026-11-22 01:00:00.000000", "2026-11-22 01:00:30.000000", STAMP, STAMP))
    con.executemany("INSERT INTO escalations (id, dedup_key, milestone_id, reason, due_date, level, state, opened_at,"
                    " notes) VALUES (?,?,?,?,?,?,?,?,?)", escalation_rows)
    con.executemany("INSERT INTO notifications (id, dedup_key, milestone_id, rule, level, due_date, days_left, to_number,"
                    " body, segments, state, attempts, next_attempt_at, created_at, sent_at, updated_at, claimed_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", notification_rows)
    con.commit()
    con.execute("ANALYZE")
    con.close()
    print(f"built {path.name}: {len(project_rows):,} projects, {len(milestone_rows):,} milestones, "
          f"{len(escalation_rows):,} escalations in {time.perf_counter() - started:.1f}s", file=sys.stderr)


PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_SCHEMA = "bench_board"
COPIED_TABLES = {  # table -> columns, in foreign-key order; the board user is created afresh
    "units": "id, name, created_at",
    "persons": "id, name, mobile, unit_id, roles, created_at",
    "projects": "id, code, name, unit_id, co_units, lead_leader_id, owner_id, level, status, note, created_at, updated_at",
    "milestones": "id, project_id, name, position, due_date, owner_id, completed_on, evidence, status, created_at,"
                  " updated_at",
    "escalations": "id, dedup_key, milestone_id, reason, due_date, level, state, opened_at, notes",
    "notifications": "id, dedup_key, milestone_id, rule, level, due_date, days_left, to_number, body, segments, state,"
                     " attempts, next_attempt_at, created_at, sent_at, updated_at, claimed_at",
}


def build_postgres(sqlite_path: Path, schema: str | None = None) -> str:
    """Copy the SQLite data set into a fresh PostgreSQL schema with COPY (default: the module's
    PG_SCHEMA at call time, which bench_co_units sets); returns its URL."""
    import psycopg

    schema = schema or PG_SCHEMA
    scoped = migrated_schema(PG_URL, schema)
    started = time.perf_counter()
    source = sqlite3.connect(sqlite_path)
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, options=f"-csearch_path={schema} -ctimezone=UTC") as con, con.cursor() as cur:
        for table, columns in COPIED_TABLES.items():
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as sink:
                for row in source.execute(f"SELECT {columns} FROM {table}"):
                    sink.write_row(row)
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        con.commit()
        con.autocommit = True
        # as autovacuum would leave a settled database: statistics, and the visibility map
        # that lets PostgreSQL answer from an index alone (after COPY it must visit the table)
        cur.execute(f"VACUUM (ANALYZE) {', '.join(COPIED_TABLES)}")
    source.close()
    print(f"copied into PostgreSQL schema {schema} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return scoped


def server_ms(response) -> float:
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return float(response.headers["Server-Timing"].split("dur=")[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the database even if cached")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--postgres", action="store_true", help=f"run on PostgreSQL ({PG_URL}, schema {PG_SCHEMA})")
    parser.add_argument("--dir", type=Path, default=OUT, help="where the SQLite database is cached (default bench/out)")
    parser.add_argument("--schema", default=PG_SCHEMA, help=f"PostgreSQL schema to fill (default {PG_SCHEMA})")
    parser.add_argument("--reuse-schema", action="store_true", help="use the PostgreSQL schema as it is (no copy)")
    parser.add_argument("--only", default="", help="run only the cases whose name contains one of these (comma-separated)")
    args = parser.parse_args()
    db_path = args.dir / DB_PATH.name
    if args.rebuild or not db_path.exists():
        build(db_path)
    if not args.postgres:
        url = f"sqlite:///{db_path}"
    elif args.reuse_schema:
        url = f"{PG_URL}?options=-csearch_path%3D{args.schema}"
    else:
        url = build_postgres(db_path, args.schema)
    engine = db.make_engine(url)
    sessions = db.session_factory(engine)
    users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with db.transaction(sessions) as session:
        if users.list_users(session) == []:
            users.add_user(session, username="bench", role="supervisor", password="bench-password", now=NOW)
    settings = Settings.model_validate({"web": {"secret_key": "bench-secret-key-0123456789abcdef"}})
    app = serving_app(AppContext(settings, clock=FixedClock(NOW), engine_override=engine))  # as `serve` builds it
    client = TestClient(app, follow_redirects=False)
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/login", data={"username": "bench", "password": "bench-password", "csrf_token": token}).status_code == 303
    cases = {
        "queue first page": ("/", {}),
        "queue page 500 (offset 24,950)": ("/", {"page": 500}),
        "queue filtered unit+level": ("/", {"unit": UNITS[3], "level": "2"}),
        "queue filtered project level+state": ("/", {"project_level": "省级", "state": "acknowledged"}),
        "queue text search": ("/", {"q": "重点项目1234"}),
        "queue text search, official's name": ("/", {"q": "官员1234"}),
        "queue text search, code fragment": ("/", {"q": "B-00123"}),
        "queue text search, a node's name (broad)": ("/", {"q": "组织实施"}),
        "queue text search, 2 characters": ("/", {"q": "12"}),
        "queue text search, no match": ("/", {"q": "不存在的项目"}),
        "api queue first page": ("/api/escalations", {}),
        "evaluation page, one month": ("/evaluation", {"start": "2026-10-01", "end": "2026-10-31"}),
        "project board first page": ("/projects", {}),
        "project board unit filter": ("/projects", {"unit": UNITS[3]}),
        "project board level filter": ("/projects", {"level": "省级"}),
        "project board text search": ("/projects", {"q": "1234"}),
        "project board red light": ("/projects", {"light": "red"}),
    }
    print(f"{'case':40} {'n':>4} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9} {'cpu ms':>9}")
    p95: dict[str, float] = {}
    for name, (path, params) in cases.items():
        if args.only and not any(part in name for part in args.only.split(",")):
            continue
        repeat = args.repeat if "evaluation" not in name else max(args.repeat // 4, 5)
        server_ms(client.get(path, params=params))  # warm the cache
        cpu_started = time.process_time()
        timings = [server_ms(client.get(path, params=params)) for _ in range(repeat)]
        cpu_ms = (time.process_time() - cpu_started) * 1000 / repeat  # this process: app + SQLite, not PostgreSQL's
        print(f"{name:40} {repeat:>4} {statistics.median(timings):>9.1f} {percentile(timings, 0.95):>9.1f} "
              f"{max(timings):>9.1f} {cpu_ms:>9.1f}")
        p95[name] = percentile(timings, 0.95)
    database = "PostgreSQL" if args.postgres else "SQLite"
    for name, value in p95.items():  # issue 17's two latency targets, server time
        if name.startswith("queue text search"):
            record(f"{name} p95, 50,000 open escalations, {database}", value, 50, unit=" ms")
        elif name == "project board red light":
            record(f"/projects red-node filter p95, 1,000,000 milestones, {database}", value, 100, unit=" ms")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
