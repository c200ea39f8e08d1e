"""The human side of an escalation: state machine and audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

import factories
from deadline_watch.board import supervision, users
from deadline_watch.core.db import transaction
from deadline_watch.core.errors import NotFoundError
from deadline_watch.domain.models import AuditEvent, Escalation

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch):
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def seeded(sessions):
    with transaction(sessions) as session:
        milestone = factories.milestone(session, date(2026, 11, 1))
        escalation = Escalation(dedup_key="e1", milestone_id=milestone.id, due_date=milestone.due_date, level=1,
                                state="open", reason="overdue", opened_at=NOW)
        session.add(escalation)
        for name, role in (("sup", "supervisor"), ("other", "supervisor"), ("view", "viewer")):
            users.add_user(session, username=name, role=role, password="long-enough", now=NOW)
        session.flush()
        return escalation.id


def actor(session, name="sup"):
    return users.get_user(session, name)


def events(session, escalation_id):
    return session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "escalation",
                                                    AuditEvent.entity_id == escalation_id).order_by(AuditEvent.id)).all()


def test_acknowledge_takes_the_item_and_audits_it(sessions, seeded):
    with transaction(sessions) as session:
        row = supervision.acknowledge(session, seeded, actor=actor(session), now=NOW)
        assert row.state == "acknowledged" and row.assignee.username == "sup" and row.acknowledged_at == NOW
    with transaction(sessions) as session:
        [event] = events(session, seeded)
        assert event.actor == "user:sup" and event.before["state"] == "open" and event.after["state"] == "acknowledged"


def test_acknowledging_twice_is_refused(sessions, seeded):
    with transaction(sessions) as session:
        supervision.acknowledge(session, seeded, actor=actor(session), now=NOW)
        with pytest.raises(supervision.SupervisionError):
            supervision.acknowledge(session, seeded, actor=actor(session, "other"), now=NOW)


def test_assign_moves_an_open_item_to_acknowledged_and_refuses_viewers(sessions, seeded):
    with transaction(sessions) as session:
        with pytest.raises(supervision.SupervisionError):
            supervision.assign(session, seeded, assignee="view", actor=actor(session), now=NOW)
        row = supervision.assign(session, seeded, assignee="other", actor=actor(session), now=NOW)
        assert row.state == "acknowledged" and row.assignee.username == "other"
        assert events(session, seeded)[-1].after["assignee"] == "other"


def test_resolved_is_final_but_still_takes_notes(sessions, seeded):
    with transaction(sessions) as session:
        supervision.resolve(session, seeded, resolution="waived", note="市领导批示免于督办",
                            actor=actor(session), now=NOW)
        for attempt in (
            lambda: supervision.acknowledge(session, seeded, actor=actor(session), now=NOW),
            lambda: supervision.assign(session, seeded, assignee="other", actor=actor(session), now=NOW),
            lambda: supervision.resolve(session, seeded, resolution="waived", actor=actor(session), now=NOW),
        ):
            with pytest.raises(supervision.SupervisionError):
                attempt()
        row = supervision.add_note(session, seeded, text="已归档", actor=actor(session), now=NOW)
        assert row.state == "resolved" and row.resolution == "waived"
        assert "市领导批示免于督办" in row.notes and "已归档" in row.notes
        assert [e.action for e in events(session, seeded)] == ["escalation.resolved", "escalation.note_added"]


@pytest.mark.parametrize("resolution", ["cancelled", "reached", "", "fixed"])
def test_system_or_unknown_resolutions_are_refused(sessions, seeded, resolution):
    with transaction(sessions) as session, pytest.raises(supervision.SupervisionError):
        supervision.resolve(session, seeded, resolution=resolution, actor=actor(session), now=NOW)


def test_empty_or_huge_notes_are_refused(sessions, seeded):
    with transaction(sessions) as session:
        for text in ("", "   ", "字" * (supervision.MAX_NOTE_LENGTH + 1)):
            with pytest.raises(supervision.SupervisionError):
                supervision.add_note(session, seeded, text=text, actor=actor(session), now=NOW)


def test_unknown_escalation_raises_not_found(sessions, seeded):
    with transaction(sessions) as session, pytest.raises(NotFoundError):
        supervision.acknowledge(session, 424242, actor=actor(session), now=NOW)


def test_detail_counts_days_overdue_of_an_open_item(sessions, seeded):
    with transaction(sessions) as session:
        detail = supervision.escalation_detail(session, seeded, today=date(2026, 11, 23), tz=TZ)
        assert detail.days_overdue == 22 and detail.reached_official is False


def test_queue_and_detail_name_the_milestone_owner_with_that_persons_own_mobile(sessions, seeded):
    """An override owner without a mobile is shown without one, never with the project owner's."""
    from deadline_watch.board.escalation_queue import EscalationFilter, list_escalations

    with transaction(sessions) as session:
        escalation = session.get(Escalation, seeded)
        override = factories.person(session, name="李四")
        override.mobile = None
        escalation.milestone.owner_id = override.id
    with transaction(sessions) as session:
        detail = supervision.escalation_detail(session, seeded, today=date(2026, 11, 23), tz=TZ)
        [row], _ = list_escalations(session, EscalationFilter(), today=date(2026, 11, 23), tz=TZ)
        assert (detail.owner, detail.owner_mobile) == ("李四", None)
        assert (row.owner, row.owner_mobile) == ("李四", None)
