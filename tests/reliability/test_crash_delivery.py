"""Exactly once across kill -9: a delivery process dies at each step of a send, then restarts.

The child is the real CLI (`deadline-watch deliver`) using the real twilio client against
the local fake Twilio server; DEADLINE_WATCH_CRASH_AT makes it SIGKILL itself at a named
point (installed from outside the runtime code by crash_child.py). The restart comes after the claim
timeout, so stale `sending` rows are reconciled against the fake before any re-send.
"""

from __future__ import annotations

import signal
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from crash_harness import (
    AFTER_TIMEOUT,
    CRASH_POINTS,
    MOBILES,
    NOW,
    kill_at_random_moments_then_finish,
    kill_at_then_restart,
    states,
)
from delivery_child import counts, received, run_deliver, write_config

from deadline_watch.core.db import transaction
from deadline_watch.domain.models import Notification
from deadline_watch.fakes.twilio import FakeTwilio, Scripted
from deadline_watch.sms.file import FileBackend
from delivery_rows import age_claims, queue


def intents(sessions) -> set[tuple[str, str]]:
    with transaction(sessions) as session:
        return {(row.to_number, row.body) for row in session.execute(sa.select(Notification.to_number, Notification.body))}


def assert_each_intent_received_once(fake: FakeTwilio, sessions) -> None:
    got = received(fake)
    assert set(got) == intents(sessions), "a message was lost"
    assert max(got.values()) == 1, f"duplicates: {[key for key, n in got.items() if n > 1]}"
    assert states(sessions) == {"sent": len(got)}
    with transaction(sessions) as session:
        sids = session.scalars(sa.select(Notification.provider_message_id)).all()
    assert sorted(sids) == sorted(message.sid for message in fake.messages)


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_kill_at_each_step_then_restart_delivers_each_intent_exactly_once(
    sessions, db_url, tmp_path, crash_at
) -> None:
    queue(sessions, 12, now=NOW, mobiles=MOBILES)
    config = write_config(tmp_path, concurrency=3, batch_size=12)
    with FakeTwilio(seed=1) as fake:
        kill_at_then_restart(
            fake, config, db_url, sessions, crash_at=crash_at, total=12, accepted=lambda: len(fake.messages)
        )
        assert_each_intent_received_once(fake, sessions)


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
    with FakeTwilio(seed=1, latency_ms=100) as fake:
        kill_at_random_moments_then_finish(fake, config, db_url, sessions, total=total)
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
