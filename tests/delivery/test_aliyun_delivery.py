"""The Aliyun backend end to end: the real SDK against the local fake, on SQLite and PostgreSQL.

Scans and delivery passes run as the daemon runs them (`run_tick`); the fake checks the
ACS3 signature, the sign name, the approved template and its variables, and records what
it accepted, which is what these tests judge by.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import sqlalchemy as sa

import factories as f
from aliyun_support import PUBLIC_URL, SIGN_NAME, TEMPLATE_CODES, aliyun_settings, approved_fake, backend_for
from deadline_watch.core import db
from deadline_watch.daemon.tick import run_tick
from deadline_watch.delivery.dispatch import run_delivery_pass
from deadline_watch.domain.links import link_prefix
from deadline_watch.domain.models import Escalation, Notification
from deadline_watch.sms.aliyun_templates import fill, kind_of
from watch_support import at

TODAY = date(2026, 12, 1)  # a Tuesday
NOW = at(TODAY, 9)
PROJECT_NAME = "成都高新区天府国际生物城新一代生物医药创新孵化园区三期基础设施建设工程"


def day_of_work(sessions) -> dict[str, int]:
    """One milestone due in 7 days (a reminder), one 7 days overdue (level 2: owner, lead
    leader, supervisor); returns {role: person id}."""
    with db.transaction(sessions) as session:
        owner = f.person(session, name="王伟", mobile="+8613800000001")
        leader = f.person(session, name="李领导", mobile="+8613800000002", roles="lead_leader")
        supervisor = f.person(session, name="张督查", mobile="+8613800000003", roles="supervisor")
        soon = f.project(session, "GX-2026-0101", name=PROJECT_NAME, owner=owner, lead_leader=leader)
        late = f.project(session, "GX-2026-0102", name="天府软件园三期建设", owner=owner, lead_leader=leader)
        f.milestone(session, TODAY + timedelta(days=7), project_=soon)
        f.milestone(session, TODAY - timedelta(days=7), project_=late, name="阶段成果")
        return {"owner": owner.id, "lead_leader": leader.id, "supervisor": supervisor.id}


def rows(sessions) -> list[Notification]:
    with db.transaction(sessions) as session:
        return list(session.scalars(sa.select(Notification).order_by(Notification.id)))


def test_a_days_reminders_and_escalations_go_out_once_each_with_their_template_and_variables(sessions):
    day_of_work(sessions)
    with approved_fake(NOW) as fake:
        settings = aliyun_settings(fake)
        backend = backend_for(fake, settings)
        for minutes in (0, 5, 10, 30):
            fake.clock.set(NOW + timedelta(minutes=minutes))
            run_tick(sessions, settings, now=NOW + timedelta(minutes=minutes), backend=backend)
        sent = fake.messages
    outbox = rows(sessions)
    assert {row.state for row in outbox} == {"delivered"}  # receipts polled by the later passes
    # reminder to the owner; level 1 is skipped (7 days late at the first scan): level 2 to all three
    assert Counter(row.template for row in outbox) == Counter(
        {"reminder": 1, "escalation_owner": 1, "escalation_lead_leader": 1, "escalation_supervisors": 1}
    )
    assert len(sent) == len(outbox) == 4
    by_out_id = {message.out_id: message for message in sent}
    assert set(by_out_id) == {str(row.id) for row in outbox}
    for row in outbox:
        message = by_out_id[str(row.id)]
        kind = kind_of(row.template)
        assert message.template_code == TEMPLATE_CODES[kind]
        assert message.sign_name == SIGN_NAME
        assert message.params == row.template_params
        assert message.phone == row.to_number.removeprefix("+86")
        assert row.provider_message_id == message.biz_id
        # what the handset shows is exactly the body the outbox (and the board) shows
        assert message.content == f"【{SIGN_NAME}】" + fill(kind, row.template_params) == row.body
    reminder = next(row for row in outbox if row.template == "reminder")
    assert reminder.template_params["code"] == "GX-2026-0101"
    assert reminder.template_params["remaining"] == "剩余7天"
    assert reminder.template_params["contact"] == "督查室 028-12345678"
    assert all(len(value) <= 35 for row in outbox for value in row.template_params.values())
    # without web.public_url no row carries a link: the plain templates, with the contact
    assert not any("link" in row.template_params or "token" in by_out_id[str(row.id)].params for row in outbox)
    supervisor = next(row for row in outbox if row.template == "escalation_supervisors")
    assert supervisor.template_params["level"] == "二级" and supervisor.template_params["overdue"] == "7"


def test_with_a_public_url_officials_get_the_link_template_and_only_the_token(sessions):
    people = day_of_work(sessions)
    with approved_fake(NOW) as fake:
        settings = aliyun_settings(fake, public_url=PUBLIC_URL)
        run_tick(sessions, settings, now=NOW, backend=backend_for(fake, settings))
        sent = {message.out_id: message for message in fake.messages}
    outbox = rows(sessions)
    assert len(sent) == len(outbox) == 4
    prefix = link_prefix(PUBLIC_URL)
    for row in outbox:
        message = sent[str(row.id)]
        assert message.content == row.body  # the handset shows the outbox's text, link included
        if row.template == "escalation_supervisors":  # the supervisors' notice carries no link
            assert message.template_code == TEMPLATE_CODES["escalation_supervisor"] and "token" not in message.params
            continue
        link = row.template_params["link"]
        assert link.startswith(prefix) and row.body.endswith(" " + link)
        assert message.template_code == TEMPLATE_CODES[kind_of(row.template, linked=True)]
        assert message.params["token"] == link.removeprefix(prefix) and len(message.params["token"]) == 24
        assert "link" not in message.params and "contact" not in message.params
        assert all(len(value) <= 35 for value in message.params.values())
    reminder = next(row for row in outbox if row.template == "reminder")
    assert reminder.recipient_id == people["owner"]
    assert sent[str(reminder.id)].template_code == TEMPLATE_CODES["reminder_link"]


def test_throttling_is_retried_with_backoff_and_sent_once(sessions):
    day_of_work(sessions)
    with approved_fake(NOW) as fake:
        settings = aliyun_settings(fake, concurrency=1)
        backend = backend_for(fake, settings)
        fake.script("isv.BUSINESS_LIMIT_CONTROL", "Throttling.User")
        first = run_tick(sessions, settings, now=NOW, backend=backend)
        assert (first.sent, first.deferred) == (2, 2)
        retried = [row for row in rows(sessions) if row.state == "pending"]
        assert {row.provider_error_code for row in retried} == {"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User"}
        assert all(row.next_attempt_at > NOW and row.attempts == 1 for row in retried)
        later = NOW + timedelta(hours=2)
        fake.clock.set(later)
        second = run_delivery_pass(sessions, backend, settings, now=later)
        assert second.sent == 2
        sent = fake.messages
    assert Counter(message.out_id for message in sent) == Counter({str(row.id): 1 for row in rows(sessions)})
    assert {row.state for row in rows(sessions)} <= {"sent", "delivered"}


def test_a_bad_number_fails_once_and_puts_cannot_reach_on_the_board(sessions):
    day_of_work(sessions)
    with approved_fake(NOW) as fake:
        fake.number_errors["13800000002"] = "isv.MOBILE_NUMBER_ILLEGAL"
        settings = aliyun_settings(fake)
        result = run_tick(sessions, settings, now=NOW, backend=backend_for(fake, settings))
        again = run_delivery_pass(sessions, backend_for(fake, settings), settings, now=NOW + timedelta(hours=3))
    assert result.failed == 1 and again.sent == again.failed == 0
    (failed,) = [row for row in rows(sessions) if row.state == "failed"]
    assert failed.to_number == "+8613800000002" and failed.provider_error_code == "isv.MOBILE_NUMBER_ILLEGAL"
    with db.transaction(sessions) as session:
        reasons = Counter(session.scalars(sa.select(Escalation.reason)))
        unreachable = session.scalars(sa.select(Escalation).where(Escalation.reason == "unreachable")).one()
    assert reasons == Counter({"overdue": 1, "unreachable": 1})
    assert "isv.MOBILE_NUMBER_ILLEGAL" in unreachable.notes


def test_an_account_level_refusal_stops_the_pass_and_keeps_every_row(sessions):
    day_of_work(sessions)
    run_tick(sessions, aliyun_settings(), now=NOW, backend=None)  # the scan only: four rows queued
    for code in ("isv.AMOUNT_NOT_ENOUGH", "isv.SMS_TEMPLATE_ILLEGAL", "InvalidAccessKeyId.NotFound"):
        with approved_fake(NOW, error_code=code) as fake:
            settings = aliyun_settings(fake, concurrency=1)
            result = run_delivery_pass(sessions, backend_for(fake, settings), settings, now=NOW)
            assert result.auth_failed and result.account_error == code
            assert result.sent == result.failed == 0 and result.released >= 1
            assert fake.requests_seen == 1  # the pass stopped at the first refusal
        assert {(row.state, row.attempts) for row in rows(sessions)} == {("pending", 0)}
    with approved_fake(NOW) as fake:
        # a wrong AccessKey secret: the fake's ACS3 signature check refuses it like the service
        settings = aliyun_settings(fake)
        wrong = settings.model_copy(update={"aliyun": settings.aliyun.model_copy(update={"access_key_secret": "wrong"})})
        refused = run_delivery_pass(sessions, backend_for(fake, wrong), wrong, now=NOW)
        assert refused.account_error == "SignatureDoesNotMatch" and fake.messages == []
        fixed = run_delivery_pass(sessions, backend_for(fake, settings), settings, now=NOW)
        assert fixed.sent == 4 and len(fake.messages) == 4


def test_receipts_are_polled_failed_ones_reach_the_board_delivered_ones_are_recorded(sessions):
    day_of_work(sessions)
    with approved_fake(NOW, receipt_delay=0.0) as fake:
        fake.receipt_errors["13800000001"] = "MN:0001"  # the owner's handset is off the network
        settings = aliyun_settings(fake)
        backend = backend_for(fake, settings)
        run_tick(sessions, settings, now=NOW, backend=backend)
        assert {row.state for row in rows(sessions)} == {"sent"}
        later = NOW + timedelta(minutes=2)
        polled = run_delivery_pass(sessions, backend, settings, now=later)
    states = Counter((row.to_number, row.state) for row in rows(sessions))
    assert states == Counter(
        {("+8613800000001", "failed"): 2, ("+8613800000002", "delivered"): 1, ("+8613800000003", "delivered"): 1}
    )
    assert (polled.receipts_delivered, polled.receipts_failed) == (2, 2)
    failed = [row for row in rows(sessions) if row.state == "failed"]
    assert {row.provider_error_code for row in failed} == {"MN:0001"}
    with db.transaction(sessions) as session:
        notes = session.scalars(sa.select(Escalation.notes).where(Escalation.reason == "unreachable")).all()
    assert len(notes) == 2 and all("Aliyun MN:0001" in note for note in notes)


def test_receipts_still_waiting_are_asked_again_later(sessions):
    day_of_work(sessions)
    with approved_fake(NOW, receipt_delay=3600.0) as fake:
        settings = aliyun_settings(fake)
        backend = backend_for(fake, settings)
        run_tick(sessions, settings, now=NOW, backend=backend)
        waiting = run_delivery_pass(sessions, backend, settings, now=NOW + timedelta(minutes=2))
        assert (waiting.receipts_delivered, waiting.receipts_failed) == (0, 0)
        assert {row.state for row in rows(sessions)} == {"sent"}
        fake.receipt_delay = 0.0
        done = run_delivery_pass(sessions, backend, settings, now=NOW + timedelta(minutes=4))
    assert done.receipts_delivered == 4
    assert {row.state for row in rows(sessions)} == {"delivered"}
