"""One tick end to end on SQLite and PostgreSQL: every rule, with a recording SMS backend."""

from datetime import date, timedelta

import sqlalchemy as sa

import factories as f
from deadline_watch.core import db
from deadline_watch.daemon.tick import run_tick
from deadline_watch.domain.models import Escalation, Milestone, Notification, Person, TickRun
from watch_support import RecordingBackend, at, fast_settings, with_levels

DUE = date(2026, 12, 8)  # a Tuesday


def make_milestone(sessions, due=DUE, **project_kwargs):
    with db.transaction(sessions) as session:
        leader = f.person(session, name="李领导", roles="lead_leader")
        project = f.project(session, lead_leader=leader, **project_kwargs)
        return f.milestone(session, due, project_=project).id


def tick(sessions, now, backend=None, settings=None, **kwargs):
    return run_tick(sessions, settings or fast_settings(), now=now, backend=backend or RecordingBackend(), **kwargs)


def notifications(sessions):
    with db.transaction(sessions) as session:
        return list(session.scalars(sa.select(Notification).order_by(Notification.id)))


def test_reminder_is_sent_once_however_often_the_tick_runs(sessions):
    make_milestone(sessions)
    backend = RecordingBackend()
    for minute in range(0, 60, 5):
        tick(sessions, at(DUE - timedelta(days=7), 10, minute), backend)
    assert len(backend.sent) == 1
    assert "剩余7天" in backend.sent[0].body and backend.sent[0].kind == "reminder"
    assert [row.state for row in notifications(sessions)] == ["sent"]


def test_reminder_due_at_night_is_sent_at_the_window_opening(sessions):
    make_milestone(sessions)
    backend = RecordingBackend()
    first = tick(sessions, at(DUE - timedelta(days=7), 0, 5), backend)
    assert first.scan.reminders_enqueued == 1 and first.sent == 0
    (row,) = notifications(sessions)
    assert row.next_attempt_at == at(DUE - timedelta(days=7), 8, 30)
    tick(sessions, at(DUE - timedelta(days=7), 8, 25), backend)
    assert backend.sent == []
    tick(sessions, at(DUE - timedelta(days=7), 8, 30), backend)
    assert len(backend.sent) == 1


def test_completed_milestone_cancels_its_pending_reminder(sessions):
    milestone_id = make_milestone(sessions)
    tick(sessions, at(DUE - timedelta(days=7), 1))
    with db.transaction(sessions) as session:
        milestone = session.get(Milestone, milestone_id)
        milestone.status, milestone.completed_on = "completed", DUE - timedelta(days=7)
    backend = RecordingBackend()
    result = tick(sessions, at(DUE - timedelta(days=7), 9), backend)
    assert result.scan.notifications_cancelled == 1 and backend.sent == []
    (row,) = notifications(sessions)
    assert row.state == "cancelled" and "milestone_completed" in row.last_error


def test_suspended_project_cancels_pending_and_sends_nothing(sessions):
    milestone_id = make_milestone(sessions)
    tick(sessions, at(DUE - timedelta(days=7), 1))
    with db.transaction(sessions) as session:
        session.get(Milestone, milestone_id).project.status = "suspended"
    backend = RecordingBackend()
    tick(sessions, at(DUE - timedelta(days=7), 9), backend)
    tick(sessions, at(DUE + timedelta(days=3), 9), backend)
    assert backend.sent == []
    assert [row.state for row in notifications(sessions)] == ["cancelled"]


def test_due_date_moved_later_rearms_the_reminder_for_the_new_date(sessions):
    milestone_id = make_milestone(sessions)
    backend = RecordingBackend()
    tick(sessions, at(DUE - timedelta(days=7), 9), backend)
    new_due = DUE + timedelta(days=30)
    with db.transaction(sessions) as session:
        session.get(Milestone, milestone_id).due_date = new_due
    tick(sessions, at(DUE - timedelta(days=6), 9), backend)
    assert len(backend.sent) == 1
    tick(sessions, at(new_due - timedelta(days=7), 9), backend)
    assert len(backend.sent) == 2
    owner_id = notifications(sessions)[1].recipient_id
    assert notifications(sessions)[1].dedup_key == f"reminder:{milestone_id}:{new_due.isoformat()}:7:{owner_id}"
    assert "2027年1月7日" in backend.sent[1].body


