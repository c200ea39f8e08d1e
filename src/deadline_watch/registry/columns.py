"""The registry's columns: Chinese and English header names, which are required, and
finding the header row of a sheet."""

from __future__ import annotations

import re
from dataclasses import dataclass

from deadline_watch.registry.cells import clean_text


@dataclass(frozen=True)
class Column:
    key: str  # the English header, also the internal name
    zh: str  # the Chinese header (what export writes)
    required: bool
    project_level: bool  # repeats on every row of a project


COLUMNS: tuple[Column, ...] = (
    Column("project_code", "项目编号", True, True),
    Column("project_name", "项目名称", True, True),
    Column("unit", "责任单位", True, True),
    Column("lead_leader", "牵头领导", False, True),
    Column("lead_leader_mobile", "牵头领导手机", False, True),
    Column("owner", "责任人", True, True),
    Column("owner_mobile", "责任人手机", True, True),
    Column("milestone", "节点", True, False),
    Column("due_date", "截止日期", True, False),
    Column("completed_on", "完成日期", False, False),
    Column("co_units", "协办单位", False, True),
    Column("level", "项目级别", False, True),
    Column("note", "备注", False, True),
    Column("schedule", "周期", False, True),  # 长期, or a recurring phrase (每月25日前)
    Column("deadline_phrase", "时限原文", False, True),  # the 完成时限 as first written
)
BY_KEY = {column.key: column for column in COLUMNS}
EXPORT_HEADERS = [column.zh for column in COLUMNS]

# How many leading rows may hold a title ("2026年重点项目清单") before the header row.
HEADER_SEARCH_ROWS = 20

# Other names offices give the same columns (a 责任分解表 says 重点任务, 主办单位, 完成时限 ...).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "project_name": ("重点任务", "工作任务", "任务名称", "工作内容", "task", "task_name"),
    "unit": ("主办单位", "牵头单位", "责任部门", "lead_unit"),
    "co_units": ("配合单位", "协同单位", "参与单位", "supporting_units"),
    "lead_leader": ("分管领导", "责任领导", "lead"),
    "owner": ("具体责任人", "经办人", "responsible"),
    "owner_mobile": ("手机", "手机号", "手机号码", "联系电话", "mobile"),
    "milestone": ("节点名称", "阶段", "node"),
    "due_date": ("完成时限", "时间节点", "截止时间", "完成时间", "完成期限", "时限", "deadline"),
    "note": ("具体措施", "工作措施", "主要措施", "措施", "measures"),
}
_ALIASES: dict[str, str] = {}
for _column in COLUMNS:
    _ALIASES[_column.zh] = _column.key
    _ALIASES[_column.key] = _column.key
for _key, _names in SYNONYMS.items():
    for _name in _names:
        _ALIASES[_name] = _key
# A sheet without 项目编号 is a 责任分解表: tasks keyed by name within their unit, one
# deadline each (完成), mobiles from a contacts list, deadlines in words (registry/office_sheet.py).
OFFICE_REQUIRED = ("project_name", "unit", "owner", "due_date")


def header_key(cell: object) -> str | None:
    """The column key a header cell names, or None. Case, spaces, '-' and a '*' marking
    a required column are ignored: 'Project Code', 'project-code', '*项目编号' all match."""
    text = clean_text(cell)
    text = text.strip("*＊").strip()
    if text in _ALIASES:
        return _ALIASES[text]
    folded = re.sub(r"[\s\-]+", "_", text.lower())
    return _ALIASES.get(folded)


@dataclass(frozen=True)
class HeaderMap:
    line: int  # spreadsheet row of the header (1-based)
    index: dict[str, int]  # column key -> position in the row
    titles: dict[str, str]  # column key -> header text as written in the file

    def title(self, key: str) -> str:
        return self.titles.get(key, BY_KEY[key].zh)


def looks_like_header(row: list[object]) -> bool:
    keys = {header_key(cell) for cell in row}
    return "project_code" in keys or all(key in keys for key in OFFICE_REQUIRED)


def map_header(line: int, row: list[object]) -> tuple[HeaderMap, list[tuple[str, str, str]]]:
    """Map a header row; returns the map and problems as (column title, zh reason, en reason)."""
    index: dict[str, int] = {}
    titles: dict[str, str] = {}
    problems: list[tuple[str, str, str]] = []
    for position, cell in enumerate(row):
        key = header_key(cell)
        if key is None:
            continue  # extra columns (序号, 联系人 ...) are ignored
        title = clean_text(cell)
        if key in index:
            problems.append(
                (
                    title,
                    f"列重复: 与第 {index[key] + 1} 列 {titles[key]} 是同一列",
                    f"duplicate column: same as column {index[key] + 1} ({titles[key]})",
                )
            )
            continue
        index[key] = position
        titles[key] = title
    office = "project_code" not in index
    for column in COLUMNS:
        required = column.key in OFFICE_REQUIRED if office else column.required
        if required and column.key not in index:
            problems.append(
                (
                    f"{column.zh} / {column.key}",
                    f"缺少必需的列 {column.zh}",
                    f"required column {column.key} is missing",
                )
            )
    return HeaderMap(line=line, index=index, titles=titles), problems
