"""Registry import and export: CSV/XLSX rows in, validated, upserted in one transaction.

    report = import_path(sessions, Path("清单.csv"), now=now, options=ImportOptions(dry_run=True))
    report.errors   # every problem with its spreadsheet line, column, value and reason
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from deadline_watch.core.collector import collector_paused
from deadline_watch.core.db import transaction
from deadline_watch.core.errors import RegistryError
from deadline_watch.domain import occurrences
from deadline_watch.registry.contacts import CONTACTS_SHEET, Directory, known_persons, read_contacts
from deadline_watch.registry.export import export_path
from deadline_watch.registry.limits import DEFAULT_LIMITS, Budget, ImportLimits
from deadline_watch.registry.office_sheet import OfficeContext, existing_tasks, first_day_of_year
from deadline_watch.registry.plan import load_existing, make_plan
from deadline_watch.registry.problems import FileProblem
from deadline_watch.registry.reader import Opener, open_registry, sheet_names
from deadline_watch.registry.report import Change, ImportReport, RowError
from deadline_watch.registry.upsert import apply_plan
from deadline_watch.registry.validate import read_registry

__all__ = [
    "Change",
    "ImportLimits",
    "contacts_file",
    "ImportOptions",
    "ImportReport",
    "RowError",
    "export_path",
    "import_bytes",
    "import_path",
]

ProgressFn = Callable[[str, int, int | None], None]


@dataclass(frozen=True)
class ImportOptions:
    dry_run: bool = False  # validate and compare, write nothing
    prune: bool = False  # mark projects/milestones absent from the file cancelled
    skip_invalid: bool = False  # write the valid rows, report the others
    encoding: str | None = None  # force a CSV encoding instead of detecting it
    sheet: str | None = None  # XLSX sheet name (default: the first sheet that is not 通讯录)
    year: int | None = None  # the year of deadline phrases without one ("6月底前")
    contacts: Path | None = None  # a 通讯录 file supplying mobiles by name
    accept_renames: bool = False  # a task renamed slightly keeps its code instead of an error
    today: date | None = None  # the local date of `now` (recurring tasks start from it)
    recurring_ahead: int = 1  # upcoming occurrences of a recurring task kept in the registry
    limits: ImportLimits = DEFAULT_LIMITS  # errors, rows, cell sizes, time


def import_path(sessions: sessionmaker[Session], path: Path, *, now: datetime,
                options: ImportOptions | None = None, actor: str = "import",
                progress: ProgressFn | None = None) -> ImportReport:
    """Import a registry file; problems with the file come back in the report, never as an
    exception. A database failure rolls back and raises RegistryError."""
    path = Path(path)
    return _import(sessions, lambda: path.open("rb"), str(path), path.name, now=now,
                   options=options or ImportOptions(), actor=actor, progress=progress)


def import_bytes(sessions: sessionmaker[Session], *, filename: str, content: bytes, now: datetime,
                 options: ImportOptions | None = None, actor: str = "import",
                 progress: ProgressFn | None = None) -> ImportReport:
    """Import an uploaded file's content; `filename` only helps tell .xlsx from CSV."""
    return _import(sessions, lambda: io.BytesIO(content), filename, filename, now=now,
                   options=options or ImportOptions(), actor=actor, progress=progress)


def _import(sessions: sessionmaker[Session], opener: Opener, source: str, filename: str, *,
            now: datetime, options: ImportOptions, actor: str,
            progress: ProgressFn | None) -> ImportReport:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    with collector_paused():
        return _import_file(sessions, opener, source, filename, now=now, options=options, actor=actor,
                            progress=progress)


