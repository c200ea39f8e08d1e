"""One scan of the watch: load the facts, decide, and write the board and the outbox.

`scan_and_enqueue` applies the decisions of `rules.py` to the facts loaded by `load.py`
inside the caller's transaction: escalations are resolved, opened, raised or moved, stale
pending SMS are cancelled and new intents are written to the outbox, all or nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from deadline_watch.core import db
from deadline_watch.core.clock import local_date
from deadline_watch.core.collector import collector_paused
from deadline_watch.core.config import Settings
from deadline_watch.domain import occurrences, outbox, watch_clock
from deadline_watch.domain.models import Notification, NotificationState, TickRun
from deadline_watch.watch import apply, contradictions, enqueue, load, rules
from deadline_watch.watch.decisions import EscalationDecision, Move, Open, Raise, Reopen, Resolve, SmsIntent
from deadline_watch.watch.facts import MilestoneFacts, PersonFacts


@dataclass(frozen=True)
class EscalationEvent:
    """A board change a scan made (shown by `watch tick --dry-run` and the demo)."""

    action: str  # opened | raised | reopened | resolved
    project_code: str
    project_name: str
    milestone: str
    due_date: date
    level: int
    resolution: str | None = None

    @classmethod
    def of(cls, action: str, milestone: MilestoneFacts, level: int, resolution: str | None = None) -> EscalationEvent:
        return cls(
            action=action,
            project_code=milestone.project_code,
            project_name=milestone.project_name,
            milestone=milestone.milestone,
            due_date=milestone.due_date,
            level=level,
            resolution=resolution,
        )

    def as_dict(self) -> dict:
        values = asdict(self)
        values["due_date"] = self.due_date.isoformat()
        return values


@dataclass
class ScanCounts:
    reminders_enqueued: int = 0
    escalations_opened: int = 0
    escalations_raised: int = 0
    escalations_moved: int = 0
    escalations_reopened: int = 0
    escalations_resolved: int = 0
    escalation_sms_enqueued: int = 0
    notifications_cancelled: int = 0
    reminder_candidates: int = 0
    occurrences_created: int = 0
    # what was newly written (filled for --dry-run and the demo; not part of as_dict)
    new_intents: list[SmsIntent] = field(default_factory=list, repr=False)
    escalation_events: list[EscalationEvent] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, int]:
        values = asdict(self)
        values.pop("new_intents")
        values.pop("escalation_events")
        return values


def scan_and_enqueue(session: Session, settings: Settings, *, now: datetime) -> ScanCounts:
    """Apply every rule as of `now` inside the caller's transaction."""
    counts = ScanCounts()
    today = local_date(now, settings.tz)
    # a recurring task's next occurrence exists before the rules look at milestones
    counts.occurrences_created = occurrences.extend(
        session, today=today, now=now, ahead=settings.reminders.recurring_ahead
    )
    intents: list[SmsIntent] = []
    supervisors: list[PersonFacts] | None = None

    def supervisors_once() -> list[PersonFacts]:
        nonlocal supervisors
        if supervisors is None:
            supervisors = load.supervisors(session)
        return supervisors

    # 1. board items whose milestone was completed, cancelled, re-dated into the future
    #    or whose project stopped
    for milestone, current in load.escalations_to_resolve(session):
        resolve = rules.plan_resolution(milestone, current, today=today)
        if resolve is not None:
            _apply_board_decision(session, resolve, counts, now=now)

    # 2. overdue milestones: open, raise or move their board item
    thresholds = [(level.after_days_overdue, level.level) for level in settings.escalation.levels]
    for milestone, current in load.escalation_candidates(session, today=today, thresholds=thresholds):
        decision = rules.plan_escalation(milestone, current, settings=settings, now=now)
        if decision is None:
            continue
        notify_level = _apply_board_decision(session, decision, counts, now=now)
        if notify_level is not None:
            intents.extend(
                rules.plan_escalation_sms(milestone, notify_level, supervisors_once(), settings=settings, now=now)
            )
    escalation_intents = len(intents)

    # 3. reminders for milestones inside the window
    candidates = load.reminder_candidates(session, today=today, window_days=rules.reminder_window_days(settings))
    counts.reminder_candidates = len(candidates)
    reminders = contradictions.drop_contradicting(
        session, rules.plan_reminders(candidates, settings=settings, now=now)
    )
    intents.extend(reminders)

    # 4. pending SMS that went stale (completed, re-dated, project stopped, new owner,
    #    superseded...)
    current_keys = {intent.milestone_id: intent.dedup_key for intent in reminders}
    largest = rules.max_reminder_offset(settings)
    may_be_superseded = [intent.milestone_id for intent in reminders if intent.offset != largest]
    reasons: dict[int, str] = {}
    for pending in load.pending_to_check(session, today=today, milestone_ids=may_be_superseded):
        cancel = rules.plan_cancellation(pending, today=today, current_reminder_keys=current_keys)
        if cancel is not None:
            reasons[cancel.notification_id] = cancel.reason
    counts.notifications_cancelled = outbox.cancel(session, reasons, now=now)

    # 5. the outbox
    fresh: list[SmsIntent] = []
    escalation_sms = enqueue.enqueue(session, intents[:escalation_intents], settings, now=now, fresh_out=fresh)
    counts.escalation_sms_enqueued = escalation_sms
    counts.reminders_enqueued = enqueue.enqueue(session, intents[escalation_intents:], settings, now=now, fresh_out=fresh)
    counts.new_intents = fresh
    return counts


