"""Reading an .xlsx registry: the sheet names from the workbook part alone, then the rows
of one sheet through openpyxl's read-only mode, merged ranges filled from their top-left
cell. The file is measured (`limits.inspect_xlsx`) before openpyxl expands anything."""

from __future__ import annotations

import html
import re
import zipfile
from collections.abc import Iterator
from typing import BinaryIO

from deadline_watch.registry.limits import DAMAGED_MEMBER, MAX_COLUMNS, Budget, ImportLimits, inspect_xlsx
from deadline_watch.registry.problems import FileProblem
from deadline_watch.registry.source import XLSX_MAGIC, Opener, RegistrySource, Row, count_line


def sheet_names(opener: Opener, filename: str) -> list[str]:
    """The sheets of an .xlsx registry, read from the workbook part alone (nothing else of a
    possibly hostile file is expanded); empty for CSV or a file that cannot be read —
    `open_registry` says what is wrong with those."""
    try:
        with opener() as stream:
            if not (stream.read(8).startswith(XLSX_MAGIC) or filename.lower().endswith((".xlsx", ".xlsm"))):
                return []
            stream.seek(0)
            with zipfile.ZipFile(stream) as archive:
                info = archive.getinfo("xl/workbook.xml")
                if info.file_size > _WORKBOOK_PART_LIMIT:
                    return []
                part = archive.read(info).decode("utf-8", "replace")
    except DAMAGED_MEMBER:
        return []
    return [html.unescape(name) for name in re.findall(r"<(?:\w+:)?sheet\b[^>]*?\bname=\"([^\"]*)\"", part)]


_WORKBOOK_PART_LIMIT = 1 << 20


def open_xlsx(opener: Opener, sheet: str | None, limits: ImportLimits, budget: Budget) -> RegistrySource:
    import openpyxl

    with opener() as probe:
        scan = inspect_xlsx(probe, sheet, limits, budget)
    stream = opener()
    try:
        workbook = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged or foreign file
        stream.close()
        raise FileProblem(
            f"无法打开 Excel 文件: {type(exc).__name__}",
            f"cannot open the Excel file: {type(exc).__name__}: {exc}"[:300],
        ) from None
    names = workbook.sheetnames
    if sheet is not None and sheet not in names:
        workbook.close()
        stream.close()
        raise FileProblem(
            f"没有名为 {sheet} 的工作表;现有: {'、'.join(names)}"[:500],
            f"no sheet named {sheet}; the workbook has: {', '.join(names)}"[:500],
            value=sheet,
        )
    if not workbook.worksheets:
        workbook.close()
        stream.close()
        raise FileProblem("工作簿中没有工作表", "the workbook has no worksheet")
    worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
    # the stored dimension is sometimes wrong ("A1") in files written by other tools
    if hasattr(worksheet, "reset_dimensions"):
        worksheet.reset_dimensions()
    progress = {"row": 0}
    return RegistrySource(
        kind="xlsx",
        rows=_xlsx_rows(workbook, worksheet, stream, progress, scan.merged if scan else [], limits, budget),
        sheet=worksheet.title,
        total=scan.last_row if scan else None,
        position=lambda: progress["row"],
        release=lambda: (workbook.close(), stream.close()),
        lines=scan.last_row if scan else None,
    )


MergedRange = tuple[int, int, int, int]  # min_row, min_col, max_row, max_col (1-based)


def _fill_merged(line: int, values: list[object], merged: list[MergedRange],
                 anchors: dict[tuple[int, int], object]) -> list[object]:
    """Give every cell of a merged range the value of its top-left cell."""
    for min_row, min_col, max_row, max_col in merged:
        if not min_row <= line <= max_row:
            continue
        if line == min_row:
            anchor = values[min_col - 1] if min_col - 1 < len(values) else None
            anchors[(min_row, min_col)] = anchor
        else:
            anchor = anchors.get((min_row, min_col))
        if len(values) < max_col:
            values.extend([None] * (max_col - len(values)))
        for column in range(min_col, max_col + 1):
            values[column - 1] = anchor
    return values


def _xlsx_rows(workbook, worksheet, stream: BinaryIO, progress: dict,
               merged: list[MergedRange], limits: ImportLimits, budget: Budget) -> Iterator[Row]:
    line = 0
    anchors: dict[tuple[int, int], object] = {}
    # ranges by first row so that each row only looks at the ranges it can be in
    merged.sort()
    active: list[MergedRange] = []
    upcoming = iter(merged)
    pending = next(upcoming, None)
    try:
        # max_col: cells right of the registry's possible columns are never read into a row
        rows = worksheet.iter_rows(min_row=1, max_col=MAX_COLUMNS, values_only=True)
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # a damaged sheet XML surfaces here, mid-stream
                raise FileProblem(
                    f"Excel 文件第 {line + 1} 行附近已损坏",
                    f"the Excel file is damaged near row {line + 1}: {type(exc).__name__}",
                    line=line + 1,
                ) from None
            line += 1
            count_line(line, limits, budget)
            progress["row"] = line
            cells = list(values)
            if merged:
                while pending is not None and pending[0] <= line:
                    active.append(pending)
                    pending = next(upcoming, None)
                active = [span for span in active if span[2] >= line]
                if active:
                    cells = _fill_merged(line, cells, active, anchors)
            yield line, cells
    finally:
        workbook.close()
        stream.close()
