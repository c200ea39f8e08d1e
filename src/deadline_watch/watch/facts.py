"""The values the watch rules decide on: milestones with their people, and pending SMS.

`load.py` fills them from the database; `rules.py` reads them and returns `decisions.py` values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

ACTIVE = "active"
OPEN = "open"
COMPLETED = "completed"
RESOLVED = "resolved"


# slots: a scan builds thousands of these (no per-instance dict to allocate and collect)
@dataclass(frozen=True, slots=True)
class PersonFacts:
    id: int
    name: str
    mobile: str | None
    opted_out: bool = False

    @property
    def reachable(self) -> bool:
        return bool(self.mobile) and not self.opted_out


@dataclass(frozen=True, slots=True)
class MilestoneFacts:
    milestone_id: int
    project_id: int
    project_code: str
    project_name: str
    unit: str
    milestone: str
    due_date: date
    status: str = OPEN
    project_status: str = ACTIVE
    completed_on: date | None = None
    owner: PersonFacts | None = None
    lead_leader: PersonFacts | None = None
    # 待审核: an official's completion or extension request waits for a supervisor
    pending_review: bool = False

    @property
    def watched(self) -> bool:
        """Open milestone of an active project: the only kind that is reminded or escalated."""
        return self.status == OPEN and self.completed_on is None and self.project_status == ACTIVE


@dataclass(frozen=True)
class PendingFacts:
    """A pending outbox row with what it depends on now."""

    id: int
    dedup_key: str
    milestone_id: int
    rule: str
    level: int | None
    due_date: date
    milestone_status: str
    milestone_due_date: date
    milestone_completed_on: date | None
    project_status: str
    recipient_opted_out: bool = False
    escalation_level: int | None = None  # current level of the unresolved escalation, if any
    recipient_id: int | None = None
    owner_id: int | None = None  # the milestone's responsible official now (override, else project owner)
    milestone_pending_review: bool = False
