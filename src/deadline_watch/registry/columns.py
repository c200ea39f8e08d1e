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
)
BY_KEY = {column.key: column for column in COLUMNS}
EXPORT_HEADERS = [column.zh for column in COLUMNS]

# How many leading rows may hold a title ("2026年重点项目清单") before the header row.
HEADER_SEARCH_ROWS = 20

_ALIASES: dict[str, str] = {}
for _column in COLUMNS:
    _ALIASES[_column.zh] = _column.key
    _ALIASES[_column.key] = _column.key


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
    return any(header_key(cell) == "project_code" for cell in row)


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
    for column in COLUMNS:
        if column.required and column.key not in index:
            problems.append(
                (
                    f"{column.zh} / {column.key}",
                    f"缺少必需的列 {column.zh}",
                    f"required column {column.key} is missing",
                )
            )
    return HeaderMap(line=line, index=index, titles=titles), problems
