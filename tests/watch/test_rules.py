"""The rules of watch/rules.py as plain functions returning typed decisions: no database, no clock."""

from datetime import date, timedelta

from deadline_watch.watch.decisions import Cancel, Move, Open, Raise, Resolve
from deadline_watch.watch.rules import (
    EscalationFacts,
    MilestoneFacts,
    PendingFacts,
    PersonFacts,
    cancellation_reason,
    due_reminder_offset,
    level_for,
    plan_cancellation,
    plan_escalation,
    plan_escalation_sms,
    plan_reminder,
    plan_resolution,
    recipients_for,
    reminder_key,
    resolution_for,
)
from watch_support import at, fast_settings, with_levels

OWNER = PersonFacts(1, "王伟", "+8613800138000")
LEADER = PersonFacts(2, "李强", "+8613900139000")
SUPERVISOR = PersonFacts(3, "张督查", "+8613700137000")
DUE = date(2026, 12, 8)


def milestone(due: date = DUE, **changes) -> MilestoneFacts:
    values = dict(
        milestone_id=10,
        project_id=1,
        project_code="GX-2026-0001",
        project_name="天府软件园三期建设",
        unit="新经济发展局",
        milestone="组织实施",
        due_date=due,
        owner=OWNER,
        lead_leader=LEADER,
    )
    values.update(changes)
    return MilestoneFacts(**values)


def test_offset_is_a_threshold_not_an_exact_day():
    assert due_reminder_offset(8, [7]) is None
    assert due_reminder_offset(7, [7]) == 7
    assert due_reminder_offset(3, [7]) == 7
    assert due_reminder_offset(0, [7]) == 7


def test_only_the_most_urgent_crossed_threshold_is_due():
    assert due_reminder_offset(1, [7, 3, 1]) == 1
    assert due_reminder_offset(2, [7, 3, 1]) == 3
    assert due_reminder_offset(5, [7, 3, 1]) == 7


def test_no_reminder_eight_days_before():
    assert plan_reminder(milestone(), settings=fast_settings(), now=at(DUE - timedelta(days=8))) is None


def test_reminder_seven_days_before_says_seven_days_left():
    intent = plan_reminder(milestone(), settings=fast_settings(), now=at(DUE - timedelta(days=7), 9))
    assert intent is not None
    assert intent.dedup_key == reminder_key(10, DUE, 7, 1) == "reminder:10:2026-12-08:7:1"
    assert intent.days_left == 7 and intent.recipient == OWNER
    assert intent.send_at == at(DUE - timedelta(days=7), 9)


def test_reminder_imported_late_says_days_left():
    intent = plan_reminder(milestone(), settings=fast_settings(), now=at(DUE - timedelta(days=3), 10))
    assert intent.days_left == 3 and intent.offset == 7 and intent.dedup_key.endswith(":7:1")
    assert intent.context["days_left"] == 3


def test_reminder_imported_one_day_before_with_three_thresholds_sends_only_the_last():
    settings = fast_settings(reminders__days_before=[7, 3, 1])
    intent = plan_reminder(milestone(), settings=settings, now=at(DUE - timedelta(days=1), 10))
    assert intent.dedup_key == reminder_key(10, DUE, 1, 1)


def test_reminder_key_names_the_current_owner_so_a_new_owner_gets_a_new_key():
    settings, now = fast_settings(), at(DUE - timedelta(days=5), 10)
    first = plan_reminder(milestone(), settings=settings, now=now)
    newcomer = PersonFacts(4, "赵新", "+8613600136000")
    second = plan_reminder(milestone(owner=newcomer), settings=settings, now=now)
    assert second.recipient == newcomer and second.dedup_key == "reminder:10:2026-12-08:7:4"
    assert first.dedup_key != second.dedup_key


def test_reminder_found_at_night_waits_for_the_window_and_counts_days_from_then():
    intent = plan_reminder(milestone(), settings=fast_settings(), now=at(DUE - timedelta(days=7), 0, 5))
    assert intent.send_at == at(DUE - timedelta(days=7), 8, 30)
    intent = plan_reminder(milestone(), settings=fast_settings(), now=at(DUE - timedelta(days=7), 21, 0))
    assert intent.send_at == at(DUE - timedelta(days=6), 8, 30)
    assert intent.days_left == 6


def test_no_reminder_when_the_next_window_opens_after_the_due_date():
    assert plan_reminder(milestone(), settings=fast_settings(), now=at(DUE, 21, 0)) is None


