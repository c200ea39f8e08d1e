"""Recording accepted messages in one executemany (`reconcile.mark_sent_many`), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from deadline_watch.core.db import transaction
from deadline_watch.delivery.dispatch import claim_due
from deadline_watch.delivery.reconcile import mark_sent_many
from deadline_watch.domain.models import Notification
from deadline_watch.sms.base import SendResult
from delivery_rows import queue

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def test_mark_sent_many_writes_ours_and_reports_a_claim_taken_over(sessions: sessionmaker[Session]) -> None:
    queue(sessions, 3, now=NOW)
    kept, taken_over, also_kept = claim_due(sessions, now=NOW, limit=10)
    with transaction(sessions) as session:  # another worker's reconciliation re-claimed one row
        session.execute(sa.update(Notification).where(Notification.id == taken_over.id)
                        .values(claimed_at=NOW + timedelta(minutes=10)))
    later = NOW + timedelta(seconds=30)
    results = {row.id: SendResult(provider_message_id=f"SM{row.id:032d}", segments=2, price=0.0075)
               for row in (kept, taken_over, also_kept)}
    with transaction(sessions) as session:
        lost = mark_sent_many(session, [(row.id, row.claimed_at, results[row.id], NOW + timedelta(seconds=1))
                                        for row in (kept, taken_over, also_kept)], now=later)
    assert lost == {taken_over.id}
    with transaction(sessions) as session:
        rows = {row.id: row for row in session.scalars(sa.select(Notification))}
    for row_id in (kept.id, also_kept.id):
        row = rows[row_id]
        assert (row.state, row.provider_message_id, row.segments, float(row.price)) == (
            "sent", f"SM{row_id:032d}", 2, 0.0075)
        assert (row.sent_at, row.updated_at) == (NOW + timedelta(seconds=1), later)
    assert (rows[taken_over.id].state, rows[taken_over.id].provider_message_id) == ("sending", None)


def test_mark_sent_many_keeps_known_segments_and_price_when_the_provider_gives_none(
    sessions: sessionmaker[Session],
) -> None:
    queue(sessions, 1, now=NOW)
    [row] = claim_due(sessions, now=NOW, limit=10)
    with transaction(sessions) as session:
        session.execute(sa.update(Notification).where(Notification.id == row.id).values(segments=3, price=0.02))
    with transaction(sessions) as session:
        lost = mark_sent_many(session, [(row.id, row.claimed_at, SendResult(provider_message_id="SM" + "7" * 32),
                                         NOW)], now=NOW)
    assert lost == set()
    with transaction(sessions) as session:
        stored = session.get(Notification, row.id)
        assert (stored.state, stored.provider_message_id, stored.segments, float(stored.price)) == (
            "sent", "SM" + "7" * 32, 3, 0.02)
