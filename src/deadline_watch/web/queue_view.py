"""The queue page's query string <-> `queue.EscalationFilter`, and one page of results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from deadline_watch.board.escalation_queue import (
    STATES,
    EscalationFilter,
    EscalationRow,
    lead_leaders,
    list_escalations,
)
from deadline_watch.domain import co_units
from deadline_watch.domain.models import Unit

if TYPE_CHECKING:
    from deadline_watch.web.auth import Work

PAGE_SIZE = 50
LEVEL_CHOICES_MAX = 9


@dataclass(frozen=True)
class QueueQuery:
    unit: str = ""
    level: str = ""
    state: str = ""
    project_level: str = ""
    text: str = ""
    page: int = 1
    lead_leader: str = ""
    co_unit: str = ""

    @classmethod
    def from_params(cls, *, unit: str = "", level: str = "", state: str = "", project_level: str = "",
                    text: str = "", page: int = 1, lead_leader: str = "", co_unit: str = "") -> QueueQuery:
        """Unknown values are dropped rather than refused, so an edited URL still shows a page."""
        level = level.strip()
        return cls(
            unit=unit.strip()[:200],
            level=level if level.isdigit() and 0 < int(level) <= LEVEL_CHOICES_MAX else "",
            state=state if state in STATES else "",
            project_level=project_level.strip()[:8],
            text=text.strip()[:100],
            page=max(page, 1),
            lead_leader=lead_leader.strip()[:100],
            co_unit=co_unit.strip()[:200],
        )

    def to_filter(self) -> EscalationFilter:
        return EscalationFilter(
            state=self.state or None,
            unit=self.unit or None,
            level=int(self.level) if self.level else None,
            project_level=self.project_level or None,
            text=self.text or None,
            lead_leader=self.lead_leader or None,
            co_unit=self.co_unit or None,
        )

    def params(self, **changes: object) -> dict[str, object]:
        values: dict[str, object] = {
            "unit": self.unit, "level": self.level, "state": self.state,
            "project_level": self.project_level, "lead_leader": self.lead_leader, "q": self.text,
            "co_unit": self.co_unit, "page": self.page,
        }
        values.update(changes)
        return values


@dataclass
class QueueResult:
    rows: list[EscalationRow]
    total: int
    page: int
    pages: int
    units: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    lead_leaders: list[str] = field(default_factory=list)
    co_units: list[str] = field(default_factory=list)

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1

    @property
    def last(self) -> int:
        return min(self.page * PAGE_SIZE, self.total)


def unit_names(session: Session) -> list[str]:
    """Every unit, for the filter drop-downs."""
    return list(session.scalars(select(Unit.name).order_by(Unit.name)))


def queue_page(work: Work, query: QueueQuery, *, page_size: int = PAGE_SIZE) -> QueueResult:
    rows, total = list_escalations(
        work.session, query.to_filter(), today=work.today, tz=work.context.settings.tz, limit=page_size, offset=(query.page - 1) * page_size
    )
    pages = max((total + page_size - 1) // page_size, 1)
    units = unit_names(work.session)
    levels = sorted({str(lv.level) for lv in work.context.settings.escalation.levels})
    return QueueResult(rows=rows, total=total, page=query.page, pages=pages, units=units, levels=levels,
                       lead_leaders=lead_leaders(work.session), co_units=co_units.co_unit_names(work.session))
