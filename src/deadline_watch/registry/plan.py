"""Planning a registry import: read what the database holds by natural key (`load_existing`),
then compare it with the validated file (`make_plan`, pure: reads nothing, writes nothing,
so --dry-run shares it). `registry.upsert.apply_plan` writes the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from deadline_watch.domain.models import Milestone, MilestoneStatus, Person, Project, ProjectStatus, Unit
from deadline_watch.domain.recurrence import is_recurring, is_standing
from deadline_watch.registry.cells import split_co_units
from deadline_watch.registry.parsed import ParsedRegistry, ProjectRow
from deadline_watch.registry.report import Change, ImportReport

__all__ = ["Existing", "ExistingMilestone", "ExistingProject", "Plan", "load_existing", "make_plan", "milestone_status"]

UNITS, PERSONS, PROJECTS, MILESTONES = (
    Unit.__table__, Person.__table__, Project.__table__, Milestone.__table__,
)
ROLE_OWNER, ROLE_LEAD = "owner", "lead_leader"


@dataclass(slots=True)
class ExistingProject:
    id: int
    code: str
    name: str
    unit: str
    owner_mobile: str | None
    lead_mobile: str | None
    co_units: str
    level: str | None
    note: str
    status: str
    schedule: str
    deadline_phrase: str


class ExistingMilestone(Protocol):
    """A milestone row as `load_existing` reads it (the query's own row: no copy per row)."""

    id: int
    position: int
    due_date: date
    completed_on: date | None
    status: str


@dataclass
class Existing:
    units: dict[str, int]
    persons: dict[str, tuple[int, str, str]]  # mobile -> (id, name, roles)
    person_names: dict[str, str]  # mobile -> name (for describing owners)
    projects: dict[str, ExistingProject]
    milestones: dict[int, dict[str, ExistingMilestone]]  # project id -> name -> row


# position, due_date, completed_on, status of a milestone row read by `load_existing`
_FACTS = slice(3, 7)
_PARTITION = 10_000  # milestone rows fetched at a time (a whole fetch doubled them at the peak)


def load_existing(session: Session) -> Existing:
    """Units, persons, projects and milestones by natural key. Each query is fetched whole
    and its rows kept as they come (issue 17: building an object per row of 100,000
    milestones cost more than reading them)."""
    units_by_id: dict[int, str] = dict(session.execute(select(UNITS.c.id, UNITS.c.name)).fetchall())
    persons: dict[str, tuple[int, str, str]] = {}
    mobile_by_id: dict[int, str] = {}
    for person_id, name, mobile, roles in session.execute(
        select(PERSONS.c.id, PERSONS.c.name, PERSONS.c.mobile, PERSONS.c.roles)
    ).fetchall():
        if mobile:
            persons[mobile] = (person_id, name, roles or "")
            mobile_by_id[person_id] = mobile
    projects: dict[str, ExistingProject] = {}
    p = PROJECTS.c
    for (project_id, code, name, unit_id, owner_id, lead_id, co_units, level, note, status, schedule,
         deadline_phrase) in session.execute(
        select(p.id, p.code, p.name, p.unit_id, p.owner_id, p.lead_leader_id, p.co_units,
               p.level, p.note, p.status, p.schedule, p.deadline_phrase)
    ).fetchall():
        projects[code] = ExistingProject(
            project_id, code, name, units_by_id.get(unit_id, ""), mobile_by_id.get(owner_id),
            mobile_by_id.get(lead_id) if lead_id else None, co_units or "", level, note or "", status,
            schedule or "", deadline_phrase or "",
        )
    milestones: dict[int, dict[str, ExistingMilestone]] = {}
    m = MILESTONES.c
    result = session.execute(  # the columns _FACTS names, in its order
        select(m.id, m.project_id, m.name, m.position, m.due_date, m.completed_on, m.status)
    )
    for partition in result.partitions(_PARTITION):
        for row in partition:
            by_name = milestones.get(row[1])
            if by_name is None:
                by_name = milestones[row[1]] = {}
            by_name[row[2]] = row
    return Existing(
        units={name: unit_id for unit_id, name in units_by_id.items()},
        persons=persons,
        person_names={mobile: value[1] for mobile, value in persons.items()},
        projects=projects,
        milestones=milestones,
    )


@dataclass
class Plan:
    new_units: list[str] = field(default_factory=list)
    new_persons: dict[str, tuple[str, str]] = field(default_factory=dict)  # mobile -> (name, roles)
    person_updates: list[tuple[int, str, dict[str, tuple[Any, Any]]]] = field(default_factory=list)
    new_projects: list[ProjectRow] = field(default_factory=list)
    project_updates: list[tuple[ExistingProject, ProjectRow, dict[str, tuple[Any, Any]]]] = field(default_factory=list)
    projects_unchanged: int = 0
    # (project code, name, position, due_date, completed_on)
    new_milestones: list[tuple[str, str, int, date, date | None]] = field(default_factory=list)
    milestone_updates: list[tuple[int, str, dict[str, tuple[Any, Any]]]] = field(default_factory=list)
    milestones_unchanged: int = 0
    project_prunes: list[tuple[int, str, str]] = field(default_factory=list)  # id, code, old status
    milestone_prunes: list[tuple[int, str, str]] = field(default_factory=list)  # id, key, old status

    def fill(self, report: ImportReport) -> None:
        """Counts and the change list of the report."""
        report.units_created = len(self.new_units)
        report.persons_created = len(self.new_persons)
        report.persons_updated = len(self.person_updates)
        report.projects_created = len(self.new_projects)
        report.projects_updated = len(self.project_updates)
        report.projects_unchanged = self.projects_unchanged
        report.milestones_created = len(self.new_milestones)
        report.milestones_updated = len(self.milestone_updates)
        report.milestones_unchanged = self.milestones_unchanged
        report.projects_pruned = len(self.project_prunes)
        report.milestones_pruned = len(self.milestone_prunes)
        changes = report.changes
        changes.extend(Change("created", "project", row.code) for row in self.new_projects)
        changes.extend(Change("updated", "project", row.code, fields) for _, row, fields in self.project_updates)
        changes.extend(
            Change("pruned", "project", code, {"status": (old, ProjectStatus.CANCELLED.value)})
            for _, code, old in self.project_prunes
        )
        changes.extend(Change("created", "milestone", f"{code}/{name}") for code, name, *_ in self.new_milestones)
        changes.extend(Change("updated", "milestone", key, fields) for _, key, fields in self.milestone_updates)
        changes.extend(
            Change("pruned", "milestone", key, {"status": (old, MilestoneStatus.CANCELLED.value)})
            for _, key, old in self.milestone_prunes
        )
        changes.extend(Change("created", "person", f"{name} {mobile}") for mobile, (name, _) in self.new_persons.items())
        changes.extend(Change("updated", "person", key, fields) for _, key, fields in self.person_updates)
        changes.extend(Change("created", "unit", name) for name in self.new_units)


def _with_roles(roles: str, *added: str) -> str:
    words = roles.split()
    for word in added:
        if word not in words:
            words.append(word)
    return " ".join(words)


_COMPLETED, _OPEN = MilestoneStatus.COMPLETED.value, MilestoneStatus.OPEN.value


def milestone_status(completed_on: date | None) -> str:
    return _COMPLETED if completed_on else _OPEN


def make_plan(parsed: ParsedRegistry, existing: Existing, *, prune: bool) -> Plan:
    """Everything that would change, by natural key; reads nothing, writes nothing."""
    plan = Plan()
    roles_needed: dict[str, dict[str, None]] = {}  # mobile -> role words, in order
    new_units: dict[str, None] = {}
    co_units_seen: set[str] = set()
    for project in parsed.projects.values():
        roles_needed.setdefault(project.owner_mobile, {})[ROLE_OWNER] = None
        if project.lead_mobile:
            roles_needed.setdefault(project.lead_mobile, {})[ROLE_LEAD] = None
        if project.unit not in existing.units:
            new_units[project.unit] = None
        if project.co_units and project.co_units not in co_units_seen:
            co_units_seen.add(project.co_units)  # the same few lists repeat on thousands of projects
            for unit in split_co_units(project.co_units):
                if unit not in existing.units:
                    new_units[unit] = None
    plan.new_units = list(new_units)

    names = existing.person_names
    cancelled_p, cancelled_m = ProjectStatus.CANCELLED.value, MilestoneStatus.CANCELLED.value
    for mobile, wanted in roles_needed.items():
        name = parsed.persons[mobile][0]
        known = existing.persons.get(mobile)
        if known is None:
            plan.new_persons[mobile] = (name, _with_roles("", *wanted))
            continue
        person_id, old_name, old_roles = known
        fields: dict[str, tuple[Any, Any]] = {}
        if old_name != name:
            fields["name"] = (old_name, name)
        roles = _with_roles(old_roles, *wanted)
        if roles != old_roles:
            fields["roles"] = (old_roles, roles)
        if fields:
            plan.person_updates.append((person_id, f"{name} {mobile}", fields))

    def who(mobile: str | None, file_names: bool) -> str | None:
        if mobile is None:
            return None
        name = parsed.persons[mobile][0] if file_names and mobile in parsed.persons else names.get(mobile, "")
        return f"{name} {mobile}".strip()

    for project in parsed.projects.values():
        old = existing.projects.get(project.code)
        old_milestones: dict[str, ExistingMilestone] = {}
        if old is None:
            plan.new_projects.append(project)
        elif (old.name, old.unit, old.co_units, old.level, old.note, old.schedule, old.deadline_phrase,
              old.owner_mobile, old.lead_mobile) == (
                project.name, project.unit, project.co_units, project.level, project.note, project.schedule,
                project.deadline_phrase, project.owner_mobile, project.lead_mobile) and old.status != cancelled_p:
            old_milestones = existing.milestones.get(old.id, {})
            plan.projects_unchanged += 1  # the common case, compared in one go
        else:
            old_milestones = existing.milestones.get(old.id, {})
            fields = {}
            for attribute, label in (("name", "name"), ("unit", "unit"), ("co_units", "co_units"),
                                     ("level", "level"), ("note", "note"), ("schedule", "schedule"),
                                     ("deadline_phrase", "deadline_phrase")):
                before, after = getattr(old, attribute), getattr(project, attribute)
                if before != after:
                    fields[label] = (before, after)
            if old.owner_mobile != project.owner_mobile:
                fields["owner"] = (who(old.owner_mobile, False), who(project.owner_mobile, True))
            if old.lead_mobile != project.lead_mobile:
                fields["lead_leader"] = (who(old.lead_mobile, False), who(project.lead_mobile, True))
            if old.status == ProjectStatus.CANCELLED:
                fields["status"] = (old.status, ProjectStatus.ACTIVE.value)
            if fields:
                plan.project_updates.append((old, project, fields))
            else:
                plan.projects_unchanged += 1
        for milestone in project.milestones.values():
            position = milestone.position
            known = old_milestones.get(milestone.name)
            if known is None:
                plan.new_milestones.append(
                    (project.code, milestone.name, position, milestone.due_date, milestone.completed_on)
                )
                continue
            # the common case, unchanged, compared by index (a row's attributes cost more)
            if known[_FACTS] == (position, milestone.due_date, milestone.completed_on,
                                 _COMPLETED if milestone.completed_on else _OPEN):
                plan.milestones_unchanged += 1
                continue
            fields = {}
            if known.due_date != milestone.due_date:
                fields["due_date"] = (known.due_date, milestone.due_date)
            if known.completed_on != milestone.completed_on:
                fields["completed_on"] = (known.completed_on, milestone.completed_on)
            status = milestone_status(milestone.completed_on)
            if known.status != status:
                fields["status"] = (known.status, status)
            if known.position != position:
                fields["position"] = (known.position, position)
            if fields:
                plan.milestone_updates.append((known.id, f"{project.code}/{milestone.name}", fields))
            else:
                plan.milestones_unchanged += 1

    for code, old in existing.projects.items():
        listed = parsed.projects.get(code)
        # a task that is now 长期 keeps no deadline: its open milestones are cancelled, --prune or not
        standing = listed is not None and is_standing(listed.schedule)
        if not (prune or standing):
            continue
        if prune and code not in parsed.seen_codes and old.status != cancelled_p:
            plan.project_prunes.append((old.id, code, old.status))
        if is_recurring(listed.schedule if listed is not None else old.schedule):
            continue  # occurrences come from the rule, not the file: none is ever pruned
        for name, known in existing.milestones.get(old.id, {}).items():
            if standing and known.status != _OPEN:
                continue  # what was completed stays on the record
            if (code, name) not in parsed.seen_milestones and known.status != cancelled_m:
                plan.milestone_prunes.append((known.id, f"{code}/{name}", known.status))
    return plan