def test_no_reminder_for_completed_inactive_overdue_or_unreachable():
    settings, now = fast_settings(), at(DUE - timedelta(days=2))
    assert plan_reminder(milestone(status="completed", completed_on=DUE), settings=settings, now=now) is None
    assert plan_reminder(milestone(completed_on=DUE), settings=settings, now=now) is None
    assert plan_reminder(milestone(project_status="suspended"), settings=settings, now=now) is None
    assert plan_reminder(milestone(), settings=settings, now=at(DUE + timedelta(days=1))) is None
    opted_out = PersonFacts(1, "王伟", "+8613800138000", opted_out=True)
    assert plan_reminder(milestone(owner=opted_out), settings=settings, now=now) is None
    assert plan_reminder(milestone(owner=PersonFacts(1, "王伟", None)), settings=settings, now=now) is None


def test_workdays_mode_counts_working_days_and_waits_for_a_working_day():
    settings = fast_settings(reminders__day_mode="workdays", reminders__days_before=[3])
    due = date(2026, 12, 9)  # Wednesday
    # Friday 4th: Mon 7, Tue 8, Wed 9 = 3 working days left -> threshold crossed
    intent = plan_reminder(milestone(due), settings=settings, now=at(date(2026, 12, 4), 21))
    assert intent.send_at == at(date(2026, 12, 7), 8, 30)  # next working day's window
    assert intent.days_left == 2 and intent.context["day_unit"] == "个工作日"
    # Thursday 3rd: 4 working days left -> nothing yet
    assert plan_reminder(milestone(due), settings=settings, now=at(date(2026, 12, 3), 10)) is None


def test_escalation_level_follows_days_overdue():
    levels = fast_settings().escalation.levels
    assert level_for(0, levels) is None
    assert level_for(1, levels).level == 1
    assert level_for(6, levels).level == 1
    assert level_for(7, levels).level == 2
    assert level_for(40, levels).level == 2


def test_overdue_from_the_next_day_opens_level_one():
    settings = fast_settings()
    assert plan_escalation(milestone(), None, settings=settings, now=at(DUE, 23, 59)) is None
    decision = plan_escalation(milestone(), None, settings=settings, now=at(DUE + timedelta(days=1), 0, 0))
    assert decision == Open(milestone(), 1)


def test_existing_escalation_is_raised_on_the_same_row_never_lowered():
    settings, facts = fast_settings(), milestone()
    current = EscalationFacts(5, 10, DUE, 1, "open")
    assert plan_escalation(facts, current, settings=settings, now=at(DUE + timedelta(days=3))) is None
    decision = plan_escalation(facts, current, settings=settings, now=at(DUE + timedelta(days=7)))
    assert decision == Raise(facts, escalation_id=5, from_level=1, level=2)
    higher = EscalationFacts(5, 10, DUE, 2, "acknowledged")
    assert plan_escalation(facts, higher, settings=settings, now=at(DUE + timedelta(days=8))) is None


def test_resolved_escalation_is_never_reopened_for_the_same_date():
    resolved = EscalationFacts(5, 10, DUE, 1, "resolved")
    assert plan_escalation(milestone(), resolved, settings=fast_settings(), now=at(DUE + timedelta(days=9))) is None


def test_catch_up_opens_directly_at_the_current_level():
    decision = plan_escalation(milestone(), None, settings=fast_settings(), now=at(DUE + timedelta(days=10)))
    assert decision == Open(milestone(), 2)


def test_due_date_moved_but_still_past_moves_the_same_escalation():
    current = EscalationFacts(5, 10, DUE, 1, "open")
    facts = milestone(DUE + timedelta(days=2))
    decision = plan_escalation(facts, current, settings=fast_settings(), now=at(DUE + timedelta(days=5)))
    assert decision == Move(facts, current, 1)


def test_resolutions():
    today, current = DUE + timedelta(days=3), EscalationFacts(5, 10, DUE, 1, "open")
    assert resolution_for(milestone(status="completed", completed_on=today), current, today=today) == "completed_late"
    assert resolution_for(milestone(status="cancelled"), current, today=today) == "cancelled"
    assert resolution_for(milestone(project_status="cancelled"), current, today=today) == "cancelled"
    assert resolution_for(milestone(project_status="suspended"), current, today=today) == "cancelled"
    assert resolution_for(milestone(DUE + timedelta(days=30)), current, today=today) == "deadline_extended"
    assert resolution_for(milestone(today), current, today=today) == "deadline_extended"
    assert resolution_for(milestone(today - timedelta(days=1)), current, today=today) is None  # still past
    assert resolution_for(milestone(), current, today=today) is None


