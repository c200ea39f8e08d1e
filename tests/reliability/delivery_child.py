"""Run `deadline-watch deliver` in a child process that can be killed, against a fake Twilio.

The crash suite counts what the fake received, so "exactly once" is measured outside the
process under test: a SIGKILLed child cannot tidy anything up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

from deadline_watch.fakes.twilio import FakeTwilio

# the CLI with the crash points of the kill -9 suite installed (DEADLINE_WATCH_CRASH_AT)
CRASH_CHILD = Path(__file__).with_name("crash_child.py")

CONFIG = """
[sms]
backend = "{backend}"
file = "{sms_file}"
rate_per_second = {rate}
concurrency = {concurrency}
claim_timeout_seconds = 300
batch_size = {batch_size}
{sms_extra}
[logging]
format = "json"
level = "warning"
{extra}
"""


def write_config(
    directory: Path,
    *,
    rate: float = 1000.0,
    concurrency: int = 4,
    batch_size: int = 200,
    backend: str = "twilio",
    sms_extra: str = "",
    extra: str = "",
) -> Path:
    """A config for the child; with backend "file" the messages go to `directory/sent.jsonl`.

    `sms_extra` is added to the [sms] table, `extra` at the end (further tables)."""
    path = directory / "deadline-watch.toml"
    text = CONFIG.format(
        rate=rate, concurrency=concurrency, batch_size=batch_size, backend=backend, sms_file=directory / "sent.jsonl",
        sms_extra=sms_extra, extra=extra,
    )
    path.write_text(text, encoding="utf-8")
    return path


def child_env(fake: FakeTwilio | None, crash_at: str | None = None) -> dict[str, str]:
    """The child's environment: the fake's (FakeTwilio or FakeAliyun), nothing inherited of ours."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DEADLINE_WATCH_", "TWILIO_", "ALIBABA_CLOUD_"))
    }
    if fake is not None:
        env.update(fake.env())
    if crash_at:
        env["DEADLINE_WATCH_CRASH_AT"] = crash_at
    return env


def deliver_command(config: Path, db_url: str, now: datetime, *, crashable: bool = False) -> list[str]:
    program = [sys.executable, str(CRASH_CHILD)] if crashable else [sys.executable, "-m", "deadline_watch"]
    return [*program, "--config", str(config), "--db", db_url, "deliver", "--json", "--now", now.isoformat()]


def run_deliver(
    fake: FakeTwilio | None, config: Path, db_url: str, *, now: datetime, crash_at: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        deliver_command(config, db_url, now, crashable=crash_at is not None),
        env=child_env(fake, crash_at),
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_deliver(fake: FakeTwilio, config: Path, db_url: str, *, now: datetime) -> subprocess.Popen[str]:
    return subprocess.Popen(
        deliver_command(config, db_url, now),
        env=child_env(fake),
        cwd=config.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def counts(completed: subprocess.CompletedProcess[str] | str) -> dict:
    stdout = completed if isinstance(completed, str) else completed.stdout
    return json.loads(stdout.strip().splitlines()[-1])


def received(fake: FakeTwilio) -> Counter[tuple[str, str]]:
    """How many times the fake accepted each (To, Body)."""
    return Counter((message.to, message.body) for message in fake.messages)
