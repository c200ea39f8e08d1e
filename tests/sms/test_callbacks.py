"""Signed Twilio status callbacks move outbox rows to delivered / undelivered / failed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from form_endpoint import FormEndpoint
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

import factories as f
from deadline_watch.core.config import Settings
from deadline_watch.core.db import transaction
from deadline_watch.delivery.receipts import handle_status_callback, verify_signature
from deadline_watch.domain.models import AuditEvent, Escalation, Notification, Person
from deadline_watch.fakes.twilio import FakeTwilio, new_sid
from deadline_watch.sms.twilio_backend import twilio_backend_from_settings

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
TOKEN = "status-token"
PUBLIC = "https://dw.example.gov.cn"
PUBLIC_STATUS_URL = PUBLIC + "/twilio/status"
INTERNAL_URL = "http://127.0.0.1:8000/twilio/status"


def settings_with(*, token: str | None = TOKEN, public_url: str | None = PUBLIC) -> Settings:
    return Settings.model_validate(
        {"twilio": {"auth_token": token} if token else {}, "web": {"public_url": public_url} if public_url else {}}
    )


def sent_row(sessions: sessionmaker[Session], *, state: str = "sent", sid: str | None = None) -> tuple[int, str]:
    """A notification Twilio accepted, with its message SID; returns (id, sid)."""
    sid = sid or new_sid()
    with transaction(sessions) as session:
        owner = f.person(session)
        milestone = f.milestone(session, date(2026, 3, 9), project_=f.project(session, owner=owner))
        row = f.notification(
            milestone,
            owner,
            dedup_key=f"reminder:{milestone.id}:2026-03-09:7:{owner.id}",
            at=NOW - timedelta(minutes=5),
            state=state,
            attempts=1,
            sent_at=NOW - timedelta(minutes=1),
            provider_message_id=sid,
            updated_at=NOW - timedelta(minutes=1),
        )
        session.add(row)
        session.flush()
        return row.id, sid


def callback(sid: str, status: str, error_code: str | None = None) -> dict[str, str]:
    params = {
        "AccountSid": "AC" + "f" * 32,
        "ApiVersion": "2010-04-01",
        "MessageSid": sid,
        "SmsSid": sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "To": "+8613800138000",
        "From": "+15005550006",
    }
    if error_code:
        params["ErrorCode"] = error_code
    return params


def post(sessions, params, *, url=PUBLIC_STATUS_URL, settings=None, signature="sign", signed_url=None, now=NOW) -> int:
    """Deliver one callback the way the web route does; by default correctly signed for `url`."""
    settings = settings or settings_with()
    if signature == "sign":
        signature = FakeTwilio(auth_token=TOKEN).signature_for(signed_url or url, params)
    return handle_status_callback(sessions, settings, url=url, params=params, signature=signature, now=now)


def row(sessions: sessionmaker[Session], notification_id: int) -> Notification:
    with sessions() as session:
        return session.get(Notification, notification_id)


def escalations(sessions: sessionmaker[Session]) -> list[Escalation]:
    with sessions() as session:
        return list(session.scalars(sa.select(Escalation)))


def actions(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_verify_signature_accepts_twilio_signature_and_rejects_others() -> None:
    params = callback("SM1", "delivered")
    good = FakeTwilio(auth_token=TOKEN).signature_for(PUBLIC_STATUS_URL, params)
    assert verify_signature(PUBLIC_STATUS_URL, params, good, TOKEN)
    assert not verify_signature(PUBLIC_STATUS_URL, {**params, "MessageStatus": "failed"}, good, TOKEN)
    assert not verify_signature(PUBLIC_STATUS_URL, params, good, "other")
    assert not verify_signature(PUBLIC_STATUS_URL, params, None, TOKEN)
    assert not verify_signature(PUBLIC_STATUS_URL, params, good, None)


def test_signed_delivered_callback_marks_row_delivered(sessions: sessionmaker[Session]) -> None:
    notification_id, sid = sent_row(sessions)

    assert post(sessions, callback(sid, "delivered")) == 204

    delivered = row(sessions, notification_id)
    assert delivered.state == "delivered" and delivered.delivered_at == NOW
    assert actions(sessions) == ["sms.delivered"]
    assert escalations(sessions) == []


def test_signature_is_checked_against_public_url_not_the_internal_request_url(sessions: sessionmaker[Session]) -> None:
    notification_id, sid = sent_row(sessions)
    params = callback(sid, "delivered")
    # behind a proxy the app sees the internal URL; Twilio signed the public one
    assert post(sessions, params, url=INTERNAL_URL, signed_url=PUBLIC_STATUS_URL) == 204
    assert row(sessions, notification_id).state == "delivered"


def test_without_public_url_no_signed_url_is_trusted(sessions: sessionmaker[Session]) -> None:
    # the request URL comes from the Host header, which the caller chooses
    notification_id, sid = sent_row(sessions)
    settings = settings_with(public_url=None)
    assert post(sessions, callback(sid, "delivered"), url=INTERNAL_URL, signed_url=PUBLIC_STATUS_URL, settings=settings) == 403
    assert post(sessions, callback(sid, "delivered"), url=INTERNAL_URL, settings=settings) == 403
    assert row(sessions, notification_id).state == "sent"


def test_a_replayed_callback_changes_nothing(sessions: sessionmaker[Session]) -> None:
    notification_id, sid = sent_row(sessions)
    undelivered, delivered = callback(sid, "undelivered"), callback(sid, "delivered")
    assert post(sessions, undelivered, url=INTERNAL_URL, signed_url=PUBLIC_STATUS_URL) == 204
    assert post(sessions, delivered, url=INTERNAL_URL, signed_url=PUBLIC_STATUS_URL) == 204
    with capture_logs() as logs:
        assert post(sessions, undelivered, url=INTERNAL_URL, signed_url=PUBLIC_STATUS_URL) == 204
    assert row(sessions, notification_id).state == "delivered"
    assert [entry["event"] for entry in logs].count("sms.callback_replayed") == 1


@pytest.mark.parametrize(
    ("signature", "settings"),
    [
        ("bm90IGEgc2lnbmF0dXJl", None),  # wrong signature
        (None, None),  # unsigned
        ("", None),
        ("sign", settings_with(token=None)),  # no auth token configured: nothing can be trusted
    ],
    ids=["bad", "missing", "empty", "no-token"],
)
def test_unsigned_or_badly_signed_callbacks_are_refused_and_change_nothing(
    sessions: sessionmaker[Session], signature: str | None, settings: Settings | None
) -> None:
    notification_id, sid = sent_row(sessions)
    with capture_logs() as logs:
        assert post(sessions, callback(sid, "delivered"), signature=signature, settings=settings) == 403
    assert row(sessions, notification_id).state == "sent"
    assert actions(sessions) == []
    assert [entry["event"] for entry in logs] == ["sms.callback_rejected"]


def test_tampered_parameters_fail_the_signature(sessions: sessionmaker[Session]) -> None:
    notification_id, sid = sent_row(sessions)
    params = callback(sid, "delivered")
    signature = FakeTwilio(auth_token=TOKEN).signature_for(PUBLIC_STATUS_URL, params)
    forged = {**params, "MessageStatus": "undelivered"}
    assert post(sessions, forged, signature=signature) == 403
    assert row(sessions, notification_id).state == "sent"


def test_undelivered_records_error_code_and_puts_unreachable_item_on_board(sessions: sessionmaker[Session]) -> None:
    notification_id, sid = sent_row(sessions)

    assert post(sessions, callback(sid, "undelivered", "30005")) == 204
    assert post(sessions, callback(sid, "undelivered", "30005")) == 204  # Twilio may repeat itself

    undelivered = row(sessions, notification_id)
    assert undelivered.state == "undelivered" and undelivered.provider_error_code == "30005"
    assert "30005" in undelivered.last_error
    [item] = escalations(sessions)
    assert item.reason == "unreachable" and item.dedup_key == f"unreachable:{notification_id}"
    assert item.state == "open" and item.milestone_id == undelivered.milestone_id and item.opened_at == NOW
    assert actions(sessions) == ["sms.undelivered", "escalation.opened"]


def test_failed_with_21610_marks_the_recipient_opted_out(sessions: sessionmaker[Session]) -> None:
    notification_id, sid = sent_row(sessions)
    assert post(sessions, callback(sid, "failed", "21610")) == 204
    failed = row(sessions, notification_id)
    assert failed.state == "failed"
    with sessions() as session:
        person = session.scalars(sa.select(Person).where(Person.mobile == failed.to_number)).one()
        assert person.opted_out_at == NOW
    assert actions(sessions) == ["sms.failed", "escalation.opened", "person.opted_out"]


def test_statuses_arriving_out_of_order_never_move_delivered_back(sessions: sessionmaker[Session]) -> None:
    notification_id, sid = sent_row(sessions)
    assert post(sessions, callback(sid, "delivered")) == 204
    for late in ("sent", "queued", "undelivered", "failed"):
        assert post(sessions, callback(sid, late, "30003"), now=NOW + timedelta(minutes=1)) == 204
    delivered = row(sessions, notification_id)
    assert delivered.state == "delivered" and delivered.delivered_at == NOW
    assert delivered.provider_error_code is None
    assert actions(sessions) == ["sms.delivered"] and escalations(sessions) == []


def test_sent_callback_only_confirms(sessions: sessionmaker[Session]) -> None:
    notification_id, sid = sent_row(sessions)
    with capture_logs() as logs:
        assert post(sessions, callback(sid, "sent")) == 204
    assert row(sessions, notification_id).state == "sent"
    assert actions(sessions) == []
    assert "sms.callback_confirmed" in [entry["event"] for entry in logs]


def test_late_delivery_receipt_after_undelivered_resolves_the_board_item(sessions: sessionmaker[Session]) -> None:
    notification_id, sid = sent_row(sessions)
    post(sessions, callback(sid, "undelivered", "30005"))
    post(sessions, callback(sid, "delivered"), now=NOW + timedelta(minutes=3))

    assert row(sessions, notification_id).state == "delivered"
    [item] = escalations(sessions)
    assert (item.state, item.resolution, item.resolved_at) == ("resolved", "reached", NOW + timedelta(minutes=3))


@pytest.mark.parametrize("code", ["30003", "30008"])
def test_a_temporary_delivery_failure_is_retried_before_the_official_is_unreachable(
    sessions: sessionmaker[Session], code: str
) -> None:
    from deadline_watch.sms.error_codes import DELIVERY_RETRY_MINUTES, MAX_DELIVERY_RETRIES

    notification_id, sid = sent_row(sessions)
    for attempt in range(1, MAX_DELIVERY_RETRIES + 1):
        assert post(sessions, callback(sid, "undelivered", code)) == 204
        again = row(sessions, notification_id)
        assert (again.state, again.provider_message_id, again.provider_error_code) == ("pending", None, code)
        assert again.next_attempt_at == NOW + timedelta(minutes=DELIVERY_RETRY_MINUTES * attempt)
        assert escalations(sessions) == []  # nobody is told the official cannot be reached yet
        sid = new_sid()  # the dispatcher sends it again: a new attempt, a new sid
        with transaction(sessions) as session:
            session.execute(
                sa.update(Notification).where(Notification.id == notification_id)
                .values(state="sent", provider_message_id=sid, attempts=attempt + 1)
            )
    assert post(sessions, callback(sid, "undelivered", code)) == 204  # the last retry failed too
    assert row(sessions, notification_id).state == "undelivered"
    [item] = escalations(sessions)
    assert item.reason == "unreachable" and item.state == "open"
    assert actions(sessions).count("sms.delivery_retry") == MAX_DELIVERY_RETRIES


def test_a_permanent_delivery_failure_is_not_retried(sessions: sessionmaker[Session]) -> None:
    notification_id, sid = sent_row(sessions)
    post(sessions, callback(sid, "failed", "30005"))  # unknown destination handset
    assert row(sessions, notification_id).state == "failed" and len(escalations(sessions)) == 1


def test_segments_come_from_the_callback_when_the_send_did_not_know_them(sessions: sessionmaker[Session]) -> None:
    notification_id, sid = sent_row(sessions)
    post(sessions, callback(sid, "delivered") | {"NumSegments": "2"})
    assert row(sessions, notification_id).segments == 2


def test_unknown_sid_writes_nothing_and_is_logged(sessions: sessionmaker[Session]) -> None:
    sent_row(sessions)
    with capture_logs() as logs:
        assert post(sessions, callback(new_sid(), "delivered")) == 204
    assert actions(sessions) == []
    assert "sms.callback_unknown" in [entry["event"] for entry in logs]


def test_signed_callback_without_message_sid_is_a_bad_request(sessions: sessionmaker[Session]) -> None:
    assert post(sessions, {"MessageStatus": "delivered"}) == 400


@pytest.fixture
def callback_fake() -> Iterator[FakeTwilio]:
    with FakeTwilio(auth_token=TOKEN, callback_statuses=("sent", "delivered"), callback_delay=0.2) as fake:
        yield fake


def test_end_to_end_send_then_signed_callbacks_over_http_mark_delivered(
    sessions: sessionmaker[Session], callback_fake: FakeTwilio
) -> None:
    notification_id, _ = sent_row(sessions, state="sending", sid="pending")
    # the endpoint's public URL is its own address (no proxy in between)
    endpoint = FormEndpoint(
        lambda url, form, signature: handle_status_callback(
            sessions, settings_with(public_url=endpoint.base_url), url=url, params=form, signature=signature, now=NOW
        )
    )
    try:
        settings = callback_fake.settings(Settings())
        settings = settings.model_copy(update={"web": settings.web.model_copy(update={"public_url": endpoint.base_url})})
        backend = twilio_backend_from_settings(settings)
        message = f.outgoing_sms(dedup_key="k", project_code="P", notification_id=notification_id)
        result = backend.send(message)
        with transaction(sessions) as session:  # what dispatch records right after the send
            sent = session.get(Notification, notification_id)
            sent.state, sent.provider_message_id = "sent", result.provider_message_id
        deadline = time.monotonic() + 5
        while len(endpoint.answers) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        endpoint.close()
    assert callback_fake.messages[0].status_callback == endpoint.base_url + "/twilio/status"
    assert endpoint.answers == [204, 204]
    assert row(sessions, notification_id).state == "delivered"
