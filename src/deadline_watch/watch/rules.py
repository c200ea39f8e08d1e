"""The watch rules as plain functions: which reminders, escalations and cancellations are due.

Everything here takes facts (`facts.py`: milestones, escalations, pending outbox rows), the
settings and `now`, and returns typed decisions (`decisions.py`). It reads no clock, opens no
session and sends nothing; `load.py` loads the facts and `service.py` applies the decisions.

Rules (all dates in the configured timezone):
- a milestone is due at the end of its due date and overdue from 00:00 the next day,
  while it is open and its project is active;
- each offset N in `reminders.days_before` is a threshold: once `days_left <= N` the
  reminder for N is due; of several crossed thresholds only the most urgent is sent;
- an overdue milestone is escalated at the highest level whose `after_days_overdue`
  has been reached; the level only rises;
- an SMS created outside the send window waits for the next opening (next working day
  in workdays mode); its text counts days as of that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from deadline_watch.core.clock import local_date
from deadline_watch.core.config import EscalationLevel, Settings
from deadline_watch.domain.board_items import RESOLVED_BY_FACTS, EscalationFacts
from deadline_watch.domain.workdays import days_left as count_days_left
from deadline_watch.domain.workdays import days_overdue as count_days_overdue
from deadline_watch.domain.workdays import send_window_opening
from deadline_watch.watch.decisions import (
    Cancel,
    EscalationDecision,
    Move,
    Open,
    Raise,
    Reopen,
    Resolve,
    SmsIntent,
)
from deadline_watch.watch.facts import (
    ACTIVE,
    COMPLETED,
    OPEN,
    RESOLVED,
    MilestoneFacts,
    PendingFacts,
    PersonFacts,
)

# the same few instants are converted for every milestone of a scan
local_date = lru_cache(maxsize=256)(local_date)

# ---- keys ---------------------------------------------------------------------------


def reminder_key(milestone_id: int, due_date: date, offset: int, person_id: int) -> str:
    """One reminder per milestone, due date, threshold and recipient: a new responsible
    official (registry re-import, milestone owner override) gets their own reminder."""
    return f"reminder:{milestone_id}:{due_date.isoformat()}:{offset}:{person_id}"


def escalation_sms_key(milestone_id: int, due_date: date, level: int, person_id: int) -> str:
    return f"escalation:{milestone_id}:{due_date.isoformat()}:{level}:{person_id}"


def escalation_key(milestone_id: int, due_date: date) -> str:
    """Escalation.dedup_key: one board item per milestone and due date."""
    return f"overdue:{milestone_id}:{due_date.isoformat()}"


# ---- reminders ----------------------------------------------------------------------


def max_reminder_offset(settings: Settings) -> int:
    return max(settings.reminders.days_before)


def reminder_window_days(settings: Settings) -> int:
    """Calendar days ahead the scan must look: the largest offset, plus slack in workdays
    mode (N working days can span N + weekends + a week-long holiday)."""
    largest = max_reminder_offset(settings)
    if settings.reminders.day_mode == "workdays":
        return largest * 2 + 12
    return largest


def due_reminder_offset(days_left: int, offsets: list[int]) -> int | None:
    """The most urgent threshold crossed (`days_left <= N`), or None when none is."""
    crossed = [offset for offset in offsets if days_left <= offset]
    return min(crossed) if crossed else None


def plan_reminder(
    facts: MilestoneFacts,
    *,
    settings: Settings,
    now: datetime,
    send_at: datetime | None = None,
    today: date | None = None,
) -> SmsIntent | None:
    """The reminder this milestone should have right now (None when none is due).

    `send_at` is `send_window_opening(now, settings)` and `today` the local date of `now`,
    passed in when planning many at once."""
    if not _remindable(facts):
        return None
    today = today or local_date(now, settings.tz)
    send_at = send_at or send_window_opening(now, settings)
    day = reminder_day(facts.due_date, settings=settings, today=today, send_at=send_at)
    return None if day is None else _reminder(facts, day)


@dataclass(frozen=True)
class ReminderDay:
    """What every reminder about a milestone due on `due_date` shares in one scan."""

    due_date: date
    offset: int  # the threshold crossed
    days_left: int  # as of the day the SMS goes out
    send_at: datetime
    due_date_text: str
    day_unit: str


def reminder_day(due_date: date, *, settings: Settings, today: date, send_at: datetime) -> ReminderDay | None:
    """The reminder due today for a milestone due on `due_date`, whoever it is (None: none)."""
    if due_date < today:
        return None  # overdue: the escalation rule takes over
    tz, mode = settings.tz, settings.reminders.day_mode
    offset = due_reminder_offset(count_days_left(today, due_date, mode), settings.reminders.days_before)
    if offset is None:
        return None
    send_day = local_date(send_at, tz)
    if send_day > due_date:
        return None  # the next window opens after the due date: a reminder would be stale
    from deadline_watch.sms.messages import date_text, day_unit

    return ReminderDay(due_date, offset, count_days_left(send_day, due_date, mode), send_at,
                       date_text(due_date), day_unit(mode))


def plan_reminders(milestones: list[MilestoneFacts], *, settings: Settings, now: datetime) -> list[SmsIntent]:
    """`plan_reminder` for many milestones: what depends only on the due date is decided
    once per date (a scan's 10,000 reminders share a few dates; issue 17)."""
    send_at, today = send_window_opening(now, settings), local_date(now, settings.tz)
    days: dict[date, ReminderDay | None] = {}
    intents = []
    for facts in milestones:
        if not _remindable(facts):
            continue
        due_date = facts.due_date
        try:
            day = days[due_date]
        except KeyError:
            day = days[due_date] = reminder_day(due_date, settings=settings, today=today, send_at=send_at)
        if day is not None:
            intents.append(_reminder(facts, day))
    return intents


def _remindable(facts: MilestoneFacts) -> bool:
    """Watched, not waiting for review, and its owner can be texted."""
    owner = facts.owner
    return facts.watched and not facts.pending_review and owner is not None and owner.reachable


def _reminder(facts: MilestoneFacts, day: ReminderDay) -> SmsIntent:
    owner = facts.owner
    assert owner is not None
    return SmsIntent(
        reminder_key(facts.milestone_id, day.due_date, day.offset, owner.id),
        facts.milestone_id,
        "reminder",
        None,
        day.due_date,
        day.days_left,
        owner,
        "reminder",
        _context(facts, owner, due_date_text=day.due_date_text, day_unit=day.day_unit, days_left=day.days_left),
        day.send_at,
        day.offset,
    )


# ---- escalation ---------------------------------------------------------------------


def level_for(days_overdue: int, levels: list[EscalationLevel]) -> EscalationLevel | None:
    """The highest configured level whose `after_days_overdue` has been reached."""
    reached = [level for level in levels if days_overdue >= level.after_days_overdue]
    return max(reached, key=lambda level: level.level) if reached else None


def level_by_number(number: int, levels: list[EscalationLevel]) -> EscalationLevel | None:
    return next((level for level in levels if level.level == number), None)


def plan_escalation(
    facts: MilestoneFacts, current: EscalationFacts | None, *, settings: Settings, now: datetime
) -> EscalationDecision | None:
    """Open, raise or move the escalation of one milestone (None: nothing to do).

    `current` is the milestone's unresolved escalation, or its escalation for the current
    due date in any state. A resolved one comes back only when its resolution held because
    the milestone was completed or cancelled (`RESOLVED_BY_FACTS`) and the milestone is open
    again: reopened at the level its days overdue call for. A supervisor's 办结 of a still
    open milestone stays resolved (it is listed under 已办结未完成).
    Nothing opens, rises or reopens while the milestone waits for review (待审核).
    """
    if not facts.watched or facts.pending_review:
        return None
    today = local_date(now, settings.tz)
    target = level_for(count_days_overdue(today, facts.due_date), settings.escalation.levels)
    if target is None:
        return None
    if current is None:
        return Open(facts, target.level)
    if current.state == RESOLVED:
        if current.resolution in RESOLVED_BY_FACTS and current.due_date == facts.due_date:
            return Reopen(facts, current.id, from_level=current.level, level=max(current.level, target.level))
        return None
    if current.due_date != facts.due_date:
        return Move(facts, current, max(current.level, target.level))
    if target.level > current.level:
        return Raise(facts, current.id, from_level=current.level, level=target.level)
    return None


def resolution_for(facts: MilestoneFacts, current: EscalationFacts, *, today: date) -> str | None:
    """Why an unresolved escalation no longer belongs on the board (None: it still does)."""
    if current.state == RESOLVED:
        return None
    if facts.status == COMPLETED or facts.completed_on is not None:
        return "completed_late"
    if facts.status != OPEN:
        return "cancelled"
    if facts.project_status == COMPLETED:
        return "completed_late"
    if facts.project_status != ACTIVE:
        return "cancelled"
    if facts.due_date != current.due_date and facts.due_date >= today:
        return "deadline_extended"
    return None


def plan_resolution(facts: MilestoneFacts, current: EscalationFacts, *, today: date) -> Resolve | None:
    resolution = resolution_for(facts, current, today=today)
    return Resolve(facts, current, resolution) if resolution else None


def recipients_for(
    level: EscalationLevel, facts: MilestoneFacts, supervisors: list[PersonFacts]
) -> list[tuple[str, PersonFacts]]:
    """(party, person) pairs for a level, each reachable person once (first party wins)."""
    found: list[tuple[str, PersonFacts]] = []
    seen: set[int] = set()
    for party in level.notify:
        people = {
            "owner": [facts.owner] if facts.owner else [],
            "lead_leader": [facts.lead_leader] if facts.lead_leader else [],
            "supervisors": supervisors,
        }[party]
        for person in people:
            if person.reachable and person.id not in seen:
                seen.add(person.id)
                found.append((party, person))
    return found


def plan_escalation_sms(
    facts: MilestoneFacts,
    level_number: int,
    supervisors: list[PersonFacts],
    *,
    settings: Settings,
    now: datetime,
) -> list[SmsIntent]:
    """The SMS for the parties of `level_number` (sent inside the window)."""
    level = level_by_number(level_number, settings.escalation.levels)
    if level is None:
        return []
    from deadline_watch.sms.messages import date_text, day_unit

    send_at = send_window_opening(now, settings)
    overdue = count_days_overdue(local_date(send_at, settings.tz), facts.due_date)
    due_text, unit = date_text(facts.due_date), day_unit(settings.reminders.day_mode)
    intents = []
    for party, person in recipients_for(level, facts, supervisors):
        intents.append(
            SmsIntent(
                dedup_key=escalation_sms_key(facts.milestone_id, facts.due_date, level.level, person.id),
                milestone_id=facts.milestone_id,
                rule="escalation",
                level=level.level,
                due_date=facts.due_date,
                days_left=-overdue,
                recipient=person,
                template=f"escalation_{party}",
                context=_context(facts, person, due_date_text=due_text, day_unit=unit,
                                 days_overdue=overdue, level=level.level),
                send_at=send_at,
            )
        )
    return intents


# ---- cancellation -------------------------------------------------------------------


def cancellation_reason(
    pending: PendingFacts, *, today: date, current_reminder_keys: dict[int, str] | None = None
) -> str | None:
    """Why a pending SMS must not go out any more (None: it still should).

    `current_reminder_keys` maps milestone ids to the dedup key of the reminder due now;
    a pending reminder with another key for that milestone has been superseded. A pending
    reminder addressed to someone who is no longer the milestone's responsible official
    (`owner_id`) is cancelled as `recipient_changed`; the new official's own reminder is
    planned by the same scan.
    """
    if pending.milestone_status == COMPLETED or pending.milestone_completed_on is not None:
        return "milestone_completed"
    if pending.milestone_status != OPEN:
        return "milestone_cancelled"
    if pending.project_status != ACTIVE:
        return "project_inactive"
    if pending.due_date != pending.milestone_due_date:
        return "due_date_changed"
    if pending.rule == "reminder" and pending.recipient_id != pending.owner_id:
        return "recipient_changed"
    if pending.recipient_opted_out:
        return "opted_out"
    if pending.rule == "notice":
        return None  # about the official's own request: goes out whatever the review state
    if pending.milestone_pending_review:
        return "pending_review"
    if pending.rule == "reminder":
        if pending.milestone_due_date < today:
            return "overdue"
        current = (current_reminder_keys or {}).get(pending.milestone_id)
        if current is not None and current != pending.dedup_key:
            return "superseded"
        return None
    if pending.escalation_level is None:
        return "escalation_resolved"
    if pending.level is not None and pending.level < pending.escalation_level:
        return "superseded"
    return None


def plan_cancellation(
    pending: PendingFacts, *, today: date, current_reminder_keys: dict[int, str] | None = None
) -> Cancel | None:
    reason = cancellation_reason(pending, today=today, current_reminder_keys=current_reminder_keys)
    return Cancel(pending.id, reason) if reason else None


# ---- message context ----------------------------------------------------------------


def _context(
    facts: MilestoneFacts,
    person: PersonFacts,
    *,
    due_date_text: str,
    day_unit: str,
    days_left: int | None = None,
    days_overdue: int | None = None,
    level: int | None = None,
) -> dict:
    """The variables of an SMS about `facts` to `person`, reminders and escalations alike.
    The due date's text and the day unit come from the caller: a scan's reminders share a
    few dates and work them out once per date (`ReminderDay`, issue 17)."""
    if level:
        from deadline_watch.sms.messages import level_text
    return {
        "person_name": person.name,
        "project_name": facts.project_name,
        "project_code": facts.project_code,
        "milestone": facts.milestone,
        "unit": facts.unit,
        "owner_name": facts.owner.name if facts.owner else "",
        "due_date_text": due_date_text,
        "day_unit": day_unit,
        "days_left": days_left,
        "days_overdue": days_overdue,
        "level": level,
        "level_text": level_text(level) if level else "",
    }
