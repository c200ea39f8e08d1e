"""What supervisors do to an escalation: acknowledge (认领), assign, add a note, resolve.

Each action checks the state machine, then changes the row with a compare-and-set (an
UPDATE conditioned on what it read) and writes one AuditEvent with actor `user:<name>`;
the loser of a race with the scan or another supervisor gets `SupervisionConflict`. open -> acknowledged -> resolved; open -> resolved; resolved is final
(notes may still be added to it, as the record of what happened afterwards).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from deadline_watch.core.errors import DeadlineWatchError, NotFoundError
from deadline_watch.domain import audit
from deadline_watch.domain.board_items import appended_note
from deadline_watch.domain.models import (
    AuditEvent,
    Escalation,
    EscalationState,
    Milestone,
    MilestoneStatus,
    Notification,
    NotificationState,
    Person,
    Project,
    Resolution,
    Unit,
    User,
    UserRole,
    responsible_person_id,
)
from deadline_watch.domain.reachability import contact_note
from deadline_watch.domain.workdays import escalation_days_overdue

# Resolutions a person may choose; `cancelled` and `reached` are set by the scan itself.
HUMAN_RESOLUTIONS = (
    Resolution.COMPLETED_LATE,
    Resolution.DEADLINE_EXTENDED,
    Resolution.WAIVED,
    Resolution.REFERRED,
)
MAX_NOTE_LENGTH = 2000


class SupervisionError(DeadlineWatchError):
    """An action does not fit the escalation's current state or its arguments."""


class SupervisionConflict(SupervisionError):
    """The escalation changed between reading and writing it (another supervisor, or the
    scan resolving it): nothing was written; the board shows why, the API answers 409."""


def actor_name(user: User) -> str:
    return f"user:{user.username}"


def get_escalation(session: Session, escalation_id: int) -> Escalation:
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise NotFoundError(f"督办事项不存在: {escalation_id}", f"no such escalation: {escalation_id}")
    return escalation


def _snapshot(escalation: Escalation) -> dict:
    return {
        "state": escalation.state,
        "assignee_id": escalation.assignee_id,
        "resolution": escalation.resolution,
        "level": escalation.level,
    }


def _refuse_resolved(escalation: Escalation) -> None:
    if escalation.state == EscalationState.RESOLVED:
        raise SupervisionError(
            f"督办事项 {escalation.id} 已办结,不能再更改", f"escalation {escalation.id} is resolved and final"
        )


