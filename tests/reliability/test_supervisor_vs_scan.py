"""A supervisor resolving an item while the scan resolves it too (its milestone was just
completed), on two connections at the same moment, SQLite and PostgreSQL: one clean
outcome, and every audit event true — the loser writes none.

Two interleavings: both threads released together by a barrier (repeated, so the
scheduler picks different orders), and — on PostgreSQL, where transactions run side by
side — the worst case forced: the supervisor reads the item, the scan resolves and commits,
then the supervisor acts on what it read. (SQLite serialises write transactions with
BEGIN IMMEDIATE, so there the scan cannot slip between the supervisor's read and write.)
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

import factories
from deadline_watch.board import supervision, users
from deadline_watch.core.config import Settings
from deadline_watch.core.db import transaction
from deadline_watch.domain.models import AuditEvent, Escalation, Milestone, User
from deadline_watch.watch.service import scan_and_enqueue

DUE = date(2026, 11, 1)
OPENED = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
WAIT = 60  # seconds a thread waits for the other before the test gives up (never reached when green)


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch):
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def overdue_item_just_completed(sessions, settings: Settings, number: int) -> int:
    """An open escalation whose milestone has just been marked completed (as an import
    does), so that the next scan resolves it as completed_late."""
    with transaction(sessions) as session:
        milestone = factories.milestone(session, DUE)
        if session.scalar(sa.select(User.id).where(User.username == "sup")) is None:
            users.add_user(session, username="sup", role="supervisor", password="long-enough", now=OPENED)
    with transaction(sessions) as session:
        scan_and_enqueue(session, settings, now=OPENED)
        escalation_id = session.scalar(sa.select(Escalation.id).where(Escalation.milestone_id == milestone.id))
    with transaction(sessions) as session:
        session.execute(
            sa.update(Milestone).where(Milestone.id == milestone.id)
            .values(status="completed", completed_on=date(2026, 11, 22))
        )
    assert escalation_id is not None, number
    return escalation_id


def supervisor_resolves(sessions, escalation_id: int, *, before_acting, outcome: dict) -> None:
    try:
        with transaction(sessions) as session:
            actor = users.get_user(session, "sup")
            # what `resolve` reads first, held (the identity map is weak) so that it acts on it
            shown = supervision.get_escalation(session, escalation_id)
            before_acting()
            supervision.resolve(session, shown.id, resolution="waived", actor=actor, now=NOW, note="已电话督促")
        outcome["supervisor"] = "resolved"
    except supervision.SupervisionError as refused:
        outcome["supervisor"] = refused


def scan_resolves(sessions, settings: Settings, *, before_scanning, outcome: dict, done: threading.Event) -> None:
    try:
        before_scanning()
        with transaction(sessions) as session:
            outcome["scan"] = scan_and_enqueue(session, settings, now=NOW).escalations_resolved
    finally:
        done.set()


def race(sessions, settings: Settings, escalation_id: int, *, force_stale_read: bool) -> dict:
    outcome: dict = {}
    scan_done = threading.Event()
    if force_stale_read:
        supervisor_read = threading.Event()

        def before_acting() -> None:
            supervisor_read.set()
            assert scan_done.wait(WAIT), "the scan never finished"

        def before_scanning() -> None:
            assert supervisor_read.wait(WAIT), "the supervisor never read the item"
    else:
        barrier = threading.Barrier(2, timeout=WAIT)
        before_acting = before_scanning = barrier.wait
    threads = [
        threading.Thread(target=supervisor_resolves, args=(sessions, escalation_id),
                         kwargs={"before_acting": before_acting, "outcome": outcome}),
        threading.Thread(target=scan_resolves, args=(sessions, settings),
                         kwargs={"before_scanning": before_scanning, "outcome": outcome, "done": scan_done}),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT * 2)
    assert not any(thread.is_alive() for thread in threads)
    return outcome


def assert_one_clean_outcome(sessions, escalation_id: int, outcome: dict) -> str:
    """Exactly one resolution, by whoever won; its audit event says what really happened."""
    with transaction(sessions) as session:
        row = session.get(Escalation, escalation_id)
        resolved = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.entity_type == "escalation",
                                        AuditEvent.entity_id == escalation_id,
                                        AuditEvent.action == "escalation.resolved")
        ).all()
        assert row.state == "resolved"
        assert len(resolved) == 1, [(e.actor, e.after) for e in resolved]
        [event] = resolved
        assert event.before["state"] == "open" and event.after["resolution"] == row.resolution
        if outcome["supervisor"] == "resolved":
            assert (row.resolution, event.actor, outcome["scan"]) == ("waived", "user:sup", 0)
            assert "已电话督促" in row.notes
            return "supervisor"
        refused = outcome["supervisor"]
        assert isinstance(refused, supervision.SupervisionError), refused
        assert "督办事项" in refused.message_zh  # the board shows why, in Chinese
        assert (row.resolution, event.actor, outcome["scan"]) == ("completed_late", "watch", 1)
        assert "已电话督促" not in row.notes  # the loser's note went nowhere either
        return "scan"


def test_supervisor_and_scan_resolving_at_once_leave_one_true_resolution(sessions, settings):
    winners = []
    for number in range(6):
        escalation_id = overdue_item_just_completed(sessions, settings, number)
        outcome = race(sessions, settings, escalation_id, force_stale_read=False)
        winners.append(assert_one_clean_outcome(sessions, escalation_id, outcome))
    assert set(winners) <= {"supervisor", "scan"}


# PostgreSQL only: SQLite serialises write transactions, so the scan cannot commit between a
# supervisor's read and write there.
@pytest.mark.parametrize("backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_supervisor_acting_on_a_stale_read_is_refused_and_writes_nothing(backend, sessions, settings):
    escalation_id = overdue_item_just_completed(sessions, settings, 0)
    outcome = race(sessions, settings, escalation_id, force_stale_read=True)
    assert assert_one_clean_outcome(sessions, escalation_id, outcome) == "scan"
    assert isinstance(outcome["supervisor"], supervision.SupervisionConflict)
