"""The project board (督办看板 project list): active projects, filtered and paged, each
with its milestones' traffic lights, read with a fixed number of queries.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import distinct, func, literal_column, or_, select
from sqlalchemy.orm import Session, aliased

from deadline_watch.board.lights import Light, MilestoneLight, ProjectLights, milestone_light, reminder_days
from deadline_watch.core.config import Settings
from deadline_watch.domain import co_units
from deadline_watch.domain.models import (
    Milestone,
    MilestoneStatus,
    Person,
    Project,
    ProjectStatus,
    Unit,
    responsible_person_id,
)

__all__ = ["project_board", "project_board_count"]


def _lit_milestone(light: str, *, today: date, window: int) -> list:
    """Conditions on `milestones` alone: the milestone would show `light` (red, yellow or
    green) if its project is active (lights.classify); the project is checked elsewhere."""
    open_milestone = [
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
    return [*open_milestone, *due]


def _light_condition(light: str, *, today: date, window: int, counting: bool = False):
    """The project has a milestone with the given light (red, yellow or green).

    Paging walks the code index and probes each project's milestones (EXISTS), stopping at
    the page's end; counting with other filters reads the matching milestones off the
    (status, due_date, project_id, completed_on) index once (IN), instead of probing all
    250,000 projects (a light alone is counted by `_lit_projects_count`).
    """
    lit = _lit_milestone(light, today=today, window=window)
    if counting:
        return Project.id.in_(select(Milestone.project_id).where(*lit))
    return select(Milestone.id).where(Milestone.project_id == Project.id, *lit).exists()


FEW_NOT_ACTIVE = 10_000  # SQLite: a light alone is counted off the milestones below this many inactive projects


def _lit_projects_count(session: Session, light: str, *, today: date, window: int) -> int | None:
    """How many active projects have a milestone with `light`, no other filter: the distinct
    projects of the lit milestones (read off ix_milestones_status_due_date), less those of a
    project that is not active — instead of checking every lit project's status (55,142
    probes of `projects` for the red light at 1,000,000 milestones). None: count as with
    any other filter.

    Not active is `status < 'active' OR status > 'active'` (status is never NULL), two
    ranges of ix_projects_status. PostgreSQL hashes those ids for an anti join (NOT EXISTS:
    its NOT IN would fall back to a scan per milestone once they no longer fit in
    work_mem). SQLite keeps them in an in-memory index (NOT IN), which costs about what the
    status probes save once there are ~25,000 of them (10 % of the benchmark's projects):
    with FEW_NOT_ACTIVE or more (counted up to that, off the index) it probes as before.
    """
    active = ProjectStatus.ACTIVE.value
    not_active = or_(Project.status < active, Project.status > active)
    lit = _lit_milestone(light, today=today, window=window)
    if session.get_bind().dialect.name == "sqlite":
        some = select(Project.id).where(not_active).limit(FEW_NOT_ACTIVE).subquery()
        if (session.scalar(select(func.count()).select_from(some)) or 0) >= FEW_NOT_ACTIVE:
            return None
        of_active_project = Milestone.project_id.not_in(select(Project.id).where(not_active))
        # grouped in a sorter (~20 % cheaper than count(DISTINCT)'s b-tree); the `+ 0` keeps
        # SQLite from walking all of ix_milestones_project_facts for the grouping order
        lit_projects = (
            select(literal_column("1")).where(*lit, of_active_project)
            .group_by(Milestone.project_id + literal_column("0")).subquery()
        )
        return session.scalar(select(func.count()).select_from(lit_projects)) or 0
    of_active_project = ~select(Project.id).where(Project.id == Milestone.project_id, not_active).exists()
    return session.scalar(select(func.count(distinct(Milestone.project_id))).where(*lit, of_active_project)) or 0


def _board_filters(
    unit: str | int | None,
    level: str | None,
    text: str | None,
    light: str | None = None,
    *,
    today: date | None = None,
    window: int = 0,
    counting: bool = False,
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
        conditions.append(_light_condition(light, today=today, window=window, counting=counting))
    return conditions


def _co_unit_filter(co_unit: str | int | None) -> list:
    """The projects `co_unit` (a unit name or id) assists as 协办单位, as a condition on
    `projects` alone (one IN over the project_co_units unit_id index); none when not asked."""
    if co_unit is None or co_unit == "":
        return []
    return [Project.id.in_(co_units.projects_assisted_by(co_unit))]


def project_board_count(
    session: Session,
    *,
    unit: str | int | None = None,
    level: str | None = None,
    text: str | None = None,
    light: str | None = None,
    today: date | None = None,
    settings: Settings | None = None,
    co_unit: str | int | None = None,
) -> int:
    """How many active projects `project_board` would list without limit (for pagination).

    Counts `projects` alone (no join); unfiltered, that is a walk of the status index.
    """
    window = reminder_days(settings) if settings is not None else 0
    filtered = unit not in (None, "") or bool(level) or bool(text and text.strip()) or co_unit not in (None, "")
    if light and today is not None and not filtered:
        counted = _lit_projects_count(session, light, today=today, window=window)
        if counted is not None:
            return counted
    query = select(func.count(Project.id)).where(
        *_board_filters(unit, level, text, light, today=today, window=window, counting=True)
    )
    return session.scalar(query.where(*_co_unit_filter(co_unit))) or 0


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
    co_unit: str | int | None = None,
) -> list[ProjectLights]:
    """Every active project (filtered, ordered by code) with its milestones' lights.

    Two queries: one page of projects, then all milestones of that page. `unit` is a
    unit name or a unit id; `text` matches project code, project name or owner name;
    `light` ("red", "yellow", "green") keeps projects with at least one such milestone;
    `co_unit` (a unit name or id) keeps the projects it assists as 协办单位.
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
        .where(*_co_unit_filter(co_unit))
        .offset(max(offset, 0))
    )
    if limit is not None:
        page = page.limit(limit)
    page = page.subquery("page")
    projects = session.execute(
        select(Project.id, Project.code, Project.name, Unit.name, Project.level, Person.name, Project.status,
               Project.schedule)
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
    responsible = aliased(Person)
    # the responsible official's name by primary key, per milestone: as an outer join on
    # coalesce(...), PostgreSQL hashed all 20,000 persons for the page's 400 milestones
    responsible_name = (
        select(responsible.name).where(responsible.id == responsible_person_id()).scalar_subquery()
    )
    milestone_rows = session.execute(
        select(
            Milestone.id,
            Milestone.project_id,
            Milestone.name,
            Milestone.position,
            Milestone.due_date,
            Milestone.completed_on,
            Milestone.status,
            responsible_name,
            Milestone.review_pending_since.is_not(None),
        )
        .join(Project, Project.id == Milestone.project_id)
        .where(Milestone.project_id.in_(list(statuses)))
        .order_by(Milestone.project_id, Milestone.position, Milestone.due_date, Milestone.id)
    ).all()
    for m_id, project_id, name, position, due, completed_on, status, owner_name, pending in milestone_rows:
        by_project[project_id].append(
            milestone_light(
                m_id, name, position, due, completed_on, status, owner_name,
                project_status=statuses[project_id], today=today, window=window, pending_review=bool(pending),
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
            schedule=schedule,
        )
        for project_id, code, name, unit_name, level_, owner_name, status, schedule in projects
    ]

