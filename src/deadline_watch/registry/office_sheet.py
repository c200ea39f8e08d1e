"""A 责任分解表 (a sheet with no 项目编号) read as the product's own rows.

Each row is one task: 重点任务 (the task), 主办单位, 协办单位, 牵头领导, 责任人, 完成时限.
What the product's format needs and the sheet lacks is filled in explicitly:
- the code: a task is keyed by its name within its unit. A task already in the database
  keeps its code; a new one gets `RW-` and ten hex digits of a hash of unit and name, so a
  re-import of the same sheet finds it again. A new name close to an existing task of the
  same unit that the sheet no longer lists is an error "疑似更名" unless renames are accepted.
- the milestone: a task without a 节点 column has one deadline, named 完成.
- the deadline: 完成时限 in words is interpreted by `registry.phrases`, and each reading is
  reported; recurring and standing tasks carry their 周期 and no dated milestone.
- mobiles: from the sheet when it has them, else from the contacts (`registry.contacts`).
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from deadline_watch.domain.models import Project, Unit
from deadline_watch.domain.recurrence import STANDING as STANDING_RULE
from deadline_watch.registry.cells import CellError, cell_text, clean_person_name, clean_text, parse_date
from deadline_watch.registry.columns import BY_KEY, COLUMNS, HeaderMap
from deadline_watch.registry.contacts import Directory
from deadline_watch.registry.parsed import ParsedRegistry
from deadline_watch.registry.phrases import (
    Fixed,
    PhraseError,
    Recurring,
    Standing,
    describe,
    interpret,
    year_in_title,
)
from deadline_watch.registry.report import ImportReport, Interpretation

KEYS = tuple(column.key for column in COLUMNS)
CODE_PREFIX = "RW-"
SINGLE_MILESTONE = "完成"
STANDING = "长期"  # how a standing task's 周期 is written (export, the translated rows)
RENAME_SIMILARITY = 0.75


def task_code(unit: str, name: str) -> str:
    """The code a new task gets: stable for the same unit and name."""
    digest = hashlib.sha256(f"{unit}\x1f{name}".encode()).hexdigest()
    return f"{CODE_PREFIX}{digest[:10].upper()}"


@dataclass
class OfficeContext:
    """What translating a 责任分解表 needs besides the rows."""

    year: int | None = None  # --year; else a title row's year
    contacts: Directory = field(default_factory=Directory)
    tasks: dict[tuple[str, str], str] = field(default_factory=dict)  # (unit, name) -> code in the database
    accept_renames: bool = False


def existing_tasks(session: Session) -> dict[tuple[str, str], str]:
    rows = session.execute(select(Unit.name, Project.name, Project.code).join(Unit, Unit.id == Project.unit_id))
    return {(unit, name): code for unit, name, code in rows}


@dataclass
class _NewTask:
    unit: str
    name: str
    code: str
    line: int


class OfficeSheet:
    def __init__(self, header: HeaderMap, context: OfficeContext, report: ImportReport, *,
                 title_year: int | None) -> None:
        self.source = header
        self.context = context
        self.report = report
        self.year = context.year if context.year is not None else title_year
        # the validator reads the translated rows in KEYS order, naming the sheet's own columns
        self.header = HeaderMap(line=header.line, index={key: i for i, key in enumerate(KEYS)},
                                titles=dict(header.titles))
        self.seen: set[tuple[str, str]] = set()
        self.new_tasks: list[_NewTask] = []

    def title(self, key: str) -> str:
        return self.source.titles.get(key, BY_KEY[key].zh)

    def fail(self, line: int, key: str, value: object, reason_zh: str, reason_en: str) -> None:
        self.report.add_error(line, self.title(key), cell_text(value)[:100], reason_zh, reason_en)

    def row(self, line: int, cells: list[object]) -> list[object] | None:
        """The row in the product's columns, or None when it cannot be (errors reported)."""
        width = len(cells)

        def raw(key: str) -> object:
            position = self.source.index.get(key)
            return cells[position] if position is not None and position < width else None

        values: dict[str, object] = {key: raw(key) for key in KEYS}
        unit, name = clean_text(values["unit"]), clean_text(values["project_name"])
        errors_before = len(self.report.errors)
        if unit and name:
            values["project_code"] = self._code(line, unit, name)
        if not clean_text(values["milestone"]):
            values["milestone"] = SINGLE_MILESTONE
        self._deadline(line, values)
        for person, mobile in (("owner", "owner_mobile"), ("lead_leader", "lead_leader_mobile")):
            who = clean_person_name(values[person])
            if who and not clean_text(values[mobile]):
                try:
                    values[mobile] = self.context.contacts.mobile_of(who)
                except CellError as exc:
                    self.fail(line, person, who, exc.reason_zh, exc.reason_en)
        if len(self.report.errors) > errors_before:
            return None
        return [values[key] for key in KEYS]

    def _code(self, line: int, unit: str, name: str) -> str:
        self.seen.add((unit, name))
        known = self.context.tasks.get((unit, name))
        if known is not None:
            return known
        code = task_code(unit, name)
        self.new_tasks.append(_NewTask(unit, name, code, line))
        return code

    def _deadline(self, line: int, values: dict[str, object]) -> None:
        cell = values["due_date"]
        text = clean_text(cell)
        if not text:
            return  # the validator reports the required value missing
        try:
            values["due_date"] = parse_date(cell)  # a real date or a written-out one: no phrase
            return
        except CellError:
            pass
        try:
            reading = interpret(text, year=self.year)
        except PhraseError as exc:
            self.fail(line, "due_date", cell, exc.reason_zh, exc.reason_en)
            return
        self.report.interpretations.append(Interpretation(line, self.title("due_date"), text, describe(reading)))
        values["deadline_phrase"] = text
        match reading:
            case Fixed(due):
                values["due_date"] = due
            case Recurring(recurrence):
                values["schedule"], values["due_date"], values["milestone"] = recurrence.phrase, None, None
            case Standing():
                values["schedule"], values["due_date"], values["milestone"] = STANDING, None, None

    def finish(self) -> dict[str, str]:
        """New task codes that are renames of existing tasks (new code -> old code).

        A new task whose name is close to a task of the same unit that the sheet no longer
        lists is "疑似更名": an error, or with accept_renames the old task renamed."""
        renames: dict[str, str] = {}
        missing_by_unit: dict[str, list[tuple[str, str]]] = {}
        for (unit, name), code in self.context.tasks.items():
            if code.startswith(CODE_PREFIX) and (unit, name) not in self.seen:
                missing_by_unit.setdefault(unit, []).append((name, code))
        for task in self.new_tasks:
            candidates = missing_by_unit.get(task.unit, [])
            best = max(candidates, key=lambda item: _similarity(item[0], task.name), default=None)
            if best is None or _similarity(best[0], task.name) < RENAME_SIMILARITY:
                continue
            old_name, old_code = best
            if self.context.accept_renames:
                renames[task.code] = old_code
                candidates.remove(best)
                continue
            self.fail(
                task.line, "project_name", task.name,
                f"疑似更名: 与已有任务“{old_name}”({old_code})相近。若是同一任务改名,请加 --accept-renames;"
                "若是新任务,请改写名称",
                f"looks like a rename of {old_name!r} ({old_code}): pass --accept-renames to rename it, "
                "or make the new name distinct",
            )
        return renames


