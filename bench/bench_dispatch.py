"""Benchmark of SMS delivery (issue 6): whole delivery passes against the local fake Twilio.

    .venv/bin/python bench/bench_dispatch.py                 # SQLite, 10,000 uncapped + caps 20 and 100
    .venv/bin/python bench/bench_dispatch.py --database pg   # the same on PostgreSQL (127.0.0.1:5432/test)

The fake runs in its own process (`deadline-watch fake-twilio --record ...`) so its
receive timestamps are not skewed by this process's threads; the rate figures come from
those timestamps. Each run queues fresh rows and times `run_delivery_pass` end to end:
claim statements, HTTP through the real twilio client, and one recording transaction per
message. `run_benchmark` is shared with bench_aliyun.py (the same passes through the Aliyun SDK).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from deadline_watch.core import db
from deadline_watch.core.config import Settings
from deadline_watch.delivery.dispatch import run_delivery_pass
from deadline_watch.delivery.ratelimit import RateLimiter
from deadline_watch.domain.models import Milestone, Notification, Person, Project, Unit
from deadline_watch.fakes.twilio import max_in_window
from deadline_watch.sms.twilio_backend import twilio_backend_from_settings

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: inside the send window
PG_URL = os.environ.get("DEADLINE_WATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def start_fake(
    record: Path, command: str = "fake-twilio", ready: str = "DEADLINE_WATCH_TWILIO_BASE_URL"
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start `deadline-watch <command> --record`; read the exports it prints up to `ready`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "deadline_watch", command, "--port", "0", "--record", str(record)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=record.parent,
    )
    env: dict[str, str] = {}
    assert process.stdout is not None
    while ready not in env:
        line = process.stdout.readline()
        if not line:
            raise SystemExit(f"{command} did not start")
        if line.startswith("export "):
            name, _, value = line[len("export ") :].strip().partition("=")
            env[name] = value
    return process, env


def received_at(record: Path, skip: int) -> list[datetime]:
    lines = record.read_text(encoding="utf-8").splitlines()[skip:]
    return [datetime.fromisoformat(json.loads(line)["received_at"]) for line in lines]


def record_count(record: Path) -> int:
    return len(record.read_text(encoding="utf-8").splitlines()) if record.exists() else 0


def queue_rows(engine: sa.Engine, count: int, tag: str, extra: dict | None = None) -> None:
    """`count` pending reminders; `extra` overrides columns of every row (template, body ...)."""
    with engine.begin() as connection:
        unit_id = connection.execute(
            sa.insert(Unit.__table__).values(name=f"单位{tag}", created_at=NOW).returning(Unit.__table__.c.id)
        ).scalar_one()
        person_id = connection.execute(
            sa.insert(Person.__table__)
            .values(name="张三", mobile=f"+86139{abs(hash(tag)) % 10**8:08d}", roles="owner", created_at=NOW)
            .returning(Person.__table__.c.id)
        ).scalar_one()
        project_id = connection.execute(
            sa.insert(Project.__table__)
            .values(code=f"GX-{tag}", name="天府软件园三期建设", unit_id=unit_id, owner_id=person_id,
                    co_units="", status="active", note="", created_at=NOW, updated_at=NOW)
            .returning(Project.__table__.c.id)
        ).scalar_one()
        milestone_id = connection.execute(
            sa.insert(Milestone.__table__)
            .values(project_id=project_id, name="组织实施", position=2, due_date=date(2026, 3, 9),
                    evidence="", status="open", created_at=NOW, updated_at=NOW)
            .returning(Milestone.__table__.c.id)
        ).scalar_one()
        rows = [
            {
                "dedup_key": f"bench:{tag}:{index}",
                "milestone_id": milestone_id,
                "rule": "reminder",
                "due_date": date(2026, 3, 9),
                "days_left": 7,
                "recipient_id": person_id,
                # a few hundred distinct recipients, as in a real district
                "to_number": f"+86138{index % 500:08d}",
                "body": f"【高新区督办】张三同志:项目GX-{tag}“天府软件园三期建设”组织实施节点将于3月9日到期(还有7天),请抓紧推进。#{index}",
                "segments": 2,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": NOW,
                "created_at": NOW,
                "updated_at": NOW,
                **(extra or {}),
            }
            for index in range(count)
        ]
        for start in range(0, count, 1000):
            connection.execute(sa.insert(Notification.__table__), rows[start : start + 1000])


def one_run(
    engine,
    settings,
    record: Path,
    *,
    count: int,
    rate: float | None,
    concurrency: int,
    make_backend: Callable = twilio_backend_from_settings,
    row_fields: Callable[[str], dict] | None = None,
) -> dict:
    tag = uuid.uuid4().hex[:8]
    queue_rows(engine, count, tag, row_fields(tag) if row_fields else None)
    sms = settings.sms.model_copy(update={"rate_per_second": rate or 1e9, "concurrency": concurrency, "batch_size": 500})
    run_settings = settings.model_copy(update={"sms": sms})
    backend = make_backend(run_settings)
    limiter = RateLimiter(rate or 1e9)
    before = record_count(record)
    started, cpu_started = time.perf_counter(), time.process_time()
    result = run_delivery_pass(db.session_factory(engine), backend, run_settings, now=NOW, limiter=limiter)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    time.sleep(0.2)  # let the fake flush its record file
    instants = received_at(record, before)
    spread = (max(instants) - min(instants)) / timedelta(seconds=1) if len(instants) > 1 else 0.0
    return {
        "count": count,
        "rate_cap": rate,
        "concurrency": concurrency,
        "sent": result.sent,
        "failed": result.failed,
        "deferred": result.deferred,
        "received": len(instants),
        "pass_seconds": round(elapsed, 2),
        "pass_msgs_per_s": round(result.sent / elapsed, 1),
        # this process's CPU (all its threads) per message: steadier than wall time under load
        "cpu_us_per_msg": round(cpu / max(result.sent, 1) * 1e6),
        "provider_msgs_per_s": round((len(instants) - 1) / spread, 1) if spread else None,
        "max_in_any_1s_window": max_in_window(instants),
    }


def plain_client_rate(env: dict[str, str], count: int) -> float:
    """The fake's own request rate: `count` POSTs of a reminder-sized form from one plain
    httpx client loop (no database, no twilio client, no threads), in msg/s."""
    import httpx

    url = f"{env['DEADLINE_WATCH_TWILIO_BASE_URL'].rstrip('/')}/2010-04-01/Accounts/{env['TWILIO_ACCOUNT_SID']}/Messages.json"
    body = "【高新区督办】张三同志:项目GX-bench“天府软件园三期建设”组织实施节点将于3月9日到期(还有7天),请抓紧推进。"
    with httpx.Client(auth=(env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"])) as client:
        started = time.perf_counter()
        for index in range(count):
            response = client.post(url, data={"To": f"+86138{index % 500:08d}", "From": env["TWILIO_FROM_NUMBER"],
                                              "Body": f"{body}#{index}"})
            assert response.status_code == 201, response.text
        return count / (time.perf_counter() - started)


def uncapped_runs(args, engine, settings, record: Path, env: dict[str, str], options: dict) -> tuple[list[dict], list[float]]:
    """The uncapped pass; with --baseline, `rounds` of (plain loop, pass) over the same count.

    Alternating the two, each over the same number of messages, exposes both to the same
    load on a shared machine; the medians are then compared (one loop of a second and a half
    beside a ten-second pass swung the ratio from 0.5x to 1.2x).
    """
    runs: list[dict] = []
    baseline: list[float] = []
    for _ in range(args.rounds if args.baseline else 1):
        if args.baseline:
            baseline.append(plain_client_rate(env, args.count))
            time.sleep(0.5)  # the fake flushes its record file before the pass counts it
        runs.append(one_run(engine, settings, record, count=args.count, rate=None, **options))
    return runs, baseline


def bench_arguments(doc: str, *, default_count: int = 10_000) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--count", type=int, default=default_count, help="messages in the uncapped run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--caps", default="20,100", help="comma-separated rate caps to measure (msg/s)")
    parser.add_argument("--cap-seconds", type=float, default=15.0, help="how long each capped run lasts")
    parser.add_argument("--baseline", action="store_true",
                        help="also time a plain httpx loop over the same --count POSTs, alternating with the"
                             " uncapped pass, and print the ratio of their medians")
    parser.add_argument("--rounds", type=int, default=3,
                        help="with --baseline: loop/pass rounds (the medians are compared)")
    return parser.parse_args()


def twilio_settings(env: dict[str, str]) -> Settings:
    return Settings.model_validate({"sms": {"backend": "twilio"}, "logging": {"level": "error"}}).model_copy(
        update={
            "twilio": Settings().twilio.model_copy(
                update={
                    "account_sid": env["TWILIO_ACCOUNT_SID"],
                    "auth_token": env["TWILIO_AUTH_TOKEN"],
                    "from_number": env["TWILIO_FROM_NUMBER"],
                    "base_url": env["DEADLINE_WATCH_TWILIO_BASE_URL"],
                }
            )
        }
    )


def run_benchmark(
    args: argparse.Namespace,
    *,
    fake_command: str = "fake-twilio",
    ready: str = "DEADLINE_WATCH_TWILIO_BASE_URL",
    settings_for: Callable[[dict[str, str]], Settings] = twilio_settings,
    make_backend: Callable = twilio_backend_from_settings,
    row_fields: Callable[[str], dict] | None = None,
) -> None:
    """The uncapped run and one run per cap against `fake_command`, printed as a table."""
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{fake_command}-"))
    record = workdir / "fake-received.jsonl"
    fake, env = start_fake(record, fake_command, ready)
    schema = None
    try:
        if args.database == "sqlite":
            engine = db.make_engine(f"sqlite:///{workdir / 'bench.db'}")
        else:
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = db.make_engine(PG_URL)
            with admin.begin() as connection:
                connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            engine = db.make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
        db.upgrade(engine)
        settings = settings_for(env)
        from deadline_watch.core.logs import configure_logging

        configure_logging("error", "json", sys.stderr)
        options = {"concurrency": args.concurrency, "make_backend": make_backend, "row_fields": row_fields}
        runs, baseline = uncapped_runs(args, engine, settings, record, env, options)
        if baseline:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from summary import record as record_target

            passes = [run["pass_msgs_per_s"] for run in runs]
            pass_rate = statistics.median(passes)
            print(f"rounds (plain loop, pass) msg/s: {[(round(a), round(b)) for a, b in zip(baseline, passes, strict=True)]}")
            print(f"plain httpx client loop against the fake: median {statistics.median(baseline):.1f} msg/s"
                  f" ({args.count} POSTs, {len(baseline)} rounds); pass median {pass_rate:.1f} msg/s")
            record_target(f"delivery through {fake_command}, uncapped, concurrency {args.concurrency}, {args.database},"
                          " vs a plain httpx loop", pass_rate / statistics.median(baseline), 0.7, at_least=True,
                          note=f"medians of {len(baseline)} alternating rounds of {args.count}: "
                               f"{pass_rate:.0f} vs {statistics.median(baseline):.0f} msg/s")
        for cap in [float(value) for value in args.caps.split(",") if value]:
            count = int(cap * args.cap_seconds)
            runs.append(one_run(engine, settings, record, count=count, rate=cap, **options))
        print(f"database={args.database} cpus={os.cpu_count()} python={sys.version.split()[0]}")
        print("| messages | cap msg/s | concurrency | pass s | pass msg/s | CPU µs/msg | at provider msg/s | max in any 1 s | sent/failed/deferred |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for run in runs:
            cap = f"{run['rate_cap']:g}" if run["rate_cap"] else "none"
            print(
                f"| {run['count']} | {cap} | {run['concurrency']} | {run['pass_seconds']} | {run['pass_msgs_per_s']} | "
                f"{run['cpu_us_per_msg']} | "
                f"{run['provider_msgs_per_s']} | {run['max_in_any_1s_window']} | "
                f"{run['sent']}/{run['failed']}/{run['deferred']} |"
            )
        print(json.dumps(runs), file=sys.stderr)
    finally:
        fake.terminate()
        fake.wait(timeout=10)
        if schema:
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    run_benchmark(bench_arguments(__doc__))
