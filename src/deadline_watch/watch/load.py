"""Loading the facts `rules.py` decides on, with bounded, indexed queries.

Each query is limited by due date window and status (index (status, due_date) on
milestones, (state, due_date) on escalations, (state, next_attempt_at) on the outbox),
so a tick costs in proportion to the milestones near or past their dates, never to the
size of the registry. Rows are read by column label, never by position.
"""

from __future__ import annotations

from datetime import date, timedelta
from operator import itemgetter

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from deadline_watch.core import db
from deadline_watch.domain.board_items import RESOLVED_BY_FACTS, EscalationFacts
from deadline_watch.domain.models import (
    Escalation,
    Milestone,
    Notification,
    Person,
    Project,
    Unit,
    User,
    responsible_person_id,
)
from deadline_watch.watch.facts import MilestoneFacts, PendingFacts, PersonFacts

_Responsible = aliased(Person, name="responsible")
_Leader = aliased(Person, name="lead_leader")


def _milestone_select() -> sa.Select:
    return (
        sa.select(
            Milestone.id.label("milestone_id"),
            Milestone.project_id.label("project_id"),
            Project.code.label("project_code"),
            Project.name.label("project_name"),
            Unit.name.label("unit"),
            Milestone.name.label("milestone"),
            Milestone.due_date.label("due_date"),
            Milestone.status.label("status"),
            Project.status.label("project_status"),
            Milestone.completed_on.label("completed_on"),
            _Responsible.id.label("owner_id"),
            _Responsible.name.label("owner_name"),
            _Responsible.mobile.label("owner_mobile"),
            _Responsible.opted_out_at.is_not(None).label("owner_opted_out"),
            _Leader.id.label("leader_id"),
            _Leader.name.label("leader_name"),
            _Leader.mobile.label("leader_mobile"),
            _Leader.opted_out_at.is_not(None).label("leader_opted_out"),
            Milestone.review_pending_since.is_not(None).label("pending_review"),
        )
        .select_from(Milestone)
        .join(Project, Project.id == Milestone.project_id)
        .join(Unit, Unit.id == Project.unit_id)
        .outerjoin(_Responsible, _Responsible.id == responsible_person_id())
        .outerjoin(_Leader, _Leader.id == Project.lead_leader_id)
    )


_ESCALATION_COLUMNS = (
    Escalation.id.label("escalation_id"),
    Escalation.due_date.label("escalation_due_date"),
    Escalation.level.label("escalation_level"),
    Escalation.state.label("escalation_state"),
    Escalation.resolution.label("escalation_resolution"),
)


# MilestoneFacts' own fields as labelled above, then its two people and the review flag
_FACT_LABELS = (
    "milestone_id", "project_id", "project_code", "project_name", "unit", "milestone", "due_date", "status",
    "project_status", "completed_on",
)
_PEOPLE_LABELS = (
    "owner_id", "owner_name", "owner_mobile", "owner_opted_out",
    "leader_id", "leader_name", "leader_mobile", "leader_opted_out", "pending_review",
)


def by_label(result: sa.CursorResult, *labels: str) -> itemgetter:
    """A getter of these labelled columns from `result`'s rows (a tuple when several).

    Each label's position is looked up once per query: a row's attribute access costs
    ~0.3 µs per column, 6 µs for a 19-column milestone row (issue 17)."""
    keys = list(result.keys())
    return itemgetter(*(keys.index(label) for label in labels))


class _FactsReader:
    """MilestoneFacts from the rows of one `_milestone_select` query, each person built once
    (an official with many milestones, a leader of many projects; issue 17)."""

    def __init__(self, result: sa.CursorResult) -> None:
        self.people: dict[int, PersonFacts] = {}
        self.facts, self.persons = by_label(result, *_FACT_LABELS), by_label(result, *_PEOPLE_LABELS)

    def person(self, person_id: int | None, name: str, mobile: str | None, opted_out: object) -> PersonFacts | None:
        if person_id is None:
            return None
        found = self.people.get(person_id)
        if found is None:
            found = self.people[person_id] = PersonFacts(person_id, name, mobile, bool(opted_out))
        return found

    def __call__(self, row: sa.Row) -> MilestoneFacts:
        owner_id, owner_name, owner_mobile, owner_out, leader_id, leader_name, leader_mobile, leader_out, review = (
            self.persons(row)
        )
        return MilestoneFacts(
            *self.facts(row),
            self.person(owner_id, owner_name, owner_mobile, owner_out),
            self.person(leader_id, leader_name, leader_mobile, leader_out),
            bool(review),
        )


