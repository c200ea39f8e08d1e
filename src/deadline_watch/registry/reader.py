"""Reading a registry file as a stream of (spreadsheet line, cells) rows.

CSV: the encoding is detected (UTF-8 with or without BOM, UTF-16 with BOM, else GB18030,
which covers GBK and GB2312) unless forced. XLSX: openpyxl in read-only mode, first sheet
unless one is named. Problems that make the whole file unreadable raise `FileProblem`,
which the importer turns into a report entry, never a traceback.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

CHUNK = 1 << 20
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls / .et format

Opener = Callable[[], BinaryIO]
Row = tuple[int, list[object]]

csv.field_size_limit(min(sys.maxsize, 1 << 24))


class FileProblem(Exception):
    """The file as a whole cannot be read; `line` says where, when known."""

    def __init__(self, reason_zh: str, reason_en: str, *, line: int | None = None,
                 column: str | None = None, value: str = "") -> None:
        super().__init__(reason_en)
        self.reason_zh = reason_zh
        self.reason_en = reason_en
        self.line = line
        self.column = column
        self.value = value


@dataclass
class RegistrySource:
    """An opened registry: its kind, the encoding used (CSV), and its rows."""

    kind: str  # "csv" | "xlsx"
    rows: Iterator[Row]
    encoding: str | None = None
    sheet: str | None = None
    total: int | None = None  # bytes (CSV) or rows (XLSX), for a progress bar
    position: Callable[[], int] = field(default=lambda: 0)
    release: Callable[[], None] = field(default=lambda: None)

    def close(self) -> None:
        """Stop reading and release the file, whether or not every row was read."""
        close = getattr(self.rows, "close", None)
        if close is not None:
            close()
        self.release()


def open_registry(opener: Opener, filename: str, *, encoding: str | None = None,
                  sheet: str | None = None) -> RegistrySource:
    try:
        with opener() as probe:
            head = probe.read(8)
    except OSError as exc:
        raise FileProblem(f"无法读取文件: {exc.strerror or exc}", f"cannot read the file: {exc.strerror or exc}") from None
    lower = filename.lower()
    if head.startswith(OLE_MAGIC) or lower.endswith((".xls", ".et")):
        raise FileProblem(
            "不支持旧版 .xls 格式: 请在 Excel/WPS 中另存为 .xlsx 或 CSV",
            "the old .xls format is not supported: save the sheet as .xlsx or CSV",
        )
    if head.startswith(XLSX_MAGIC) or lower.endswith((".xlsx", ".xlsm")):
        return _open_xlsx(opener, sheet)
    return _open_csv(opener, encoding)


def sheet_names(opener: Opener, filename: str) -> list[str]:
    """The sheets of an .xlsx registry, read from the workbook part alone (nothing else of a
    possibly hostile file is expanded); empty for CSV or a file that cannot be read —
    `open_registry` says what is wrong with those."""
    import html
    import zipfile

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
    except (OSError, KeyError, zipfile.BadZipFile, ValueError):
        return []
    return [html.unescape(name) for name in re.findall(r"<(?:\w+:)?sheet\b[^>]*?\bname=\"([^\"]*)\"", part)]


_WORKBOOK_PART_LIMIT = 1 << 20


# ---------------------------------------------------------------- CSV

def _open_csv(opener: Opener, forced: str | None) -> RegistrySource:
    with opener() as stream:
        start = stream.read(4)
    if forced:
        try:
            encoding = codecs.lookup(forced).name
        except LookupError:
            raise FileProblem(f"未知的编码: {forced}", f"unknown encoding: {forced}") from None
        if encoding == "utf-8" and start.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        if encoding == "utf-16" and not start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16-le"  # what Windows writes when the BOM is missing
        _check_decodes(opener, encoding)
    elif start.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
        _check_decodes(opener, encoding)
    elif start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
        _check_decodes(opener, encoding)
    else:
        try:
            _check_decodes(opener, "utf-8")
            encoding = "utf-8"
        except FileProblem:
            encoding = "gb18030"
            _check_decodes(opener, encoding)
    delimiter = _sniff_delimiter(opener, encoding)
    raw = opener()
    size = _size(raw)
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    return RegistrySource(
        kind="csv",
        rows=_csv_rows(text, delimiter),
        encoding="gb18030" if encoding == "gb18030" else encoding,
        total=size,
        position=lambda: _tell(raw),
        release=text.close,
    )


def _check_decodes(opener: Opener, encoding: str) -> None:
    """Decode the whole file once (streaming) so an error names its line before any row is used."""
    # BOM-less codecs keep error offsets relative to the bytes read (the -sig and utf-16
    # decoders swallow the BOM and shift them)
    bare = {"utf-8-sig": ("utf-8", codecs.BOM_UTF8)}.get(encoding)
    bom = b""
    if encoding == "utf-16":
        with opener() as stream:
            bom = stream.read(2)
        bare = ("utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-16-be", bom)
    decoder = codecs.getincrementaldecoder(bare[0] if bare else encoding)(errors="strict")
    lines_before = 0
    with opener() as stream:
        first = True
        while True:
            chunk = stream.read(CHUNK)
            if first and bare and chunk.startswith(bare[1]):
                chunk = chunk[len(bare[1]):]
            first = False
            pending = decoder.getstate()[0]
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                buffer = pending + chunk
                line = lines_before + buffer[: exc.start].count(b"\n") + 1
                bad = buffer[exc.start : exc.end + 3][:6]
                raise FileProblem(
                    f"文件不是 {encoding} 编码(第 {line} 行有无法解码的字节),可用 --encoding 指定编码",
                    f"the file is not valid {encoding} (undecodable bytes on line {line}); "
                    "use --encoding to name the encoding",
                    line=line,
                    value=bad.hex(" "),
                ) from None
            if not chunk:
                return
            lines_before += chunk.count(b"\n")


def _sniff_delimiter(opener: Opener, encoding: str) -> str:
    with opener() as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        try:
            sample = text.read(64 * 1024)
        except UnicodeError as exc:
            raise FileProblem(f"无法按 {encoding} 解码", f"cannot decode as {encoding}: {exc}", line=1) from None
    lines = [line for line in sample.splitlines() if line.strip()][:5]
    joined = "\n".join(lines)
    counts = {delimiter: joined.count(delimiter) for delimiter in (",", "\t", ";")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] > counts[","] else ","


def _csv_rows(text: io.TextIOWrapper, delimiter: str) -> Iterator[Row]:
    # Each CSV record is one spreadsheet row, even when a quoted cell spans lines,
    # so the record's ordinal is the line number the admin sees.
    line = 0
    with text:
        reader = csv.reader(text, delimiter=delimiter)
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FileProblem(
                    f"CSV 格式错误: {exc}", f"malformed CSV: {exc}", line=line + 1
                ) from None
            except UnicodeError as exc:  # only if the decoding pre-check missed something
                raise FileProblem(
                    f"无法解码第 {line + 1} 行附近的内容", f"cannot decode the text near line {line + 1}: {exc}",
                    line=line + 1,
                ) from None
            line += 1
            yield line, record


def _size(raw: BinaryIO) -> int | None:
    try:
        position = raw.tell()
        size = raw.seek(0, io.SEEK_END)
        raw.seek(position)
        return size
    except (OSError, ValueError):
        return None


def _tell(raw: BinaryIO) -> int:
    try:
        return raw.tell()
    except (OSError, ValueError):
        return 0


# ---------------------------------------------------------------- XLSX

def _open_xlsx(opener: Opener, sheet: str | None) -> RegistrySource:
    import openpyxl

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
            f"没有名为 {sheet} 的工作表;现有: {'、'.join(names)}",
            f"no sheet named {sheet}; the workbook has: {', '.join(names)}",
            value=sheet,
        )
    if not workbook.worksheets:
        workbook.close()
        stream.close()
        raise FileProblem("工作簿中没有工作表", "the workbook has no worksheet")
    worksheet = workbook[sheet] if sheet is not None else workbook.worksheets[0]
    total = worksheet.max_row if hasattr(worksheet, "max_row") else None
    # the stored dimension is sometimes wrong ("A1") in files written by other tools
    if hasattr(worksheet, "reset_dimensions"):
        worksheet.reset_dimensions()
    progress = {"row": 0}
    merged = _merged_ranges(worksheet)
    return RegistrySource(
        kind="xlsx",
        rows=_xlsx_rows(workbook, worksheet, stream, progress, merged),
        sheet=worksheet.title,
        total=total,
        position=lambda: progress["row"],
        release=lambda: (workbook.close(), stream.close()),
    )


MergedRange = tuple[int, int, int, int]  # min_row, min_col, max_row, max_col (1-based)


def _merged_ranges(worksheet) -> list[MergedRange]:
    """Merged cell ranges of a read-only sheet. openpyxl's read-only mode does not read
    them, yet registries often merge a project's cells over its milestone rows; the
    <mergeCells> element sits after the rows, so this is a second streaming pass."""
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.cell import range_boundaries

    path = getattr(worksheet, "_worksheet_path", None)
    archive = getattr(worksheet.parent, "_archive", None)
    if path is None or archive is None:
        return []
    ranges: list[MergedRange] = []
    try:
        with archive.open(path) as source:
            for _, element in iterparse(source):
                if element.tag.endswith("}mergeCell"):
                    min_col, min_row, max_col, max_row = range_boundaries(element.get("ref", ""))
                    if max_row > min_row or max_col > min_col:
                        ranges.append((min_row, min_col, max_row, max_col))
                element.clear()
    except Exception:  # a damaged sheet: the row pass reports it with its line
        return []
    return ranges


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
               merged: list[MergedRange]) -> Iterator[Row]:
    line = 0
    anchors: dict[tuple[int, int], object] = {}
    # ranges by first row so that each row only looks at the ranges it can be in
    merged.sort()
    active: list[MergedRange] = []
    upcoming = iter(merged)
    pending = next(upcoming, None)
    try:
        rows = worksheet.iter_rows(min_row=1, values_only=True)
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
