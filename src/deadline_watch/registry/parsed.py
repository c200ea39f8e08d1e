"""What validating a registry file leaves: its projects and milestones by natural key.

`validate.read_registry` fills a `ParsedRegistry`; `plan` compares it with the database
and `upsert` writes it. Plain dataclasses, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# project-level fields compared across a project's rows, with the column that holds each
PROJECT_FIELDS = (
    ("name", "project_name"),
    ("unit", "unit"),
    ("owner_name", "owner"),
    ("owner_mobile", "owner_mobile"),
    ("lead_name", "lead_leader"),
    ("lead_mobile", "lead_leader_mobile"),
    ("co_units", "co_units"),
    ("level", "level"),
    ("note", "note"),
    ("schedule", "schedule"),
    ("deadline_phrase", "deadline_phrase"),
)


@dataclass(slots=True)
class MilestoneRow:
    name: str
    due_date: date
    completed_on: date | None
    line: int
    position: int  # order of first appearance within its project in the file
    rows: int = 1  # identical duplicates merged into this one


@dataclass(slots=True)
class ProjectRow:
    code: str
    name: str
    unit: str
    owner_name: str
    owner_mobile: str
    lead_name: str | None
    lead_mobile: str | None
    co_units: str
    level: str | None
    note: str
    schedule: str  # "" (dated milestones), "standing" or a recurrence rule ("monthly:25")
    deadline_phrase: str
    line: int
    milestones: dict[str, MilestoneRow] = field(default_factory=dict)

    def signature(self) -> tuple:
        """The project-level values in PROJECT_FIELDS order, to compare with a later row."""
        return (self.name, self.unit, self.owner_name, self.owner_mobile, self.lead_name,
                self.lead_mobile, self.co_units, self.level, self.note, self.schedule, self.deadline_phrase)


@dataclass
class ParsedRegistry:
    projects: dict[str, ProjectRow] = field(default_factory=dict)
    persons: dict[str, tuple[str, int]] = field(default_factory=dict)  # mobile -> (name, line)
    # every project code and (code, milestone) seen on any row, valid or not: --prune
    # must never cancel something the admin did list, even on a row that was skipped
    seen_codes: set[str] = field(default_factory=set)
    seen_milestones: set[tuple[str, str]] = field(default_factory=set)
    rows_read: int = 0
    rows_invalid: int = 0
    file_problem: bool = False
    year: int | None = None  # a 责任分解表's year (--year or its title row)
    last_line: int = 0  # the last spreadsheet line checked
    stopped: bool = False  # the error limit was reached before the end of the file
