"""One scan of the watch: load the facts, decide, and write the board and the outbox.

`scan_and_enqueue` applies the rules of `scan.py` to the facts loaded by `facts.py`
inside the caller's transaction: escalations are resolved, opened, raised or moved, stale
pending SMS are cancelled and new intents are written to the outbox, all or nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from deadline_watch.core import db
from deadline_watch.core.clock import local_date
from deadline_watch.core.config import Settings
from deadline_watch.domain import outbox
from deadline_watch.domain.models import Notification, NotificationState, TickRun
from deadline_watch.watch import apply as escalation
from deadline_watch.watch import enqueue
from deadline_watch.watch import load as facts
from deadline_watch.watch import rules as scan


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
    # what was newly written (filled for --dry-run and the demo; not part of as_dict)
    new_intents: list[scan.SmsIntent] = field(default_factory=list, repr=False)
    escalation_events: list[dict] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, int]:
        values = asdict(self)
        values.pop("new_intents")
        values.pop("escalation_events")
        return values


def scan_and_enqueue(session: Session, settings: Settings, *, now: datetime) -> ScanCounts:
    """Apply every rule as of `now` inside the caller's transaction."""
    counts = ScanCounts()
    today = local_date(now, settings.tz)
    intents: list[scan.SmsIntent] = []
    supervisors: list[scan.PersonFacts] | None = None

    def supervisors_once() -> list[scan.PersonFacts]:
        nonlocal supervisors
        if supervisors is None:
            supervisors = facts.supervisors(session)
        return supervisors

    # 1. board items whose milestone was completed, cancelled, re-dated into the future
    #    or whose project stopped
    for milestone, current in facts.escalations_to_resolve(session):
        resolution = scan.resolution_for(milestone, current, today=today)
        if resolution and escalation.resolve(
            session, current, resolution, now=now, note=escalation.resolution_note(milestone, resolution)
        ):
            counts.escalations_resolved += 1
            counts.escalation_events.append(_event("resolved", milestone, current.level, resolution))

    # 2. overdue milestones: open, raise or move their board item
    thresholds = [(level.after_days_overdue, level.level) for level in settings.escalation.levels]
    for milestone, current in facts.escalation_candidates(session, today=today, thresholds=thresholds):
        decision = scan.plan_escalation(milestone, current, settings=settings, now=now)
        if decision is None:
            continue
        notify_level: int | None = None
        if decision.action == "open":
            if escalation.open_escalation(session, milestone, decision.level, now=now) is not None:
                counts.escalations_opened += 1
                notify_level = decision.level
                counts.escalation_events.append(_event("opened", milestone, decision.level))
        elif decision.action == "raise":
            if escalation.raise_level(session, decision, now=now):
                counts.escalations_raised += 1
                notify_level = decision.level
                counts.escalation_events.append(_event("raised", milestone, decision.level))
        elif decision.action == "reopen":
            if escalation.reopen_escalation(session, decision, now=now):
                counts.escalations_reopened += 1
                # SMS keys are per level: a level already sent for this date is not sent twice
                notify_level = decision.level
                counts.escalation_events.append(_event("reopened", milestone, decision.level))
        elif decision.action == "move" and current is not None:
            if escalation.move_due_date(session, decision, current, now=now):
                counts.escalations_moved += 1
                # the parties already know this level; only a higher one is news
                notify_level = decision.level if decision.level > current.level else None
        if notify_level is not None:
            intents.extend(
                scan.plan_escalation_sms(milestone, notify_level, supervisors_once(), settings=settings, now=now)
            )
    escalation_intents = len(intents)

    # 3. reminders for milestones inside the window
    candidates = facts.reminder_candidates(session, today=today, window_days=scan.reminder_window_days(settings))
    counts.reminder_candidates = len(candidates)
    reminders = scan.plan_reminders(candidates, settings=settings, now=now)
    intents.extend(reminders)

    # 4. pending SMS that went stale (completed, re-dated, project stopped, new owner,
    #    superseded...)
    current_keys = {intent.milestone_id: intent.dedup_key for intent in reminders}
    largest = scan.max_reminder_offset(settings)
    may_be_superseded = [intent.milestone_id for intent in reminders if intent.offset != largest]
    reasons: dict[int, str] = {}
    for pending in facts.pending_to_check(session, today=today, milestone_ids=may_be_superseded):
        reason = scan.cancellation_reason(pending, today=today, current_reminder_keys=current_keys)
        if reason:
            reasons[pending.id] = reason
    counts.notifications_cancelled = outbox.cancel(session, reasons, now=now)

    # 5. the outbox
    fresh: list[scan.SmsIntent] = []
    escalation_sms = enqueue.enqueue(session, intents[:escalation_intents], settings, now=now, fresh_out=fresh)
    counts.escalation_sms_enqueued = escalation_sms
    counts.reminders_enqueued = enqueue.enqueue(session, intents[escalation_intents:], settings, now=now, fresh_out=fresh)
    counts.new_intents = fresh
    return counts


def _event(action: str, milestone: scan.MilestoneFacts, level: int, resolution: str | None = None) -> dict:
    return {
        "action": action,
        "project_code": milestone.project_code,
        "project_name": milestone.project_name,
        "milestone": milestone.milestone,
        "due_date": milestone.due_date.isoformat(),
        "level": level,
        "resolution": resolution,
    }


class _DryRunRollback(Exception):
    pass


def run_scan(
    sessions: sessionmaker[Session], settings: Settings, *, now: datetime, dry_run: bool = False
) -> tuple[ScanCounts, int]:
    """Scan and enqueue in one transaction (rolled back on a dry run).

    Returns the counts and how many pending SMS are due at `now` after the scan.
    """
    holder: dict = {}
    try:
        with db.transaction(sessions) as session:
            holder["counts"] = scan_and_enqueue(session, settings, now=now)
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
