"""Validating the whole file before anything is written.

Rows stream in from the reader: blank rows are skipped, the header is found (title rows
above it give a 责任分解表 its year), an office sheet's rows are translated, and each row
goes to `row_check.RowValidator`. What survives is a compact in-memory registry keyed by
natural keys; every problem becomes a `RowError` with its line, up to the error limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from deadline_watch.registry.cells import clean_text
from deadline_watch.registry.columns import HEADER_SEARCH_ROWS, HeaderMap, looks_like_header, map_header
from deadline_watch.registry.limits import DEFAULT_LIMITS, ImportLimits
from deadline_watch.registry.office_sheet import (
    OfficeContext,
    OfficeSheet,
    rename_tasks,
    title_year,
    years_in_title_row,
)
from deadline_watch.registry.parsed import ParsedRegistry
from deadline_watch.registry.problems import FileProblem
from deadline_watch.registry.reader import Row
from deadline_watch.registry.report import ImportReport
from deadline_watch.registry.row_check import RowValidator


class _TooManyErrors(Exception):
    pass


def _is_blank(cells: list[object]) -> bool:
    for cell in cells:
        if cell is not None and cell != "" and clean_text(cell):
            return False
    return True


def read_registry(rows: Iterable[Row], report: ImportReport, *,
                  progress: Callable[[], None] | None = None,
                  limits: ImportLimits = DEFAULT_LIMITS,
                  office: Callable[[], OfficeContext] | None = None) -> ParsedRegistry:
    """Validate every row; errors go to `report` (up to `limits.max_errors`, then the
    reading stops), valid rows into the returned registry.

    A sheet without 项目编号 is a 责任分解表: its rows are translated (`OfficeSheet`) with
    what `office()` gives (contacts, known tasks, year; asked for only then) before the same checks."""
    parsed = ParsedRegistry()
    validator = RowValidator(parsed, report, limits)
    header: HeaderMap | None = None
    sheet: OfficeSheet | None = None
    title_years: list[int] = []
    try:
        for line, cells in rows:
            parsed.last_line = line
            if progress is not None and line % 1000 == 0:
                progress()
            # a first cell starting with a letter or digit is never trimmed away: not blank
            first = cells[0] if cells else None
            if not (type(first) is str and first[:1].isalnum()) and _is_blank(cells):
                continue
            if header is None:
                if looks_like_header(cells):
                    header, problems = map_header(line, cells)
                    for column, reason_zh, reason_en in problems:
                        report.add_error(line, column, "", reason_zh, reason_en)
                    if problems:
                        parsed.file_problem = True
                        return parsed
                    if "project_code" not in header.index:
                        sheet = OfficeSheet(header, office() if office else OfficeContext(), report,
                                            title_year=title_year(title_years))
                        validator.use_header(sheet.header)
                        parsed.year = sheet.year
                    else:
                        validator.use_header(header)
                    continue
                if line >= HEADER_SEARCH_ROWS:
                    break
                title_years.extend(years_in_title_row(cells))
                continue  # a title row above the header
            if sheet is not None:
                translated = sheet.row(line, cells)
                if translated is None:
                    parsed.rows_read += 1
                    parsed.rows_invalid += 1
                    continue
                cells = translated
            validator.row(line, cells)
            if len(report.errors) >= limits.max_errors:
                raise _TooManyErrors()
    except _TooManyErrors:
        del report.errors[limits.max_errors:]
        parsed.stopped = True
        validator.finish()
        return parsed
    except FileProblem as problem:
        report.add_error(problem.line, problem.column, problem.value, problem.reason_zh, problem.reason_en)
        parsed.file_problem = True
        return parsed
    if header is None:
        report.add_error(
            1, None, "",
            f"找不到标题行: 前 {HEADER_SEARCH_ROWS} 行中没有含“项目编号”(project_code)的行",
            f"no header row: none of the first {HEADER_SEARCH_ROWS} rows names 项目编号 / project_code",
        )
        parsed.file_problem = True
        return parsed
    if parsed.rows_read == 0:
        report.add_error(
            header.line + 1, None, "", "文件中没有数据行", "the file has no data rows"
        )
        parsed.file_problem = True
        return parsed
    if sheet is not None:
        rename_tasks(parsed, sheet.finish())
    validator.finish()
    return parsed
