"""The escalation queue: one query shared by the board and `deadline-watch escalations list`.

Ordered most overdue first (earliest due date), then by id; filtered by state (including
已办结未完成: resolved while the milestone is still open), unit, level, project level, lead
leader, 协办单位 and free text. Uses the (state, due_date) index on escalations.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from deadline_watch.domain import co_units
from deadline_watch.domain.models import (
    ESCALATION_SEARCH,
    Escalation,
    EscalationState,
    Milestone,
    MilestoneStatus,
    Notification,
    Person,
    Project,
    Unit,
    User,
    responsible_person_id,
)
from deadline_watch.domain.reachability import contact_note
from deadline_watch.domain.workdays import escalation_days_overdue

# resolved_open: 已办结未完成, an item resolved while its milestone is still open
STATES = ("open", "acknowledged", "resolved", "resolved_open", "all")


@dataclass(frozen=True)
class EscalationFilter:
    state: str | None = None  # None = open + acknowledged; "all" = every state
    unit: str | None = None  # unit name
    level: int | None = None
    project_level: str | None = None  # 省级 / 市级 / 区级
    text: str | None = None  # in project code or name, milestone name, responsible official's name
    lead_leader: str | None = None  # the project's lead leader, by name
    co_unit: str | None = None  # a unit the project has among its 协办单位, by name


@dataclass(frozen=True)
class EscalationRow:
    id: int
    project_code: str
    project_name: str
    milestone: str
    milestone_id: int
    project_id: int
    due_date: date
    days_overdue: int
    level: int
    state: str
    reason: str
    unit: str
    owner: str | None
    owner_mobile: str | None
    assignee: str | None
    last_sms_state: str | None
    pending_review: bool = False  # 待审核: an official's request waits for a supervisor
    lead_leader: str | None = None
    lead_leader_mobile: str | None = None
    milestone_open: bool = True  # the milestone is still not completed (already 办结 or not)
    owner_contact: str | None = None  # "已回复退订" / "无法联系(短信被拒收)" (domain.reachability)

    def as_dict(self) -> dict:
        values = asdict(self)
        values["due_date"] = self.due_date.isoformat()
        return values


def _lead_leaders_statement() -> sa.Select:
    """The few distinct leaders are found by skipping along `ix_projects_lead_leader_id`
    (one index seek per leader: the smallest id above the last one); each is kept if one of
    its projects is active. (A join of persons and projects read all 250,000 projects.)"""
    first = sa.select(sa.func.min(Project.lead_leader_id).label("id")).where(Project.lead_leader_id.is_not(None))
    leaders = first.cte("leaders", recursive=True)
    above = aliased(Project, name="above")
    following = sa.select(
        sa.select(sa.func.min(above.lead_leader_id)).where(above.lead_leader_id > leaders.c.id).scalar_subquery()
    ).where(leaders.c.id.is_not(None))
    leaders = leaders.union_all(following)
    leads_active = (
        sa.select(Project.id).where(Project.lead_leader_id == Person.id, Project.status == "active").exists()
    )
    return (
        sa.select(Person.name).join(leaders, leaders.c.id == Person.id).where(leads_active)
        .distinct().order_by(Person.name)
    )


_LEAD_LEADERS = _lead_leaders_statement()  # built once: it has no parameters


def lead_leaders(session: Session) -> list[str]:
    """Names of the lead leaders of active projects, for the queue's filter (every page)."""
    return list(session.scalars(_LEAD_LEADERS))


SEPARATOR = "\x1f"  # between the four texts in escalation_search's haystack


def text_matches(dialect: str, text: str) -> sa.Select:
    """Ids of the escalations whose project code, project name, milestone name or
    responsible official's name contains `text`, ignoring case; a % or _ typed in the search
    box matches only itself. Read off `escalation_search` (migration 0009): the four texts
    joined by U+001F, indexed by trigrams; a needle holding that control character (which
    no search box sends) matches nothing, rather than matching across two texts."""
    search = sa.table(ESCALATION_SEARCH, sa.column("rowid"), sa.column("escalation_id"), sa.column("haystack"))
    if SEPARATOR in text:
        return sa.select(Escalation.id).where(sa.false())
    if dialect == "sqlite":
        if len(text) >= 3:
            # FTS5 trigram, case folded; a quoted phrase is literal (no wildcards, " doubled)
            match = sa.text(f"{ESCALATION_SEARCH} MATCH :phrase").bindparams(
                phrase='"' + text.replace('"', '""') + '"')
        else:  # shorter than one trigram: the index cannot help, scan the haystacks
            match = search.c.haystack.contains(text, autoescape=True)
        return sa.select(search.c.rowid).where(match)
    # the haystack is lower-cased; LIKE on it (not ILIKE, not lower() of it) is what the
    # pg_trgm GIN index serves
    pattern = "%" + text.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"
    return sa.select(search.c.escalation_id).where(search.c.haystack.like(sa.func.lower(pattern), escape="/"))


def _states(state: str | None) -> list[str] | None:
    if state is None:
        return [EscalationState.OPEN.value, EscalationState.ACKNOWLEDGED.value]
    if state == "all":
        return None
    if state == "resolved_open":
        return [EscalationState.RESOLVED.value]
    return [state]