def test_overdue_opens_level_one_once_visible_at_night_sms_in_the_window(sessions):
    milestone_id = make_milestone(sessions)
    backend = RecordingBackend()
    night = at(DUE + timedelta(days=1), 0, 5)
    first = tick(sessions, night, backend)
    again = tick(sessions, night + timedelta(minutes=5), backend)
    assert (first.scan.escalations_opened, again.scan.escalations_opened) == (1, 0)
    with db.transaction(sessions) as session:
        (escalation,) = session.scalars(sa.select(Escalation)).all()
        assert (escalation.level, escalation.state, escalation.milestone_id) == (1, "open", milestone_id)
    assert backend.sent == []  # the board sees it at once; SMS wait for 08:30
    tick(sessions, at(DUE + timedelta(days=1), 8, 30), backend)
    assert sorted(message.to for message in backend.sent) == sorted(
        {row.to_number for row in notifications(sessions)}
    )
    assert len(backend.sent) == 2  # owner and lead leader
    assert all("逾期1天" in body and "一级督办" in body for body in backend.bodies())


def test_level_rises_on_the_same_row_and_notifies_supervisors(sessions):
    make_milestone(sessions)
    with db.transaction(sessions) as session:
        f.person(session, name="张督查", roles="supervisor")
        opted = f.person(session, name="退订督查", roles="supervisor")
        opted.opted_out_at = at(DUE, 9)
    backend = RecordingBackend()
    tick(sessions, at(DUE + timedelta(days=1), 9), backend)
    result = tick(sessions, at(DUE + timedelta(days=7), 9), backend)
    assert result.scan.escalations_raised == 1
    with db.transaction(sessions) as session:
        (escalation,) = session.scalars(sa.select(Escalation)).all()
        assert escalation.level == 2 and escalation.raised_at == at(DUE + timedelta(days=7), 9)
        rows = session.scalars(sa.select(Notification).where(Notification.level == 2)).all()
        names = {session.get(Person, row.recipient_id).name for row in rows}
    assert len(names) == 3 and {"李领导", "张督查"} < names and "退订督查" not in names
    assert len(backend.sent) == 5  # 2 at level 1, 3 at level 2


def test_completion_resolves_the_escalation_as_completed_late(sessions):
    milestone_id = make_milestone(sessions)
    tick(sessions, at(DUE + timedelta(days=2), 9))
    with db.transaction(sessions) as session:
        milestone = session.get(Milestone, milestone_id)
        milestone.status, milestone.completed_on = "completed", DUE + timedelta(days=2)
    result = tick(sessions, at(DUE + timedelta(days=2), 10))
    assert result.scan.escalations_resolved == 1
    with db.transaction(sessions) as session:
        (escalation,) = session.scalars(sa.select(Escalation)).all()
        assert (escalation.state, escalation.resolution) == ("resolved", "completed_late")
        assert "2026-12-10" in escalation.notes


def test_deadline_extended_resolves_and_rearms(sessions):
    milestone_id = make_milestone(sessions)
    tick(sessions, at(DUE + timedelta(days=2), 9))
    new_due = DUE + timedelta(days=5)
    with db.transaction(sessions) as session:
        session.get(Milestone, milestone_id).due_date = new_due
    backend = RecordingBackend()
    result = tick(sessions, at(DUE + timedelta(days=2), 10), backend)
    assert result.scan.escalations_resolved == 1 and result.scan.reminders_enqueued == 1
    assert "剩余3天" in backend.sent[0].body
    with db.transaction(sessions) as session:
        (escalation,) = session.scalars(sa.select(Escalation)).all()
        assert escalation.resolution == "deadline_extended"
    # overdue again after the new date: a new board item for the new date
    tick(sessions, at(new_due + timedelta(days=1), 9))
    with db.transaction(sessions) as session:
        states = sorted(session.scalars(sa.select(Escalation.state)).all())
    assert states == ["open", "resolved"]


def test_due_date_moved_but_still_past_keeps_one_board_item(sessions):
    milestone_id = make_milestone(sessions)
    tick(sessions, at(DUE + timedelta(days=5), 9))
    with db.transaction(sessions) as session:
        session.get(Milestone, milestone_id).due_date = DUE + timedelta(days=2)
    tick(sessions, at(DUE + timedelta(days=5), 10))
    with db.transaction(sessions) as session:
        (escalation,) = session.scalars(sa.select(Escalation)).all()
        assert escalation.state == "open" and escalation.due_date == DUE + timedelta(days=2)


