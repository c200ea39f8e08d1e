"""While a milestone waits for review (待审核) no reminder or escalation SMS goes out and
its level does not rise; once the request is returned the watch resumes where it was."""

from datetime import date, timedelta

import sqlalchemy as sa

import factories as f
from deadline_watch.core import db
from deadline_watch.domain.models import Escalation, Milestone, Notification
from deadline_watch.watch.service import scan_and_enqueue
from watch_support import at, fast_settings

DUE = date(2026, 12, 8)


def seed(sessions):
    with db.transaction(sessions) as session:
        return f.milestone(session, DUE).id


def set_pending(sessions, milestone_id, pending: bool):
    with db.transaction(sessions) as session:
        session.get(Milestone, milestone_id).review_pending_since = at(DUE, 9) if pending else None


def test_pending_review_sends_no_reminder_and_cancels_a_queued_one_which_returns_after(sessions):
    milestone_id = seed(sessions)
    settings = fast_settings()
    with db.transaction(sessions) as session:
        scan_and_enqueue(session, settings, now=at(DUE - timedelta(days=7), 7))  # queued for 08:30
    set_pending(sessions, milestone_id, True)
    with db.transaction(sessions) as session:
        counts = scan_and_enqueue(session, settings, now=at(DUE - timedelta(days=7), 8))
        (row,) = session.scalars(sa.select(Notification)).all()
        assert counts.reminders_enqueued == 0 and row.state == "cancelled" and row.last_error == "cancelled: pending_review"
    set_pending(sessions, milestone_id, False)  # returned: the reminder is due again
    with db.transaction(sessions) as session:
        counts = scan_and_enqueue(session, settings, now=at(DUE - timedelta(days=7), 9))
        (row,) = session.scalars(sa.select(Notification)).all()
        assert counts.reminders_enqueued == 1 and row.state == "pending"


def test_pending_review_stops_level_rises_and_escalation_sms_until_returned(sessions):
    milestone_id = seed(sessions)
    settings = fast_settings()
    with db.transaction(sessions) as session:
        scan_and_enqueue(session, settings, now=at(DUE + timedelta(days=1), 9))
        escalation = session.scalars(sa.select(Escalation)).one()
        assert escalation.level == 1
        sms_before = session.scalar(sa.select(sa.func.count(Notification.id)))
    set_pending(sessions, milestone_id, True)
    with db.transaction(sessions) as session:
        counts = scan_and_enqueue(session, settings, now=at(DUE + timedelta(days=9), 9))
        assert counts.escalations_raised == 0 and counts.escalation_sms_enqueued == 0
        assert session.get(Escalation, escalation.id).level == 1
        assert session.get(Escalation, escalation.id).state == "open"  # still on the board
        assert session.scalar(sa.select(sa.func.count(Notification.id))) == sms_before
    set_pending(sessions, milestone_id, False)
    with db.transaction(sessions) as session:
        counts = scan_and_enqueue(session, settings, now=at(DUE + timedelta(days=9), 10))
        assert counts.escalations_raised == 1 and counts.escalation_sms_enqueued >= 1
        assert session.get(Escalation, escalation.id).level == 2


def test_pending_review_opens_no_escalation_for_a_milestone_that_passes_its_date(sessions):
    milestone_id = seed(sessions)
    set_pending(sessions, milestone_id, True)
    with db.transaction(sessions) as session:
        counts = scan_and_enqueue(session, fast_settings(), now=at(DUE + timedelta(days=3), 9))
        assert counts.escalations_opened == 0 and session.scalar(sa.select(sa.func.count(Escalation.id))) == 0
