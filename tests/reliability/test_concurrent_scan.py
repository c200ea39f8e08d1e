"""Concurrent scans — threads and separate processes, SQLite and PostgreSQL — leave each
intent, each board item and each level rise exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

import factories as f
from deadline_watch.core import db
from deadline_watch.core.config import Settings
from deadline_watch.domain.models import AuditEvent, Escalation, Notification
from deadline_watch.watch.service import run_scan
from watch_support import at

TODAY = date(2026, 12, 1)
NOW = at(TODAY, 9, 0)
CHILD = Path(__file__).with_name("concurrent_scan_child.py")


def seed(sessions) -> dict[str, int]:
    """20 milestones in the reminder window, 15 newly overdue, 10 overdue for 8 days with a
    level-1 escalation already open (to be raised); two supervisors."""
    with db.transaction(sessions) as session:
        leader = f.person(session, name="李领导", roles="lead_leader")
        f.person(session, name="督查甲", roles="supervisor")
        f.person(session, name="督查乙", roles="supervisor")
        for index in range(20):
            f.milestone(session, TODAY + timedelta(days=index % 8), project_=f.project(session, lead_leader=leader))
        for index in range(15):
            f.milestone(session, TODAY - timedelta(days=1 + index % 5), project_=f.project(session, lead_leader=leader))
        for _ in range(10):
            milestone = f.milestone(session, TODAY - timedelta(days=8), project_=f.project(session, lead_leader=leader))
            session.add(Escalation(dedup_key=f"overdue:{milestone.id}:{milestone.due_date.isoformat()}",
                                   milestone_id=milestone.id, due_date=milestone.due_date, level=1, state="open",
                                   opened_at=at(TODAY - timedelta(days=7))))
    # owner + lead leader at level 1; owner + lead leader + 2 supervisors at level 2
    return {"reminders": 20, "opened": 15, "raised": 10, "escalation_sms": 15 * 2 + 10 * 4}


def assert_once(sessions, expected: dict[str, int]) -> None:
    with db.transaction(sessions) as session:
        rules = dict(session.execute(
            sa.select(Notification.rule, sa.func.count(Notification.id)).group_by(Notification.rule)
        ).all())
        keys = session.scalars(sa.select(Notification.dedup_key)).all()
        escalations = session.scalars(sa.select(Escalation)).all()
        actions = dict(session.execute(
            sa.select(AuditEvent.action, sa.func.count(AuditEvent.id)).group_by(AuditEvent.action)
        ).all())
    assert len(keys) == len(set(keys))
    assert rules == {"reminder": expected["reminders"], "escalation": expected["escalation_sms"]}
    assert len(escalations) == expected["opened"] + expected["raised"]
    assert len({escalation.milestone_id for escalation in escalations}) == len(escalations)
    assert actions.get("escalation.opened") == expected["opened"]
    assert actions.get("escalation.raised") == expected["raised"]


def test_concurrent_threads_enqueue_each_intent_once(engine, sessions):
    expected = seed(sessions)
    barrier = threading.Barrier(4)
    totals: list = []
    errors: list = []

    def worker() -> None:
        own = db.session_factory(engine)
        try:
            barrier.wait()
            for _ in range(3):
                counts, _ = run_scan(own, Settings(), now=NOW)
                totals.append(counts)
        except Exception as exc:  # surfaced below with the thread's error
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sum(counts.reminders_enqueued for counts in totals) == expected["reminders"]
    assert sum(counts.escalations_opened for counts in totals) == expected["opened"]
    assert sum(counts.escalations_raised for counts in totals) == expected["raised"]
    assert_once(sessions, expected)


def test_concurrent_processes_enqueue_each_intent_once(db_url, sessions):
    expected = seed(sessions)
    start_at = time.time() + 2.0  # every child starts scanning at the same instant
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    children = [
        subprocess.Popen([sys.executable, str(CHILD), db_url, NOW.isoformat(), str(start_at), "2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(3)
    ]
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(result["reminders_enqueued"] for result in results) == expected["reminders"]
    assert sum(result["escalations_opened"] for result in results) == expected["opened"]
    assert sum(result["escalations_raised"] for result in results) == expected["raised"]
    assert sum(result["escalation_sms_enqueued"] for result in results) == expected["escalation_sms"]
    assert_once(sessions, expected)
