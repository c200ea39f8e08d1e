"""Upserting a validated registry: compare with the database by natural key, then write
the differences with bulk statements inside the caller's transaction.

`load_existing` reads units, persons, projects and milestones once into dicts;
`make_plan` is a pure comparison (so --dry-run shares it); `apply_plan` writes it with
executemany-style Core statements and one AuditEvent per created, updated or pruned row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from deadline_watch.domain import audit
from deadline_watch.domain.models import Milestone, MilestoneStatus, Person, Project, ProjectStatus, Unit
from deadline_watch.registry.report import Change, ImportReport
from deadline_watch.registry.validate import ParsedRegistry, ProjectRow

BATCH = 5000
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


@dataclass(slots=True)
class ExistingMilestone:
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


def load_existing(session: Session) -> Existing:
    units_by_id: dict[int, str] = {}
    for unit_id, name in session.execute(select(UNITS.c.id, UNITS.c.name)):
        units_by_id[unit_id] = name
    persons: dict[str, tuple[int, str, str]] = {}
    mobile_by_id: dict[int, str] = {}
    for person_id, name, mobile, roles in session.execute(
        select(PERSONS.c.id, PERSONS.c.name, PERSONS.c.mobile, PERSONS.c.roles)
    ):
        if mobile:
            persons[mobile] = (person_id, name, roles or "")
            mobile_by_id[person_id] = mobile
    projects: dict[str, ExistingProject] = {}
    p = PROJECTS.c
    for row in session.execute(
        select(p.id, p.code, p.name, p.unit_id, p.owner_id, p.lead_leader_id, p.co_units,
               p.level, p.note, p.status)
    ):
        projects[row.code] = ExistingProject(
            id=row.id, code=row.code, name=row.name, unit=units_by_id.get(row.unit_id, ""),
            owner_mobile=mobile_by_id.get(row.owner_id),
            lead_mobile=mobile_by_id.get(row.lead_leader_id) if row.lead_leader_id else None,
            co_units=row.co_units or "", level=row.level, note=row.note or "", status=row.status,
        )
    milestones: dict[int, dict[str, ExistingMilestone]] = {}
    m = MILESTONES.c
    for row in session.execute(
        select(m.id, m.project_id, m.name, m.position, m.due_date, m.completed_on, m.status)
    ):
        milestones.setdefault(row.project_id, {})[row.name] = ExistingMilestone(
            row.id, row.position, row.due_date, row.completed_on, row.status
        )
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


def _milestone_status(completed_on: date | None) -> str:
    return _COMPLETED if completed_on else _OPEN


def make_plan(parsed: ParsedRegistry, existing: Existing, *, prune: bool) -> Plan:
    """Everything that would change, by natural key; reads nothing, writes nothing."""
    plan = Plan()
    roles_needed: dict[str, dict[str, None]] = {}  # mobile -> role words, in order
    new_units: dict[str, None] = {}
    for project in parsed.projects.values():
        roles_needed.setdefault(project.owner_mobile, {})[ROLE_OWNER] = None
        if project.lead_mobile:
            roles_needed.setdefault(project.lead_mobile, {})[ROLE_LEAD] = None
        if project.unit not in existing.units:
            new_units[project.unit] = None
    plan.new_units = list(new_units)

    names = existing.person_names
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
        else:
            old_milestones = existing.milestones.get(old.id, {})
            fields = {}
            for attribute, label in (("name", "name"), ("unit", "unit"), ("co_units", "co_units"),
                                     ("level", "level"), ("note", "note")):
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
            fields = {}
            if known.due_date != milestone.due_date:
                fields["due_date"] = (known.due_date, milestone.due_date)
            if known.completed_on != milestone.completed_on:
                fields["completed_on"] = (known.completed_on, milestone.completed_on)
            status = _milestone_status(milestone.completed_on)
            if known.status != status:
                fields["status"] = (known.status, status)
            if known.position != position:
                fields["position"] = (known.position, position)
            if fields:
                plan.milestone_updates.append((known.id, f"{project.code}/{milestone.name}", fields))
            else:
                plan.milestones_unchanged += 1

    if prune:
        cancelled_p, cancelled_m = ProjectStatus.CANCELLED.value, MilestoneStatus.CANCELLED.value
        for code, old in existing.projects.items():
            if code not in parsed.seen_codes and old.status != cancelled_p:
                plan.project_prunes.append((old.id, code, old.status))
            for name, known in existing.milestones.get(old.id, {}).items():
                if (code, name) not in parsed.seen_milestones and known.status != cancelled_m:
                    plan.milestone_prunes.append((known.id, f"{code}/{name}", known.status))
    return plan


# ------------------------------------------------------------------ writing

def _batches(rows: Iterable[dict], size: int = BATCH) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert_returning(session: Session, table, rows: Iterable[dict], *key_columns: str) -> dict:
    """Bulk INSERT .. RETURNING id and the natural key; returns {natural key: id}.
    (Returning the key means row order does not matter, which keeps SQLite batching.)"""
    columns = [table.c[name] for name in key_columns]
    statement = insert(table).returning(table.c.id, *columns)
    ids: dict = {}
    for batch in _batches(rows):
        for row in session.execute(statement, batch):
            key = row[1] if len(key_columns) == 1 else tuple(row[1:])
            ids[key] = row[0]
    return ids


def _bulk_update(session: Session, table, rows: list[dict]) -> None:
    """executemany UPDATE .. WHERE id = :id, one statement per distinct set of columns."""
    groups: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        columns = tuple(sorted(key for key in row if key != "id"))
        groups.setdefault(columns, []).append({f"v_{key}": value for key, value in row.items()})
    for columns, params in groups.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("v_id"))
            .values({name: bindparam(f"v_{name}") for name in columns})
        )
        for batch in _batches(params):
            session.connection().execute(statement, batch)


def apply_plan(session: Session, plan: Plan, existing: Existing, *,
               now: datetime, actor: str) -> None:
    events: list[dict] = []

    def event(action: str, entity_type: str, entity_id: int, before: dict | None, after: dict | None) -> None:
        events.append(dict(at=now, actor=actor, action=action, entity_type=entity_type,
                           entity_id=entity_id, before=before, after=after))
        if len(events) >= BATCH:
            audit.record_many(session, events)
            events.clear()

    # units
    unit_ids = dict(existing.units)
    created = _insert_returning(session, UNITS, ({"name": name, "created_at": now} for name in plan.new_units), "name")
    unit_ids.update(created)
    for name, unit_id in created.items():
        event("unit.created", "unit", unit_id, None, {"name": name})

    # persons
    person_ids = {mobile: value[0] for mobile, value in existing.persons.items()}
    created = _insert_returning(
        session, PERSONS,
        ({"name": name, "mobile": mobile, "roles": roles, "created_at": now}
         for mobile, (name, roles) in plan.new_persons.items()),
        "mobile",
    )
    person_ids.update(created)
    for mobile, person_id in created.items():
        name, roles = plan.new_persons[mobile]
        event("person.created", "person", person_id, None, {"name": name, "mobile": mobile, "roles": roles})
    _bulk_update(session, PERSONS, [
        {"id": person_id, **{name: after for name, (_, after) in fields.items()}}
        for person_id, _, fields in plan.person_updates
    ])
    for person_id, _, fields in plan.person_updates:
        event("person.updated", "person", person_id, *_before_after(fields))

    # projects
    def project_values(row: ProjectRow) -> dict:
        return {
            "name": row.name, "unit_id": unit_ids[row.unit], "co_units": row.co_units,
            "owner_id": person_ids[row.owner_mobile],
            "lead_leader_id": person_ids[row.lead_mobile] if row.lead_mobile else None,
            "level": row.level, "note": row.note,
        }

    project_ids = {code: old.id for code, old in existing.projects.items()}
    created = _insert_returning(
        session, PROJECTS,
        ({"code": row.code, **project_values(row), "status": ProjectStatus.ACTIVE.value,
          "created_at": now, "updated_at": now} for row in plan.new_projects),
        "code",
    )
    project_ids.update(created)
    for row in plan.new_projects:
        event("project.created", "project", created[row.code], None, _project_audit(row))
    column_of = {"name": "name", "unit": "unit_id", "co_units": "co_units", "owner": "owner_id",
                 "lead_leader": "lead_leader_id", "level": "level", "note": "note", "status": "status"}
    updates = []
    for old, row, fields in plan.project_updates:
        values = project_values(row)
        values["status"] = fields["status"][1] if "status" in fields else old.status
        updates.append({"id": old.id, "updated_at": now,
                        **{column_of[name]: values[column_of[name]] for name in fields}})
        action = "project.reactivated" if "status" in fields else "project.updated"
        event(action, "project", old.id, *_before_after(fields))
    _bulk_update(session, PROJECTS, updates)

    # milestones
    created = _insert_returning(
        session, MILESTONES,
        ({"project_id": project_ids[code], "name": name, "position": position, "due_date": due,
          "completed_on": completed, "status": _milestone_status(completed), "evidence": "",
          "created_at": now, "updated_at": now}
         for code, name, position, due, completed in plan.new_milestones),
        "project_id", "name",
    )
    for code, name, position, due, completed in plan.new_milestones:
        event("milestone.created", "milestone", created[(project_ids[code], name)], None,
              {"project": code, "name": name, "position": position, "due_date": due,
               "completed_on": completed, "status": _milestone_status(completed)})
    _bulk_update(session, MILESTONES, [
        {"id": milestone_id, "updated_at": now, **{name: after for name, (_, after) in fields.items()}}
        for milestone_id, _, fields in plan.milestone_updates
    ])
    for milestone_id, key, fields in plan.milestone_updates:
        before, after = _before_after(fields)
        # a completion date removed: its own event, so the history shows the node was reopened
        action = "milestone.reopened" if Change("updated", "milestone", key, fields).reopens else "milestone.updated"
        event(action, "milestone", milestone_id, {"key": key, **before}, {"key": key, **after})

    # prune: cancelled, never deleted
    _bulk_update(session, PROJECTS, [
        {"id": project_id, "status": ProjectStatus.CANCELLED.value, "updated_at": now}
        for project_id, _, _ in plan.project_prunes
    ])
    for project_id, code, old in plan.project_prunes:
        event("project.pruned", "project", project_id, {"code": code, "status": old},
              {"code": code, "status": ProjectStatus.CANCELLED.value})
    _bulk_update(session, MILESTONES, [
        {"id": milestone_id, "status": MilestoneStatus.CANCELLED.value, "updated_at": now}
        for milestone_id, _, _ in plan.milestone_prunes
    ])
    for milestone_id, key, old in plan.milestone_prunes:
        event("milestone.pruned", "milestone", milestone_id, {"key": key, "status": old},
              {"key": key, "status": MilestoneStatus.CANCELLED.value})
    if events:
        audit.record_many(session, events)


def _before_after(fields: dict[str, tuple[Any, Any]]) -> tuple[dict, dict]:
    return ({name: old for name, (old, _) in fields.items()},
            {name: new for name, (_, new) in fields.items()})


def _project_audit(row: ProjectRow) -> dict:
    return {
        "code": row.code, "name": row.name, "unit": row.unit,
        "owner": f"{row.owner_name} {row.owner_mobile}",
        "lead_leader": f"{row.lead_name} {row.lead_mobile}" if row.lead_mobile else None,
        "co_units": row.co_units, "level": row.level, "note": row.note,
    }
