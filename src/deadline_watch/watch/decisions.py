"""What the watch rules decide: small frozen values, applied by `service.py` with `match`.

- `Open`, `Raise`, `Reopen`, `Move`: an overdue milestone's board item (`rules.plan_escalation`);
- `Resolve`: an unresolved board item that no longer belongs on the board (`rules.plan_resolution`);
- `SmsIntent`: one reminder or escalation SMS to put in the outbox (`rules.plan_reminder`,
  `rules.plan_escalation_sms`);
- `Cancel`: a pending SMS that must not go out any more (`rules.plan_cancellation`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from deadline_watch.domain.board_items import EscalationFacts
from deadline_watch.watch.facts import MilestoneFacts, PersonFacts


@dataclass(frozen=True)
class Open:
    """Open the board item of an overdue milestone at `level`."""

    facts: MilestoneFacts
    level: int


@dataclass(frozen=True)
class Raise:
    """Raise the unresolved board item `escalation_id` from `from_level` to `level`."""

    facts: MilestoneFacts
    escalation_id: int
    from_level: int
    level: int


@dataclass(frozen=True)
class Reopen:
    """An item resolved because its milestone was completed or cancelled (`RESOLVED_BY_FACTS`)
    whose milestone is open and overdue again: back on the queue at `level` (never lower)."""

    facts: MilestoneFacts
    escalation_id: int
    from_level: int
    level: int


@dataclass(frozen=True)
class Move:
    """The due date changed but is still past: `current` follows it, at `level` (never lower)."""

    facts: MilestoneFacts
    current: EscalationFacts
    level: int


@dataclass(frozen=True)
class Resolve:
    """Resolve `current`: its milestone was completed, cancelled, re-dated or its project stopped."""

    facts: MilestoneFacts
    current: EscalationFacts
    resolution: str  # completed_late | cancelled | deadline_extended


# what `rules.plan_escalation` returns for one overdue milestone
EscalationDecision = Open | Raise | Reopen | Move


@dataclass(frozen=True)
class Cancel:
    """Cancel the pending outbox row `notification_id` for `reason`."""

    notification_id: int
    reason: str


@dataclass(frozen=True, slots=True)  # slots: one per SMS of a scan, thousands at a time
class SmsIntent:
    """One outbox row to insert (the dedup key makes a repeat a no-op)."""

    dedup_key: str
    milestone_id: int
    rule: str  # reminder | escalation
    level: int | None
    due_date: date
    days_left: int | None
    recipient: PersonFacts
    template: str
    context: dict = field(hash=False, compare=False)
    send_at: datetime = field(compare=False, default=None)  # type: ignore[assignment]
    offset: int | None = None  # the reminder threshold (None for escalation SMS)
