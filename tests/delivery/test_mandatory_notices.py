"""督办 notices are mandatory: a 退订/TD/STOP reply is recorded and shown, not obeyed, unless
`sms.honour_opt_out` asks; only the provider refusing a number (Twilio 21610) stops it."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

import factories as f
from deadline_watch.board.escalation_queue import list_escalations
from deadline_watch.board.supervision import escalation_detail
from deadline_watch.core import db
from deadline_watch.core.errors import SmsError
from deadline_watch.daemon.tick import run_tick
from deadline_watch.delivery.inbound import apply_inbound
from deadline_watch.domain.models import Escalation, Notification
from deadline_watch.domain.reachability import UNREACHABLE, UNSUBSCRIBE_REQUESTED
from deadline_watch.sms.base import OutgoingSms, SendResult
from watch_support import TZ, RecordingBackend, at, fast_settings

DUE = date(2026, 12, 8)
OWNER = "+8613800000001"


def overdue_milestone(sessions) -> None:
    with db.transaction(sessions) as session:
        owner = f.person(session, name="王伟", mobile=OWNER)
        f.milestone(session, DUE, project_=f.project(session, "GX-2026-0201", owner=owner))


def reply(sessions, body: str, *, honour: bool = False) -> None:
    with db.transaction(sessions) as session:
        apply_inbound(session, {"From": OWNER, "Body": body}, now=at(DUE, 12), honour_opt_out=honour)


def sent_to_owner(backend: RecordingBackend) -> int:
    return sum(1 for message in backend.sent if message.to == OWNER)


def test_a_td_reply_is_recorded_shown_to_supervisors_and_notices_keep_coming(sessions):
    overdue_milestone(sessions)
    reply(sessions, "TD")
    backend = RecordingBackend()
    run_tick(sessions, fast_settings(), now=at(DUE + timedelta(days=1), 9), backend=backend)
    run_tick(sessions, fast_settings(), now=at(DUE + timedelta(days=7), 9), backend=backend)
    assert sent_to_owner(backend) == 2  # level 1 and level 2, despite the reply
    with db.transaction(sessions) as session:
        (row,), _ = list_escalations(session, today=DUE + timedelta(days=7), tz=TZ)
        detail = escalation_detail(session, row.id, today=DUE + timedelta(days=7), tz=TZ)
    assert row.owner_contact == detail.owner_contact == UNSUBSCRIBE_REQUESTED == "已回复退订"


def test_with_honour_opt_out_the_reply_stops_the_notices(sessions):
    overdue_milestone(sessions)
    reply(sessions, "退订", honour=True)
    backend = RecordingBackend()
    run_tick(sessions, fast_settings(sms__honour_opt_out=True), now=at(DUE + timedelta(days=1), 9), backend=backend)
    assert sent_to_owner(backend) == 0
    with db.transaction(sessions) as session:
        (row,), _ = list_escalations(session, today=DUE + timedelta(days=1), tz=TZ)
    assert row.owner_contact == UNREACHABLE


class RefusingBackend(RecordingBackend):
    """Twilio refusing the owner's number: it replied STOP on Twilio's side (error 21610)."""

    def send(self, message: OutgoingSms) -> SendResult:
        if message.to == OWNER:
            raise SmsError("Attempt to send to unsubscribed recipient", permanent=True, code="21610", http_status=400)
        return super().send(message)


def test_only_a_provider_refusal_stops_a_number_and_the_board_shows_it_unreachable(sessions):
    overdue_milestone(sessions)
    reply(sessions, "STOP")  # recorded only
    backend = RefusingBackend()
    first = run_tick(sessions, fast_settings(), now=at(DUE + timedelta(days=1), 9), backend=backend)
    assert first.failed == 1
    run_tick(sessions, fast_settings(), now=at(DUE + timedelta(days=7), 9), backend=backend)
    with db.transaction(sessions) as session:
        states = sorted(session.scalars(sa.select(Notification.state).where(Notification.to_number == OWNER)))
        reasons = sorted(session.scalars(sa.select(Escalation.reason)))
        rows, _ = list_escalations(session, today=DUE + timedelta(days=7), tz=TZ)
    # the level-2 notice was never queued: the provider's refusal stopped the number
    assert states == ["failed"] and reasons == ["overdue", "unreachable"]
    assert {row.owner_contact for row in rows} == {UNREACHABLE}