def _escalation_facts(row: sa.Row) -> EscalationFacts | None:
    if row.escalation_id is None:
        return None
    return EscalationFacts(
        id=row.escalation_id,
        milestone_id=row.milestone_id,
        due_date=row.escalation_due_date,
        level=row.escalation_level,
        state=row.escalation_state,
        resolution=row.escalation_resolution,
    )


def reminder_candidates(session: Session, *, today: date, window_days: int) -> list[MilestoneFacts]:
    """Open milestones of active projects due in [today, today + window_days]."""
    statement = _milestone_select().where(
        Milestone.status == "open",
        Milestone.due_date >= today,
        Milestone.due_date <= today + timedelta(days=window_days),
        Project.status == "active",
    )
    # no `completed_on IS NULL` here: SQLite would pick the completed_on index and walk
    # every open milestone; MilestoneFacts.watched checks it on the few rows returned
    result = session.connection().execute(statement)
    return list(map(_FactsReader(result), result))


def escalation_candidates(
    session: Session, *, today: date, thresholds: list[tuple[int, int]]
) -> list[tuple[MilestoneFacts, EscalationFacts | None]]:
    """Overdue open milestones whose board item must be opened, raised or moved.

    `thresholds` are (after_days_overdue, level) pairs. The SQL returns only rows needing
    action; `rules.plan_escalation` still makes the decision.
    """
    first_threshold = min(days for days, _ in thresholds)
    unresolved_or_current = sa.and_(
        Escalation.milestone_id == Milestone.id,
        Escalation.reason == "overdue",  # "unreachable" items (delivery's) are not ours
        sa.or_(Escalation.state != "resolved", Escalation.due_date == Milestone.due_date),
    )
    needs_raise = sa.or_(
        *(
            sa.and_(Milestone.due_date <= today - timedelta(days=days), Escalation.level < level)
            for days, level in thresholds
        )
    )
    statement = (
        _milestone_select()
        .add_columns(*_ESCALATION_COLUMNS)
        .outerjoin(Escalation, unresolved_or_current)
        .where(
            Milestone.status == "open",
            # the lower bound is always true; without it SQLite's planner (one-sided range,
            # ORDER BY milestones.id) walked all 1,000,000 milestones in rowid order (80 ms
            # of a scan, issue 17) instead of the (status, due_date) index (under 1 ms)
            Milestone.due_date >= date.min,
            Milestone.due_date <= today - timedelta(days=first_threshold),
            Project.status == "active",  # completed_on is checked in Python (see above)
            sa.or_(
                Escalation.id.is_(None),
                sa.and_(
                    Escalation.state != "resolved",
                    sa.or_(Escalation.due_date != Milestone.due_date, needs_raise),
                ),
                # resolved because the milestone was completed or cancelled, and it is open again
                sa.and_(Escalation.state == "resolved", Escalation.resolution.in_(RESOLVED_BY_FACTS)),
            ),
        )
        .order_by(Milestone.id, Escalation.id)
    )
    chosen: dict[int, tuple[MilestoneFacts, EscalationFacts | None]] = {}
    result = session.connection().execute(statement)
    read = _FactsReader(result)
    for row in result:
        facts, current = read(row), _escalation_facts(row)
        previous = chosen.get(facts.milestone_id)
        # prefer the unresolved escalation when a milestone matches two rows
        if previous is None or (previous[1] is not None and previous[1].state == "resolved"):
            chosen[facts.milestone_id] = (facts, current)
    # a milestone with a resolved escalation for its current date is done: drop it
    return list(chosen.values())


def escalations_to_resolve(session: Session) -> list[tuple[MilestoneFacts, EscalationFacts]]:
    """Unresolved escalations whose milestone was completed, cancelled, re-dated or whose
    project is no longer active."""
    statement = (
        _milestone_select()
        .add_columns(*_ESCALATION_COLUMNS)
        .join(Escalation, Escalation.milestone_id == Milestone.id)
        .where(
            Escalation.state.in_(["open", "acknowledged"]),
            Escalation.reason == "overdue",
            sa.or_(
                Milestone.status != "open",
                Milestone.completed_on.is_not(None),
                Project.status != "active",
                Milestone.due_date != Escalation.due_date,
            ),
        )
    )
    found = []
    result = session.connection().execute(statement)
    read = _FactsReader(result)
    for row in result:
        current = _escalation_facts(row)
        assert current is not None  # an inner join
        found.append((read(row), current))
    return found