def test_plan_resolution_is_a_resolve_value_or_none():
    today, current = DUE + timedelta(days=3), EscalationFacts(5, 10, DUE, 1, "open")
    done = milestone(status="completed", completed_on=today)
    assert plan_resolution(done, current, today=today) == Resolve(done, current, "completed_late")
    assert plan_resolution(milestone(), current, today=today) is None


def test_parties_are_deduplicated_and_unreachable_people_skipped():
    settings = with_levels(
        fast_settings(), [{"after_days_overdue": 1, "level": 1, "notify": ["owner", "lead_leader", "supervisors"]}]
    )
    level = settings.escalation.levels[0]
    opted_out = PersonFacts(4, "赵", "+8613600136000", opted_out=True)
    facts = milestone(lead_leader=OWNER)  # the owner is also the lead leader
    found = recipients_for(level, facts, [SUPERVISOR, opted_out, PersonFacts(5, "无号码", None)])
    assert [(party, person.id) for party, person in found] == [("owner", 1), ("supervisors", 3)]


def test_escalation_sms_go_to_the_level_parties_with_one_key_each():
    settings, facts = fast_settings(), milestone()
    level1 = plan_escalation_sms(facts, 1, [SUPERVISOR], settings=settings, now=at(DUE + timedelta(days=1), 10))
    assert sorted(intent.recipient.id for intent in level1) == [1, 2]
    level2 = plan_escalation_sms(facts, 2, [SUPERVISOR], settings=settings, now=at(DUE + timedelta(days=7), 10))
    assert sorted(intent.recipient.id for intent in level2) == [1, 2, 3]
    assert "escalation:10:2026-12-08:2:3" in {intent.dedup_key for intent in level2}
    assert all(intent.context["days_overdue"] == 7 for intent in level2)


def pending(**changes) -> PendingFacts:
    values = dict(
        id=1,
        dedup_key=reminder_key(10, DUE, 7, 1),
        milestone_id=10,
        rule="reminder",
        level=None,
        due_date=DUE,
        milestone_status="open",
        milestone_due_date=DUE,
        milestone_completed_on=None,
        project_status="active",
        recipient_id=1,
        owner_id=1,
    )
    values.update(changes)
    return PendingFacts(**values)


def test_pending_sms_cancellation_reasons():
    today = DUE - timedelta(days=2)
    assert cancellation_reason(pending(), today=today) is None
    assert cancellation_reason(pending(milestone_status="completed"), today=today) == "milestone_completed"
    assert cancellation_reason(pending(milestone_completed_on=today), today=today) == "milestone_completed"
    assert cancellation_reason(pending(milestone_status="cancelled"), today=today) == "milestone_cancelled"
    assert cancellation_reason(pending(project_status="suspended"), today=today) == "project_inactive"
    assert cancellation_reason(pending(milestone_due_date=DUE + timedelta(days=20)), today=today) == "due_date_changed"
    assert cancellation_reason(pending(recipient_opted_out=True), today=today) == "opted_out"
    assert cancellation_reason(pending(), today=DUE + timedelta(days=1)) == "overdue"
    newer = {10: reminder_key(10, DUE, 1, 1)}
    assert cancellation_reason(pending(), today=today, current_reminder_keys=newer) == "superseded"
    assert plan_cancellation(pending(id=7), today=today, current_reminder_keys=newer) == Cancel(7, "superseded")
    assert plan_cancellation(pending(), today=today) is None


def test_pending_reminder_to_a_former_owner_is_cancelled_as_recipient_changed():
    today = DUE - timedelta(days=2)
    new_key = {10: reminder_key(10, DUE, 7, 4)}
    assert cancellation_reason(pending(owner_id=4), today=today, current_reminder_keys=new_key) == "recipient_changed"
    # the milestone has no reachable owner any more: the old one is still not reminded
    assert cancellation_reason(pending(owner_id=None), today=today) == "recipient_changed"
    # escalation SMS name their party at the level they were planned for: not re-addressed
    escalation = dict(rule="escalation", dedup_key="escalation:10:2026-12-08:1:1", level=1, escalation_level=1)
    assert cancellation_reason(pending(**escalation, owner_id=4), today=DUE + timedelta(days=1)) is None


def test_pending_escalation_sms_is_cancelled_when_resolved_or_superseded():
    today = DUE + timedelta(days=8)
    base = dict(rule="escalation", dedup_key="escalation:10:2026-12-08:1:1", level=1)
    assert cancellation_reason(pending(**base, escalation_level=1), today=today) is None
    assert cancellation_reason(pending(**base, escalation_level=2), today=today) == "superseded"
    assert cancellation_reason(pending(**base, escalation_level=None), today=today) == "escalation_resolved"
