"""Nothing slips out: a completed milestone made open again comes back to supervision.

Each path that reopens a milestone (a re-import without the completion date, the admin's
correction, a pruned node restored) is followed by a scan, on SQLite and PostgreSQL; the
item must be back on the queue at the level its days overdue call for.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import sqlalchemy as sa

from deadline_watch.board.completion import complete_milestone, reopen_milestone
from deadline_watch.core import db
from deadline_watch.daemon.tick import run_tick
from deadline_watch.domain.board_items import EscalationFacts
from deadline_watch.domain.models import AuditEvent, Escalation, Milestone
from deadline_watch.registry import ImportOptions, import_bytes
from deadline_watch.registry.columns import COLUMNS
from deadline_watch.watch.decisions import Reopen
from deadline_watch.watch.rules import MilestoneFacts, plan_escalation
from watch_support import RecordingBackend, at, fast_settings

DUE = date(2026, 10, 21)
CODE = "GX-2026-0001"


def registry_csv(completed_on: str = "", *, with_milestone: bool = True) -> bytes:
    rows = [
        {"project_code": CODE, "project_name": "综合管廊一期", "unit": "住房建设局", "lead_leader": "郭刚",
         "lead_leader_mobile": "18900009807", "owner": "杜萍明", "owner_mobile": "19800006866",
         "milestone": "组织实施", "due_date": DUE.isoformat(), "completed_on": completed_on, "level": "市级"},
        {"project_code": CODE, "project_name": "综合管廊一期", "unit": "住房建设局", "lead_leader": "郭刚",
         "lead_leader_mobile": "18900009807", "owner": "杜萍明", "owner_mobile": "19800006866",
         "milestone": "验收结项", "due_date": "2027-05-06", "level": "市级"},
    ]
    if not with_milestone:
        rows = rows[1:]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([column.zh for column in COLUMNS])
    for values in rows:
        writer.writerow([values.get(column.key, "") for column in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def load(sessions, content: bytes, now, *, dry_run: bool = False, prune: bool = False):
    return import_bytes(sessions, filename="台账.csv", content=content, now=now,
                        options=ImportOptions(dry_run=dry_run, prune=prune), actor="user:admin1")


def tick(sessions, now, backend=None):
    return run_tick(sessions, fast_settings(), now=now, backend=backend or RecordingBackend())


def the_escalation(sessions) -> Escalation:
    with db.transaction(sessions) as session:
        (escalation,) = session.scalars(sa.select(Escalation)).all()
        session.expunge(escalation)
        return escalation


def overdue_then_completed(sessions) -> None:
    """Imported, two days overdue (level 1), then completed through the CLI and resolved."""
    load(sessions, registry_csv(), at(DUE - timedelta(days=30)))
    tick(sessions, at(DUE + timedelta(days=2), 10))
    assert the_escalation(sessions).level == 1
    with db.transaction(sessions) as session:
        complete_milestone(session, CODE, "组织实施", on=DUE + timedelta(days=3), evidence=None,
                           now=at(DUE + timedelta(days=3), 10), actor="cli")
    escalation = the_escalation(sessions)
    assert (escalation.state, escalation.resolution) == ("resolved", "completed_late")


def test_reimport_without_completion_date_is_flagged_and_brings_the_item_back(sessions):
    overdue_then_completed(sessions)
    when = at(DUE + timedelta(days=10), 9)
    dry = load(sessions, registry_csv(), when, dry_run=True)
    assert dry.reopened == [f"{CODE}/组织实施"]
    assert any("已完成节点被重新打开" in line for line in dry.summary_lines())
    assert any("已完成节点被重新打开" in change.describe() for change in dry.changes)
    assert dry.to_dict()["reopened"] == [f"{CODE}/组织实施"]
    real = load(sessions, registry_csv(), when)
    assert real.written and real.reopened == [f"{CODE}/组织实施"]
    with db.transaction(sessions) as session:
        actions = list(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.entity_type == "milestone")))
    assert "milestone.reopened" in actions

    backend = RecordingBackend()
    result = tick(sessions, at(DUE + timedelta(days=10), 10), backend)
    assert result.scan.escalations_reopened == 1
    escalation = the_escalation(sessions)
    # ten days overdue: the default levels call for level 2 (7 days), and its SMS go out
    assert (escalation.state, escalation.resolution, escalation.level) == ("open", None, 2)
    assert escalation.resolved_at is None
    levels = [key.split(":")[3] for key in backend.keys() if key.startswith("escalation:")]
    # the level-2 SMS go out; the level-1 SMS already sent for this date are not sent again
    assert levels and set(levels) == {"2"}
    again = tick(sessions, at(DUE + timedelta(days=10), 11))
    assert again.scan.escalations_reopened == 0 and the_escalation(sessions).state == "open"


def test_same_completion_reimported_is_not_flagged(sessions):
    overdue_then_completed(sessions)
    report = load(sessions, registry_csv((DUE + timedelta(days=3)).isoformat()), at(DUE + timedelta(days=9)),
                  dry_run=True)
    assert report.reopened == []
    assert not any("重新打开" in line for line in report.summary_lines())


def test_admin_correction_brings_the_item_back(sessions):
    overdue_then_completed(sessions)
    with db.transaction(sessions) as session:
        reopen_milestone(session, CODE, "组织实施", now=at(DUE + timedelta(days=4), 9), actor="user:admin1")
    with db.transaction(sessions) as session:
        milestone = session.scalars(sa.select(Milestone).where(Milestone.name == "组织实施")).one()
        assert (milestone.status, milestone.completed_on) == ("open", None)
    result = tick(sessions, at(DUE + timedelta(days=4), 10))
    assert result.scan.escalations_reopened == 1
    escalation = the_escalation(sessions)
    assert (escalation.state, escalation.level) == ("open", 1)
    with db.transaction(sessions) as session:
        history = list(session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.entity_type == "escalation").order_by(AuditEvent.id)))
    assert history == ["escalation.opened", "escalation.resolved", "escalation.reopened"]


def test_pruned_node_restored_by_import_comes_back(sessions):
    load(sessions, registry_csv(), at(DUE - timedelta(days=30)))
    tick(sessions, at(DUE + timedelta(days=2), 10))
    load(sessions, registry_csv(with_milestone=False), at(DUE + timedelta(days=3)), prune=True)
    tick(sessions, at(DUE + timedelta(days=3), 10))
    assert (the_escalation(sessions).state, the_escalation(sessions).resolution) == ("resolved", "cancelled")
    load(sessions, registry_csv(), at(DUE + timedelta(days=8)))
    tick(sessions, at(DUE + timedelta(days=8), 10))
    escalation = the_escalation(sessions)
    assert (escalation.state, escalation.level) == ("open", 2)


def test_supervisor_resolution_of_an_open_milestone_stays_resolved(sessions):
    load(sessions, registry_csv(), at(DUE - timedelta(days=30)))
    tick(sessions, at(DUE + timedelta(days=2), 10))
    with db.transaction(sessions) as session:
        session.execute(sa.update(Escalation).values(state="resolved", resolution="waived"))
    result = tick(sessions, at(DUE + timedelta(days=9), 10))
    assert result.scan.escalations_reopened == 0 and result.scan.escalations_opened == 0
    assert the_escalation(sessions).state == "resolved"


def test_rule_reopens_only_resolutions_that_held_because_of_the_milestone():
    facts = MilestoneFacts(1, 1, CODE, "p", "u", "组织实施", DUE)
    now = at(DUE + timedelta(days=8))
    for resolution in ("completed_late", "cancelled"):
        decision = plan_escalation(facts, EscalationFacts(5, 1, DUE, 1, "resolved", resolution),
                                   settings=fast_settings(), now=now)
        assert decision == Reopen(facts, escalation_id=5, from_level=1, level=2)
    for resolution in ("waived", "referred_for_accountability", "deadline_extended"):
        assert plan_escalation(facts, EscalationFacts(5, 1, DUE, 1, "resolved", resolution),
                               settings=fast_settings(), now=now) is None