def _compare_and_set(
    session: Session,
    escalation: Escalation,
    *,
    action: str,
    actor: User,
    now: datetime,
    values: dict,
    note: str | None = None,
    extra: dict | None = None,
) -> Escalation:
    """Write `values` only if the row still holds what this action read (state, level,
    assignee, resolution), then audit the change; otherwise raise `SupervisionConflict`
    and write nothing. A scan or another supervisor acting on the same item at the same
    moment is thus either seen before (the action refuses, reading its result) or after
    (its own conditional UPDATE finds nothing to change), never overwritten."""
    before = _snapshot(escalation)
    if note is not None:
        values = values | {"notes": appended_note(f"[{now.strftime('%Y-%m-%d %H:%M')} {actor.display_name or actor.username}] {note}")}
    result = session.execute(
        update(Escalation)
        .where(
            Escalation.id == escalation.id,
            Escalation.state == before["state"],
            Escalation.level == before["level"],
            Escalation.assignee_id.is_not_distinct_from(before["assignee_id"]),
            Escalation.resolution.is_not_distinct_from(before["resolution"]),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.expire(escalation)
        raise SupervisionConflict(
            f"督办事项 {escalation.id} 刚被他人或系统更改,请刷新页面查看后再操作",
            f"escalation {escalation.id} was changed meanwhile; reload it and try again",
        )
    session.refresh(escalation)
    audit.record(
        session,
        now=now,
        actor=actor_name(actor),
        action=action,
        entity_type="escalation",
        entity_id=escalation.id,
        before=before,
        after=_snapshot(escalation) | (extra or {}),
    )
    return escalation


def acknowledge(session: Session, escalation_id: int, *, actor: User, now: datetime) -> Escalation:
    """认领: the acting supervisor takes the item (it becomes theirs unless already assigned)."""
    escalation = get_escalation(session, escalation_id)
    _refuse_resolved(escalation)
    if escalation.state == EscalationState.ACKNOWLEDGED:
        raise SupervisionError(
            f"督办事项 {escalation.id} 已被认领", f"escalation {escalation.id} is already acknowledged"
        )
    values: dict = {"state": EscalationState.ACKNOWLEDGED.value, "acknowledged_at": now}
    if escalation.assignee_id is None:
        values["assignee_id"] = actor.id
    return _compare_and_set(session, escalation, action="escalation.acknowledged", actor=actor, now=now,
                            values=values)


def assignable_users(session: Session) -> list[User]:
    """Active supervisors and admins, who may be given an escalation."""
    query = (
        select(User)
        .where(User.active.is_(True), User.role.in_([UserRole.SUPERVISOR, UserRole.ADMIN]))
        .order_by(User.username)
    )
    return list(session.scalars(query))


def assign(session: Session, escalation_id: int, *, assignee: str, actor: User, now: datetime) -> Escalation:
    """Give the item to a supervisor (or admin); an open item becomes acknowledged by it."""
    escalation = get_escalation(session, escalation_id)
    _refuse_resolved(escalation)
    target = session.scalars(select(User).where(User.username == assignee)).first()
    if target is None or not target.active or target.role not in (UserRole.SUPERVISOR, UserRole.ADMIN):
        raise SupervisionError(
            f"只能指派给在用的督办员或管理员: {assignee}",
            f"can only assign to an active supervisor or admin: {assignee}",
        )
    values: dict = {"assignee_id": target.id}
    if escalation.state == EscalationState.OPEN:
        values |= {"state": EscalationState.ACKNOWLEDGED.value, "acknowledged_at": now}
    return _compare_and_set(session, escalation, action="escalation.assigned", actor=actor, now=now,
                            values=values, extra={"assignee": target.username})


def _clean_note(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise SupervisionError("备注不能为空", "the note is empty")
    if len(text) > MAX_NOTE_LENGTH:
        raise SupervisionError(
            f"备注过长(最多 {MAX_NOTE_LENGTH} 字)", f"note too long (at most {MAX_NOTE_LENGTH} characters)"
        )
    return text


def add_note(session: Session, escalation_id: int, *, text: str, actor: User, now: datetime) -> Escalation:
    """Append a note (allowed in every state, resolved included)."""
    escalation = get_escalation(session, escalation_id)
    text = _clean_note(text)
    return _compare_and_set(session, escalation, action="escalation.note_added", actor=actor, now=now,
                            values={}, note=text, extra={"note": text})


def resolve(
    session: Session,
    escalation_id: int,
    *,
    resolution: str,
    actor: User,
    now: datetime,
    note: str | None = None,
) -> Escalation:
    """办结: close the item with one of the human resolutions; final afterwards."""
    escalation = get_escalation(session, escalation_id)
    _refuse_resolved(escalation)
    if resolution not in {r.value for r in HUMAN_RESOLUTIONS}:
        raise SupervisionError(
            f"办结方式无效: {resolution}",
            f"invalid resolution: {resolution} (choose {', '.join(r.value for r in HUMAN_RESOLUTIONS)})",
        )
    text = _clean_note(note) if note and note.strip() else None
    values: dict = {"state": EscalationState.RESOLVED.value, "resolution": resolution, "resolved_at": now}
    if escalation.acknowledged_at is None:
        values["acknowledged_at"] = now
    return _compare_and_set(session, escalation, action="escalation.resolved", actor=actor, now=now,
                            values=values, note=text, extra={"note": text} if text else None)


@dataclass(frozen=True)
class EscalationDetail:
    """Everything the escalation page shows, read in a fixed number of queries."""

    escalation: Escalation
    project_code: str
    project_name: str
    project_level: str | None
    unit: str
    milestone: str
    milestone_status: str
    completed_on: date | None
    owner: str
    owner_mobile: str | None
    lead_leader: str | None
    lead_leader_mobile: str | None
    assignee: str | None
    days_overdue: int
    notifications: list[Notification]
    history: list[AuditEvent]
    owner_contact: str | None = None  # "已回复退订" / "无法联系(短信被拒收)" (domain.reachability)
    lead_leader_contact: str | None = None

    @property
    def reached_official(self) -> bool:
        """Whether any SMS about this milestone was confirmed delivered to its recipient."""
        return any(n.state == NotificationState.DELIVERED for n in self.notifications)


def escalation_detail(session: Session, escalation_id: int, *, today: date, tz: ZoneInfo) -> EscalationDetail:
    responsible = aliased(Person)
    leader = aliased(Person)
    row = session.execute(
        select(Escalation, Milestone, Project, Unit.name, responsible, leader,
               func.coalesce(User.display_name, User.username))
        .join(Milestone, Milestone.id == Escalation.milestone_id)
        .join(Project, Project.id == Milestone.project_id)
        .join(Unit, Unit.id == Project.unit_id)
        .join(responsible, responsible.id == responsible_person_id())
        .outerjoin(leader, leader.id == Project.lead_leader_id)
        .outerjoin(User, User.id == Escalation.assignee_id)
        .where(Escalation.id == escalation_id)
    ).first()
    if row is None:
        raise NotFoundError(f"督办事项不存在: {escalation_id}", f"no such escalation: {escalation_id}")
    escalation, milestone, project, unit_name, responsible_person, leader_person, assignee = row
    notifications = list(
        session.scalars(
            select(Notification)
            .where(Notification.milestone_id == milestone.id, Notification.due_date == escalation.due_date)
            .order_by(Notification.created_at, Notification.id)
        )
    )
    history = list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "escalation", AuditEvent.entity_id == escalation.id)
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )
    return EscalationDetail(
        escalation=escalation,
        project_code=project.code,
        project_name=project.name,
        project_level=project.level,
        unit=unit_name,
        milestone=milestone.name,
        milestone_status=milestone.status,
        completed_on=milestone.completed_on,
        owner=responsible_person.name,
        owner_mobile=responsible_person.mobile,
        lead_leader=leader_person.name if leader_person else None,
        lead_leader_mobile=leader_person.mobile if leader_person else None,
        assignee=assignee,
        days_overdue=escalation_days_overdue(
            escalation.due_date,
            milestone_due=milestone.due_date,
            milestone_cancelled=milestone.status == MilestoneStatus.CANCELLED,
            completed_on=milestone.completed_on,
            resolved_at=escalation.resolved_at,
            today=today,
            tz=tz,
        ),
        notifications=notifications,
        history=history,
        owner_contact=contact_note(responsible_person.opted_out_at, responsible_person.unsubscribe_requested_at),
        lead_leader_contact=(
            contact_note(leader_person.opted_out_at, leader_person.unsubscribe_requested_at) if leader_person else None
        ),
    )
