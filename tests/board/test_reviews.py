"""Supervisors' review of officials' requests, on SQLite and PostgreSQL: what 通过 and 退回 do
to the milestone, the board item, the outbox and the evaluation."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

import factories as f
from deadline_watch.board import reviews
from deadline_watch.board.evaluation import evaluate
from deadline_watch.board.supervision import SupervisionError
from deadline_watch.core import db
from deadline_watch.domain.models import (
    AuditEvent,
    Escalation,
    EvidenceFile,
    Milestone,
    Notification,
    OfficialRequest,
    User,
)
from deadline_watch.officials import requests
from deadline_watch.officials.evidence import EvidenceUpload
from deadline_watch.watch.service import scan_and_enqueue
from officials.evidence_samples import pdf, png
from watch_support import at, fast_settings

DUE = date(2026, 12, 8)
PUBLIC = "https://dub.example.gov.cn"


def settings():
    return fast_settings(web__public_url=PUBLIC, web__secret_key="s" * 40)


def seed(sessions):
    with db.transaction(sessions) as session:
        owner = f.person(session, "王责任", "+8613912340011")
        milestone = f.milestone(session, DUE, project_=f.project(session, owner=owner))
        reviewer = User(username="super1", password_hash="-", role="supervisor", created_at=f.EPOCH)
        session.add(reviewer)
        session.flush()
        return milestone.id, owner.id, reviewer.id


def scan(sessions, now):
    with db.transaction(sessions) as session:
        return scan_and_enqueue(session, settings(), now=now)


def complete_request(sessions, milestone_id, owner_id, *, now, on, files=None):
    with db.transaction(sessions) as session:
        return requests.request_completion(
            session, owner_id, milestone_id, completed_on=on, note="已完成", settings=settings(), now=now,
            today=now.date(), files=files if files is not None else [EvidenceUpload("现场.png", png()),
                                                                     EvidenceUpload("验收.pdf", pdf())],
        ).request_id


def test_completion_stores_evidence_in_the_database_and_allows_one_pending_request(sessions):
    milestone_id, owner_id, _ = seed(sessions)
    request_id = complete_request(sessions, milestone_id, owner_id, now=at(DUE - timedelta(days=1)), on=DUE - timedelta(days=1))
    with db.transaction(sessions) as session:
        files = session.scalars(sa.select(EvidenceFile).order_by(EvidenceFile.id)).all()
        assert [(row.content_type, row.size) for row in files] == [("image/png", len(png())), ("application/pdf", len(pdf()))]
        assert files[0].content == png() and len(files[0].sha256) == 64 and files[0].uploaded_by_id == owner_id
        assert session.get(Milestone, milestone_id).review_pending_since is not None
        assert [row.request_id for row in reviews.pending_reviews(session)] == [request_id]
    with pytest.raises(requests.RequestError, match="已有待审核"), db.transaction(sessions) as session:
        requests.request_extension(session, owner_id, milestone_id, proposed_due_date=DUE + timedelta(days=9),
                                   reason="征地未完成", now=at(DUE))


def test_approval_with_reported_date_before_due_counts_on_time_and_stops_pending_sms(sessions):
    milestone_id, owner_id, reviewer_id = seed(sessions)
    scan(sessions, at(DUE + timedelta(days=1), 7))  # escalation opened, its SMS queued for 08:30
    request_id = complete_request(sessions, milestone_id, owner_id, now=at(DUE + timedelta(days=1), 8),
                                  on=DUE - timedelta(days=2))
    counts = scan(sessions, at(DUE + timedelta(days=8), 9))  # level 2 is due, but 待审核
    assert counts.escalations_raised == 0 and counts.escalation_sms_enqueued == 0
    with db.transaction(sessions) as session:
        assert session.scalars(sa.select(Notification.state)).all() == ["cancelled"]
        reviews.approve(session, request_id, reviewer=session.get(User, reviewer_id), now=at(DUE + timedelta(days=9)))
    with db.transaction(sessions) as session:
        milestone = session.get(Milestone, milestone_id)
        assert (milestone.status, milestone.completed_on, milestone.review_pending_since) == ("completed", DUE - timedelta(days=2), None)
        escalation = session.scalars(sa.select(Escalation)).one()
        assert escalation.state == "resolved" and escalation.resolution == "completed" and escalation.level == 1
        assert session.get(OfficialRequest, request_id).state == "approved"
        result = evaluate(session, start=DUE - timedelta(days=30), end=DUE + timedelta(days=30), today=DUE + timedelta(days=9))
        (unit,) = result.units
        assert (unit.completed_on_time, unit.completed_late, unit.still_overdue) == (1, 0, 0)
        assert unit.evidence_completions == 1 and result.officials[0].evidence_completions == 1
        actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "milestone")).all()
        assert "official.completion_requested" in actions and "review.approved" in actions
    with pytest.raises(SupervisionError), db.transaction(sessions) as session:
        reviews.approve(session, request_id, reviewer=session.get(User, reviewer_id), now=at(DUE + timedelta(days=9)))


def test_late_completion_resolves_as_completed_late(sessions):
    milestone_id, owner_id, reviewer_id = seed(sessions)
    scan(sessions, at(DUE + timedelta(days=2)))
    request_id = complete_request(sessions, milestone_id, owner_id, now=at(DUE + timedelta(days=3)), on=DUE + timedelta(days=3))
    with db.transaction(sessions) as session:
        reviews.approve(session, request_id, reviewer=session.get(User, reviewer_id), now=at(DUE + timedelta(days=4)))
        assert session.scalars(sa.select(Escalation.resolution)).one() == "completed_late"
        assert session.get(Milestone, milestone_id).completed_on == DUE + timedelta(days=3)


def test_return_needs_a_reason_restores_the_milestone_and_escalation_resumes(sessions):
    milestone_id, owner_id, reviewer_id = seed(sessions)
    scan(sessions, at(DUE + timedelta(days=1)))
    request_id = complete_request(sessions, milestone_id, owner_id, now=at(DUE + timedelta(days=2)), on=DUE)
    assert scan(sessions, at(DUE + timedelta(days=8))).escalations_raised == 0
    with pytest.raises(SupervisionError, match="原因"), db.transaction(sessions) as session:
        reviews.return_request(session, request_id, reason="  ", reviewer=session.get(User, reviewer_id),
                               settings=settings(), now=at(DUE + timedelta(days=8), 10))
    with db.transaction(sessions) as session:
        reviews.return_request(session, request_id, reason="照片看不清,请补充验收报告", reviewer=session.get(User, reviewer_id),
                               settings=settings(), now=at(DUE + timedelta(days=8), 10))
    with db.transaction(sessions) as session:
        milestone = session.get(Milestone, milestone_id)
        assert (milestone.status, milestone.completed_on, milestone.review_pending_since) == ("open", None, None)
        notice = session.scalars(sa.select(Notification).where(Notification.rule == "notice")).one()
        assert notice.recipient_id == owner_id and "照片看不清,请补充验收报告" in notice.body
        assert f" {PUBLIC}/m/" in notice.body and notice.segments <= 3
    counts = scan(sessions, at(DUE + timedelta(days=8), 11))
    assert counts.escalations_raised == 1
    with db.transaction(sessions) as session:
        assert session.scalars(sa.select(Escalation.level)).one() == 2
        assert session.get(OfficialRequest, request_id).return_reason == "照片看不清,请补充验收报告"


def test_extension_moves_the_date_rearms_reminders_and_evaluation_keeps_the_original(sessions):
    milestone_id, owner_id, reviewer_id = seed(sessions)
    scan(sessions, at(DUE + timedelta(days=2)))  # overdue, on the board
    new_due = DUE + timedelta(days=30)
    with db.transaction(sessions) as session:
        request_id = requests.request_extension(session, owner_id, milestone_id, proposed_due_date=new_due,
                                                reason="征地手续未批复", now=at(DUE + timedelta(days=2))).request_id
    with db.transaction(sessions) as session:
        reviews.approve(session, request_id, reviewer=session.get(User, reviewer_id), now=at(DUE + timedelta(days=3)))
    with db.transaction(sessions) as session:
        milestone = session.get(Milestone, milestone_id)
        assert (milestone.due_date, milestone.original_due_date) == (new_due, DUE)
        assert session.scalars(sa.select(Escalation.resolution)).one() == "deadline_extended"
    counts = scan(sessions, at(new_due - timedelta(days=7)))
    assert counts.reminders_enqueued == 1
    with db.transaction(sessions) as session:
        reminder = session.scalars(sa.select(Notification).where(Notification.rule == "reminder",
                                                                 Notification.state == "pending")).one()
        assert reminder.due_date == new_due
    done = complete_request(sessions, milestone_id, owner_id, now=at(new_due - timedelta(days=2)), on=new_due - timedelta(days=2))
    with db.transaction(sessions) as session:
        reviews.approve(session, done, reviewer=session.get(User, reviewer_id), now=at(new_due - timedelta(days=1)))
        result = evaluate(session, start=DUE - timedelta(days=5), end=DUE + timedelta(days=5), today=new_due)
        (unit,) = result.units
        # done before the new date, but after the original one: late for evaluation
        assert (unit.milestones_due, unit.completed_on_time, unit.completed_late) == (1, 0, 1)
        assert unit.extensions_granted == 1 and unit.requests_returned == 0
        assert evaluate(session, start=new_due - timedelta(days=3), end=new_due + timedelta(days=3), today=new_due).units == []


def test_returned_requests_are_counted_per_unit_and_official(sessions):
    milestone_id, owner_id, reviewer_id = seed(sessions)
    with db.transaction(sessions) as session:
        request_id = requests.request_extension(session, owner_id, milestone_id, proposed_due_date=DUE + timedelta(days=5),
                                                reason="资金未到位", now=at(DUE - timedelta(days=3))).request_id
        reviews.return_request(session, request_id, reason="理由不充分", reviewer=session.get(User, reviewer_id),
                               settings=settings(), now=at(DUE - timedelta(days=2)))
        result = evaluate(session, start=DUE - timedelta(days=5), end=DUE + timedelta(days=5), today=DUE)
        assert result.units[0].requests_returned == 1 and result.officials[0].requests_returned == 1
        assert result.units[0].extensions_granted == 0


def test_weekly_report_shows_the_latest_progress(sessions):
    from deadline_watch.board.report_tables import weekly_report

    milestone_id, owner_id, _ = seed(sessions)
    with db.transaction(sessions) as session:
        requests.record_progress(session, owner_id, milestone_id, note="设备已进场", percent="40",
                                 now=at(DUE + timedelta(days=2)))
        report = weekly_report(session, at=DUE + timedelta(days=10), settings=settings())
        rows = report.sheet("调度清单").rows  # still overdue: the dispatch sheet's 最新进展 column
        assert rows[0][10] == "设备已进场(40%)"
