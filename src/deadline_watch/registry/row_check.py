"""Checking one row of the registry and how it agrees with the rows before it.

Each row is trimmed and parsed cell by cell (texts, dates, mobiles, codes, lengths), then
checked against the earlier rows: a project's columns agree on all its rows, a mobile
belongs to one name, a milestone appears once. `validate.read_registry` drives it.
"""


from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from operator import itemgetter
from typing import TypeVar

from deadline_watch.domain.models import Milestone, Person, Project, ProjectLevel, Unit
from deadline_watch.domain.recurrence import is_standing
from deadline_watch.registry.cells import (
    CellError,
    cell_text,
    clean_person_name,
    clean_text,
    co_units_text,
    parse_date,
    parse_mobile,
)
from deadline_watch.registry.columns import (
    BY_KEY,
    COLUMNS,
    HeaderMap,
)
from deadline_watch.registry.limits import ImportLimits, quote
from deadline_watch.registry.office_sheet import (
    schedule_rule,
)
from deadline_watch.registry.parsed import PROJECT_FIELDS, MilestoneRow, ParsedRegistry, ProjectRow
from deadline_watch.registry.phrases import PhraseError
from deadline_watch.registry.report import ImportReport

KEYS = tuple(column.key for column in COLUMNS)
LEVELS = {level.value for level in ProjectLevel}
T = TypeVar("T")
_PHRASE_LIMIT = Project.__table__.c.deadline_phrase.type.length
# Project codes end up in URLs and file names: letters, digits, CJK and - _ . only, not
# starting with a dot (documented in README "Registry file").
PROJECT_CODE = re.compile(r"[A-Za-z0-9\u3400-\u9fff][A-Za-z0-9\u3400-\u9fff._\-]*")

_REMEMBERED = 20_000  # distinct date or mobile texts remembered per file (bounds the memory)
_LIMITS = {  # column key -> max length, from the model's column sizes
    "project_code": Project.__table__.c.code.type.length,
    "project_name": Project.__table__.c.name.type.length,
    "unit": Unit.__table__.c.name.type.length,
    "owner": Person.__table__.c.name.type.length,
    "lead_leader": Person.__table__.c.name.type.length,
    "milestone": Milestone.__table__.c.name.type.length,
}


