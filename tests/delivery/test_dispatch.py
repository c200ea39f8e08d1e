"""One delivery pass against real SQLite and PostgreSQL with recording backends."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from structlog.testing import capture_logs

from deadline_watch.core.config import Settings
from deadline_watch.core.db import transaction
from deadline_watch.core.errors import SmsError
from deadline_watch.delivery.dispatch import claim_due, run_delivery_pass
from deadline_watch.delivery.ratelimit import RateLimiter
from deadline_watch.domain.models import AuditEvent, Escalation, Notification, Person
from deadline_watch.domain.workdays import send_window_opening
from deadline_watch.sms.base import OutgoingSms, SendResult
from delivery_rows import age_claims, queue

# 10:00 in Asia/Shanghai: inside the default 08:30-20:00 send window
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


class RecordingBackend:
    """Accepts everything (or raises the queued errors first) and remembers what it accepted."""

    def __init__(self, errors: list[SmsError] | None = None, *, lookup: bool = True) -> None:
        self.accepted: list[OutgoingSms] = []
        self.errors = list(errors or [])
        self.attempts = 0
        self._lock = threading.Lock()
        if not lookup:
            self.find_sent = None  # type: ignore[assignment]

    def send(self, message: OutgoingSms) -> SendResult:
        with self._lock:
            self.attempts += 1
            if self.errors:
                raise self.errors.pop(0)
            self.accepted.append(message)
            return SendResult(provider_message_id=f"SM{len(self.accepted):032d}", segments=1, price=-0.0075)

    def find_sent(self, to: str, body: str, since: datetime, *, notification_id: int | None = None, until: datetime | None = None) -> SendResult | None:
        for index, message in enumerate(self.accepted, start=1):
            if message.to == to and message.body == body:
                return SendResult(provider_message_id=f"SM{index:032d}")
        return None


def fast_settings(**sms) -> Settings:
    values = {"rate_per_second": 1000.0, "concurrency": 4, "retry_base_seconds": 30, "retry_cap_seconds": 3600}
    values.update(sms)
    return Settings.model_validate({"sms": values})


def unlimited() -> RateLimiter:
    return RateLimiter(1_000_000)


def rows(sessions) -> list[Notification]:
    with transaction(sessions) as session:
        return list(session.scalars(sa.select(Notification).order_by(Notification.id)))


def test_pass_sends_every_due_row_once_and_records_sid_segments_price(sessions) -> None:
    ids = queue(sessions, 5, now=NOW)
    backend = RecordingBackend()
    result = run_delivery_pass(sessions, backend, fast_settings(), now=NOW, limiter=unlimited())
    assert (result.sent, result.failed, result.deferred) == (5, 0, 0)
    assert sorted(m.notification_id for m in backend.accepted) == ids
    for row in rows(sessions):
        assert row.state == "sent"
        assert row.provider_message_id.startswith("SM")
        assert row.segments == 1 and float(row.price) == -0.0075
        assert row.sent_at == NOW and row.attempts == 1
    again = run_delivery_pass(sessions, backend, fast_settings(), now=NOW + timedelta(minutes=1), limiter=unlimited())
    assert again.sent == 0 and len(backend.accepted) == 5


def test_rows_not_yet_due_are_left_alone(sessions) -> None:
    queue(sessions, 2, now=NOW, next_attempt_at=NOW + timedelta(hours=1))
    backend = RecordingBackend()
    result = run_delivery_pass(sessions, backend, fast_settings(), now=NOW, limiter=unlimited())
    assert result.sent == 0 and backend.accepted == []
    assert {row.state for row in rows(sessions)} == {"pending"}


def test_outside_send_window_nothing_is_sent_and_due_rows_wait_for_the_opening(sessions) -> None:
    night = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
    queue(sessions, 3, now=night)
    backend = RecordingBackend()
    result = run_delivery_pass(sessions, backend, fast_settings(), now=night, limiter=unlimited())
    assert backend.accepted == [] and result.deferred == 3
    opening = datetime(2026, 3, 3, 0, 30, tzinfo=UTC)  # 08:30 next morning
    assert {row.next_attempt_at for row in rows(sessions)} == {opening}
    assert send_window_opening(night, Settings()) == opening


def test_in_workdays_mode_a_deferred_row_waits_for_the_next_working_day(sessions) -> None:
    friday_night = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)  # Fri 22:00 in Shanghai
    workdays = fast_settings().model_copy(
        update={"reminders": Settings().reminders.model_copy(update={"day_mode": "workdays"})}
    )
    queue(sessions, 2, now=friday_night)
    backend = RecordingBackend()
    result = run_delivery_pass(sessions, backend, workdays, now=friday_night, limiter=unlimited())
    assert backend.accepted == [] and result.deferred == 2
    monday_opening = datetime(2026, 3, 9, 0, 30, tzinfo=UTC)  # Mon 08:30 in Shanghai
    assert {row.next_attempt_at for row in rows(sessions)} == {monday_opening}
    saturday_noon = datetime(2026, 3, 7, 4, 0, tzinfo=UTC)
    assert send_window_opening(saturday_noon, workdays) == monday_opening


def test_transient_error_stays_pending_with_backoff_then_is_sent(sessions) -> None:
    [nid] = queue(sessions, 1, now=NOW)
    backend = RecordingBackend([SmsError("Too Many Requests", permanent=False, code="20429", http_status=429)])
    with capture_logs() as logs:
        first = run_delivery_pass(
            sessions, backend, fast_settings(), now=NOW, limiter=unlimited(), rng=random.Random(1)
        )
    assert first.deferred == 1 and first.sent == 0
    [row] = rows(sessions)
    assert row.state == "pending" and row.attempts == 1 and row.provider_error_code == "20429"
    # equal jitter: between half and all of the 30 s base on the first retry
    assert NOW + timedelta(seconds=15) <= row.next_attempt_at <= NOW + timedelta(seconds=30)
    assert any(entry["event"] == "sms.retry" and entry["notification_id"] == nid for entry in logs)
    second = run_delivery_pass(sessions, backend, fast_settings(), now=row.next_attempt_at, limiter=unlimited())
    assert second.sent == 1
    [row] = rows(sessions)
    assert row.state == "sent" and row.attempts == 2 and row.last_error is None
    assert len(backend.accepted) == 1


@pytest.mark.parametrize("code", ["21211", "21610", "21614", "21408"])
def test_permanent_error_fails_without_retry_and_opens_unreachable_escalation(sessions, code) -> None:
    [nid] = queue(sessions, 1, now=NOW)
    backend = RecordingBackend([SmsError("refused", permanent=True, code=code, http_status=400)])
    with capture_logs() as logs:
        result = run_delivery_pass(sessions, backend, fast_settings(), now=NOW, limiter=unlimited())
    assert result.failed == 1
    [row] = rows(sessions)
    assert row.state == "failed" and row.provider_error_code == code and row.last_error
    later = run_delivery_pass(sessions, backend, fast_settings(), now=NOW + timedelta(days=1), limiter=unlimited())
    assert later.sent == 0 and backend.attempts == 1
    with transaction(sessions) as session:
        [escalation] = session.scalars(sa.select(Escalation)).all()
        assert escalation.reason == "unreachable" and escalation.dedup_key == f"unreachable:{nid}"
        assert escalation.state == "open" and escalation.level == 1
        assert escalation.milestone_id == row.milestone_id
        audit = session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "escalation")).all()
        assert [event.entity_id for event in audit] == [escalation.id]
        opted_out = session.get(Person, row.recipient_id).opted_out_at
    assert (opted_out is not None) == (code == "21610")
    assert any(entry["event"] == "sms.failed" and entry["notification_id"] == nid for entry in logs)


def test_auth_error_stops_the_pass_and_releases_the_queue_untouched(sessions) -> None:
    queue(sessions, 20, now=NOW)
    backend = RecordingBackend([SmsError("Authenticate", permanent=True, code="20003", http_status=401)] * 50)
    with capture_logs() as logs:
        result = run_delivery_pass(sessions, backend, fast_settings(concurrency=2), now=NOW, limiter=unlimited())
    assert result.auth_failed and result.sent == 0 and result.failed == 0
    assert backend.attempts <= 2  # at most one request per worker, not the whole queue
    assert {(row.state, row.attempts) for row in rows(sessions)} == {("pending", 0)}
    with transaction(sessions) as session:
        assert session.scalars(sa.select(Escalation)).all() == []
    assert [entry["event"] for entry in logs].count("sms.auth_failed") == 1


def test_transient_errors_past_the_retry_deadline_fail_and_reach_the_board(sessions) -> None:
    queue(sessions, 1, now=NOW)
    backend = RecordingBackend([SmsError("upstream 503", permanent=False, http_status=503)])
    late = NOW + timedelta(hours=25)
    result = run_delivery_pass(sessions, backend, fast_settings(), now=late, limiter=unlimited())
    assert result.failed == 1
    [row] = rows(sessions)
    assert row.state == "failed" and "gave up" in row.last_error
    with transaction(sessions) as session:
        assert session.scalars(sa.select(Escalation.reason)).all() == ["unreachable"]


def test_opted_out_recipient_is_cancelled_not_sent(sessions) -> None:
    queue(sessions, 2, now=NOW)
    with transaction(sessions) as session:
        session.execute(sa.update(Person).values(opted_out_at=NOW - timedelta(days=1)))
    backend = RecordingBackend()
    result = run_delivery_pass(sessions, backend, fast_settings(), now=NOW, limiter=unlimited())
    assert result.cancelled == 2 and backend.accepted == []
    assert {row.state for row in rows(sessions)} == {"cancelled"}


def test_claim_marks_rows_sending_with_claim_time_and_attempt(sessions) -> None:
    queue(sessions, 3, now=NOW)
    claimed = claim_due(sessions, now=NOW, limit=2)
    assert len(claimed) == 2
    states = [(row.state, row.attempts) for row in rows(sessions)]
    assert states.count(("sending", 1)) == 2
    assert states.count(("pending", 0)) == 1
    claims = {row.claimed_at for row in rows(sessions) if row.state == "sending"}
    assert len(claims) == 1 and claims == {claimed[0].claimed_at}
    if sessions.kw["bind"].dialect.name == "sqlite":
        assert claims == {NOW}  # one process, one clock: the pass's `now`
    assert claimed[0].project_code.startswith("GX-") and claimed[0].milestone_name == "组织实施"


def test_stale_claim_found_at_provider_is_marked_sent_without_resending(sessions) -> None:
    queue(sessions, 2, now=NOW)
    backend = RecordingBackend()
    claimed = claim_due(sessions, now=NOW, limit=10)
    # the worker sent the first message and died before recording; the second never left
    backend.send(
        OutgoingSms(
            to=claimed[0].to_number, body=claimed[0].body, dedup_key="x", kind="reminder",
            project_code="p", milestone="m", due_date=claimed[0].due_date,
        )
    )
    later = NOW + timedelta(seconds=Settings().sms.claim_timeout_seconds + 1)
    age_claims(sessions, Settings().sms.claim_timeout_seconds + 1)
    result = run_delivery_pass(sessions, backend, fast_settings(), now=later, limiter=unlimited())
    assert result.reconciled == 1 and result.requeued == 1 and result.sent == 1
    assert len(backend.accepted) == 2
    assert {row.state for row in rows(sessions)} == {"sent"}


def test_fresh_claim_of_a_live_worker_is_not_reconciled(sessions) -> None:
    queue(sessions, 1, now=NOW)
    claim_due(sessions, now=NOW, limit=10)
    backend = RecordingBackend()
    result = run_delivery_pass(sessions, backend, fast_settings(), now=NOW + timedelta(seconds=10), limiter=unlimited())
    assert result.reconciled == result.requeued == result.sent == 0
    assert [row.state for row in rows(sessions)] == ["sending"]


def test_retry_after_ambiguous_error_asks_provider_first_and_does_not_duplicate(sessions) -> None:
    queue(sessions, 1, now=NOW)

    class AcceptsThenTimesOut(RecordingBackend):
        def send(self, message: OutgoingSms) -> SendResult:
            super().send(message)
            if len(self.accepted) == 1:
                raise SmsError("read timeout", permanent=False)
            return SendResult(provider_message_id="SMdup")

    backend = AcceptsThenTimesOut()
    first = run_delivery_pass(sessions, backend, fast_settings(), now=NOW, limiter=unlimited())
    assert first.deferred == 1
    second = run_delivery_pass(sessions, backend, fast_settings(), now=NOW + timedelta(hours=1), limiter=unlimited())
    assert second.reconciled == 1 and second.sent == 0
    assert len(backend.accepted) == 1
    [row] = rows(sessions)
    assert row.state == "sent" and row.provider_message_id == f"SM{1:032d}"


def test_shutdown_lets_sends_in_flight_finish_and_hands_the_rest_back(sessions) -> None:
    queue(sessions, 30, now=NOW)
    shutdown = threading.Event()

    class StopsAfterFive(RecordingBackend):
        def send(self, message: OutgoingSms) -> SendResult:
            result = super().send(message)
            if len(self.accepted) == 5:
                shutdown.set()
            return result

    backend = StopsAfterFive()
    result = run_delivery_pass(
        sessions, backend, fast_settings(concurrency=2, batch_size=10), now=NOW, limiter=unlimited(), stop=shutdown
    )
    states = [(row.state, row.attempts) for row in rows(sessions)]
    assert result.sent == len(backend.accepted) <= 6
    assert states.count(("sent", 1)) == result.sent
    assert states.count(("pending", 0)) == 30 - result.sent
    assert result.released == 10 - result.sent  # the rest of the first batch; no second claim


def test_retry_of_a_text_identical_to_an_already_sent_one_is_still_sent(sessions) -> None:
    """The provider's match for a retry belongs to another row: it is not taken for this one."""
    queue(sessions, 2, now=NOW)
    with transaction(sessions) as session:
        session.execute(sa.update(Notification).values(body="【高新区督办】同一条内容"))
    backend = RecordingBackend([SmsError("Service Unavailable", permanent=False, http_status=503)])
    first = run_delivery_pass(
        sessions, backend, fast_settings(concurrency=1), now=NOW, limiter=unlimited(), rng=random.Random(1)
    )
    assert (first.sent, first.deferred) == (1, 1)
    second = run_delivery_pass(sessions, backend, fast_settings(), now=NOW + timedelta(hours=1), limiter=unlimited())
    assert second.sent == 1 and second.reconciled == 0
    assert len(backend.accepted) == 2
    assert len({row.provider_message_id for row in rows(sessions)}) == 2