def years_in_title_row(cells: list[object]) -> list[int]:
    """The years a title row above the header names ("2027年重点工作责任分解表" -> [2027])."""
    return [year for year in (year_in_title(clean_text(cell)) for cell in cells if cell) if year]


def title_year(years: list[int]) -> int | None:
    """The sheet's year from its title rows: only when they name exactly one."""
    return years[0] if len(set(years)) == 1 else None


def schedule_rule(text: str) -> str:
    """周期 as stored on the project: 长期 -> "standing", a recurring phrase -> its rule ("monthly:25"),
    "" -> ""; anything else raises PhraseError."""
    if not text:
        return ""
    match Standing() if text == STANDING else interpret(text, year=None):
        case Standing():
            return STANDING_RULE
        case Recurring(recurrence):
            return recurrence.rule
    raise PhraseError("周期只能是“长期”或每月/每季度/每半年/每年/每周的时限",
                      "周期 must be 长期 or a recurring deadline (每月25日前, 每季度末 ...)")


def rename_tasks(parsed: ParsedRegistry, renames: dict[str, str]) -> None:
    """Accepted renames (`OfficeSheet.finish`): the new task's rows become the existing task's
    (its code kept)."""
    for new_code, old_code in renames.items():
        project = parsed.projects.pop(new_code, None)
        if project is not None:
            project.code = old_code
            parsed.projects[old_code] = project
        parsed.seen_codes.discard(new_code)
        parsed.seen_codes.add(old_code)
        for code, name in [pair for pair in parsed.seen_milestones if pair[0] == new_code]:
            parsed.seen_milestones.discard((code, name))
            parsed.seen_milestones.add((old_code, name))


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def first_day_of_year(year: int | None, today: date) -> date:
    """Where a recurring task's occurrences may start: not before the sheet's year, nor today."""
    return max(today, date(year, 1, 1)) if year else today
