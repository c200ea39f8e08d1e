"""Exactly once across kill -9 with the Aliyun backend: the real SDK in a child process
(`python -m deadline_watch deliver`) against the local fake, killed at each step of a send.

The fake's --record file is the judge: every outbox row's id must appear exactly once as
an OutId. The restart comes after the claim timeout, so stale `sending` rows are looked up
with QuerySendDetails (number + date, matched by OutId) before any re-send.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from crash_harness import (
    CRASH_POINTS,
    MOBILES,
    NOW,
    kill_at_random_moments_then_finish,
    kill_at_then_restart,
    states,
)
from delivery_child import counts, run_deliver, write_config

from aliyun_support import CONTACT, SIGN_NAME, TEMPLATE_CODES, approved_fake
from deadline_watch.core.db import transaction
from deadline_watch.domain.models import Notification
from deadline_watch.fakes.aliyun import Scripted
from deadline_watch.sms.aliyun_templates import variables
from delivery_rows import queue

ALIYUN_SMS = f'contact = "{CONTACT}"\n'
ALIYUN_TABLE = f'[sms.aliyun]\nsign_name = "{SIGN_NAME}"\ntemplates = {{ ' + ", ".join(
    f'{kind} = "{code}"' for kind, code in TEMPLATE_CODES.items()
) + " }\n"


def aliyun_queue(sessions, count: int) -> list[int]:
    """`count` pending reminders carrying template variables, as the scan writes them."""
    ids = queue(sessions, count, now=NOW, mobiles=MOBILES)
    with transaction(sessions) as session:
        for row_id in ids:
            params = {name: f"{name}{row_id}" for name in variables("reminder")}
            session.execute(
                sa.update(Notification).where(Notification.id == row_id).values(template="reminder", template_params=params)
            )
    return ids


def config_for(tmp_path: Path, **options) -> Path:
    return write_config(tmp_path, backend="aliyun", sms_extra=ALIYUN_SMS, extra=ALIYUN_TABLE, **options)


def recorded(path: Path) -> Counter[str]:
    """OutIds in the fake's record file (a line per accepted message)."""
    if not path.exists():
        return Counter()
    return Counter(json.loads(line)["out_id"] for line in path.read_text(encoding="utf-8").splitlines() if line)


def assert_each_intent_sent_once(record: Path, sessions, ids: list[int]) -> None:
    got = recorded(record)
    assert set(got) == {str(row_id) for row_id in ids}, "a message was lost"
    assert max(got.values()) == 1, f"duplicates: {[key for key, n in got.items() if n > 1]}"
    final = states(sessions)  # receipts polled by the restart may already say delivered
    assert set(final) <= {"sent", "delivered"} and sum(final.values()) == len(ids)


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_kill_at_each_step_then_restart_sends_each_intent_exactly_once(sessions, db_url, tmp_path, crash_at) -> None:
    ids = aliyun_queue(sessions, 12)
    config = config_for(tmp_path, concurrency=3, batch_size=12)
    record = tmp_path / "aliyun-record.jsonl"
    with approved_fake(NOW, record_path=record) as fake:
        kill_at_then_restart(
            fake, config, db_url, sessions, crash_at=crash_at, total=12,
            accepted=lambda: sum(recorded(record).values()), set_clock=fake.clock.set,
        )
        assert_each_intent_sent_once(record, sessions, ids)
        if crash_at.startswith("after_send"):
            assert fake.queries_seen >= 1  # looked up by OutId before any re-send


def test_accepted_but_reply_lost_then_retry_asks_by_out_id_and_sends_no_duplicate(sessions, db_url, tmp_path) -> None:
    ids = aliyun_queue(sessions, 3)
    config = config_for(tmp_path, concurrency=1)
    record = tmp_path / "aliyun-record.jsonl"
    with approved_fake(NOW, record_path=record) as fake:
        fake.script(Scripted(drop=True, accept=True))  # accepted, then the connection dies
        first = run_deliver(fake, config, db_url, now=NOW)
        assert first.returncode == 0, first.stderr
        assert counts(first)["deferred"] == 1 and counts(first)["sent"] == 2
        later = NOW + timedelta(hours=2)
        fake.clock.set(later)
        second = run_deliver(fake, config, db_url, now=later)
        assert counts(second)["reconciled"] == 1 and counts(second)["sent"] == 0
        assert_each_intent_sent_once(record, sessions, ids)


def test_random_kill_9_during_delivery_loses_and_duplicates_nothing(sessions, db_url, tmp_path) -> None:
    total = 30
    ids = aliyun_queue(sessions, total)
    config = config_for(tmp_path, concurrency=2, batch_size=10)
    record = tmp_path / "aliyun-record.jsonl"
    with approved_fake(NOW, record_path=record, latency_ms=100) as fake:
        kill_at_random_moments_then_finish(fake, config, db_url, sessions, total=total, set_clock=fake.clock.set)
        assert_each_intent_sent_once(record, sessions, ids)