def supervisors(session: Session) -> list[PersonFacts]:
    """Persons with the supervisor role, plus persons linked to active supervisor accounts."""
    linked = sa.select(User.person_id).where(
        User.role == "supervisor", User.active.is_(True), User.person_id.is_not(None)
    )
    rows = session.execute(
        sa.select(Person.id, Person.name, Person.mobile, Person.opted_out_at, Person.roles)
        .where(sa.or_(Person.roles.like("%supervisor%"), Person.id.in_(linked)))
        .order_by(Person.id)
    )
    linked_ids = set(session.scalars(linked))
    # SMS address a supervisor by the account's display name, never by the login name
    display_names = dict(
        session.execute(
            sa.select(User.person_id, User.display_name).where(
                User.role == "supervisor", User.active.is_(True), User.display_name.is_not(None),
                User.person_id.is_not(None),
            )
        ).all()
    )
    return [
        PersonFacts(row.id, display_names.get(row.id) or row.name, row.mobile, row.opted_out_at is not None)
        for row in rows
        if "supervisor" in (row.roles or "").split() or row.id in linked_ids
    ]


def pending_to_check(
    session: Session, *, today: date, milestone_ids: list[int]
) -> list[PendingFacts]:
    """Pending outbox rows that may have gone stale: those whose milestone, project or
    recipient changed, reminders addressed to someone no longer responsible for the
    milestone, overdue reminders, all pending escalation SMS, and the pending reminders
    of `milestone_ids` (which may be superseded by a more urgent one)."""
    owner_now = responsible_person_id()
    current_escalation = (
        sa.select(Escalation.level)
        .where(
            Escalation.milestone_id == Notification.milestone_id,
            Escalation.due_date == Notification.due_date,
            Escalation.state != "resolved",
            Escalation.reason == "overdue",
        )
        .limit(1)
        .scalar_subquery()
    )
    # labelled as the PendingFacts fields they fill
    base = (
        sa.select(
            Notification.id.label("id"),
            Notification.dedup_key.label("dedup_key"),
            Notification.milestone_id.label("milestone_id"),
            Notification.rule.label("rule"),
            Notification.level.label("level"),
            Notification.due_date.label("due_date"),
            Milestone.status.label("milestone_status"),
            Milestone.due_date.label("milestone_due_date"),
            Milestone.completed_on.label("milestone_completed_on"),
            Project.status.label("project_status"),
            Person.opted_out_at.is_not(None).label("recipient_opted_out"),
            current_escalation.label("escalation_level"),
            Notification.recipient_id.label("recipient_id"),
            owner_now.label("owner_id"),
            Milestone.review_pending_since.is_not(None).label("milestone_pending_review"),
        )
        .select_from(Notification)
        .join(Milestone, Milestone.id == Notification.milestone_id)
        .join(Project, Project.id == Milestone.project_id)
        .outerjoin(Person, Person.id == Notification.recipient_id)
        .where(Notification.state == "pending")
    )
    changed = sa.or_(
        Milestone.status != "open",
        Milestone.completed_on.is_not(None),
        Project.status != "active",
        Notification.due_date != Milestone.due_date,
        Person.opted_out_at.is_not(None),
        sa.and_(Notification.rule == "reminder", Milestone.due_date < today),
        sa.and_(Notification.rule == "reminder", Notification.recipient_id.is_distinct_from(owner_now)),
        Notification.rule == "escalation",
        Milestone.review_pending_since.is_not(None),
    )
    rows = list(session.connection().execute(base.where(changed)))
    seen = {row.id for row in rows}
    if milestone_ids:
        statement = base.where(Notification.rule == "reminder",
                               db.in_values(session, Notification.milestone_id, milestone_ids))
        rows.extend(row for row in session.connection().execute(statement) if row.id not in seen)
    return [PendingFacts(**{**row._asdict(), "recipient_opted_out": bool(row.recipient_opted_out),
                          "milestone_pending_review": bool(row.milestone_pending_review)}) for row in rows]