def test_catch_up_after_three_days_down_sends_only_the_current_reminder(sessions):
    settings = fast_settings(reminders__days_before=[7, 3, 1])
    make_milestone(sessions)
    backend = RecordingBackend()
    tick(sessions, at(DUE - timedelta(days=8), 9), backend, settings)  # nothing yet
    tick(sessions, at(DUE - timedelta(days=1), 9), backend, settings)  # back after a long weekend
    assert len(backend.sent) == 1 and "剩余1天" in backend.sent[0].body
    assert [row.dedup_key.split(":")[3] for row in notifications(sessions)] == ["1"]


def test_catch_up_after_ten_days_down_opens_at_the_current_level_only(sessions):
    make_milestone(sessions)
    backend = RecordingBackend()
    tick(sessions, at(DUE - timedelta(days=8), 9), backend)
    result = tick(sessions, at(DUE + timedelta(days=9), 9), backend)  # ten days later
    assert (result.scan.escalations_opened, result.scan.reminders_enqueued) == (1, 0)
    assert {row.level for row in notifications(sessions)} == {2}
    assert all("逾期9天" in body and "二级" in body for body in backend.bodies())


def test_pending_reminder_is_cancelled_once_the_milestone_is_overdue(sessions):
    make_milestone(sessions)
    tick(sessions, at(DUE, 21, 0), RecordingBackend())  # after the window on the due date: nothing
    # back a day (forced: time only goes forward otherwise): queued for tomorrow 08:30
    tick(sessions, at(DUE - timedelta(days=1), 21, 0), RecordingBackend(), force=True)
    result = tick(sessions, at(DUE + timedelta(days=1), 0, 5), RecordingBackend())
    assert result.scan.notifications_cancelled == 1
    states = {row.rule: row.state for row in notifications(sessions)}
    assert states["reminder"] == "cancelled"


def test_opted_out_owner_gets_nothing(sessions):
    with db.transaction(sessions) as session:
        owner = f.person(session, name="退订者")
        owner.opted_out_at = at(DUE - timedelta(days=30))
        f.milestone(session, DUE, project_=f.project(session, owner=owner))
    backend = RecordingBackend()
    tick(sessions, at(DUE - timedelta(days=5), 9), backend)
    assert backend.sent == []


def test_dry_run_writes_nothing_and_reports_what_it_would_do(sessions):
    make_milestone(sessions)
    result = tick(sessions, at(DUE + timedelta(days=1), 9), dry_run=True)
    assert result.scan.escalations_opened == 1 and len(result.scan.new_intents) == 2
    assert result.delivery == "skipped" and result.due_now == 2
    with db.transaction(sessions) as session:
        assert session.scalar(sa.select(sa.func.count(Escalation.id))) == 0
        assert session.scalar(sa.select(sa.func.count(Notification.id))) == 0
        assert session.scalar(sa.select(sa.func.count(TickRun.id))) == 0


def test_tick_records_a_tick_run_with_its_counts(sessions):
    make_milestone(sessions)
    tick(sessions, at(DUE - timedelta(days=7), 9))
    with db.transaction(sessions) as session:
        (run,) = session.scalars(sa.select(TickRun)).all()
    assert run.kind == "scan" and run.started_at == at(DUE - timedelta(days=7), 9)
    assert run.counts["reminders_enqueued"] == 1 and run.counts["sent"] == 1


def test_custom_levels_with_three_steps(sessions):
    settings = with_levels(
        fast_settings(),
        [
            {"after_days_overdue": 1, "level": 1, "notify": ["owner"]},
            {"after_days_overdue": 3, "level": 2, "notify": ["lead_leader"]},
            {"after_days_overdue": 10, "level": 3, "notify": ["owner", "lead_leader"]},
        ],
    )
    make_milestone(sessions)
    backend = RecordingBackend()
    for day in range(1, 12):
        tick(sessions, at(DUE + timedelta(days=day), 9), backend, settings)
    levels = sorted(row.level for row in notifications(sessions))
    assert levels == [1, 2, 3, 3]
    assert len(backend.sent) == 4


def test_unreachable_items_from_delivery_are_left_alone_by_the_watch(sessions):
    milestone_id = make_milestone(sessions)
    with db.transaction(sessions) as session:
        session.add(Escalation(dedup_key="unreachable:99", milestone_id=milestone_id, reason="unreachable",
                               due_date=DUE, level=1, state="open", opened_at=at(DUE, 9)))
    tick(sessions, at(DUE + timedelta(days=8), 9))
    with db.transaction(sessions) as session:
        session.get(Milestone, milestone_id).status = "completed"
    tick(sessions, at(DUE + timedelta(days=9), 9))
    with db.transaction(sessions) as session:
        rows = {row.reason: (row.level, row.state) for row in session.scalars(sa.select(Escalation))}
    assert rows == {"unreachable": (1, "open"), "overdue": (2, "resolved")}


