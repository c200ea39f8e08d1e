"""Round trips of every entity through a real database, including UTC instants and JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from deadline_watch.core import db
from deadline_watch.domain.models import (
    AuditEvent,
    Escalation,
    Milestone,
    Notification,
    Person,
    Project,
    TickRun,
    Unit,
    User,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)


def _registry(session):
    parent = Unit(name="高新区管委会", created_at=NOW)
    unit = Unit(name="新经济发展局", code="XJJ", parent=parent, created_at=NOW)
    owner = Person(name="杜萍明", mobile="+8619800006866", unit=unit, roles="owner", created_at=NOW)
    leader = Person(name="郭刚", mobile="+8618900009807", roles="lead_leader", created_at=NOW)
    project = Project(
        code="GX-2026-0001",
        name="中和湿地公园人才公寓建设",
        unit=unit,
        co_units="中和街道办事处、规划局",
        owner=owner,
        lead_leader=leader,
        level="市级",
        created_at=NOW,
        updated_at=NOW,
    )
    milestone = Milestone(
        project=project, name="组织实施", position=2, due_date=date(2026, 12, 27), created_at=NOW, updated_at=NOW
    )
    session.add_all([parent, unit, owner, leader, project, milestone])
    session.flush()
    return project, milestone, owner


def test_registry_round_trip(sessions):
    with db.transaction(sessions) as session:
        project, milestone, owner = _registry(session)
        ids = project.id, milestone.id
    with sessions() as session:
        project = session.get(Project, ids[0])
        assert project.unit.parent.name == "高新区管委会"
        assert project.owner.mobile == "+8619800006866"
        assert project.lead_leader.name == "郭刚"
        assert project.status == "active"
        assert project.milestones[0].due_date == date(2026, 12, 27)
        assert project.milestones[0].completed_on is None
        assert project.created_at == NOW
        assert project.created_at.tzinfo is not None
        assert project.created_at.utcoffset() == timedelta(0)


def test_notification_and_escalation_round_trip(sessions):
    with db.transaction(sessions) as session:
        _project, milestone, owner = _registry(session)
        user = User(username="sup", password_hash="x", role="supervisor", created_at=NOW)
        session.add(user)
        session.add(
            Notification(
                dedup_key=f"reminder:{milestone.id}:2026-12-27:7",
                milestone=milestone,
                rule="reminder",
                due_date=milestone.due_date,
                days_left=7,
                recipient=owner,
                to_number=owner.mobile,
                body="【高新区督办】测试",
                next_attempt_at=NOW,
                created_at=NOW,
                updated_at=NOW,
            )
        )
        session.add(
            Escalation(
                dedup_key=f"overdue:{milestone.id}:2026-12-27",
                milestone=milestone,
                due_date=milestone.due_date,
                level=1,
                opened_at=NOW,
                assignee=user,
            )
        )
        session.add(
            AuditEvent(
                at=NOW,
                actor="import",
                action="milestone.updated",
                entity_type="milestone",
                entity_id=milestone.id,
                before={"due_date": "2026-12-20"},
                after={"due_date": "2026-12-27"},
            )
        )
        session.add(TickRun(kind="scan", started_at=NOW, finished_at=NOW, counts={"reminders_enqueued": 1}))
    with sessions() as session:
        notification = session.scalars(sa.select(Notification)).one()
        assert (notification.state, notification.attempts) == ("pending", 0)
        assert notification.next_attempt_at == NOW
        escalation = session.scalars(sa.select(Escalation)).one()
        assert escalation.state == "open"
        assert escalation.assignee.username == "sup"
        audit = session.scalars(sa.select(AuditEvent)).one()
        assert audit.after == {"due_date": "2026-12-27"}
        assert session.scalars(sa.select(TickRun)).one().counts == {"reminders_enqueued": 1}


def test_notification_dedup_key_is_unique(sessions):
    with db.transaction(sessions) as session:
        _project, milestone, owner = _registry(session)
        milestone_id = milestone.id
    row = dict(
        dedup_key="k",
        milestone_id=milestone_id,
        rule="reminder",
        due_date=date(2026, 12, 27),
        to_number="+8619800006866",
        body="x",
        next_attempt_at=NOW,
        created_at=NOW,
        updated_at=NOW,
    )
    with db.transaction(sessions) as session:
        session.add(Notification(**row))
    with pytest.raises(IntegrityError):
        with db.transaction(sessions) as session:
            session.add(Notification(**row))


def test_naive_datetime_is_refused(sessions):
    with pytest.raises(Exception) as raised:
        with db.transaction(sessions) as session:
            session.add(Unit(name="x", created_at=datetime(2026, 1, 1)))
    assert "naive" in str(raised.value)


def test_instants_are_stored_in_utc(engine, sessions):
    with db.transaction(sessions) as session:
        session.add(Unit(name="u", created_at=NOW))
    with engine.connect() as connection:
        raw = connection.execute(sa.text("select created_at from units")).scalar_one()
    if isinstance(raw, str):  # SQLite keeps text
        assert raw.startswith("2026-11-23 01:30:00")
    else:
        assert raw.astimezone(UTC).hour == 1
