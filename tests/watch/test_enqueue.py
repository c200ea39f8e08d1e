"""The outbox: each intent once (ON CONFLICT DO NOTHING), cancellation only of pending rows."""

from datetime import date, timedelta

import sqlalchemy as sa

import factories as f
from deadline_watch.core import db
from deadline_watch.domain import outbox as outbox_rows
from deadline_watch.domain.models import Notification
from deadline_watch.watch import enqueue as outbox
from deadline_watch.watch.rules import PersonFacts, SmsIntent, reminder_key
from watch_support import at, fast_settings

DUE = date(2026, 12, 8)


def intent(milestone_id: int, person_id: int, offset: int = 7) -> SmsIntent:
    return SmsIntent(
        dedup_key=reminder_key(milestone_id, DUE, offset, person_id),
        milestone_id=milestone_id,
        rule="reminder",
        level=None,
        due_date=DUE,
        days_left=offset,
        recipient=PersonFacts(person_id, "王伟", "+8613800138000"),
        template="reminder",
        context={
            "person_name": "王伟",
            "project_name": "天府软件园三期建设",
            "project_code": "GX-2026-0001",
            "milestone": "组织实施",
            "due_date_text": "2026年12月8日",
            "days_left": offset,
            "day_unit": "天",
        },
        send_at=at(DUE - timedelta(days=offset), 8, 30),
    )


def setup(sessions):
    with db.transaction(sessions) as session:
        milestone = f.milestone(session, DUE)
        return milestone.id, milestone.project.owner_id


def test_enqueue_twice_inserts_once_with_rendered_body(sessions):
    milestone_id, person_id = setup(sessions)
    now = at(DUE - timedelta(days=7), 0, 5)
    with db.transaction(sessions) as session:
        assert outbox.enqueue(session, [intent(milestone_id, person_id)], fast_settings(), now=now) == 1
    with db.transaction(sessions) as session:
        assert outbox.enqueue(session, [intent(milestone_id, person_id)] * 2, fast_settings(), now=now) == 0
        (row,) = session.scalars(sa.select(Notification)).all()
    assert row.state == "pending" and row.segments == 2 and row.to_number == "+8613800138000"
    assert row.body.startswith("【高新区督办】王伟同志") and row.next_attempt_at == at(DUE - timedelta(days=7), 8, 30)


def test_enqueue_stores_the_template_and_its_variables_on_the_row(sessions):
    milestone_id, person_id = setup(sessions)
    now = at(DUE - timedelta(days=7), 9)
    with db.transaction(sessions) as session:
        outbox.enqueue(session, [intent(milestone_id, person_id)], fast_settings(), now=now)
        (row,) = session.scalars(sa.select(Notification)).all()
    assert row.template == "reminder"
    assert row.template_params == {
        "name": "王伟",
        "code": "GX-2026-0001",
        "project": "天府软件园三期建设",
        "node": "组织实施",
        "due": "2026年12月8日",
        "remaining": "剩余7天",
        "contact": "",
    }


def test_insert_ignore_skips_a_key_another_transaction_wrote_meanwhile(sessions):
    milestone_id, person_id = setup(sessions)
    now = at(DUE - timedelta(days=7), 9)
    with db.transaction(sessions) as session:
        row = outbox.intent_row(intent(milestone_id, person_id), fast_settings(), now=now)
        assert db.insert_ignore(session, Notification.__table__, [row], "dedup_key") == 1
        assert db.insert_ignore(session, Notification.__table__, [row], "dedup_key") == 0


def test_cancel_touches_only_pending_rows(sessions):
    milestone_id, person_id = setup(sessions)
    now = at(DUE - timedelta(days=3), 9)
    with db.transaction(sessions) as session:
        outbox.enqueue(session, [intent(milestone_id, person_id, 7), intent(milestone_id, person_id, 3)], fast_settings(), now=now)
        first, second = session.scalars(sa.select(Notification).order_by(Notification.id)).all()
        first.state = "sending"
    with db.transaction(sessions) as session:
        assert outbox_rows.cancel_for_milestone(session, milestone_id, "milestone_completed", now=now) == 1
    with db.transaction(sessions) as session:
        states = [row.state for row in session.scalars(sa.select(Notification).order_by(Notification.id))]
    assert states == ["sending", "cancelled"]


def test_list_notifications_filters_by_state(sessions):
    milestone_id, person_id = setup(sessions)
    with db.transaction(sessions) as session:
        outbox.enqueue(session, [intent(milestone_id, person_id)], fast_settings(), now=at(DUE, 9))
        assert len(outbox_rows.list_notifications(session, state="pending")) == 1
        assert outbox_rows.list_notifications(session, state="sent") == []
        assert len(outbox_rows.list_notifications(session, state="all")) == 1


def test_driver_level_insert_writes_the_same_row_as_sqlalchemy(sessions):
    """The scan's executemany (db.insert_ignore_many) stores what the SQLAlchemy insert stores."""
    milestone_id, person_id = setup(sessions)
    now = at(DUE - timedelta(days=7), 9)
    columns = [column for column in Notification.__table__.columns if column.key not in ("id", "dedup_key")]
    with db.transaction(sessions) as session:
        row = outbox.intent_row(intent(milestone_id, person_id, 7), fast_settings(), now=now)
        other = outbox.intent_row(intent(milestone_id, person_id, 3), fast_settings(), now=now)
        assert db.insert_ignore(session, Notification.__table__, [row], "dedup_key") == 1
        assert db.insert_ignore_many(session, Notification.__table__, [row, other], "dedup_key") == 1
        assert db.insert_ignore_many(session, Notification.__table__, [row, other], "dedup_key") == 0
    with db.transaction(sessions) as session:
        stored = session.execute(sa.select(*columns).order_by(Notification.id)).all()
    first, second = (row._asdict() for row in stored)
    assert (second.pop("days_left"), first.pop("days_left")) == (3, 7)
    assert second.pop("body") == first.pop("body").replace("剩余7天", "剩余3天")
    assert second.pop("template_params") == {**first.pop("template_params"), "remaining": "剩余3天"}
    assert (first.pop("next_attempt_at"), second.pop("next_attempt_at")) == (
        intent(milestone_id, person_id, 7).send_at, intent(milestone_id, person_id, 3).send_at)
    assert second == first and first["created_at"] == now
