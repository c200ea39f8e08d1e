"""移交问责 as records: a referral opened when an item is resolved as referred for
accountability, holding the facts as they stood then; the commission's answer; the list and
the monthly count by unit.

The facts are a snapshot (JSON): a later re-import or correction does not rewrite what was
handed over. State changes are compare-and-set: referred -> answered, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from deadline_watch.board import supervision
from deadline_watch.core.errors import DeadlineWatchError, NotFoundError
from deadline_watch.domain import audit
from deadline_watch.domain.models import (
    AuditEvent,
    NotificationState,
    Person,
    Project,
    Referral,
    ReferralState,
    Unit,
)

MAX_OUTCOME_LENGTH = 4000
DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
STATES = (ReferralState.REFERRED.value, ReferralState.ANSWERED.value)
SENT_STATES = (NotificationState.SENT.value, NotificationState.DELIVERED.value, NotificationState.UNDELIVERED.value)


class ReferralError(DeadlineWatchError):
    """A referral action that does not fit its state or its arguments."""


def levels_reached(history: list[AuditEvent], current_level: int) -> list[int]:
    """Every escalation level the item stood at, lowest first (from its audit trail)."""
    levels = {current_level}
    for event in history:
        for values in (event.before or {}, event.after or {}):
            level = values.get("level")
            if isinstance(level, int):
                levels.add(level)
    return sorted(levels)


def _facts(detail: supervision.EscalationDetail, leader_mobile: str | None) -> dict:
    escalation = detail.escalation
    notifications = detail.notifications
    return {
        "escalation_id": escalation.id,
        "project_code": detail.project_code,
        "project_name": detail.project_name,
        "project_level": detail.project_level,
        "unit": detail.unit,
        "milestone": detail.milestone,
        "milestone_status": detail.milestone_status,
        "due_date": escalation.due_date.isoformat(),
        "completed_on": detail.completed_on.isoformat() if detail.completed_on else None,
        "owner": detail.owner,
        "owner_mobile": detail.owner_mobile,
        "lead_leader": detail.lead_leader,
        "lead_leader_mobile": leader_mobile,
        "days_overdue": detail.days_overdue,
        "level": escalation.level,
        "levels_reached": levels_reached(detail.history, escalation.level),
        "sms_sent": sum(1 for n in notifications if n.state in SENT_STATES),
        "sms_delivered": sum(1 for n in notifications if n.state == NotificationState.DELIVERED.value),
        "opened_at": escalation.opened_at.isoformat(),
        "notes": escalation.notes or "",
        "history": [
            {"at": event.at.isoformat(), "actor": event.actor, "action": event.action,
             "after": event.after or {}}
            for event in detail.history
        ],
    }


def open_referral(session: Session, escalation_id: int, *, actor: str, now: datetime, today: date,
                  tz: tzinfo = DEFAULT_ZONE) -> Referral:
    """Record the referral of an escalation just resolved as referred for accountability.

    One per escalation (a unique key): a second call returns the existing referral."""
    existing = session.scalars(sa.select(Referral).where(Referral.escalation_id == escalation_id)).first()
    if existing is not None:
        return existing
    detail = supervision.escalation_detail(session, escalation_id, today=today, tz=tz)
    project_id, unit_id, leader_mobile = session.execute(
        sa.select(Project.id, Project.unit_id, Person.mobile)
        .outerjoin(Person, Person.id == Project.lead_leader_id)
        .where(Project.code == detail.project_code)
    ).one()
    facts = _facts(detail, leader_mobile)
    referral = Referral(
        escalation_id=escalation_id,
        milestone_id=detail.escalation.milestone_id,
        project_id=project_id,
        unit_id=unit_id,
        state=ReferralState.REFERRED.value,
        days_overdue=detail.days_overdue,
        level=detail.escalation.level,
        facts=facts,
        referred_at=now,
        referred_by=actor,
        outcome="",
    )
    session.add(referral)
    session.flush()
    audit.record(session, now=now, actor=actor, action="referral.opened", entity_type="referral",
                 entity_id=referral.id, after={"escalation_id": escalation_id, "state": referral.state})
    return referral


def get_referral(session: Session, referral_id: int) -> Referral:
    referral = session.get(Referral, referral_id)
    if referral is None:
        raise NotFoundError(f"移交记录不存在: {referral_id}", f"no such referral: {referral_id}")
    return referral


def record_outcome(session: Session, referral_id: int, *, outcome: str, actor: str, now: datetime) -> Referral:
    """已反馈: the commission's answer, recorded once (compare-and-set on the state)."""
    text = (outcome or "").strip()
    if not text:
        raise ReferralError("请填写反馈结果", "the outcome is empty")
    if len(text) > MAX_OUTCOME_LENGTH:
        raise ReferralError(f"反馈结果过长(最多 {MAX_OUTCOME_LENGTH} 字)",
                            f"outcome too long (at most {MAX_OUTCOME_LENGTH} characters)")
    get_referral(session, referral_id)
    result = session.execute(
        sa.update(Referral)
        .where(Referral.id == referral_id, Referral.state == ReferralState.REFERRED.value)
        .values(state=ReferralState.ANSWERED.value, outcome=text, answered_at=now, answered_by=actor)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:
        raise ReferralError(f"移交记录 {referral_id} 已反馈,不能再次登记", f"referral {referral_id} is already answered")
    audit.record(session, now=now, actor=actor, action="referral.answered", entity_type="referral",
                 entity_id=referral_id, before={"state": ReferralState.REFERRED.value},
                 after={"state": ReferralState.ANSWERED.value, "note": text})
    referral = session.get(Referral, referral_id)
    assert referral is not None
    session.refresh(referral)
    return referral


def referral_for_escalation(session: Session, escalation_id: int) -> Referral | None:
    return session.scalars(sa.select(Referral).where(Referral.escalation_id == escalation_id)).first()


# ---- the list -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralFilter:
    state: str | None = None  # referred | answered
    unit: str | None = None
    start: date | None = None  # referred on or after (local date)
    end: date | None = None  # referred on or before
    text: str | None = None  # project code or name, node, responsible official


@dataclass(frozen=True)
class ReferralRow:
    id: int
    escalation_id: int
    state: str
    unit: str
    project_code: str
    project_name: str
    milestone: str
    owner: str
    lead_leader: str | None
    days_overdue: int
    level: int
    referred_at: datetime
    referred_by: str
    outcome: str


def _bounds(start: date | None, end: date | None, tz: tzinfo) -> list[sa.ColumnElement[bool]]:
    conditions = []
    if start is not None:
        conditions.append(Referral.referred_at >= datetime.combine(start, time(), tzinfo=tz))
    if end is not None:
        conditions.append(Referral.referred_at < datetime.combine(end + timedelta(days=1), time(), tzinfo=tz))
    return conditions


def list_referrals(session: Session, filt: ReferralFilter | None = None, *, tz: tzinfo = DEFAULT_ZONE,
                   limit: int = 100, offset: int = 0) -> tuple[list[ReferralRow], int]:
    """One page of referrals, newest first, and how many match the filter."""
    filt = filt or ReferralFilter()
    conditions = _bounds(filt.start, filt.end, tz)
    if filt.state in STATES:
        conditions.append(Referral.state == filt.state)
    if filt.unit:
        conditions.append(Unit.name == filt.unit)
    if filt.text:
        text = filt.text
        conditions.append(sa.or_(
            Project.code.contains(text, autoescape=True),
            Project.name.contains(text, autoescape=True),
            Referral.facts["milestone"].as_string().contains(text, autoescape=True),
            Referral.facts["owner"].as_string().contains(text, autoescape=True),
        ))
    base = (
        sa.select(Referral, Unit.name, Project.code, Project.name)
        .join(Unit, Unit.id == Referral.unit_id)
        .join(Project, Project.id == Referral.project_id)
        .where(*conditions)
    )
    total = session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    rows = []
    for referral, unit_name, code, name in session.execute(
        base.order_by(Referral.referred_at.desc(), Referral.id.desc()).limit(limit).offset(offset)
    ):
        facts = referral.facts or {}
        rows.append(ReferralRow(
            id=referral.id, escalation_id=referral.escalation_id, state=referral.state, unit=unit_name,
            project_code=code, project_name=name, milestone=str(facts.get("milestone", "")),
            owner=str(facts.get("owner", "")), lead_leader=facts.get("lead_leader"),
            days_overdue=referral.days_overdue, level=referral.level, referred_at=referral.referred_at,
            referred_by=referral.referred_by, outcome=referral.outcome,
        ))
    return rows, int(total)


# ---- the monthly figures --------------------------------------------------------------


@dataclass(frozen=True)
class UnitReferrals:
    unit: str
    total: int  # referred in the period
    answered: int  # of those, answered by now


def referral_counts_by_unit(session: Session, start: date, end: date, *,
                            tz: tzinfo = DEFAULT_ZONE) -> list[UnitReferrals]:
    """Referrals made from `start` to `end` (local dates, both included) counted by the
    project's responsible unit: most referrals first, then by unit name. Units with none are
    left out. For the monthly summary and the 通报."""
    answered = sa.func.sum(sa.case((Referral.state == ReferralState.ANSWERED.value, 1), else_=0))
    statement = (
        sa.select(Unit.name, sa.func.count(Referral.id), answered)
        .join(Unit, Unit.id == Referral.unit_id)
        .where(*_bounds(start, end, tz))
        .group_by(Unit.name)
        .order_by(sa.func.count(Referral.id).desc(), Unit.name)
    )
    return [UnitReferrals(name, int(total), int(done or 0)) for name, total, done in session.execute(statement)]

