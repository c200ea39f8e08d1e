"""Two delivery workers at once: every message exactly once, because the claim is one statement
(and, between processes, the delivery lease lets one send at a time so the rate cap holds)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from delivery_child import counts, received, start_deliver, write_config

from deadline_watch.core.db import transaction
from deadline_watch.delivery.dispatch import claim_rows
from deadline_watch.domain.models import Notification, NotificationState
from deadline_watch.fakes.twilio import FakeTwilio
from delivery_rows import age_claims, queue

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
MOBILES = [f"+86137{n:08d}" for n in range(1, 8)]


def test_two_delivery_processes_send_each_message_exactly_once(sessions, db_url, tmp_path) -> None:
    total = 240
    queue(sessions, total, now=NOW, mobiles=MOBILES)
    config = write_config(tmp_path, concurrency=4, batch_size=15)
    with FakeTwilio(seed=1, latency_ms=20) as fake:
        workers = [start_deliver(fake, config, db_url, now=NOW) for _ in range(2)]
        outputs = [worker.communicate(timeout=120) for worker in workers]
        for worker, (_stdout, stderr) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, stderr
        sent = [counts(stdout)["sent"] for stdout, _ in outputs]
        got = received(fake)
    assert sum(sent) == total
    # the delivery lease: the second waits for the first's pass and then finds nothing left
    assert sorted(sent) == [0, total], "one sender at a time"
    assert len(got) == total and max(got.values()) == 1
    with transaction(sessions) as session:
        assert session.scalars(sa.select(sa.func.count()).where(Notification.state == "sent")).one() == total


def naive_select(session, *, now: datetime, limit: int) -> list[int]:
    return list(
        session.scalars(
            sa.select(Notification.id)
            .where(Notification.state == NotificationState.PENDING, Notification.next_attempt_at <= now)
            .order_by(Notification.id)
            .limit(limit)
        )
    )


def naive_mark(session, ids: list[int], *, now: datetime) -> int:
    return session.execute(
        sa.update(Notification.__table__)
        .where(Notification.__table__.c.id.in_(ids))
        .values(state=NotificationState.SENDING, claimed_at=now)
    ).rowcount


# the interleaving needs two write transactions open at once, which only PostgreSQL allows
@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_select_then_update_in_two_steps_lets_two_workers_take_the_same_rows(sessions) -> None:
    queue(sessions, 5, now=NOW)
    worker_a, worker_b = sessions(), sessions()
    try:
        with worker_a.begin(), worker_b.begin():
            taken_a = naive_select(worker_a, now=NOW, limit=5)
            taken_b = naive_select(worker_b, now=NOW, limit=5)
            naive_mark(worker_a, taken_a, now=NOW)
        # A committed; B's update now goes through on the same rows
        with worker_b.begin():
            assert naive_mark(worker_b, taken_b, now=NOW) == 5
    finally:
        worker_a.close()
        worker_b.close()
    assert set(taken_a) & set(taken_b) == set(taken_a), "both workers believe they own every row"


# the interleaving needs two write transactions open at once, which only PostgreSQL allows
@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_single_statement_claim_skips_rows_another_worker_is_claiming(sessions) -> None:
    queue(sessions, 5, now=NOW)
    worker_a, worker_b = sessions(), sessions()
    try:
        with worker_a.begin():
            claimed_a = claim_rows(worker_a, now=NOW, limit=3)
            with worker_b.begin():
                # fail rather than hang if the claim ever waited for A's locks
                worker_b.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
                claimed_b = claim_rows(worker_b, now=NOW, limit=5)
        with worker_b.begin():
            claimed_late = claim_rows(worker_b, now=NOW, limit=5)
    finally:
        worker_a.close()
        worker_b.close()
    ids_a = {row.id for row in claimed_a}
    ids_b = {row.id for row in claimed_b}
    assert len(ids_a) == 3 and len(ids_b) == 2
    assert not ids_a & ids_b
    assert claimed_late == []  # after both commits nothing pending is left to take twice


def test_one_of_two_workers_killed_mid_pass_still_delivers_each_message_once(sessions, db_url, tmp_path) -> None:
    total = 60
    queue(sessions, total, now=NOW, mobiles=MOBILES)
    config = write_config(tmp_path, concurrency=2, batch_size=6)
    with FakeTwilio(seed=1, latency_ms=50) as fake:
        doomed, survivor = (start_deliver(fake, config, db_url, now=NOW) for _ in range(2))
        deadline = time.monotonic() + 30
        while len(fake.messages) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert doomed.poll() is None, "the kill must land while the worker is sending"
        doomed.kill()
        doomed.wait(timeout=30)
        _stdout, stderr = survivor.communicate(timeout=120)
        assert survivor.returncode == 0, stderr
        # after the claim timeout (by the database's clock: the claims age), a pass settles
        # the dead worker's claims
        age_claims(sessions, 301)
        final = start_deliver(fake, config, db_url, now=NOW + timedelta(seconds=301))
        stdout, stderr = final.communicate(timeout=120)
        assert final.returncode == 0, stderr
        got = received(fake)
    assert len(got) == total and max(got.values()) == 1
    with transaction(sessions) as session:
        assert session.scalars(sa.select(sa.func.count()).where(Notification.state == "sent")).one() == total
