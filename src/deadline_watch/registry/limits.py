"""Bounds on one import, so that a small hostile file cannot take the machine.

Every bound is checked before the thing it bounds is expanded: an .xlsx is inspected member
by member (declared sizes, which zipfile enforces while reading) and its sheet XML streamed
as bytes before openpyxl parses anything; a CSV's lines are measured while its encoding is
checked. Errors stop at `max_errors`, and the report says how many rows were not checked.
"""

from __future__ import annotations

import re
import time
import zipfile
import zlib
from dataclasses import dataclass, replace
from typing import BinaryIO

from deadline_watch.core.config import RegistrySettings
from deadline_watch.registry.problems import FileProblem
from deadline_watch.registry.report import QUOTED_CHARS

MB = 1024 * 1024
# What reading one member of a damaged or foreign zip may raise (a bad local header, a
# corrupt deflate stream, a truncated file, an unsupported method or encryption).
DAMAGED_MEMBER = (KeyError, OSError, ValueError, EOFError, RuntimeError, NotImplementedError,
                  zipfile.BadZipFile, zlib.error)


@dataclass(frozen=True)
class ImportLimits:
    max_errors: int = 1000  # then stop and report how many rows were not checked
    max_rows: int = 200_000  # spreadsheet rows (lines) of the file
    max_cell_chars: int = 2000  # longer cells are an error quoting the first QUOTE_CHARS
    max_merged_ranges: int = 100_000
    max_merged_cells: int = 2_000_000  # total cells covered by merged ranges
    max_shared_strings_bytes: int = 32 * MB  # xl/sharedStrings.xml, which openpyxl loads whole
    max_other_member_bytes: int = 16 * MB  # styles, workbook and the like, also loaded whole
    max_sheet_bytes: int = 512 * MB  # the worksheet XML, streamed
    max_row_bytes: int = 1 * MB  # one CSV line or one <row> of XML
    max_members: int = 1000
    max_seconds: float = 60.0  # wall-clock budget of reading and checking


DEFAULT_LIMITS = ImportLimits()


def limits_from(settings: RegistrySettings, **overrides: object) -> ImportLimits:
    """The limits configured in `[registry]`, with the command line's overrides."""
    configured = {
        "max_errors": settings.max_errors,
        "max_rows": settings.max_rows,
        "max_cell_chars": settings.max_cell_chars,
        "max_merged_ranges": settings.max_merged_ranges,
        "max_shared_strings_bytes": settings.max_shared_strings_mb * MB,
        "max_seconds": settings.max_seconds,
    }
    configured.update({key: value for key, value in overrides.items() if value is not None})
    return replace(DEFAULT_LIMITS, **configured)


def quote(value: object, limit: int = QUOTED_CHARS) -> str:
    """At most `limit` characters of a value for an error message."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + f"…(+{len(text) - limit})"


class Budget:
    """The time budget of one import; `check()` raises once it is spent."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def check(self, line: int | None = None) -> None:
        if time.monotonic() > self.deadline:
            raise FileProblem(
                f"导入超过时间上限 {self.seconds:g} 秒,已停止,未写入任何内容",
                f"the import took longer than its {self.seconds:g} s budget and was stopped; nothing written",
                line=line,
            )


# ---------------------------------------------------------------- .xlsx before openpyxl

def inspect_xlsx(stream: BinaryIO, sheet: str | None, limits: ImportLimits, budget: Budget) -> SheetScan | None:
    """Check an .xlsx before openpyxl opens it (openpyxl parses a whole sheet just to size
    it, and loads the shared strings whole): member sizes, then the sheet's rows and merged
    ranges. None when the sheet cannot be found; openpyxl then reports the file."""
    archive = check_xlsx_members(stream, limits)
    paths = _sheet_paths(archive, sheet)
    scans = []
    for path in paths:
        try:
            with archive.open(path) as source:
                scans.append(scan_sheet(source, limits, budget))
        except FileProblem:
            raise
        except Exception as exc:  # a damaged member: bad local header, zlib or CRC errors
            raise FileProblem("Excel 文件已损坏", f"the Excel file is damaged: {type(exc).__name__}") from None
    return scans[0] if len(scans) == 1 else None


def _sheet_paths(archive: zipfile.ZipFile, sheet: str | None) -> list[str]:
    """The member holding the sheet openpyxl will read (the named one, else the first);
    every worksheet member when the workbook's own description cannot say."""
    from xml.etree.ElementTree import ParseError, fromstring

    names = set(archive.namelist())
    every = sorted(name for name in names if name.startswith("xl/worksheets/") and name.endswith(".xml"))
    try:
        workbook = fromstring(archive.read("xl/workbook.xml"))
        relations = fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (ParseError, *DAMAGED_MEMBER):
        return every
    targets = {element.get("Id"): element.get("Target", "") for element in relations
               if element.tag.endswith("Relationship")}
    for element in workbook.iter():
        if not element.tag.endswith("}sheet"):
            continue
        if sheet is not None and element.get("name") != sheet:
            continue
        rid = next((value for key, value in element.attrib.items() if key.endswith("}id")), None)
        target = targets.get(rid, "")
        path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        return [path] if path in names else every
    return every


