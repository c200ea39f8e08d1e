"""Run `deadline-watch run` daemons (and a manual `deliver`) in child processes against a
fake Twilio, with a send window open all day so the wall clock is always inside it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from delivery_child import child_env

from deadline_watch.fakes.twilio import FakeTwilio

DAEMON_CONFIG = """
[reminders]
send_window = [00:00:00, 23:59:59.999999]

[sms]
backend = "twilio"
rate_per_second = {rate}
concurrency = 4
claim_timeout_seconds = {claim_timeout}
batch_size = 200

[scheduler]
scan_interval_seconds = 10
delivery_interval_seconds = 1
lease_wait_seconds = 60
health_port = {health_port}

[reports]
dir = "{reports}"

[logging]
format = "json"
level = "info"
"""


def write_daemon_config(
    directory: Path, *, rate: float, claim_timeout: float = 300, health_port: int = 0, name: str = "daemon.toml"
) -> Path:
    path = directory / name
    path.write_text(
        DAEMON_CONFIG.format(rate=rate, claim_timeout=claim_timeout, health_port=health_port, reports=directory / "reports"),
        encoding="utf-8",
    )
    return path


def start(fake: FakeTwilio | None, config: Path, db_url: str, *args: str, log: Path) -> subprocess.Popen[bytes]:
    """A child `deadline-watch --config .. --db .. <args>`; its output goes to `log`."""
    output = open(log, "wb")  # noqa: SIM115 - the child owns it
    return subprocess.Popen(
        [sys.executable, "-m", "deadline_watch", "--config", str(config), "--db", db_url, *args],
        env=child_env(fake), cwd=config.parent, stdout=output, stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
