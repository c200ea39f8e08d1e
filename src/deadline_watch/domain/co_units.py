"""协办单位 as rows: which units assist a project (project_co_units), kept in step with its text;
and the one query of which projects a unit assists (the board's and evaluation's 协办单位 filter)."""

from __future__ import annotations

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.orm import Session

from deadline_watch.domain.models import ProjectCoUnit, Unit

_TABLE = ProjectCoUnit.__table__


def sync(session: Session, wanted: dict[int, list[int]]) -> None:
    """Make each listed project's co-units exactly `wanted[project_id]` (unit ids)."""
    if not wanted:
        return
    project_ids = list(wanted)
    current: dict[int, set[int]] = {}
    for start in range(0, len(project_ids), 1000):
        chunk = project_ids[start : start + 1000]
        for project_id, unit_id in session.execute(
            select(_TABLE.c.project_id, _TABLE.c.unit_id).where(_TABLE.c.project_id.in_(chunk))
        ):
            current.setdefault(project_id, set()).add(unit_id)
    added, removed = [], []
    for project_id, unit_ids in wanted.items():
        have, want = current.get(project_id, set()), set(unit_ids)
        added.extend({"project_id": project_id, "unit_id": unit_id} for unit_id in want - have)
        removed.extend((project_id, unit_id) for unit_id in have - want)
    if added:
        session.execute(insert(_TABLE), added)
    for project_id, unit_id in removed:
        session.execute(delete(_TABLE).where(_TABLE.c.project_id == project_id, _TABLE.c.unit_id == unit_id))


def co_unit_ids(session: Session, project_id: int) -> list[int]:
    return list(session.scalars(select(_TABLE.c.unit_id).where(_TABLE.c.project_id == project_id)))


def projects_assisted_by(unit: str | int) -> Select:
    """SELECT the ids of the projects `unit` (a name or an id) assists as 协办单位, for an
    `IN (...)` clause: one lookup of the unit by its unique name, then the unit_id index of
    project_co_units."""
    if isinstance(unit, int):
        return select(_TABLE.c.project_id).where(_TABLE.c.unit_id == unit)
    return select(_TABLE.c.project_id).where(_TABLE.c.unit_id.in_(select(Unit.id).where(Unit.name == unit)))


def co_unit_names(session: Session) -> list[str]:
    """Units that assist at least one project, for the 协办单位 drop-downs (every board page):
    one seek of the unit_id index per unit, not a DISTINCT over every co-unit row."""
    assists = select(_TABLE.c.project_id).where(_TABLE.c.unit_id == Unit.id).exists()
    return list(session.scalars(select(Unit.name).where(assists).order_by(Unit.name)))