def list_escalations(
    session: Session,
    filt: EscalationFilter | None = None,
    *,
    today: date,
    tz: ZoneInfo,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[EscalationRow], int]:
    """One page of escalations and the total matching the filter (`tz`: where a resolution's
    day is read, for days overdue)."""
    filt = filt or EscalationFilter()
    responsible = aliased(Person, name="responsible")
    leader = aliased(Person, name="lead_leader")
    conditions = []
    states = _states(filt.state)
    if states is not None:
        conditions.append(Escalation.state.in_(states))
    if filt.level is not None:
        conditions.append(Escalation.level == filt.level)
    needs_project = bool(filt.unit or filt.project_level or filt.lead_leader
                         or filt.state == "resolved_open")
    if filt.state == "resolved_open":
        conditions.append(sa.and_(Milestone.status == "open", Milestone.completed_on.is_(None)))
    if filt.lead_leader:
        conditions.append(leader.name == filt.lead_leader)
    if filt.co_unit:
        # through the milestone join: one pass with count(*) OVER () below, project_id at hand
        needs_project = True
        conditions.append(Milestone.project_id.in_(co_units.projects_assisted_by(filt.co_unit)))
    if filt.unit:
        conditions.append(Unit.name == filt.unit)
    if filt.project_level:
        conditions.append(Project.level == filt.project_level)
    if filt.text:
        conditions.append(Escalation.id.in_(text_matches(session.get_bind().dialect.name, filt.text)))

    def filtered(statement: sa.Select) -> sa.Select:
        # Join only when a filter needs the project: the joins are on non-null foreign
        # keys, so they never change the count, and the unfiltered queue stays on the
        # (state, due_date) index (50,000 rows: a few ms instead of a second).
        statement = statement.select_from(Escalation)
        if needs_project:
            statement = statement.join(Milestone, Milestone.id == Escalation.milestone_id)
            statement = statement.join(Project, Project.id == Milestone.project_id)
            if filt.unit:
                statement = statement.join(Unit, Unit.id == Project.unit_id)
            if filt.lead_leader:
                statement = statement.join(leader, leader.id == Project.lead_leader_id)
        return statement.where(*conditions)

    # First the page's ids, then the details of those ids only, so the last-SMS subquery
    # runs for one page rather than for every matching row. Unfiltered, the count and the
    # ids both come straight off the (state, due_date) index; with a join or a text search,
    # one pass with count(*) OVER () costs about half of a separate count plus the page.
    ordered = (Escalation.due_date, Escalation.id)
    if needs_project or filt.text:
        page = session.execute(
            filtered(sa.select(Escalation.id, sa.func.count().over().label("total")))
            .order_by(*ordered)
            .limit(limit)
            .offset(offset)
        ).all()
        page_ids = [row.id for row in page]
        if page:
            total = page[0].total
        else:
            total = session.scalar(filtered(sa.select(sa.func.count(Escalation.id)))) if offset else 0
    else:
        total = session.scalar(filtered(sa.select(sa.func.count(Escalation.id))))
        page_ids = list(session.scalars(filtered(sa.select(Escalation.id)).order_by(*ordered).limit(limit).offset(offset)))
    total = int(total or 0)
    if not page_ids:
        return [], total
    last_sms = (
        sa.select(Notification.state)
        .where(Notification.milestone_id == Escalation.milestone_id)
        .order_by(Notification.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    statement = (
        sa.select(
            Escalation.id.label("id"),
            Project.code.label("project_code"),
            Project.name.label("project_name"),
            Milestone.name.label("milestone"),
            Milestone.id.label("milestone_id"),
            Project.id.label("project_id"),
            Escalation.due_date.label("due_date"),
            Escalation.level.label("level"),
            Escalation.state.label("state"),
            Escalation.reason.label("reason"),
            Escalation.resolved_at.label("resolved_at"),
            Milestone.due_date.label("milestone_due"),
            Milestone.status.label("milestone_status"),
            Milestone.completed_on.label("completed_on"),
            Unit.name.label("unit"),
            responsible.name.label("owner"),
            responsible.mobile.label("owner_mobile"),
            sa.func.coalesce(User.display_name, User.username).label("assignee"),
            last_sms.label("last_sms_state"),
            Milestone.review_pending_since.is_not(None).label("pending_review"),
            leader.name.label("lead_leader"),
            leader.mobile.label("lead_leader_mobile"),
            responsible.opted_out_at.label("owner_opted_out_at"),
            responsible.unsubscribe_requested_at.label("owner_unsubscribe_requested_at"),
        )
        .select_from(Escalation)
        .join(Milestone, Milestone.id == Escalation.milestone_id)
        .join(Project, Project.id == Milestone.project_id)
        .join(Unit, Unit.id == Project.unit_id)
        .outerjoin(responsible, responsible.id == responsible_person_id())
        .outerjoin(leader, leader.id == Project.lead_leader_id)
        .outerjoin(User, User.id == Escalation.assignee_id)
        .where(Escalation.id.in_(page_ids))
        .order_by(Escalation.due_date, Escalation.id)
    )
    rows = [
        EscalationRow(
            id=row.id,
            project_code=row.project_code,
            project_name=row.project_name,
            milestone=row.milestone,
            milestone_id=row.milestone_id,
            project_id=row.project_id,
            due_date=row.due_date,
            days_overdue=escalation_days_overdue(
                row.due_date,
                milestone_due=row.milestone_due,
                milestone_cancelled=row.milestone_status == MilestoneStatus.CANCELLED,
                completed_on=row.completed_on,
                resolved_at=row.resolved_at,
                today=today,
                tz=tz,
            ),
            level=row.level,
            state=row.state,
            reason=row.reason,
            unit=row.unit,
            owner=row.owner,
            owner_mobile=row.owner_mobile,
            assignee=row.assignee,
            last_sms_state=row.last_sms_state,
            pending_review=bool(row.pending_review),
            lead_leader=row.lead_leader,
            lead_leader_mobile=row.lead_leader_mobile,
            milestone_open=row.milestone_status == "open" and row.completed_on is None,
            owner_contact=contact_note(row.owner_opted_out_at, row.owner_unsubscribe_requested_at),
        )
        for row in session.execute(statement)
    ]
    return rows, total

