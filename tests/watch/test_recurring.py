"""A recurring task (每月25日前) through a year of the watch: each occurrence on its own."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from deadline_watch.board.completion import complete_milestone
from deadline_watch.core import db
from deadline_watch.daemon.tick import run_tick
from deadline_watch.domain.models import Escalation, Milestone, Notification, Project
from deadline_watch.registry import ImportOptions, import_path
from watch_support import RecordingBackend, at, fast_settings

pytestmark = pytest.mark.slow

SHEET = [
    ["2027年重点工作责任分解表"],
    ["序号", "重点任务", "主办单位", "责任人", "责任人手机", "完成时限"],
    ["1", "报送重点项目推进情况", "新经济发展局", "杜萍明", "19800006866", "每月25日前"],
    ["2", "优化营商环境", "行政审批局", "陈晨", "13800003333", "长期坚持"],
]


def _import(sessions, tmp_path):
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(SHEET)
    path = tmp_path / "分解表.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")
    report = import_path(sessions, path, now=at(date(2026, 12, 1)), options=ImportOptions(today=date(2026, 12, 1)))
    assert report.errors == [] and report.occurrences_created == 1


def test_a_year_of_a_monthly_task_reminds_and_escalates_each_occurrence_once(sessions, tmp_path):
    _import(sessions, tmp_path)
    settings = fast_settings()
    backend = RecordingBackend()
    with sessions() as session:
        code = session.scalar(sa.select(Project.code).where(Project.schedule == "monthly:25"))
    day = date(2027, 1, 1)
    while day <= date(2027, 12, 31):
        # odd months are reported on the 24th; even months are left undone
        if day.day == 24 and day.month % 2 == 1:
            with db.transaction(sessions) as session:
                complete_milestone(session, code, f"2027年{day.month:02d}月", on=day, evidence=None,
                                   now=at(day, 17), actor="test")
        run_tick(sessions, settings, now=at(day, 9), backend=backend)
        day += timedelta(days=1)

    with sessions() as session:
        milestones = session.execute(
            sa.select(Milestone.id, Milestone.name, Milestone.due_date, Milestone.status)
            .join(Project).where(Project.code == code).order_by(Milestone.due_date)
        ).all()
        names = [row.name for row in milestones]
        # the year's twelve, and January 2028 once December's date had passed: never further ahead
        assert names == [f"2027年{month:02d}月" for month in range(1, 13)] + ["2028年01月"]
        reminders = session.execute(
            sa.select(Notification.milestone_id, Notification.days_left)
            .where(Notification.rule == "reminder")
        ).all()
        escalated = set(session.scalars(sa.select(Escalation.milestone_id)).all())
        standing = session.scalar(sa.select(Project).where(Project.schedule == "standing"))
        standing_sms = session.scalar(
            sa.select(sa.func.count(Notification.id)).join(Milestone).where(Milestone.project_id == standing.id)
        )
    by_month = {row.name: row for row in milestones}
    for month in range(1, 13):
        occurrence = by_month[f"2027年{month:02d}月"]
        assert occurrence.due_date == date(2027, month, 25)
        # reminded once, seven days ahead, for each occurrence by itself
        assert [days for mid, days in reminders if mid == occurrence.id] == [7]
        if month % 2 == 1:
            assert occurrence.status == "completed" and occurrence.id not in escalated
        else:
            assert occurrence.status == "open" and occurrence.id in escalated
    # completing one occurrence never completed the next
    assert by_month["2027年02月"].status == "open"
    assert standing_sms == 0


def test_each_new_occurrence_is_audited_once_with_its_own_id(sessions, tmp_path):
    from deadline_watch.domain import occurrences
    from deadline_watch.domain.models import AuditEvent

    _import(sessions, tmp_path)
    with db.transaction(sessions) as session:
        created = occurrences.extend(session, today=date(2027, 2, 26), now=at(date(2027, 2, 26)))
        again = occurrences.extend(session, today=date(2027, 2, 26), now=at(date(2027, 2, 26)))
    with sessions() as session:
        events = session.execute(
            sa.select(AuditEvent.entity_id, AuditEvent.after)
            .where(AuditEvent.action == "milestone.occurrence_created").order_by(AuditEvent.id)
        ).all()
        names = dict(session.execute(sa.select(Milestone.id, Milestone.name)).all())
    assert again == 0
    assert created == len(events) - 1  # the import created December's
    assert [names[event.entity_id] for event in events] == [event.after["name"] for event in events]
    assert len({event.entity_id for event in events}) == len(events)
    assert [event.after["recurrence"] for event in events] == ["monthly:25"] * len(events)


@pytest.mark.parametrize("ahead", [1, 2, 3])
def test_extending_twice_on_one_day_keeps_exactly_ahead_upcoming_occurrences(sessions, tmp_path, ahead):
    from deadline_watch.domain import occurrences

    _import(sessions, tmp_path)
    today = date(2027, 2, 26)  # February's 25th has passed: March's is the next one
    with db.transaction(sessions) as session:
        occurrences.extend(session, today=today, now=at(today), ahead=ahead)
        again = occurrences.extend(session, today=today, now=at(today), ahead=ahead)
    with sessions() as session:
        dues = sorted(session.scalars(sa.select(Milestone.due_date).where(Milestone.status == "open")))
    assert again == 0
    upcoming = [due for due in dues if due >= today]
    assert upcoming == [date(2027, 3 + n, 25) for n in range(ahead)]
    # the series starts in the title's year (2027); the periods passed since are there once each
    assert [due for due in dues if due < today] == [date(2027, 1, 25), date(2027, 2, 25)]
