"""Upserting a validated registry: write a `registry.plan.Plan` (the differences by natural
key) with executemany-style Core statements inside the caller's transaction, and one
AuditEvent per created, updated or pruned row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from deadline_watch.core.db import insert_many, max_id
from deadline_watch.domain import audit, co_units
from deadline_watch.domain.models import MilestoneStatus, ProjectStatus
from deadline_watch.registry.cells import split_co_units
from deadline_watch.registry.parsed import ProjectRow
from deadline_watch.registry.plan import MILESTONES, PERSONS, PROJECTS, UNITS, Existing, Plan, milestone_status
from deadline_watch.registry.report import Change

__all__ = ["apply_plan"]

BATCH = 5000


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
    """Bulk INSERT, then the new rows' ids by natural key; returns {natural key: id}.
    The INSERT goes to the driver's executemany (`core.db.insert_many`: SQLAlchemy's own
    INSERT .. RETURNING batching was most of the write time, issue 17); the new rows are the
    ones above the highest id before it whose key is ours (a concurrent writer's rows have
    other keys: the keys are unique)."""
    columns = [table.c[name] for name in key_columns]
    single = len(key_columns) == 1
    wanted: set = set()
    before = max_id(session, table)
    key_of = itemgetter(*key_columns)  # the value, or a tuple of them for a compound key
    for batch in _batches(rows):
        wanted.update(map(key_of, batch))
        insert_many(session, table, batch)
    if not wanted:
        return {}
    ids: dict = {}
    for row in session.execute(select(table.c.id, *columns).where(table.c.id > before)):
        key = row[1] if single else tuple(row[1:])
        if key in wanted:
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
            "level": row.level, "note": row.note, "schedule": row.schedule,
            "deadline_phrase": row.deadline_phrase,
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
                 "lead_leader": "lead_leader_id", "level": "level", "note": "note", "status": "status",
                 "schedule": "schedule", "deadline_phrase": "deadline_phrase"}
    updates = []
    for old, row, fields in plan.project_updates:
        values = project_values(row)
        values["status"] = fields["status"][1] if "status" in fields else old.status
        updates.append({"id": old.id, "updated_at": now,
                        **{column_of[name]: values[column_of[name]] for name in fields}})
        action = "project.reactivated" if "status" in fields else "project.updated"
        event(action, "project", old.id, *_before_after(fields))
    _bulk_update(session, PROJECTS, updates)
    co_units.sync(session, {project_ids[row.code]: [unit_ids[name] for name in split_co_units(row.co_units)]
                            for row in [*plan.new_projects, *(row for _, row, _ in plan.project_updates)]})

    # milestones
    created = _insert_returning(
        session, MILESTONES,
        ({"project_id": project_ids[code], "name": name, "position": position, "due_date": due,
          "completed_on": completed, "status": milestone_status(completed), "evidence": "",
          "created_at": now, "updated_at": now}
         for code, name, position, due, completed in plan.new_milestones),
        "project_id", "name",
    )
    for code, name, position, due, completed in plan.new_milestones:
        # dates as the audit's JSON writes them, without its encoder calling back for each
        event("milestone.created", "milestone", created[(project_ids[code], name)], None,
              {"project": code, "name": name, "position": position, "due_date": due.isoformat(),
               "completed_on": completed.isoformat() if completed else None,
               "status": milestone_status(completed)})
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
        **({"schedule": row.schedule} if row.schedule else {}),
        **({"deadline_phrase": row.deadline_phrase} if row.deadline_phrase else {}),
    }
