"""What an import found and did: errors by spreadsheet line, changes, and the counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class RowError:
    """One problem: the spreadsheet line (header = 1; None for the file as a whole),
    the column header as written in the file, the offending value and the reason."""

    line: int | None
    column: str | None
    value: str
    reason_zh: str
    reason_en: str

    @property
    def reason(self) -> str:
        return f"{self.reason_zh} / {self.reason_en}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
            "reason_zh": self.reason_zh,
            "reason_en": self.reason_en,
        }


@dataclass(frozen=True)
class Change:
    """One created, updated, reactivated or pruned entity; `fields` maps a field to (before, after)."""

    action: str  # created | updated | pruned
    entity: str  # project | milestone | person | unit
    key: str  # GX-2026-0001, GX-2026-0001/组织实施, +8613800138000, 新经济发展局
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def reopens(self) -> bool:
        """A completed milestone made open again (its completion date removed): the board
        item it had was resolved as completed and must come back to supervision."""
        if self.entity != "milestone" or "status" not in self.fields:
            return False
        before, after = self.fields["status"]
        return before == "completed" and after == "open"

    def to_dict(self) -> dict[str, Any]:
        values = {
            "action": self.action,
            "entity": self.entity,
            "key": self.key,
            "fields": {name: [_plain(old), _plain(new)] for name, (old, new) in self.fields.items()},
        }
        if self.reopens:
            values["warning"] = REOPENED_WARNING
        return values

    def describe(self) -> str:
        text = f"{self.entity} {self.key}: {self.action}"
        if self.action != "created" and self.fields:
            parts = [f"{name} {_shown(old)} → {_shown(new)}" for name, (old, new) in self.fields.items()]
            text += " (" + "; ".join(parts) + ")"
        if self.reopens:
            text += f" ⚠ {REOPENED_WARNING} / completed milestone reopened"
        return text


REOPENED_WARNING = "已完成节点被重新打开"


@dataclass(frozen=True)
class Interpretation:
    """How a deadline phrase of a 责任分解表 was read: shown in the dry run, kept in the audit."""

    line: int
    column: str
    phrase: str
    meaning: str  # "2027-06-30", "周期: 每月25日前", "长期 (不提醒、不督办)"

    def describe(self) -> str:
        return f"第 {self.line} 行 {self.column} “{self.phrase}” → {self.meaning}"

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "phrase": self.phrase, "meaning": self.meaning}


def _plain(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "∅"
    return str(_plain(value))


QUOTED_CHARS = 100

COUNT_KEYS = (
    "projects_created",
    "projects_updated",
    "projects_unchanged",
    "milestones_created",
    "milestones_updated",
    "milestones_unchanged",
)


@dataclass
class ImportReport:
    source: str
    dry_run: bool = False
    kind: str | None = None  # csv | xlsx
    encoding: str | None = None
    sheet: str | None = None
    rows_read: int = 0  # non-blank data rows
    rows_skipped: int = 0  # rows left out by --skip-invalid
    projects_created: int = 0
    projects_updated: int = 0
    projects_unchanged: int = 0
    milestones_created: int = 0
    milestones_updated: int = 0
    milestones_unchanged: int = 0
    projects_pruned: int = 0
    milestones_pruned: int = 0
    persons_created: int = 0
    persons_updated: int = 0
    units_created: int = 0
    written: bool = False  # True once the transaction committed
    stopped_at_errors: bool = False  # the error limit was reached: the rest was not checked
    rows_not_checked: int = 0  # lines of the file after the last one checked
    errors: list[RowError] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    interpretations: list[Interpretation] = field(default_factory=list)
    occurrences_created: int = 0  # milestones of recurring tasks generated for their next period

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def reopened(self) -> list[str]:
        """Keys (code/node) of completed milestones this file makes open again."""
        return [change.key for change in self.changes if change.reopens]

    @property
    def pruned(self) -> int:
        return self.projects_pruned + self.milestones_pruned

    @property
    def changed(self) -> int:
        return (
            self.projects_created + self.projects_updated + self.milestones_created
            + self.milestones_updated + self.pruned + self.persons_created
            + self.persons_updated + self.units_created
        )

    def add_error(self, line: int | None, column: str | None, value: object, reason_zh: str,
                  reason_en: str) -> None:
        text = "" if value is None else str(value)
        # a cell is quoted, never echoed whole: a 10 MB cell must not make a 10 MB report
        if len(text) > QUOTED_CHARS:
            text = text[:QUOTED_CHARS] + f"…(+{len(text) - QUOTED_CHARS})"
        self.errors.append(RowError(line, column, text, reason_zh[:1000], reason_en[:1000]))

    def to_dict(self) -> dict[str, Any]:
        counts = {key: getattr(self, key) for key in COUNT_KEYS}
        return {
            **counts,
            "pruned": self.pruned,
            "errors": [error.to_dict() for error in self.errors],
            "projects_pruned": self.projects_pruned,
            "milestones_pruned": self.milestones_pruned,
            "persons_created": self.persons_created,
            "persons_updated": self.persons_updated,
            "units_created": self.units_created,
            "rows_read": self.rows_read,
            "rows_skipped": self.rows_skipped,
            "dry_run": self.dry_run,
            "written": self.written,
            "stopped_at_errors": self.stopped_at_errors,
            "rows_not_checked": self.rows_not_checked,
            "source": self.source,
            "format": self.kind,
            "encoding": self.encoding,
            "sheet": self.sheet,
            "changes": [change.to_dict() for change in self.changes],
            "reopened": self.reopened,
            "interpretations": [item.to_dict() for item in self.interpretations],
            "occurrences_created": self.occurrences_created,
        }

    def summary_lines(self) -> list[str]:
        """The closing summary, in Chinese and English."""
        if self.dry_run:
            head = "试运行,未写入 / dry run, nothing written"
        elif self.written:
            head = "已导入 / imported"
        else:
            head = "未写入任何内容 / nothing written"
        lines = [
            head,
            f"项目 projects: 新增 created {self.projects_created}, 更新 updated {self.projects_updated}, "
            f"未变 unchanged {self.projects_unchanged}, 撤销 pruned {self.projects_pruned}",
            f"节点 milestones: 新增 created {self.milestones_created}, 更新 updated {self.milestones_updated}, "
            f"未变 unchanged {self.milestones_unchanged}, 撤销 pruned {self.milestones_pruned}",
            f"人员 persons: 新增 created {self.persons_created}, 更新 updated {self.persons_updated}; "
            f"单位 units: 新增 created {self.units_created}",
            f"错误 errors: {len(self.errors)}"
            + (f" (跳过 skipped {self.rows_skipped} 行 rows)" if self.rows_skipped else ""),
        ]
        if self.occurrences_created:
            lines.append(f"周期任务 recurring: 生成节点 occurrences created {self.occurrences_created}")
        if self.stopped_at_errors:
            lines.append(f"错误已达上限 {len(self.errors)} 个,其余 {self.rows_not_checked} 行未检查 / "
                         f"error limit of {len(self.errors)} reached: {self.rows_not_checked} rows not checked")
        reopened = self.reopened
        if reopened:
            lines.append(
                f"⚠ {REOPENED_WARNING} {len(reopened)} 个 / {len(reopened)} completed milestone(s) reopened: "
                + "、".join(reopened)
            )
        return lines

    def summary_lines_zh(self) -> list[str]:
        """The closing summary in Chinese only, for the board's import page."""
        if self.dry_run:
            head = "试运行,未写入"
        elif self.written:
            head = "已导入"
        else:
            head = "未写入任何内容"
        lines = [
            head,
            f"项目:新增 {self.projects_created},更新 {self.projects_updated},"
            f"未变 {self.projects_unchanged},撤销 {self.projects_pruned}",
            f"节点:新增 {self.milestones_created},更新 {self.milestones_updated},"
            f"未变 {self.milestones_unchanged},撤销 {self.milestones_pruned}",
            f"人员:新增 {self.persons_created},更新 {self.persons_updated};单位:新增 {self.units_created}",
            f"错误:{len(self.errors)} 处" + (f"(跳过 {self.rows_skipped} 行)" if self.rows_skipped else ""),
        ]
        if self.stopped_at_errors:
            lines.append(f"错误已达上限 {len(self.errors)} 处,其余 {self.rows_not_checked} 行未检查")
        return lines
