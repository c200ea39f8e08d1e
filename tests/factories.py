"""Small builders for registry rows, so tests of the scan, delivery and board read plainly.

They write through the ORM directly (not the importer) so each area's tests depend only
on the model.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from deadline_watch.domain.models import Milestone, Notification, Person, Project, Unit
from deadline_watch.sms.base import OutgoingSms

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
_counter = itertools.count(1)


def unit(session: Session, name: str = "新经济发展局") -> Unit:
    found = session.scalars(select(Unit).where(Unit.name == name)).first()
    if found:
        return found
    created = Unit(name=name, created_at=EPOCH)
    session.add(created)
    session.flush()
    return created


def person(session: Session, name: str | None = None, mobile: str | None = None, roles: str = "owner") -> Person:
    number = next(_counter)
    mobile = mobile or f"+86138{number:08d}"
    found = session.scalars(select(Person).where(Person.mobile == mobile)).first()
    if found:
        return found
    created = Person(name=name or f"官员{number}", mobile=mobile, roles=roles, created_at=EPOCH)
    session.add(created)
    session.flush()
    return created


def project(
    session: Session,
    code: str | None = None,
    *,
    name: str = "天府软件园三期建设",
    unit_name: str = "新经济发展局",
    owner: Person | None = None,
    lead_leader: Person | None = None,
    level: str | None = "市级",
    status: str = "active",
) -> Project:
    created = Project(
        code=code or f"GX-T-{next(_counter):05d}",
        name=name,
        unit=unit(session, unit_name),
        owner=owner or person(session),
        lead_leader=lead_leader,
        level=level,
        status=status,
        created_at=EPOCH,
        updated_at=EPOCH,
    )
    session.add(created)
    session.flush()
    return created


def milestone(
    session: Session,
    due_date: date,
    *,
    project_: Project | None = None,
    name: str = "组织实施",
    completed_on: date | None = None,
) -> Milestone:
    parent = project_ or project(session)
    created = Milestone(
        project=parent,
        name=name,
        due_date=due_date,
        completed_on=completed_on,
        status="completed" if completed_on else "open",
        created_at=EPOCH,
        updated_at=EPOCH,
    )
    session.add(created)
    session.flush()
    return created


def notification(milestone: Milestone, recipient: Person, *, dedup_key: str, at: datetime, **fields) -> Notification:
    """An outbox row (not yet added to a session): a 7-day reminder about `milestone` to
    `recipient`, written and due at `at`; `fields` override any column."""
    values: dict = dict(
        dedup_key=dedup_key,
        milestone_id=milestone.id,
        rule="reminder",
        due_date=milestone.due_date,
        days_left=7,
        recipient_id=recipient.id,
        to_number=recipient.mobile,
        body="【高新区督办】提醒",
        segments=1,
        next_attempt_at=at,
        created_at=at,
        updated_at=at,
    )
    values.update(fields)
    return Notification(**values)


def outgoing_sms(**fields) -> OutgoingSms:
    """A reminder as a backend receives it; `fields` override any attribute."""
    values: dict = dict(
        to="+8613800138000",
        body="【高新区督办】提醒",
        dedup_key="reminder:1:2026-03-09:7",
        kind="reminder",
        project_code="GX-2026-001",
        milestone="组织实施",
        due_date=date(2026, 3, 9),
    )
    values.update(fields)
    return OutgoingSms(**values)
