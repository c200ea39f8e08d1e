"""Traffic lights for the project board and the project page ("体检" of each project).

`classify` is the rule (a plain function of dates and statuses); `project_board` and
`project_detail` read what the board shows with a fixed number of queries. Today's
date always comes in as a parameter.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from deadline_watch.core.config import Settings
from deadline_watch.core.errors import NotFoundError
from deadline_watch.core.logs import mask_mobile
from deadline_watch.domain.models import (
    AuditEvent,
    Escalation,
    Milestone,
    MilestoneStatus,
    Notification,
    Person,
    Project,
    ProjectStatus,
    Unit,
    User,
)

__all__ = [
    "Light",
    "MilestoneLight",
    "ProjectLights",
    "ProjectDetail",
    "NotificationRow",
    "EscalationRow",
    "EvidenceRow",
    "HistoryRow",
    "classify",
    "days_overdue",
    "reminder_days",
    "project_board",
    "project_board_count",
    "project_detail",
]


class Light(StrEnum):
    GREEN = "green"  # on track
    YELLOW = "yellow"  # inside the reminder window, not completed
    RED = "red"  # overdue: past due, not completed, project active
    GREY = "grey"  # completed, cancelled, or project not active

    @property
    def label_zh(self) -> str:
        return _LABELS_ZH[self]


_LABELS_ZH = {
    Light.GREEN: "正常推进",
    Light.YELLOW: "临近截止",
    Light.RED: "已逾期",
    Light.GREY: "已完成/已终止",
}


def reminder_days(settings: Settings) -> int:
    """The reminder window: the largest configured "days before" offset."""
    return max(settings.reminders.days_before)


def classify(
    milestone_due: date,
    completed_on: date | None,
    milestone_status: str,
    project_status: str,
    *,
    today: date,
    reminder_days: int,
) -> Light:
    """The light of one milestone on `today`.

    Due today is still yellow (a milestone is overdue from the day after its due date);
    due exactly `reminder_days` ahead is yellow, one day further is green. Calendar days
    are used whatever `day_mode` says: the board shows distance to the deadline, the
    working-day rule only moves when the SMS goes out.
    """
    if (
        completed_on is not None
        or milestone_status in (MilestoneStatus.COMPLETED, MilestoneStatus.CANCELLED)
        or project_status != ProjectStatus.ACTIVE
    ):
        return Light.GREY
    days_left = (milestone_due - today).days
    if days_left < 0:
        return Light.RED
    if days_left <= reminder_days:
        return Light.YELLOW
    return Light.GREEN


def days_overdue(light: Light, milestone_due: date, *, today: date) -> int:
    """Days past the due date for a red milestone, 0 for every other light."""
    return (today - milestone_due).days if light is Light.RED else 0


@dataclass(frozen=True)
class MilestoneLight:
    name: str
    due_date: date
    completed_on: date | None
    light: Light
    days_overdue: int
    id: int = 0
    status: str = MilestoneStatus.OPEN
    position: int = 0
    owner: str | None = None  # the milestone's own owner when it overrides the project's


@dataclass(frozen=True)
class ProjectLights:
    code: str
    name: str
    unit: str
    level: str | None
    owner: str
    status: str
    milestones: list[MilestoneLight] = field(default_factory=list)
    id: int = 0

    @property
    def worst(self) -> Light:
        """The most urgent light among the milestones (red > yellow > green > grey)."""
        order = (Light.RED, Light.YELLOW, Light.GREEN)
        for light in order:
            if any(m.light is light for m in self.milestones):
                return light
        return Light.GREY

    @property
    def days_overdue(self) -> int:
        return max((m.days_overdue for m in self.milestones), default=0)


def _light_condition(light: str, *, today: date, window: int):
    """EXISTS a milestone of this project with the given light (red, yellow or green)."""
    open_milestone = [
        Milestone.project_id == Project.id,
        Milestone.status == MilestoneStatus.OPEN,
        Milestone.completed_on.is_(None),
    ]
    horizon = today + timedelta(days=window)
    if light == Light.RED:
        due = [Milestone.due_date < today]
    elif light == Light.YELLOW:
        due = [Milestone.due_date >= today, Milestone.due_date <= horizon]
    elif light == Light.GREEN:
        due = [Milestone.due_date > horizon]
    else:
        raise ValueError(f"light filter must be red, yellow or green, not {light!r}")
    return select(Milestone.id).where(*open_milestone, *due).exists()


def _board_filters(
    unit: str | int | None,
    level: str | None,
    text: str | None,
    light: str | None = None,
    *,
    today: date | None = None,
    window: int = 0,
) -> list:
    """Conditions on `projects` alone: the unit name and the owner's name go through
    subqueries on their own tables, so no filter needs a join (unit_id and owner_id are
    non-null foreign keys, so a join would never change which projects match)."""
    conditions = [Project.status == ProjectStatus.ACTIVE]
    if unit is not None and unit != "":
        if isinstance(unit, int):
            conditions.append(Project.unit_id == unit)
        else:
            conditions.append(Project.unit_id.in_(select(Unit.id).where(Unit.name == unit)))
    if level:
        conditions.append(Project.level == level)
    if text and text.strip():
        needle = text.strip()
        conditions.append(
            or_(
                Project.code.icontains(needle, autoescape=True),
                Project.name.icontains(needle, autoescape=True),
                Project.owner_id.in_(select(Person.id).where(Person.name.icontains(needle, autoescape=True))),
            )
        )
    if light:
        if today is None:
            raise ValueError("a light filter needs today")
        conditions.append(_light_condition(light, today=today, window=window))
    return conditions


def project_board_count(
    session: Session,
    *,
    unit: str | int | None = None,
    level: str | None = None,
    text: str | None = None,
    light: str | None = None,
    today: date | None = None,
    settings: Settings | None = None,
) -> int:
    """How many active projects `project_board` would list without limit (for pagination).

    Counts `projects` alone (no join); unfiltered, that is a walk of the status index.
    """
    window = reminder_days(settings) if settings is not None else 0
    query = select(func.count(Project.id)).where(
        *_board_filters(unit, level, text, light, today=today, window=window)
    )
    return session.scalar(query) or 0


def project_board(
    session: Session,
    *,
    today: date,
    settings: Settings,
    unit: str | int | None = None,
    level: str | None = None,
    text: str | None = None,
    light: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[ProjectLights]:
    """Every active project (filtered, ordered by code) with its milestones' lights.

    Two queries: one page of projects, then all milestones of that page. `unit` is a
    unit name or a unit id; `text` matches project code, project name or owner name;
    `light` ("red", "yellow", "green") keeps projects with at least one such milestone.
    """
    window = reminder_days(settings)
    # The page is chosen on `projects` alone (filters need no join), then only its rows
    # are joined to units and persons: joined first, SQLite's planner (with ANALYZE
    # statistics) may walk all 250,000 projects through persons and sort them instead
    # of reading one page off the code index.
    page = (
        select(Project.id.label("id"), Project.code.label("code"))
        .where(*_board_filters(unit, level, text, light, today=today, window=window))
        .order_by(Project.code)
        .offset(max(offset, 0))
    )
    if limit is not None:
        page = page.limit(limit)
    page = page.subquery("page")
    projects = session.execute(
        select(Project.id, Project.code, Project.name, Unit.name, Project.level, Person.name, Project.status)
        .select_from(page)
        .join(Project, Project.id == page.c.id)
        .join(Unit, Unit.id == Project.unit_id)
        .join(Person, Person.id == Project.owner_id)
        .order_by(page.c.code)
    ).all()
    if not projects:
        return []
    by_project: dict[int, list[MilestoneLight]] = defaultdict(list)
    statuses = {row[0]: row[6] for row in projects}
    override = aliased(Person)
    milestone_rows = session.execute(
        select(
            Milestone.id,
            Milestone.project_id,
            Milestone.name,
            Milestone.position,
            Milestone.due_date,
            Milestone.completed_on,
            Milestone.status,
            override.name,
        )
        .outerjoin(override, override.id == Milestone.owner_id)
        .where(Milestone.project_id.in_(list(statuses)))
        .order_by(Milestone.project_id, Milestone.position, Milestone.due_date, Milestone.id)
    ).all()
    for m_id, project_id, name, position, due, completed_on, status, owner_name in milestone_rows:
        by_project[project_id].append(
            _milestone_light(
                m_id, name, position, due, completed_on, status, owner_name,
                project_status=statuses[project_id], today=today, window=window,
            )
        )
    return [
        ProjectLights(
            code=code,
            name=name,
            unit=unit_name,
            level=level_,
            owner=owner_name,
            status=status,
            milestones=by_project.get(project_id, []),
            id=project_id,
        )
        for project_id, code, name, unit_name, level_, owner_name, status in projects
    ]


def _milestone_light(
    milestone_id: int,
    name: str,
    position: int,
    due_date: date,
    completed_on: date | None,
    status: str,
    owner: str | None,
    *,
    project_status: str,
    today: date,
    window: int,
) -> MilestoneLight:
    """One milestone as the board and the project page show it: its light and days overdue."""
    light = classify(due_date, completed_on, status, project_status, today=today, reminder_days=window)
    return MilestoneLight(
        name=name,
        due_date=due_date,
        completed_on=completed_on,
        light=light,
        days_overdue=days_overdue(light, due_date, today=today),
        id=milestone_id,
        status=status,
        position=position,
        owner=owner,
    )


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
    override = aliased(Person)
    milestones = []
    evidence = []
    for m, override_name in session.execute(
        select(Milestone, override.name)
        .outerjoin(override, override.id == Milestone.owner_id)
        .where(Milestone.project_id == project.id)
        .order_by(Milestone.position, Milestone.due_date, Milestone.id)
    ).all():
        milestones.append(
            _milestone_light(
                m.id, m.name, m.position, m.due_date, m.completed_on, m.status, override_name,
                project_status=project.status, today=today, window=window,
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
    )
    return ProjectDetail(
        project=header,
        co_units=project.co_units or "",
        lead_leader=leader_name,
        lead_leader_mobile=shown(leader_mobile),
        owner_mobile=shown(owner_mobile),
        note=project.note or "",
        milestones=milestones,
        notifications=notifications,
        escalations=escalations,
        evidence=evidence,
        history=history,
    )