def _apply_board_decision(
    session: Session, decision: EscalationDecision | Resolve, counts: ScanCounts, *, now: datetime
) -> int | None:
    """Write one board decision and count it; the level whose parties are to be told, if any.

    A write that finds the row already changed (a concurrent scan or supervisor won) counts
    nothing and notifies nobody."""
    match decision:
        case Resolve(facts=milestone, current=current, resolution=resolution):
            note = apply.resolution_note(milestone, resolution)
            if apply.resolve(session, current, resolution, now=now, note=note):
                counts.escalations_resolved += 1
                counts.escalation_events.append(EscalationEvent.of("resolved", milestone, current.level, resolution))
            return None
        case Open(facts=milestone, level=level):
            if apply.open_escalation(session, milestone, level, now=now) is None:
                return None
            counts.escalations_opened += 1
            counts.escalation_events.append(EscalationEvent.of("opened", milestone, level))
            return level
        case Raise(facts=milestone, level=level):
            if not apply.raise_level(session, decision, now=now):
                return None
            counts.escalations_raised += 1
            counts.escalation_events.append(EscalationEvent.of("raised", milestone, level))
            return level
        case Reopen(facts=milestone, level=level):
            if not apply.reopen_escalation(session, decision, now=now):
                return None
            counts.escalations_reopened += 1
            counts.escalation_events.append(EscalationEvent.of("reopened", milestone, level))
            # SMS keys are per level: a level already sent for this date is not sent twice
            return level
        case Move(current=current, level=level):
            if not apply.move_due_date(session, decision, now=now):
                return None
            counts.escalations_moved += 1
            # the parties already know this level; only a higher one is news
            return level if level > current.level else None


class _DryRunRollback(Exception):
    pass


def run_scan(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime,
    dry_run: bool = False,
    force: bool = False,
) -> tuple[ScanCounts, int]:
    """Scan and enqueue in one transaction (rolled back on a dry run).

    A `now` earlier than the last recorded scan raises `ClockError` (nothing planned)
    unless `force`; even forced, no SMS contradicts one already sent (`contradictions`).
    Returns the counts and how many pending SMS are due at `now` after the scan.
    """
    holder: dict = {}
    try:
        with collector_paused(), db.transaction(sessions) as session:
            if not force:
                watch_clock.require_forward(session, now)
            holder["counts"] = scan_and_enqueue(session, settings, now=now)
            watch_clock.record_scan(session, now)
            holder["due"] = session.scalar(
                sa.select(sa.func.count(Notification.id)).where(
                    Notification.state == NotificationState.PENDING.value, Notification.next_attempt_at <= now
                )
            )
            if dry_run:
                raise _DryRunRollback
    except _DryRunRollback:
        pass
    return holder["counts"], int(holder["due"] or 0)


def record_tick(
    sessions: sessionmaker[Session], kind: str, counts: dict, *, started_at: datetime, duration_ms: int
) -> None:
    with db.transaction(sessions) as session:
        session.add(
            TickRun(
                kind=kind,
                started_at=started_at,
                finished_at=started_at + timedelta(milliseconds=duration_ms),
                counts=counts,
            )
        )
