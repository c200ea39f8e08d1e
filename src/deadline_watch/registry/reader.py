"""Reading a registry file as a stream of (spreadsheet line, cells) rows.

CSV: the encoding is detected (UTF-8 with or without BOM, UTF-16 with BOM, else GB18030,
which covers GBK and GB2312) unless forced. XLSX: openpyxl in read-only mode, first sheet
unless one is named. Problems that make the whole file unreadable raise `FileProblem`,
which the importer turns into a report entry, never a traceback. The .xlsx side is
`xlsx_reader`; the types both share are in `source`.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

from deadline_watch.domain.sheet_cells import restore_csv_text
from deadline_watch.registry.limits import DEFAULT_LIMITS, Budget, ImportLimits
from deadline_watch.registry.problems import FileProblem
from deadline_watch.registry.source import (
    CHUNK,
    OLE_MAGIC,
    XLSX_MAGIC,
    Opener,
    RegistrySource,
    Row,
    count_line,
)
from deadline_watch.registry.xlsx_reader import open_xlsx, sheet_names

__all__ = ["FileProblem", "Opener", "RegistrySource", "Row", "open_registry", "sheet_names"]

# One cell is at most a few thousand characters (ImportLimits.max_cell_chars); the csv
# module's own limit stops a runaway quoted cell long before it fills the memory.
CSV_FIELD_LIMIT = 1 << 16
csv.field_size_limit(CSV_FIELD_LIMIT)


def open_registry(opener: Opener, filename: str, *, encoding: str | None = None,
                  sheet: str | None = None, limits: ImportLimits = DEFAULT_LIMITS,
                  budget: Budget | None = None) -> RegistrySource:
    budget = budget or Budget(limits.max_seconds)
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
        return open_xlsx(opener, sheet, limits, budget)
    return _open_csv(opener, encoding, limits, budget)


# ---------------------------------------------------------------- CSV

def _open_csv(opener: Opener, forced: str | None, limits: ImportLimits, budget: Budget) -> RegistrySource:
    with opener() as stream:
        start = stream.read(4)
    check = lambda encoding: _check_decodes(opener, encoding, limits, budget)  # noqa: E731
    if forced:
        try:
            encoding = codecs.lookup(forced).name
        except LookupError:
            raise FileProblem(f"未知的编码: {forced}", f"unknown encoding: {forced}") from None
        if encoding == "utf-8" and start.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        if encoding == "utf-16" and not start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16-le"  # what Windows writes when the BOM is missing
        lines = check(encoding)
    elif start.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
        lines = check(encoding)
    elif start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
        lines = check(encoding)
    else:
        try:
            lines = check("utf-8")
            encoding = "utf-8"
        except FileProblem as not_utf8:
            if not_utf8.line is None:
                raise
            _refuse_mixed_encodings(opener, not_utf8.line, limits)
            encoding = "gb18030"
            lines = check(encoding)
    delimiter = _sniff_delimiter(opener, encoding)
    raw = opener()
    size = _size(raw)
    text = io.TextIOWrapper(raw, encoding=encoding, newline="")
    return RegistrySource(
        kind="csv",
        rows=_csv_rows(text, delimiter, limits, budget),
        encoding="gb18030" if encoding == "gb18030" else encoding,
        total=size,
        position=lambda: _tell(raw),
        release=text.close,
        lines=lines,
    )


def _refuse_mixed_encodings(opener: Opener, bad_line: int, limits: ImportLimits) -> None:
    """A file that is not UTF-8 at `bad_line` but has UTF-8 Chinese on another line mixes
    encodings (rows pasted from two sources): decoding it either way garbles some rows."""
    with opener() as stream:
        line = 0
        carry = b""
        while True:
            chunk = stream.read(CHUNK)
            parts = (carry + chunk).split(b"\n")
            carry = parts.pop() if chunk else b""
            for part in parts:
                line += 1
                if line != bad_line and _is_utf8_text(part):
                    raise FileProblem(
                        f"文件混用了两种编码: 第 {line} 行是 UTF-8,第 {bad_line} 行不是;"
                        "请在 Excel/WPS 中统一另存为 UTF-8 CSV",
                        f"the file mixes encodings: line {line} is UTF-8 but line {bad_line} is not; "
                        "save the whole sheet again as UTF-8 CSV",
                        line=bad_line,
                    )
            if not chunk:
                return


def _is_utf8_text(line: bytes) -> bool:
    """Non-ASCII bytes that decode as UTF-8 and include a three-byte (CJK) sequence, which
    GBK text almost never forms by chance."""
    if line.isascii():
        return False
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return any("\u0800" <= char for char in text)


def _check_decodes(opener: Opener, encoding: str, limits: ImportLimits, budget: Budget) -> int:
    """Decode the whole file once (streaming) so an error names its line before any row is
    used, and measure its lines against the limits; returns the number of lines."""
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
    line_started = 0  # byte offset of the current line
    offset = 0
    ends_with_newline = True
    with opener() as stream:
        first = True
        while True:
            chunk = stream.read(CHUNK)
            budget.check()
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
                return lines_before + (0 if ends_with_newline else 1)
            newlines = chunk.count(b"\n")
            if newlines:
                first_newline = chunk.find(b"\n")
                longest = max(offset + first_newline - line_started,
                              max(map(len, chunk[first_newline:].split(b"\n"))))
                line_started = offset + chunk.rfind(b"\n") + 1
            else:
                longest = offset + len(chunk) - line_started
            if longest > limits.max_row_bytes:
                raise FileProblem(
                    f"第 {lines_before + 1} 行之后有一行超过 {limits.max_row_bytes // 1024} KB",
                    f"a line after line {lines_before + 1} is longer than {limits.max_row_bytes // 1024} KB",
                    line=lines_before + 1,
                )
            lines_before += newlines
            offset += len(chunk)
            ends_with_newline = chunk.endswith(b"\n")


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


def _csv_rows(text: io.TextIOWrapper, delimiter: str, limits: ImportLimits, budget: Budget) -> Iterator[Row]:
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
                if "field larger than field limit" in str(exc):
                    raise FileProblem(
                        f"第 {line + 1} 行有单元格超过 {CSV_FIELD_LIMIT} 个字符(引号未闭合?)",
                        f"a cell on line {line + 1} is longer than {CSV_FIELD_LIMIT} characters (an unclosed quote?)",
                        line=line + 1,
                    ) from None
                raise FileProblem(
                    f"CSV 格式错误: {exc}", f"malformed CSV: {exc}", line=line + 1
                ) from None
            except UnicodeError as exc:  # only if the decoding pre-check missed something
                raise FileProblem(
                    f"无法解码第 {line + 1} 行附近的内容", f"cannot decode the text near line {line + 1}: {exc}",
                    line=line + 1,
                ) from None
            line += 1
            count_line(line, limits, budget)
            # export neutralises formula-like text with an apostrophe: read it back as written
            if "'" in "".join(record) and any(cell[:1] == "'" for cell in record):
                record = [restore_csv_text(cell) for cell in record]
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
