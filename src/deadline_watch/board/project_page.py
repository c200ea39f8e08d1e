"""The project page ("体检" of one project): header, milestones with their lights,
notifications, escalations, evidence and history, read with a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from deadline_watch.board.lights import MilestoneLight, ProjectLights, milestone_light, reminder_days
from deadline_watch.core.config import Settings
from deadline_watch.core.errors import NotFoundError
from deadline_watch.core.logs import mask_mobile
from deadline_watch.domain.models import (
    AuditEvent,
    Escalation,
    Milestone,
    Notification,
    Person,
    Project,
    Unit,
    User,
    responsible_person_id,
)

__all__ = [
    "EscalationRow",
    "EvidenceRow",
    "HistoryRow",
    "NotificationRow",
    "ProjectDetail",
    "project_detail",
]


@dataclass(frozen=True)
class NotificationRow:
    id: int
    milestone: str
    rule: str
    level: int | None
    due_date: date
    days_left: int | None
    recipient: str | None
    to: str  # masked unless the caller asked otherwise
    body: str
    state: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    provider_error_code: str | None
    last_error: str | None

    @property
    def reached(self) -> bool:
        """The provider confirmed delivery to the handset."""
        return self.state == "delivered"


@dataclass(frozen=True)
class EscalationRow:
    id: int
    milestone: str
    reason: str
    due_date: date
    level: int
    state: str
    opened_at: datetime
    raised_at: datetime | None
    acknowledged_at: datetime | None
    assignee: str | None
    resolution: str | None
    resolved_at: datetime | None
    notes: str


@dataclass(frozen=True)
class EvidenceRow:
    milestone: str
    completed_on: date | None
    evidence: str


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: int
    before: dict | None
    after: dict | None


@dataclass(frozen=True)
class ProjectDetail:
    project: ProjectLights
    co_units: str
    lead_leader: str | None
    lead_leader_mobile: str | None
    owner_mobile: str | None
    note: str
    deadline_phrase: str  # the 完成时限 as the office wrote it
    milestones: list[MilestoneLight]
    notifications: list[NotificationRow]
    escalations: list[EscalationRow]
    evidence: list[EvidenceRow]
    history: list[HistoryRow]


def project_detail(
    session: Session, code: str, *, today: date, settings: Settings, mask_mobiles: bool = True
) -> ProjectDetail:
    """Everything the project page shows. Raises NotFoundError for an unknown code.

    Mobiles are masked (`+86138****8000`) unless `mask_mobiles=False` (admins).
    History holds the AuditEvents of the project, its milestones and their escalations,
    newest first.
    """
    owner = aliased(Person)
    leader = aliased(Person)
    row = session.execute(
        select(Project, Unit.name, owner.name, owner.mobile, leader.name, leader.mobile)
        .join(Unit, Unit.id == Project.unit_id)
        .join(owner, owner.id == Project.owner_id)
        .outerjoin(leader, leader.id == Project.lead_leader_id)
        .where(Project.code == code)
    ).first()
    if row is None:
        raise NotFoundError(f"项目不存在: {code}", f"no project with code {code}")
    project, unit_name, owner_name, owner_mobile, leader_name, leader_mobile = row

    def shown(mobile: str | None) -> str | None:
        if mobile is None:
            return None
        return mask_mobile(mobile) if mask_mobiles else mobile

    window = reminder_days(settings)
    responsible = aliased(Person)
    milestones = []
    evidence = []
    for m, responsible_name in session.execute(
        select(Milestone, responsible.name)
        .join(Project, Project.id == Milestone.project_id)
        .outerjoin(responsible, responsible.id == responsible_person_id())
        .where(Milestone.project_id == project.id)
        .order_by(Milestone.position, Milestone.due_date, Milestone.id)
    ).all():
        milestones.append(
            milestone_light(
                m.id, m.name, m.position, m.due_date, m.completed_on, m.status, responsible_name,
                project_status=project.status, today=today, window=window,
                pending_review=m.review_pending_since is not None,
            )
        )
        if m.evidence:
            evidence.append(EvidenceRow(milestone=m.name, completed_on=m.completed_on, evidence=m.evidence))
    milestone_ids = [m.id for m in milestones]

    recipient = aliased(Person)
    notifications = [
        NotificationRow(
            id=n.id,
            milestone=m_name,
            rule=n.rule,
            level=n.level,
            due_date=n.due_date,
            days_left=n.days_left,
            recipient=r_name,
            to=shown(n.to_number) or "",
            body=n.body,
            state=n.state,
            attempts=n.attempts,
            created_at=n.created_at,
            sent_at=n.sent_at,
            delivered_at=n.delivered_at,
            provider_error_code=n.provider_error_code,
            last_error=n.last_error,
        )
        for n, m_name, r_name in session.execute(
            select(Notification, Milestone.name, recipient.name)
            .join(Milestone, Milestone.id == Notification.milestone_id)
            .outerjoin(recipient, recipient.id == Notification.recipient_id)
            .where(Milestone.project_id == project.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
        ).all()
    ]

    escalation_rows = session.execute(
        select(Escalation, Milestone.name, User.username)
        .join(Milestone, Milestone.id == Escalation.milestone_id)
        .outerjoin(User, User.id == Escalation.assignee_id)
        .where(Milestone.project_id == project.id)
        .order_by(Escalation.opened_at.desc(), Escalation.id.desc())
    ).all()
    escalations = [
        EscalationRow(
            id=e.id,
            milestone=m_name,
            reason=e.reason,
            due_date=e.due_date,
            level=e.level,
            state=e.state,
            opened_at=e.opened_at,
            raised_at=e.raised_at,
            acknowledged_at=e.acknowledged_at,
            assignee=username,
            resolution=e.resolution,
            resolved_at=e.resolved_at,
            notes=e.notes,
        )
        for e, m_name, username in escalation_rows
    ]

    entity_filter = [and_(AuditEvent.entity_type == "project", AuditEvent.entity_id == project.id)]
    if milestone_ids:
        entity_filter.append(
            and_(AuditEvent.entity_type == "milestone", AuditEvent.entity_id.in_(milestone_ids))
        )
    if escalations:
        entity_filter.append(
            and_(AuditEvent.entity_type == "escalation", AuditEvent.entity_id.in_([e.id for e in escalations]))
        )
    history = [
        HistoryRow(
            at=a.at,
            actor=a.actor,
            action=a.action,
            entity_type=a.entity_type,
            entity_id=a.entity_id,
            before=a.before,
            after=a.after,
        )
        for a in session.scalars(
            select(AuditEvent).where(or_(*entity_filter)).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        ).all()
    ]

    header = ProjectLights(
        code=project.code,
        name=project.name,
        unit=unit_name,
        level=project.level,
        owner=owner_name,
        status=project.status,
        milestones=milestones,
        id=project.id,
        schedule=project.schedule or "",
    )
    return ProjectDetail(
        project=header,
        co_units=project.co_units or "",
        lead_leader=leader_name,
        lead_leader_mobile=shown(leader_mobile),
        owner_mobile=shown(owner_mobile),
        note=project.note or "",
        deadline_phrase=project.deadline_phrase or "",
        milestones=milestones,
        notifications=notifications,
        escalations=escalations,
        evidence=evidence,
        history=history,
    )
