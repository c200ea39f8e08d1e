"""Exactly once across kill -9: a delivery process dies at each step of a send, then restarts.

The child is the real CLI (`deadline-watch deliver`) using the real twilio client against
the local fake Twilio server; DEADLINE_WATCH_CRASH_AT makes it SIGKILL itself at a named
point (installed from outside the runtime code by crash_child.py). The restart comes after the claim
timeout, so stale `sending` rows are reconciled against the fake before any re-send.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from delivery_child import counts, received, run_deliver, start_deliver, write_config

from deadline_watch.core.db import transaction
from deadline_watch.domain.models import Notification
from deadline_watch.fakes.twilio import FakeTwilio, Scripted
from deadline_watch.sms.file import FileBackend
from delivery_rows import age_claims, queue

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai, inside the send window
AFTER_TIMEOUT = timedelta(seconds=301)
MOBILES = [f"+86139{n:08d}" for n in range(1, 6)]


def intents(sessions) -> set[tuple[str, str]]:
    with transaction(sessions) as session:
        return {(row.to_number, row.body) for row in session.execute(sa.select(Notification.to_number, Notification.body))}


def states(sessions) -> dict[str, int]:
    with transaction(sessions) as session:
        return dict(session.execute(sa.select(Notification.state, sa.func.count()).group_by(Notification.state)).all())


def assert_each_intent_received_once(fake: FakeTwilio, sessions) -> None:
    got = received(fake)
    assert set(got) == intents(sessions), "a message was lost"
    assert max(got.values()) == 1, f"duplicates: {[key for key, n in got.items() if n > 1]}"
    assert states(sessions) == {"sent": len(got)}
    with transaction(sessions) as session:
        sids = session.scalars(sa.select(Notification.provider_message_id)).all()
    assert sorted(sids) == sorted(message.sid for message in fake.messages)


@pytest.mark.parametrize(
    "crash_at",
    ["before_claim_commit", "after_claim_commit", "after_send", "after_send:5"],
)
def test_kill_at_each_step_then_restart_delivers_each_intent_exactly_once(
    sessions, db_url, tmp_path, crash_at
) -> None:
    queue(sessions, 12, now=NOW, mobiles=MOBILES)
    config = write_config(tmp_path, concurrency=3, batch_size=12)
    with FakeTwilio(seed=1) as fake:
        crashed = run_deliver(fake, config, db_url, now=NOW, crash_at=crash_at)
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr
        before = states(sessions)
        if crash_at == "before_claim_commit":
            assert before == {"pending": 12} and fake.messages == []
        elif crash_at == "after_claim_commit":
            assert before == {"sending": 12} and fake.messages == []
        else:
            assert before.get("sending", 0) >= 1 and len(fake.messages) >= 1

        if crash_at == "after_claim_commit":
            # a restart inside the claim timeout leaves the dead worker's claims alone
            early = run_deliver(fake, config, db_url, now=NOW + timedelta(seconds=60))
            assert early.returncode == 0, early.stderr
            assert counts(early)["reconciled"] == counts(early)["requeued"] == 0
            assert fake.messages == []

        age_claims(sessions, AFTER_TIMEOUT.total_seconds())  # the claim timeout passes
        restarted = run_deliver(fake, config, db_url, now=NOW + AFTER_TIMEOUT)
        assert restarted.returncode == 0, restarted.stderr
        assert_each_intent_received_once(fake, sessions)
        summary = counts(restarted)
        if crash_at.startswith("after_send"):
            assert summary["reconciled"] >= 1  # found at the provider, not sent again


def test_lost_reply_then_retry_asks_the_provider_and_sends_no_duplicate(sessions, db_url, tmp_path) -> None:
    queue(sessions, 3, now=NOW, mobiles=MOBILES)
    config = write_config(tmp_path, concurrency=1)
    with FakeTwilio(seed=1) as fake:
        # accepted, but the answer is a 500: an ambiguous failure the dispatcher must retry carefully
        fake.script(Scripted(status=500, accept=True))
        first = run_deliver(fake, config, db_url, now=NOW)
        assert first.returncode == 0, first.stderr
        assert counts(first)["deferred"] == 1 and counts(first)["sent"] == 2
        second = run_deliver(fake, config, db_url, now=NOW + timedelta(hours=2))
        assert counts(second)["reconciled"] == 1 and counts(second)["sent"] == 0
        assert_each_intent_received_once(fake, sessions)


def test_random_kill_9_during_delivery_loses_and_duplicates_nothing(sessions, db_url, tmp_path) -> None:
    total = 40
    queue(sessions, total, now=NOW, mobiles=MOBILES)
    config = write_config(tmp_path, concurrency=2, batch_size=10)
    rng = random.Random(6)
    interrupted = 0
    with FakeTwilio(seed=1, latency_ms=100) as fake:
        now = NOW
        for _ in range(3):
            child = start_deliver(fake, config, db_url, now=now)
            # wait for the first message of this run, then kill at a random moment after it
            seen = len(fake.messages)
            deadline = time.monotonic() + 20
            while len(fake.messages) == seen and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.05, 0.6))
            if child.poll() is None and len(fake.messages) < total:
                interrupted += 1
            child.kill()
            child.wait(timeout=30)
            now += AFTER_TIMEOUT
            age_claims(sessions, AFTER_TIMEOUT.total_seconds())
        assert interrupted >= 2, "the kills must land in the middle of sending"
        final = run_deliver(fake, config, db_url, now=now)
        assert final.returncode == 0, final.stderr
        assert_each_intent_received_once(fake, sessions)


@pytest.mark.parametrize("crash_at", ["after_claim_commit", "after_send:4"])
def test_file_backend_kill_then_restart_writes_each_intent_exactly_once(sessions, db_url, tmp_path, crash_at) -> None:
    """The file backend answers the reconciliation from its own fsynced lines."""
    queue(sessions, 8, now=NOW, mobiles=MOBILES)
    config = write_config(tmp_path, concurrency=2, batch_size=8, backend="file")
    crashed = run_deliver(None, config, db_url, now=NOW, crash_at=crash_at)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    age_claims(sessions, AFTER_TIMEOUT.total_seconds())
    restarted = run_deliver(None, config, db_url, now=NOW + AFTER_TIMEOUT)
    assert restarted.returncode == 0, restarted.stderr
    written = Counter((line["to"], line["body"]) for line in FileBackend(tmp_path / "sent.jsonl").read())
    assert set(written) == intents(sessions) and max(written.values()) == 1
    assert states(sessions) == {"sent": 8}