def test_rows_still_unsent_at_half_the_claim_timeout_go_back_instead_of_out(sessions) -> None:
    """A slow provider must not let this worker send rows another worker may already reclaim."""
    from deadline_watch.core.clock import FixedClock

    queue(sessions, 6, now=NOW)
    clock = FixedClock(NOW)

    class SlowProvider(RecordingBackend):
        def send(self, message: OutgoingSms) -> SendResult:
            clock.advance(timedelta(seconds=100))  # each answer takes 100 s of the 300 s timeout
            return super().send(message)

    backend = SlowProvider()
    settings = fast_settings(concurrency=1, batch_size=6)
    result = run_delivery_pass(sessions, backend, settings, now=NOW, clock=clock, limiter=unlimited())
    # sent at claim+0 s and +100 s; the third would start at +200 s > 150 s: handed back, re-claimed
    states = [row.state for row in rows(sessions)]
    assert result.sent == 6 and states == ["sent"] * 6
    assert result.released >= 1
    with transaction(sessions) as session:
        claims = session.scalars(sa.select(Notification.claimed_at)).all()
    assert len(set(claims)) > 1  # the tail was claimed again, with a fresh claim time


def test_sent_log_line_names_the_notification_and_masks_the_mobile(sessions) -> None:
    import io
    import json as jsonlib

    from deadline_watch.core.logs import configure_logging

    [nid] = queue(sessions, 1, now=NOW, mobiles=["+8613812345678"])
    stream = io.StringIO()
    configure_logging("info", "json", stream)
    try:
        run_delivery_pass(sessions, RecordingBackend(), fast_settings(), now=NOW, limiter=unlimited())
    finally:
        configure_logging("info", "json", io.StringIO())
    lines = [jsonlib.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    [sent] = [line for line in lines if line["event"] == "sms.sent"]
    assert sent["notification_id"] == nid and sent["to"] == "+86138****5678"
    assert "13812345678" not in stream.getvalue()


def test_stale_claims_stay_sending_when_the_provider_cannot_be_asked(sessions) -> None:
    queue(sessions, 3, now=NOW)
    claim_due(sessions, now=NOW, limit=10)

    class LookupDown(RecordingBackend):
        lookups = 0

        def find_sent(self, to: str, body: str, since: datetime, *, notification_id: int | None = None, until: datetime | None = None) -> SendResult | None:
            LookupDown.lookups += 1
            raise SmsError("connection refused", permanent=False, code="connection")

    backend = LookupDown()
    later = NOW + timedelta(seconds=301)
    age_claims(sessions, 301)
    result = run_delivery_pass(sessions, backend, fast_settings(), now=later, limiter=unlimited())
    assert result.reconciled == result.requeued == result.sent == 0 and result.unresolved == 3
    assert backend.accepted == [] and LookupDown.lookups == 1  # no blind re-send, no timeout per row
    assert {row.state for row in rows(sessions)} == {"sending"}