def test_workdays_mode_board_at_once_sms_on_the_next_working_day(sessions):
    settings = fast_settings(reminders__day_mode="workdays")
    make_milestone(sessions, due=date(2026, 12, 4))  # a Friday
    backend = RecordingBackend()
    saturday = tick(sessions, at(date(2026, 12, 5), 10), backend, settings)
    assert saturday.scan.escalations_opened == 1 and backend.sent == []
    assert {row.next_attempt_at for row in notifications(sessions)} == {at(date(2026, 12, 7), 8, 30)}
    tick(sessions, at(date(2026, 12, 6), 10), backend, settings)
    assert backend.sent == []
    tick(sessions, at(date(2026, 12, 7), 8, 30), backend, settings)
    assert len(backend.sent) == 2


def test_workdays_mode_into_2027_uses_the_fallback_without_crashing(sessions):
    from deadline_watch.domain import workdays as calendar
    calendar._reset_fallback_for_tests()
    settings = fast_settings(reminders__day_mode="workdays", reminders__days_before=[5])
    make_milestone(sessions, due=date(2027, 1, 8))  # a Friday
    # Thursday 2026-12-31: Fri 1 (Monday-Friday fallback) + Mon 4 .. Fri 8 = 6 working days
    result = tick(sessions, at(date(2026, 12, 31), 10), backend=RecordingBackend(), settings=settings)
    assert result.scan.reminders_enqueued == 0
    # Saturday 2027-01-02: 5 left -> due; sent Monday, saying 4 (Tue 5 .. Fri 8)
    result = tick(sessions, at(date(2027, 1, 2), 10), backend=RecordingBackend(), settings=settings)
    assert result.calendar_fallback_years == [2027]
    assert result.scan.reminders_enqueued == 1
    (row,) = notifications(sessions)
    assert row.next_attempt_at == at(date(2027, 1, 4), 8, 30) and "剩余4个工作日" in row.body
    calendar._reset_fallback_for_tests()


def test_scan_reads_only_milestones_near_their_date(sessions):
    with db.transaction(sessions) as session:
        project = f.project(session)
        for index in range(30):  # far in the future, long completed, or cancelled
            f.milestone(session, DUE + timedelta(days=40 + index), project_=project, name=f"远期{index}")
            f.milestone(session, DUE - timedelta(days=60 + index), project_=project, name=f"已完成{index}",
                        completed_on=DUE - timedelta(days=61 + index))
        f.milestone(session, DUE, project_=project, name="临近一")
        f.milestone(session, DUE + timedelta(days=3), project_=project, name="临近二")
    result = tick(sessions, at(DUE - timedelta(days=1), 9))
    assert result.scan.reminder_candidates == 2 and result.scan.reminders_enqueued == 2
    assert result.scan.escalations_opened == 0


def change_owner(sessions, milestone_id, *, project_owner=False, name="赵新"):
    """A new responsible official: the project's owner (registry re-import) or the
    milestone's own owner override. Returns the new person's (id, mobile)."""
    with db.transaction(sessions) as session:
        newcomer = f.person(session, name=name)
        milestone = session.get(Milestone, milestone_id)
        if project_owner:
            milestone.project.owner_id = newcomer.id
        else:
            milestone.owner_id = newcomer.id
        return newcomer.id, newcomer.mobile


def test_new_project_owner_after_the_reminder_was_sent_gets_the_current_reminder_once(sessions):
    settings = fast_settings(reminders__days_before=[7, 3, 1])
    milestone_id = make_milestone(sessions)
    backend = RecordingBackend()
    tick(sessions, at(DUE - timedelta(days=7), 9), backend, settings)
    (old_mobile,) = [message.to for message in backend.sent]
    new_id, new_mobile = change_owner(sessions, milestone_id, project_owner=True)
    result = tick(sessions, at(DUE - timedelta(days=2), 10), backend, settings)
    assert (result.scan.reminders_enqueued, result.scan.notifications_cancelled) == (1, 0)
    assert [message.to for message in backend.sent] == [old_mobile, new_mobile]
    assert "剩余2天" in backend.sent[1].body and "赵新同志" in backend.sent[1].body
    assert backend.sent[1].dedup_key == f"reminder:{milestone_id}:{DUE.isoformat()}:3:{new_id}"
    again = tick(sessions, at(DUE - timedelta(days=2), 10, 5), backend, settings)
    assert (again.scan.reminders_enqueued, again.scan.notifications_cancelled, again.sent) == (0, 0, 0)
    tick(sessions, at(DUE - timedelta(days=1), 10), backend, settings)  # the next threshold: new owner only
    assert [message.to for message in backend.sent] == [old_mobile, new_mobile, new_mobile]
    assert [row.state for row in notifications(sessions)] == ["sent", "sent", "sent"]


