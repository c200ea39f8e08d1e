"""Writing the registry back out in the import format, so export -> import changes nothing.

CSV is UTF-8 with a BOM (Excel opens it without garbling the Chinese); mobiles are written
as '138 0013 8000' so Excel keeps them as text. Text that could be read as a formula is
neutralised (`domain.sheet_cells`), and the import undoes it. A path ending in .xlsx gets a workbook with
real date cells instead.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from deadline_watch.core.errors import RegistryError
from deadline_watch.domain.models import Milestone, MilestoneStatus, Person, Project, ProjectStatus, Unit
from deadline_watch.domain.recurrence import Recurrence, is_recurring
from deadline_watch.domain.sheet_cells import neutralise
from deadline_watch.registry.cells import display_mobile
from deadline_watch.registry.columns import EXPORT_HEADERS
from deadline_watch.registry.office_sheet import STANDING


def registry_rows(session: Session) -> Iterator[list[object]]:
    """Every live milestone as one row in column order, by project code then position; a
    standing or recurring task with no live milestone yet gets one row of its own."""
    owner, lead = aliased(Person), aliased(Person)
    statement = (
        select(
            Project.code, Project.name, Unit.name, lead.name, lead.mobile, owner.name,
            owner.mobile, Milestone.name, Milestone.due_date, Milestone.completed_on,
            Project.co_units, Project.level, Project.note, Project.schedule, Project.deadline_phrase,
        )
        .join(Unit, Project.unit_id == Unit.id)
        .join(owner, Project.owner_id == owner.id)
        .outerjoin(lead, Project.lead_leader_id == lead.id)
        .outerjoin(Milestone, (Milestone.project_id == Project.id)
                   & (Milestone.status != MilestoneStatus.CANCELLED.value))
        .where(Project.status != ProjectStatus.CANCELLED.value)
        .where((Milestone.id.is_not(None)) | (Project.schedule != ""))
        .order_by(Project.code, Milestone.position, Milestone.id)
    )
    for row in session.execute(statement).yield_per(2000):
        (code, name, unit, lead_name, lead_mobile, owner_name, owner_mobile, milestone,
         due_date, completed_on, co_units, level, note, schedule, phrase) = row
        yield [
            code, name, unit, lead_name or "", display_mobile(lead_mobile) if lead_mobile else "",
            owner_name, display_mobile(owner_mobile) if owner_mobile else "", milestone or "",
            due_date, completed_on, co_units or "", level or "", note or "", schedule_text(schedule or ""),
            phrase or "",
        ]


def schedule_text(schedule: str) -> str:
    """周期 as export writes it: 长期, a recurring phrase (每月25日前), or nothing."""
    if schedule == "standing":
        return STANDING
    if is_recurring(schedule):
        return Recurrence.parse(schedule).phrase
    return ""


def export_path(session: Session, path: Path) -> int:
    """Write the registry to `path` (.csv or .xlsx); returns the number of milestone rows."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            return _write_xlsx(session, path)
        return _write_csv(session, path)
    except OSError as exc:
        raise RegistryError(
            f"无法写入 {path}: {exc.strerror or exc}", f"cannot write {path}: {exc.strerror or exc}"
        ) from None


def _write_csv(session: Session, path: Path) -> int:
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(EXPORT_HEADERS)
        for row in registry_rows(session):
            writer.writerow([value.isoformat() if isinstance(value, date) else neutralise(value) for value in row])
            count += 1
    return count


def _write_xlsx(session: Session, path: Path) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("重点项目清单")
    sheet.append(EXPORT_HEADERS)
    count = 0
    for row in registry_rows(session):
        cells = []
        for value in row:
            if isinstance(value, date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd"
                cells.append(cell)
            else:
                cells.append(neutralise(value, sheet))
        sheet.append(cells)
        count += 1
    workbook.save(path)
    return count