def _import_file(sessions: sessionmaker[Session], opener: Opener, source: str, filename: str, *,
                 now: datetime, options: ImportOptions, actor: str,
                 progress: ProgressFn | None) -> ImportReport:
    report = ImportReport(source=source, dry_run=options.dry_run)
    limits = options.limits
    budget = Budget(limits.max_seconds)
    sheets = sheet_names(opener, filename)
    sheet = options.sheet
    if sheet is None and sheets and sheets[0] == CONTACTS_SHEET and len(sheets) > 1:
        sheet = sheets[1]
    try:
        registry = open_registry(opener, filename, encoding=options.encoding, sheet=sheet,
                                 limits=limits, budget=budget)
    except FileProblem as problem:
        report.add_error(problem.line, problem.column, problem.value, problem.reason_zh, problem.reason_en)
        return report
    report.kind, report.encoding, report.sheet = registry.kind, registry.encoding, registry.sheet

    def tick() -> None:
        if progress is not None:
            progress("read", registry.position(), registry.total)

    try:
        parsed = read_registry(registry.rows, report, progress=tick if progress else None, limits=limits,
                               office=lambda: _office_context(sessions, opener, filename, sheets, options, report))
    finally:
        registry.close()  # the rows may stop early at a file problem: release the file now
    if parsed.stopped:
        report.stopped_at_errors = True
        report.rows_not_checked = max(0, (registry.lines or parsed.last_line) - parsed.last_line)
    if progress is not None:
        progress("read", registry.total or registry.position(), registry.total)
    if not options.skip_invalid:
        report.rows_skipped = 0  # nothing is written at all: no row was "skipped"
    if parsed.file_problem or parsed.stopped or (report.errors and not options.skip_invalid):
        return report
    if options.dry_run:
        with sessions() as session:
            plan = make_plan(parsed, load_existing(session), prune=options.prune)
            session.rollback()
        plan.fill(report)
        return report
    if progress is not None:
        progress("write", 0, None)
    try:
        with transaction(sessions) as session:
            existing = load_existing(session)
            plan = make_plan(parsed, existing, prune=options.prune)
            apply_plan(session, plan, existing, now=now, actor=actor)
            today = options.today or now.date()
            report.occurrences_created = occurrences.extend(
                session, today=today, now=now, ahead=options.recurring_ahead, actor=actor,
                start=first_day_of_year(parsed.year, today),
            )
    except SQLAlchemyError as exc:
        # e.g. a concurrent writer took the same unit name or mobile first; the
        # transaction rolled back, so the registry is exactly as it was
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        raise RegistryError(
            f"写入数据库失败,未写入任何内容: {detail}",
            f"writing to the database failed, nothing was written: {detail}",
        ) from exc
    plan.fill(report)
    report.written = True
    if progress is not None:
        progress("write", 1, 1)
    return report


def _office_context(sessions: sessionmaker[Session], opener: Opener, filename: str, sheets: list[str],
                    options: ImportOptions, report: ImportReport) -> OfficeContext:
    """What a 责任分解表 needs: contacts (a file, or the workbook's 通讯录 sheet), the persons
    and tasks the database knows, and the year given on the command line."""
    directory = Directory()
    if options.contacts is not None:
        path = Path(options.contacts)
        directory = _contacts(lambda: path.open("rb"), path.name, None, report, source=f"通讯录 {path.name}")
    elif CONTACTS_SHEET in sheets:
        directory = _contacts(opener, filename, CONTACTS_SHEET, report, source=CONTACTS_SHEET)
    with sessions() as session:
        directory.known = known_persons(session)
        tasks = existing_tasks(session)
    return OfficeContext(year=options.year, contacts=directory, tasks=tasks, accept_renames=options.accept_renames)


def _contacts(opener: Opener, filename: str, sheet: str | None, report: ImportReport, *, source: str) -> Directory:
    try:
        contacts = open_registry(opener, filename, sheet=sheet)
    except FileProblem as problem:
        report.add_error(problem.line, source, problem.value, problem.reason_zh, problem.reason_en)
        return Directory(source=source)
    try:
        return read_contacts(contacts.rows, report, source=source)
    finally:
        contacts.close()


def contacts_file(path: Path) -> tuple[Directory, ImportReport]:
    """A contacts file read and checked (`persons import`): the directory and the report of
    its problems (errors name the file's lines)."""
    path = Path(path)
    report = ImportReport(source=str(path))
    directory = _contacts(lambda: path.open("rb"), path.name, _contacts_sheet(path), report,
                          source=f"通讯录 {path.name}")
    return directory, report


def _contacts_sheet(path: Path) -> str | None:
    """The 通讯录 sheet of a workbook that has one besides others; else the first sheet."""
    names = sheet_names(lambda: path.open("rb"), path.name)
    return CONTACTS_SHEET if CONTACTS_SHEET in names else None
