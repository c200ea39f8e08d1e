"""Replies to our SMS: STOP/退订 are recorded (and obeyed only with sms.honour_opt_out), START/UNSTOP undo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

import factories as f
from deadline_watch.core.config import Settings
from deadline_watch.core.db import transaction
from deadline_watch.delivery.inbound import handle_inbound, reply_intent
from deadline_watch.delivery.unreachable import mark_opted_out
from deadline_watch.domain.models import AuditEvent, Person
from deadline_watch.fakes.twilio import FakeTwilio, new_sid

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
TOKEN = "inbound-token"
PUBLIC = "https://dw.example.gov.cn"
URL = PUBLIC + "/twilio/inbound"
MOBILE = "+8613800138000"
SETTINGS = Settings.model_validate({"twilio": {"auth_token": TOKEN}, "web": {"public_url": PUBLIC}})
HONOURING = Settings.model_validate(
    {"twilio": {"auth_token": TOKEN}, "web": {"public_url": PUBLIC}, "sms": {"honour_opt_out": True}}
)


def reply(body: str, from_: str = MOBILE) -> dict[str, str]:
    sid = new_sid()
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "f" * 32, "From": from_, "To": "+15005550006", "Body": body, "NumMedia": "0"}


def post(sessions, params, *, signature: str | None = "sign", now: datetime = NOW, settings: Settings = SETTINGS) -> int:
    if signature == "sign":
        signature = FakeTwilio(auth_token=TOKEN).signature_for(URL, params)
    return handle_inbound(sessions, settings, url=URL, params=params, signature=signature, now=now)


@pytest.fixture
def official(sessions: sessionmaker[Session]) -> int:
    with transaction(sessions) as session:
        return f.person(session, mobile=MOBILE).id


def opted_out_at(sessions: sessionmaker[Session], person_id: int) -> datetime | None:
    with sessions() as session:
        return session.get(Person, person_id).opted_out_at


def unsubscribe_requested_at(sessions: sessionmaker[Session], person_id: int) -> datetime | None:
    with sessions() as session:
        return session.get(Person, person_id).unsubscribe_requested_at


def audit_actions(sessions: sessionmaker[Session]) -> list[tuple[str, str]]:
    with sessions() as session:
        return [(e.action, e.actor) for e in session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]


@pytest.mark.parametrize(
    ("body", "intent"),
    [
        ("STOP", "opt_out"),
        (" stop. ", "opt_out"),
        ("StopAll", "opt_out"),
        ("UNSUBSCRIBE", "opt_out"),
        ("cancel", "opt_out"),
        ("END", "opt_out"),
        ("quit", "opt_out"),
        ("退订", "opt_out"),
        ("【退订】", "opt_out"),
        ("td", "opt_out"),
        ("START", "opt_in"),
        ("unstop", "opt_in"),
        ("收到,马上办理", None),
        ("please stop reminding me about project 5", None),
        ("", None),
    ],
)
def test_reply_keywords(body: str, intent: str | None) -> None:
    assert reply_intent(body) == intent


@pytest.mark.parametrize("body", ["STOP", "退订"])
def test_stop_reply_is_recorded_but_does_not_stop_mandatory_notices(
    sessions: sessionmaker[Session], official: int, body: str
) -> None:
    assert post(sessions, reply(body)) == 204
    assert unsubscribe_requested_at(sessions, official) == NOW
    assert opted_out_at(sessions, official) is None
    assert audit_actions(sessions) == [("person.unsubscribe_requested", "sms:reply")]


@pytest.mark.parametrize("body", ["STOP", "退订"])
def test_with_honour_opt_out_a_stop_reply_stops_the_person(sessions: sessionmaker[Session], official: int, body: str) -> None:
    assert post(sessions, reply(body), settings=HONOURING) == 204
    assert opted_out_at(sessions, official) == unsubscribe_requested_at(sessions, official) == NOW
    assert audit_actions(sessions) == [("person.unsubscribe_requested", "sms:reply"), ("person.opted_out", "sms:reply")]


def test_start_reply_clears_the_request_and_the_opt_out(sessions: sessionmaker[Session], official: int) -> None:
    post(sessions, reply("TD"), settings=HONOURING)
    assert post(sessions, reply("START"), now=NOW + timedelta(hours=1)) == 204
    assert opted_out_at(sessions, official) is None and unsubscribe_requested_at(sessions, official) is None
    assert [action for action, _ in audit_actions(sessions)] == [
        "person.unsubscribe_requested", "person.opted_out", "person.opted_in",
    ]


def test_twilio_advanced_opt_out_type_is_trusted_for_custom_keywords(sessions: sessionmaker[Session], official: int) -> None:
    assert post(sessions, {**reply("不要再发了"), "OptOutType": "STOP"}) == 204
    assert unsubscribe_requested_at(sessions, official) == NOW


def test_ordinary_reply_changes_nothing(sessions: sessionmaker[Session], official: int) -> None:
    assert post(sessions, reply("收到,马上办理")) == 204
    assert opted_out_at(sessions, official) is None and audit_actions(sessions) == []


def test_stop_from_an_unknown_number_is_accepted_and_writes_nothing(sessions: sessionmaker[Session], official: int) -> None:
    assert post(sessions, reply("STOP", from_="+8613999999999")) == 204
    assert opted_out_at(sessions, official) is None and audit_actions(sessions) == []


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl"], ids=["missing", "empty", "bad"])
def test_unsigned_or_forged_stop_is_refused(sessions: sessionmaker[Session], official: int, signature: str | None) -> None:
    assert post(sessions, reply("STOP"), signature=signature) == 403
    assert opted_out_at(sessions, official) is None


def test_mark_opted_out_keeps_the_first_instant(sessions: sessionmaker[Session], official: int) -> None:
    with transaction(sessions) as session:
        assert mark_opted_out(session, MOBILE, NOW, "twilio:21610").id == official
    with transaction(sessions) as session:
        mark_opted_out(session, MOBILE, NOW + timedelta(days=1), "twilio:21610")
        assert mark_opted_out(session, "+8613999999999", NOW, "twilio:21610") is None
    assert opted_out_at(sessions, official) == NOW
    assert audit_actions(sessions) == [("person.opted_out", "twilio:21610")]