def test_owner_override_while_the_reminder_is_pending_cancels_it_and_queues_the_new_owners(sessions):
    milestone_id = make_milestone(sessions)
    backend = RecordingBackend()
    tick(sessions, at(DUE - timedelta(days=7), 0, 5), backend)  # found at night: waits for 08:30
    (old,) = notifications(sessions)
    new_id, new_mobile = change_owner(sessions, milestone_id)
    result = tick(sessions, at(DUE - timedelta(days=7), 7, 0), backend)
    assert (result.scan.notifications_cancelled, result.scan.reminders_enqueued, result.sent) == (1, 1, 0)
    cancelled, queued = notifications(sessions)
    assert cancelled.id == old.id and cancelled.state == "cancelled"
    assert cancelled.last_error == "cancelled: recipient_changed"
    assert (queued.state, queued.recipient_id, queued.to_number) == ("pending", new_id, new_mobile)
    assert queued.next_attempt_at == at(DUE - timedelta(days=7), 8, 30)
    again = tick(sessions, at(DUE - timedelta(days=7), 7, 5), backend)
    assert (again.scan.notifications_cancelled, again.scan.reminders_enqueued) == (0, 0)
    tick(sessions, at(DUE - timedelta(days=7), 8, 30), backend)
    tick(sessions, at(DUE - timedelta(days=7), 12, 0), backend)
    assert [message.to for message in backend.sent] == [new_mobile]
    assert "剩余7天" in backend.sent[0].body
    assert [row.state for row in notifications(sessions)] == ["cancelled", "sent"]


def test_owner_changed_to_an_opted_out_person_cancels_the_pending_reminder_and_sends_nothing(sessions):
    milestone_id = make_milestone(sessions)
    backend = RecordingBackend()
    tick(sessions, at(DUE - timedelta(days=7), 0, 5), backend)
    new_id, _ = change_owner(sessions, milestone_id)
    with db.transaction(sessions) as session:
        session.get(Person, new_id).opted_out_at = at(DUE - timedelta(days=30))
    result = tick(sessions, at(DUE - timedelta(days=7), 9), backend)
    assert (result.scan.notifications_cancelled, result.scan.reminders_enqueued) == (1, 0)
    assert backend.sent == []
    (row,) = notifications(sessions)
    assert row.last_error == "cancelled: recipient_changed"


def test_owner_changed_and_changed_back_before_sending_reminds_the_first_owner_once(sessions):
    milestone_id = make_milestone(sessions)
    backend = RecordingBackend()
    tick(sessions, at(DUE - timedelta(days=7), 0, 5), backend)  # pending for the project owner
    (first,) = notifications(sessions)
    change_owner(sessions, milestone_id)
    tick(sessions, at(DUE - timedelta(days=7), 1, 0), backend)  # theirs cancelled, the override's queued
    with db.transaction(sessions) as session:
        session.get(Milestone, milestone_id).owner_id = None  # the override undone
    result = tick(sessions, at(DUE - timedelta(days=7), 2, 0), backend)
    assert (result.scan.notifications_cancelled, result.scan.reminders_enqueued) == (1, 1)
    revived, dropped = notifications(sessions)
    assert (revived.id, revived.state, revived.last_error) == (first.id, "pending", None)
    assert dropped.last_error == "cancelled: recipient_changed"
    again = tick(sessions, at(DUE - timedelta(days=7), 2, 5), backend)
    assert (again.scan.notifications_cancelled, again.scan.reminders_enqueued) == (0, 0)
    tick(sessions, at(DUE - timedelta(days=7), 8, 30), backend)
    tick(sessions, at(DUE - timedelta(days=6), 9, 0), backend)
    assert [message.to for message in backend.sent] == [first.to_number]
    assert [row.state for row in notifications(sessions)] == ["sent", "cancelled"]