def check_xlsx_members(stream: BinaryIO, limits: ImportLimits) -> zipfile.ZipFile:
    """Refuse an .xlsx whose members would be too big to load, by their declared sizes
    (zipfile stops at the declared size while reading, so a lying header cannot help)."""
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise FileProblem("无法打开 Excel 文件: 不是有效的 zip", f"cannot open the Excel file: not a valid zip ({exc})"[:200]) from None
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise FileProblem(
            f"Excel 文件包含 {len(members)} 个部件,超过上限 {limits.max_members}",
            f"the Excel file has {len(members)} parts, more than the limit of {limits.max_members}",
        )
    for member in members:
        name = member.filename.lower()
        if name.endswith("sharedstrings.xml"):
            cap, what = limits.max_shared_strings_bytes, ("共享字符串表", "shared-strings table")
        elif name.startswith("xl/worksheets/"):
            cap, what = limits.max_sheet_bytes, ("工作表", "worksheet")
        else:
            cap, what = limits.max_other_member_bytes, ("部件", "part")
        if member.file_size > cap:
            raise FileProblem(
                f"Excel 文件的{what[0]} {member.filename} 解压后 {member.file_size // MB} MB,超过上限 {cap // MB} MB",
                f"the Excel file's {what[1]} {member.filename} is {member.file_size // MB} MB uncompressed, "
                f"over the limit of {cap // MB} MB",
            )
    return archive


_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s>/]")
_ROW_NUMBER = re.compile(rb"\sr=\"(\d{1,9})\"")
_MERGE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\s[^>]*?ref=\"([^\"]{1,64})\"")
CHUNK = 1 << 20


@dataclass
class SheetScan:
    rows: int  # <row> elements
    last_row: int  # the highest row number seen (r="..."), or `rows`
    merged: list[tuple[int, int, int, int]]  # min_row, min_col, max_row, max_col


def scan_sheet(source: BinaryIO, limits: ImportLimits, budget: Budget) -> SheetScan:
    """One streaming pass over a worksheet's XML as bytes: count rows, measure each row,
    collect merged ranges, all against the limits; nothing is parsed into a tree."""
    from openpyxl.utils.cell import range_boundaries

    rows = last_row = 0
    row_started = 0  # absolute offset of the current <row
    offset = 0  # absolute offset of buffer[0]
    merged: list[tuple[int, int, int, int]] = []
    merged_cells = 0
    carry = b""
    in_rows = False
    while True:
        chunk = source.read(CHUNK)
        budget.check()
        buffer = carry + chunk
        if chunk:
            cut = buffer.rfind(b"<")
            if cut <= 0:
                cut = len(buffer) if len(buffer) > limits.max_row_bytes else 0
        else:
            cut = len(buffer)
        body, carry = buffer[:cut], buffer[cut:]
        if len(carry) > limits.max_row_bytes:
            _too_long_row(rows + 1, limits)
        end_of_data = body.find(b"</sheetData")
        for match in _ROW.finditer(body):
            start = offset + match.start()
            if in_rows and start - row_started > limits.max_row_bytes:
                _too_long_row(last_row, limits)
            rows += 1
            in_rows = True
            row_started = start
            number = _ROW_NUMBER.search(body, match.end() - 1, match.end() + 40)
            last_row = max(last_row + 1, int(number.group(1))) if number else last_row + 1
            if last_row > limits.max_rows:
                raise FileProblem(
                    f"工作表超过 {limits.max_rows} 行,请拆分后导入",
                    f"the sheet has more than {limits.max_rows} rows; split it",
                    line=last_row,
                )
        if end_of_data >= 0 and in_rows:
            if offset + end_of_data - row_started > limits.max_row_bytes:
                _too_long_row(last_row, limits)
            in_rows = False
        if in_rows and offset + len(body) - row_started > limits.max_row_bytes:
            _too_long_row(last_row, limits)
        for match in _MERGE.finditer(body):
            if len(merged) >= limits.max_merged_ranges:
                raise FileProblem(
                    f"工作表的合并单元格区域超过 {limits.max_merged_ranges} 个",
                    f"the sheet has more than {limits.max_merged_ranges} merged ranges",
                )
            try:
                min_col, min_row, max_col, max_row = range_boundaries(match.group(1).decode("ascii"))
            except (ValueError, TypeError, UnicodeDecodeError):
                continue  # a damaged reference: openpyxl reports the sheet if it matters
            if min_row is None or min_col is None or max_row is None or max_col is None:
                continue
            # ranges below the last row or right of the columns a registry can use change nothing
            max_row = min(max_row, limits.max_rows)
            max_col = min(max_col, MAX_COLUMNS)
            if max_row < min_row or max_col < min_col or (max_row == min_row and max_col == min_col):
                continue
            merged_cells += (max_row - min_row + 1) * (max_col - min_col + 1)
            if merged_cells > limits.max_merged_cells:
                raise FileProblem(
                    f"合并单元格共覆盖超过 {limits.max_merged_cells} 个单元格",
                    f"the merged ranges cover more than {limits.max_merged_cells} cells",
                )
            merged.append((min_row, min_col, max_row, max_col))
        offset += len(body)
        if not chunk:
            break
    return SheetScan(rows=rows, last_row=last_row or rows, merged=merged)


MAX_COLUMNS = 256  # cells further right are never registry columns


def _too_long_row(line: int, limits: ImportLimits) -> None:
    raise FileProblem(
        f"第 {line} 行的内容超过 {limits.max_row_bytes // MB} MB",
        f"row {line} holds more than {limits.max_row_bytes // MB} MB",
        line=line,
    )
