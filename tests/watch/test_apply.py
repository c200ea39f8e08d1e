"""Escalation state changes (audit events, once only) and the shared queue query."""

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

import factories as f
from deadline_watch.board.completion import complete_milestone
from deadline_watch.board.escalation_queue import EscalationFilter, list_escalations
from deadline_watch.core import db
from deadline_watch.daemon.tick import run_tick
from deadline_watch.domain.board_items import EscalationFacts
from deadline_watch.domain.models import AuditEvent, Escalation, User
from deadline_watch.watch import apply as escalation
from deadline_watch.watch.decisions import Raise
from deadline_watch.watch.facts import MilestoneFacts
from watch_support import RecordingBackend, at, fast_settings

DUE = date(2026, 12, 8)
TZ = ZoneInfo("Asia/Shanghai")


def facts_for(milestone) -> MilestoneFacts:
    return MilestoneFacts(
        milestone_id=milestone.id,
        project_id=milestone.project_id,
        project_code=milestone.project.code,
        project_name=milestone.project.name,
        unit="新经济发展局",
        milestone=milestone.name,
        due_date=milestone.due_date,
    )


def test_open_is_once_per_milestone_and_due_date_with_an_audit_event(sessions):
    now = at(DUE + timedelta(days=1), 0, 5)
    with db.transaction(sessions) as session:
        facts = facts_for(f.milestone(session, DUE))
        first = escalation.open_escalation(session, facts, 1, now=now)
        second = escalation.open_escalation(session, facts, 1, now=now)
    assert first is not None and second is None
    with db.transaction(sessions) as session:
        events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "escalation.opened")).all()
        assert [(event.entity_id, event.actor, event.after["level"]) for event in events] == [(first, "watch", 1)]


def test_raise_happens_once_and_is_audited(sessions):
    now = at(DUE + timedelta(days=7), 9)
    with db.transaction(sessions) as session:
        facts = facts_for(f.milestone(session, DUE))
        escalation_id = escalation.open_escalation(session, facts, 1, now=now)
        decision = Raise(facts, escalation_id, from_level=1, level=2)
        assert escalation.raise_level(session, decision, now=now)
        assert not escalation.raise_level(session, decision, now=now)
        raised = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "escalation.raised")).all()
        assert [(event.before, event.after) for event in raised] == [({"level": 1}, {"level": 2})]


def test_resolve_only_unresolved_and_record_the_resolution(sessions):
    now = at(DUE + timedelta(days=3), 9)
    with db.transaction(sessions) as session:
        facts = facts_for(f.milestone(session, DUE))
        escalation_id = escalation.open_escalation(session, facts, 1, now=now)
        current = EscalationFacts(escalation_id, facts.milestone_id, DUE, 1, "open")
        assert escalation.resolve(session, current, "deadline_extended", now=now, note="新截止日期 2026-12-20")
        assert not escalation.resolve(session, current, "cancelled", now=now)
        row = session.get(Escalation, escalation_id)
        assert (row.state, row.resolution, row.resolved_at) == ("resolved", "deadline_extended", now)
        assert "2026-12-20" in row.notes


def test_milestones_complete_cancels_pending_and_resolves_completed_late(sessions):
    with db.transaction(sessions) as session:
        milestone = f.milestone(session, DUE)
        code = milestone.project.code
    run_tick(sessions, fast_settings(), now=at(DUE + timedelta(days=2), 1), backend=RecordingBackend())
    with db.transaction(sessions) as session:
        result = complete_milestone(
            session, code, "组织实施", on=DUE + timedelta(days=2), evidence="https://x/y.pdf",
            now=at(DUE + timedelta(days=2), 7), actor="cli",
        )
    assert (result.notifications_cancelled, result.escalations_resolved, result.late) == (1, 1, True)
    with db.transaction(sessions) as session:
        row = session.scalars(sa.select(Escalation)).one()
        assert row.resolution == "completed_late" and "2026-12-10" in row.notes


def seed_queue(session, count: int):
    supervisor = User(username="sup", password_hash="x", role="supervisor", created_at=at(DUE))
    session.add(supervisor)
    for index in range(count):
        unit_name = "新经济发展局" if index % 2 else "科技创新局"
        project = f.project(session, name=f"项目{index}", unit_name=unit_name, level="省级" if index % 3 == 0 else "市级")
        milestone = f.milestone(session, DUE - timedelta(days=index), project_=project)
        session.add(
            Escalation(
                dedup_key=f"overdue:{milestone.id}:x",
                milestone_id=milestone.id,
                due_date=milestone.due_date,
                level=2 if index >= 7 else 1,
                state="acknowledged" if index == 3 else ("resolved" if index == 4 else "open"),
                opened_at=at(DUE),
                assignee=supervisor if index == 3 else None,
            )
        )
    session.flush()


def test_queue_is_most_overdue_first_and_open_plus_acknowledged_by_default(sessions):
    today = DUE + timedelta(days=1)
    with db.transaction(sessions) as session:
        seed_queue(session, 10)
        rows, total = list_escalations(session, EscalationFilter(), today=today, tz=TZ, limit=4)
    assert total == 9  # one of ten is resolved
    assert [row.days_overdue for row in rows] == [10, 9, 8, 7]
    assert rows[0].level == 2 and rows[0].owner and rows[0].unit


def test_queue_filters_and_pages(sessions):
    today = DUE + timedelta(days=1)
    with db.transaction(sessions) as session:
        seed_queue(session, 10)
        acknowledged, _ = list_escalations(session, EscalationFilter(state="acknowledged"), today=today, tz=TZ)
        assert [(row.state, row.assignee) for row in acknowledged] == [("acknowledged", "sup")]
        _, every = list_escalations(session, EscalationFilter(state="all"), today=today, tz=TZ)
        assert every == 10
        unit_rows, unit_total = list_escalations(session, EscalationFilter(unit="科技创新局"), today=today, tz=TZ)
        assert unit_total == 4 and {row.unit for row in unit_rows} == {"科技创新局"}
        _, level_two = list_escalations(session, EscalationFilter(level=2), today=today, tz=TZ)
        assert level_two == 3
        _, provincial = list_escalations(session, EscalationFilter(project_level="省级"), today=today, tz=TZ)
        assert provincial == 4
        text_rows, _ = list_escalations(session, EscalationFilter(text="项目5"), today=today, tz=TZ)
        assert [row.project_name for row in text_rows] == ["项目5"]
        page2, total = list_escalations(session, EscalationFilter(), today=today, tz=TZ, limit=4, offset=4)
        assert total == 9 and len(page2) == 4


def test_queue_shows_the_state_of_the_newest_sms(sessions):
    with db.transaction(sessions) as session:
        f.milestone(session, DUE)
    run_tick(sessions, fast_settings(), now=at(DUE + timedelta(days=1), 9), backend=RecordingBackend())
    with db.transaction(sessions) as session:
        (row,), _ = list_escalations(session, EscalationFilter(), today=DUE + timedelta(days=1), tz=TZ)
    assert row.last_sms_state == "sent" and row.reason == "overdue"