class RowValidator:
    def __init__(self, parsed: ParsedRegistry, report: ImportReport, limits: ImportLimits) -> None:
        self.parsed = parsed
        self.report = report
        self.max_cell_chars = limits.max_cell_chars
        self.header = HeaderMap(line=0, index={}, titles={})  # replaced by use_header()
        self.order: list[int | None] = []  # cell position of each column in KEYS order
        self.bad_projects: set[str] = set()
        self.bad_milestones: set[tuple[str, str]] = set()
        self.project_rows: dict[str, int] = {}  # valid rows per project, for the skipped count
        # code -> milestone -> position, counting invalid rows too so that skipping one
        # row does not shift the positions of the rows after it
        self.positions: dict[str, dict[str, int]] = {}
        # the project cells of the last row that passed every check, and its project
        self.last_project_cells: tuple[object, ...] | None = None
        self.last_project: ProjectRow | None = None
        # text cells already parsed without error, by their raw text: the same input
        # gives the same value (a registry repeats its dates and its leaders' mobiles)
        self.days: dict[str, date] = {}
        self.mobiles: dict[str, str] = {}
        self.pick: Callable[[list[object]], tuple[object, ...]] | None = None
        self.width = 0
        self.padding: tuple[str, ...] = ()

    def use_header(self, header: HeaderMap) -> None:
        self.header = header
        self.order = [header.index.get(key) for key in KEYS]
        self.last_project_cells = None
        # the usual file lacks only trailing optional columns: pick the others in one call
        present = [position for position in self.order if position is not None]
        self.pick = None
        if len(present) > 1 and self.order[:len(present)] == present:
            self.pick = itemgetter(*present)
            self.width = max(present) + 1
            self.padding = ("",) * (len(KEYS) - len(present))

    # ------------------------------------------------------------ one row
    # This runs once per row of files with 100,000 rows: plain locals, no closures.
    def row(self, line: int, cells: list[object]) -> None:
        self.parsed.rows_read += 1
        report = self.report
        errors_before = len(report.errors)
        width = len(cells)
        # a column the file lacks, or a short row, reads as an empty cell ("" keeps the
        # join below on its quick path: every CSV cell is text)
        if self.pick is not None and width >= self.width:
            values = self.pick(cells) + self.padding
        else:
            values = tuple([cells[position] if position is not None and position < width else ""
                            for position in self.order])
        try:
            text = "".join(values)  # type: ignore[arg-type]
        except TypeError:  # an XLSX cell that is empty (None) or typed (a date, a number)
            text = "".join([value for value in values if isinstance(value, str)])
        if "\x00" in text:
            for key, value in zip(KEYS, values, strict=True):
                if isinstance(value, str) and "\x00" in value:
                    # PostgreSQL cannot store NUL; it is never meant in a spreadsheet cell
                    self.fail(line, key, value.replace("\x00", "\\0"),
                              "单元格含有空字符 (NUL)", "the cell contains a NUL character")
            self.parsed.rows_invalid += 1
            return
        # no text cell is longer than all of them together: the common row skips the search
        if len(text) > self.max_cell_chars and any(
                isinstance(value, str) and len(value) > self.max_cell_chars for value in values):
            for key, value in zip(KEYS, values, strict=True):
                if isinstance(value, str) and len(value) > self.max_cell_chars:
                    self.fail(line, key, value, f"单元格过长: 最多 {self.max_cell_chars} 个字符",
                              f"cell too long: at most {self.max_cell_chars} characters")
            self.parsed.rows_invalid += 1
            return
        (code_raw, name_raw, unit_raw, lead_raw, lead_mobile_raw, owner_raw, owner_mobile_raw,
         milestone_raw, due_raw, completed_raw, co_units_raw, level_raw, note_raw,
         schedule_raw, phrase_raw) = values
        project_cells = values[:7] + values[10:]
        if project_cells == self.last_project_cells:
            self._same_project_row(line, self.last_project, milestone_raw, due_raw, completed_raw, schedule_raw)
            return
        self.last_project_cells = None
        code = clean_text(code_raw)
        name = clean_text(name_raw)
        unit = clean_text(unit_raw)
        owner_name = clean_person_name(owner_raw)
        lead_name = clean_person_name(lead_raw) or None
        milestone = clean_text(milestone_raw)
        level = clean_text(level_raw) or None
        note = clean_text(note_raw)
        deadline_phrase = clean_text(phrase_raw)
        schedule = self.schedule(line, schedule_raw) if schedule_raw else ""
        # a standing or recurring task may stand on a row of its own, with no dated node
        undated = bool(schedule) and not milestone and not clean_text(due_raw)
        if is_standing(schedule) and not undated:
            self.standing_with_deadline(line, schedule_raw)
        if not (code and name and unit and owner_name and (milestone or undated)):
            for key, value, raw in (("project_code", code, code_raw), ("project_name", name, name_raw),
                                    ("unit", unit, unit_raw), ("owner", owner_name, owner_raw),
                                    ("milestone", milestone or undated, milestone_raw)):
                if not value:
                    self.missing(line, key, raw)
        for key, value, raw in (("project_code", code, code_raw), ("project_name", name, name_raw),
                                ("unit", unit, unit_raw), ("owner", owner_name, owner_raw),
                                ("lead_leader", lead_name, lead_raw), ("milestone", milestone, milestone_raw)):
            if value and len(value) > _LIMITS[key]:
                self.too_long(line, key, raw)
        if code and len(code) <= _LIMITS["project_code"] and not PROJECT_CODE.fullmatch(code):
            self.fail(line, "project_code", code_raw,
                      "项目编号只能含字母、数字、汉字和 - _ .(不以 . 开头)",
                      "a project code may hold letters, digits, CJK and - _ . only (not starting with .)")
        owner_mobile = self.mobile(line, "owner_mobile", owner_mobile_raw)
        lead_mobile = self.mobile(line, "lead_leader_mobile", lead_mobile_raw)
        due_date = None if undated else self.day(line, "due_date", due_raw)
        completed_on = self.day(line, "completed_on", completed_raw)
        co_units = co_units_text(co_units_raw)
        if level is not None and level not in LEVELS:
            self.fail(line, "level", level_raw, "项目级别只能是 省级、市级 或 区级", "level must be 省级, 市级 or 区级")
        if lead_name and not lead_mobile and not clean_text(lead_mobile_raw):
            self.fail(line, "lead_leader_mobile", lead_mobile_raw,
                      "填写了牵头领导,但缺少其手机号", "a lead leader is named but their mobile is missing")
        if lead_mobile and not lead_name:
            self.fail(line, "lead_leader", lead_raw,
                      "填写了牵头领导手机,但缺少姓名", "a lead leader mobile is given but no name")
        if deadline_phrase and len(deadline_phrase) > _PHRASE_LIMIT:
            self.fail(line, "deadline_phrase", phrase_raw, f"过长: 最多 {_PHRASE_LIMIT} 个字符",
                      f"too long: at most {_PHRASE_LIMIT} characters")
        if code:
            self.parsed.seen_codes.add(code)
            if milestone:
                self._seen_milestone(code, milestone)
        if len(report.errors) > errors_before:
            self.parsed.rows_invalid += 1
            return
        assert owner_mobile is not None and (due_date is not None or undated)
        signature = (name, unit, owner_name, owner_mobile, lead_name, lead_mobile, co_units, level, note,
                     schedule, deadline_phrase)
        if not self._persons_agree(line, owner_name, owner_mobile, lead_name, lead_mobile):
            self.parsed.rows_invalid += 1
            return
        project = self.parsed.projects.get(code)
        if project is None:
            project = self.parsed.projects[code] = ProjectRow(code, *signature, line)
        elif project.signature() != signature and not self._project_agrees(line, project, signature):
            self.parsed.rows_invalid += 1
            self.bad_projects.add(code)
            return
        self.project_rows[code] = self.project_rows.get(code, 0) + 1
        self.last_project_cells, self.last_project = project_cells, project
        if undated:
            return
        assert due_date is not None
        self._add_milestone(line, project, MilestoneRow(milestone, due_date, completed_on, line,
                                                        self.positions[code][milestone]))

    def _seen_milestone(self, code: str, milestone: str) -> None:
        """The milestone is in the file (for --prune) and has its place in the project's order."""
        self.parsed.seen_milestones.add((code, milestone))
        positions = self.positions.setdefault(code, {})
        positions.setdefault(milestone, len(positions) + 1)

    def _same_project_row(self, line: int, project: ProjectRow, milestone_raw: object, due_raw: object,
                          completed_raw: object, schedule_raw: object) -> None:
        """The rest of `row` for a row whose project cells equal the previous valid row's (a
        project's rows usually follow each other): those cells passed every check then and
        would again, so only the milestone's cells are checked, with the same errors."""
        report, code = self.report, project.code
        errors_before = len(report.errors)
        milestone = clean_text(milestone_raw)
        schedule = project.schedule
        undated = bool(schedule) and not milestone and not clean_text(due_raw)
        if schedule and is_standing(schedule) and not undated:
            self.standing_with_deadline(line, schedule_raw)
        if not (milestone or undated):
            self.missing(line, "milestone", milestone_raw)
        if milestone and len(milestone) > _LIMITS["milestone"]:
            self.too_long(line, "milestone", milestone_raw)
        due_date = None if undated else self.day(line, "due_date", due_raw)
        # most rows leave 完成日期 empty: None without a call (it is optional, so no error)
        completed_on = None if completed_raw == "" else self.day(line, "completed_on", completed_raw)
        if milestone:
            self._seen_milestone(code, milestone)
        if len(report.errors) > errors_before:
            self.parsed.rows_invalid += 1
            return
        self.project_rows[code] += 1
        if undated:
            return
        assert due_date is not None
        self._add_milestone(line, project, MilestoneRow(milestone, due_date, completed_on, line,
                                                        self.positions[code][milestone]))

    def standing_with_deadline(self, line: int, schedule_raw: object) -> None:
        # 长期 has no deadline: nothing to remind
        self.fail(line, "schedule", schedule_raw, "长期任务没有截止日期: 节点和截止日期应留空",
                  "a standing task (长期) has no deadline: leave 节点 and 截止日期 empty")

    def too_long(self, line: int, key: str, raw: object) -> None:
        self.fail(line, key, raw, f"过长: 最多 {_LIMITS[key]} 个字符", f"too long: at most {_LIMITS[key]} characters")

    def fail(self, line: int, key: str, value: object, reason_zh: str, reason_en: str) -> None:
        self.report.add_error(line, self.header.title(key), cell_text(value), reason_zh, reason_en)

    def missing(self, line: int, key: str, value: object) -> None:
        self.fail(line, key, value, f"必填项 {BY_KEY[key].zh} 为空", f"required value {key} is empty")

    def schedule(self, line: int, value: object) -> str:
        """周期 as stored ("standing" or a recurrence rule); "" when not given or wrong (reported)."""
        try:
            return schedule_rule(clean_text(value))
        except PhraseError as exc:
            self.fail(line, "schedule", value, exc.reason_zh, exc.reason_en)
            return ""

    def mobile(self, line: int, key: str, value: object) -> str | None:
        known = self.mobiles.get(value) if type(value) is str else None
        if known is not None:
            return known
        empty = value is None or value == "" or not clean_text(value)
        mobile = self._parsed(line, key, value, parse_mobile, empty=empty)
        if mobile is not None and type(value) is str and len(self.mobiles) < _REMEMBERED:
            self.mobiles[value] = mobile
        return mobile

    def day(self, line: int, key: str, value: object) -> date | None:
        known = self.days.get(value) if type(value) is str else None
        if known is not None:
            return known
        empty = value is None or value == "" or (not isinstance(value, date) and not clean_text(value))
        day = self._parsed(line, key, value, parse_date, empty=empty)
        if day is not None and type(value) is str and len(self.days) < _REMEMBERED:
            self.days[value] = day
        return day

    def _parsed(self, line: int, key: str, value: object, parse: Callable[[object], T], *, empty: bool) -> T | None:
        """`parse(value)`, or None with the cell's error reported (an empty cell only when required)."""
        if empty:
            if BY_KEY[key].required:
                self.missing(line, key, value)
            return None
        try:
            return parse(value)
        except CellError as exc:
            self.fail(line, key, value, exc.reason_zh, exc.reason_en)
            return None

    def _persons_agree(self, line: int, owner_name: str, owner_mobile: str,
                       lead_name: str | None, lead_mobile: str | None) -> bool:
        agree = True
        persons = self.parsed.persons
        pairs = [("owner_mobile", owner_mobile, owner_name)]
        if lead_mobile and lead_name:
            pairs.append(("lead_leader_mobile", lead_mobile, lead_name))
        for key, number, name in pairs:
            known = persons.get(number)
            if known is None:
                persons[number] = (name, line)
            elif known[0] != name:
                agree = False
                self.report.add_error(
                    line, self.header.title(key), number,
                    f"同一手机号对应两个姓名: 第 {known[1]} 行为 {known[0]},第 {line} 行为 {name}",
                    f"one mobile, two names: line {known[1]} says {known[0]}, line {line} says {name}",
                )
        return agree

    def _project_agrees(self, line: int, first: ProjectRow, signature: tuple) -> bool:
        agree = True
        for (attribute, key), now in zip(PROJECT_FIELDS, signature, strict=True):
            before = getattr(first, attribute)
            if before != now:
                agree = False
                self.report.add_error(
                    line, self.header.title(key), now or "",
                    f"项目 {first.code} 的 {BY_KEY[key].zh} 与第 {first.line} 行不一致"
                    f"(第 {first.line} 行为 {quote(before or '空')},第 {line} 行为 {quote(now or '空')})",
                    f"project {first.code}: {key} differs from line {first.line} "
                    f"(line {first.line} has {quote(before or 'nothing')}, line {line} has {quote(now or 'nothing')})",
                )
        return agree

    def _add_milestone(self, line: int, project: ProjectRow, row: MilestoneRow) -> None:
        known = project.milestones.get(row.name)
        if known is None:
            project.milestones[row.name] = row
            return
        if (known.due_date, known.completed_on) == (row.due_date, row.completed_on):
            known.rows += 1  # an identical repeat: merged silently
            return
        self.bad_milestones.add((project.code, row.name))
        self.parsed.rows_invalid += 1
        self.project_rows[project.code] -= 1
        differs = []
        if known.due_date != row.due_date:
            differs.append(("due_date", known.due_date, row.due_date))
        if known.completed_on != row.completed_on:
            differs.append(("completed_on", known.completed_on, row.completed_on))
        for key, before, now in differs:
            self.report.add_error(
                line, self.header.title(key), now.isoformat() if now else "",
                f"项目 {project.code} 的节点 {row.name} 出现两次且不一致"
                f"(第 {known.line} 行为 {before or '空'},第 {line} 行为 {now or '空'})",
                f"project {project.code}, milestone {row.name} appears twice and differs "
                f"(line {known.line} has {before or 'nothing'}, line {line} has {now or 'nothing'})",
            )

    # ------------------------------------------------------------ whole file
    def finish(self) -> None:
        """Drop what conflicted (only matters with --skip-invalid: otherwise nothing is written)."""
        skipped = self.parsed.rows_invalid
        for code in self.bad_projects:
            project = self.parsed.projects.pop(code, None)
            if project is not None:
                skipped += self.project_rows.get(code, 0)
        for code, name in self.bad_milestones:
            project = self.parsed.projects.get(code)
            if project is not None and name in project.milestones:
                skipped += project.milestones.pop(name).rows
                if not project.milestones:
                    del self.parsed.projects[code]
        self.report.rows_read = self.parsed.rows_read
        self.report.rows_skipped = skipped if self.report.errors else 0
