"""Fast recovery after a crash: 300 stale claims at 200 ms provider latency are settled
concurrently, and the restarted `deliver` is sending again within 10 s (it used to check
them one at a time: 0.4 s each, a minute and more with nothing sent)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import sqlalchemy as sa
from delivery_child import counts, received, start_deliver, write_config

from deadline_watch.core.db import transaction
from deadline_watch.delivery.dispatch import claim_due
from deadline_watch.domain.models import Notification
from deadline_watch.fakes.twilio import FakeTwilio
from delivery_rows import age_claims, queue

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, inside the send window
STALE = 300


def test_300_stale_claims_at_200_ms_latency_resume_sending_within_10_s(sessions, db_url, tmp_path) -> None:
    queue(sessions, STALE, now=NOW, mobiles=[f"+86139{n:08d}" for n in range(1, STALE + 1)])
    assert len(claim_due(sessions, now=NOW, limit=STALE)) == STALE  # a worker claimed them all and died
    age_claims(sessions, 301)
    config = write_config(tmp_path, rate=50, concurrency=8, batch_size=200)
    with FakeTwilio(seed=1, latency_ms=200) as fake:
        started = time.monotonic()
        child = start_deliver(fake, config, db_url, now=NOW)
        while not fake.messages and child.poll() is None and time.monotonic() - started < 30:
            time.sleep(0.05)
        first_send = time.monotonic() - started
        stdout, stderr = child.communicate(timeout=90)
        total = time.monotonic() - started
        got = received(fake)
    assert child.returncode == 0, stderr
    with transaction(sessions) as session:
        wanted = {(row.to_number, row.body) for row in session.execute(sa.select(Notification.to_number, Notification.body))}
        states = set(session.scalars(sa.select(Notification.state)))
    tally = {"intents": len(wanted), "sent": sum(got.values()),
             "duplicates": sum(n - 1 for n in got.values() if n > 1), "lost": len(wanted - set(got))}
    print("300 stale claims tally:", tally, f"first send after {first_send:.1f} s, all done after {total:.1f} s",
          counts(stdout))
    # 10 s on a machine with a core to spare; on a shared, overloaded one (this suite's CI
    # shares 2 cores among several runs) python's start-up alone can take 5 s: scale the bound
    load_per_core = os.getloadavg()[0] / (os.cpu_count() or 1)
    bound = 10.0 * max(1.0, load_per_core / 1.5)
    assert first_send < bound, f"first send after {first_send:.1f} s (bound {bound:.0f} s, load/core {load_per_core:.1f})"
    assert tally["duplicates"] == tally["lost"] == 0 and states == {"sent"}
