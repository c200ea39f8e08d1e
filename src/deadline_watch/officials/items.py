"""我的督办事项: the open milestones an official answers for (as owner) or leads (read only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.core.config import Settings
from deadline_watch.domain.models import (
    Escalation,
    Milestone,
    MilestoneStatus,
    OfficialRequest,
    Person,
    Project,
    ProjectStatus,
    RequestKind,
    RequestState,
    responsible_person_id,
)
from deadline_watch.domain.workdays import days_left, days_overdue


@dataclass
class MyItem:
    milestone_id: int
    project_code: str
    project_name: str
    milestone: str
    due_date: date
    role: str  # owner | lead_leader
    days_left: int | None
    days_overdue: int | None
    level: int | None
    supervisors_notes: list[str] = field(default_factory=list)
    pending_kind: str | None = None
    pending_since: datetime | None = None
    returned_reason: str | None = None
    progress_note: str | None = None
    progress_percent: int | None = None

    @property
    def can_act(self) -> bool:
        return self.role == "owner"


def my_items(session: Session, person_id: int, settings: Settings, *, today: date) -> list[MyItem]:
    owner_now = responsible_person_id()
    rows = session.execute(
        sa.select(Milestone, Project.code, Project.name, owner_now.label("owner_id"), Project.lead_leader_id)
        .join(Project, Project.id == Milestone.project_id)
        .where(
            sa.or_(owner_now == person_id, Project.lead_leader_id == person_id),
            Milestone.status == MilestoneStatus.OPEN.value,
            Milestone.completed_on.is_(None),
            Project.status == ProjectStatus.ACTIVE.value,
        )
        .order_by(Milestone.due_date, Milestone.id)
        .limit(200)
    ).all()
    items: list[MyItem] = []
    for milestone, code, name, owner_id, _leader_id in rows:
        overdue = days_overdue(today, milestone.due_date) if milestone.due_date < today else None
        items.append(MyItem(
            milestone_id=milestone.id, project_code=code, project_name=name, milestone=milestone.name,
            due_date=milestone.due_date, role="owner" if owner_id == person_id else "lead_leader",
            days_left=None if overdue else days_left(today, milestone.due_date, settings.reminders.day_mode),
            days_overdue=overdue, level=None, pending_since=milestone.review_pending_since,
        ))
    _attach_board(session, items)
    _attach_requests(session, items)
    return items


def _attach_board(session: Session, items: list[MyItem]) -> None:
    by_id = {item.milestone_id: item for item in items}
    if not by_id:
        return
    for milestone_id, level, notes in session.execute(
        sa.select(Escalation.milestone_id, Escalation.level, Escalation.notes)
        .where(Escalation.milestone_id.in_(by_id), Escalation.state != "resolved", Escalation.reason == "overdue")
    ):
        item = by_id[milestone_id]
        item.level = max(item.level or 0, level)
        item.supervisors_notes.extend(line for line in (notes or "").splitlines() if line.strip())


def _attach_requests(session: Session, items: list[MyItem]) -> None:
    by_id = {item.milestone_id: item for item in items}
    if not by_id:
        return
    for request in session.scalars(
        sa.select(OfficialRequest).where(OfficialRequest.milestone_id.in_(by_id)).order_by(OfficialRequest.id)
    ):
        item = by_id[request.milestone_id]
        if request.state in (RequestState.PENDING.value, RequestState.APPROVED.value):
            item.pending_kind = request.kind if request.state == RequestState.PENDING.value else None
            item.returned_reason = None  # a later request supersedes an earlier return
        elif request.state == RequestState.RETURNED.value:
            item.returned_reason = request.return_reason
        if request.kind == RequestKind.PROGRESS.value:
            item.progress_note, item.progress_percent = request.note, request.percent


def person_name(session: Session, person_id: int) -> str:
    return session.scalar(sa.select(Person.name).where(Person.id == person_id)) or ""
