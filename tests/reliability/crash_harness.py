"""The kill -9 harness shared by the crash suites of each provider (test_crash_delivery*.py).

A delivery child is SIGKILLed at a named step (or at random moments), the claim timeout
passes, and a restart must leave every intent sent exactly once; each suite judges "exactly
once" by its own fake (Twilio's messages, Aliyun's record of OutIds).
"""

from __future__ import annotations

import random
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from delivery_child import counts, run_deliver, start_deliver

from deadline_watch.core.db import transaction
from deadline_watch.domain.models import Notification
from delivery_rows import age_claims

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, inside the send window
AFTER_TIMEOUT = timedelta(seconds=301)
MOBILES = [f"+86139{n:08d}" for n in range(1, 6)]
CRASH_POINTS = ["before_claim_commit", "after_claim_commit", "after_send", "after_send:5"]


def states(sessions) -> dict[str, int]:
    with transaction(sessions) as session:
        return dict(session.execute(sa.select(Notification.state, sa.func.count()).group_by(Notification.state)).all())


def kill_at_then_restart(
    fake: Any,
    config: Path,
    db_url: str,
    sessions,
    *,
    crash_at: str,
    total: int,
    accepted: Callable[[], int],
    set_clock: Callable[[datetime], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Kill the child at `crash_at`, check what it left behind (`accepted()`: messages the
    fake took so far), restart after the claim timeout; returns the restart's run."""
    crashed = run_deliver(fake, config, db_url, now=NOW, crash_at=crash_at)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    before = states(sessions)
    if crash_at == "before_claim_commit":
        assert before == {"pending": total} and accepted() == 0
    elif crash_at == "after_claim_commit":
        assert before == {"sending": total} and accepted() == 0
        # a restart inside the claim timeout leaves the dead worker's claims alone
        early = run_deliver(fake, config, db_url, now=NOW + timedelta(seconds=60))
        assert early.returncode == 0, early.stderr
        assert counts(early)["reconciled"] == counts(early)["requeued"] == 0
        assert accepted() == 0
    else:
        assert before.get("sending", 0) >= 1 and accepted() >= 1
    if set_clock is not None:
        set_clock(NOW + AFTER_TIMEOUT)
    age_claims(sessions, AFTER_TIMEOUT.total_seconds())  # claims carry the database's time
    restarted = run_deliver(fake, config, db_url, now=NOW + AFTER_TIMEOUT)
    assert restarted.returncode == 0, restarted.stderr
    if crash_at.startswith("after_send"):
        assert counts(restarted)["reconciled"] >= 1  # found at the provider, not sent again
    return restarted


def kill_at_random_moments_then_finish(
    fake: Any,
    config: Path,
    db_url: str,
    sessions,
    *,
    total: int,
    runs: int = 3,
    set_clock: Callable[[datetime], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Start the child `runs` times, each killed at a random moment after its first message,
    then let a last one finish; returns that last run."""
    rng = random.Random(6)
    interrupted = 0
    now = NOW
    for _ in range(runs):
        child = start_deliver(fake, config, db_url, now=now)
        # wait for the first message of this run, then kill at a random moment after it
        seen = len(fake.messages)
        deadline = time.monotonic() + 30
        while len(fake.messages) == seen and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.05, 0.6))
        if child.poll() is None and len(fake.messages) < total:
            interrupted += 1
        child.kill()
        child.wait(timeout=30)
        now += AFTER_TIMEOUT
        if set_clock is not None:
            set_clock(now)
        age_claims(sessions, AFTER_TIMEOUT.total_seconds())
    assert interrupted >= 2, "the kills must land in the middle of sending"
    final = run_deliver(fake, config, db_url, now=now)
    assert final.returncode == 0, final.stderr
    return final
