"""Crafted registry files from the attack run, built small on disk by the tests."""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

from registry_files import ZH

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="清单" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>'
)
SHEET_HEAD = '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def header_row() -> str:
    cells = "".join(f'<c r="{_column(i)}1" t="inlineStr"><is><t>{title}</t></is></c>' for i, title in enumerate(ZH))
    return f'<row r="1">{cells}</row>'


def write_xlsx(path: Path, sheet_parts, shared_strings=None) -> Path:
    """A minimal workbook; `sheet_parts` and `shared_strings` are iterables of str chunks."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            for part in sheet_parts:
                sheet.write(part.encode("utf-8"))
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as strings:
            for part in shared_strings or [
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" uniqueCount="0"/>'
            ]:
                strings.write(part.encode("utf-8"))
    return path


def million_rows_xlsx(path: Path, rows: int = 1_000_000) -> Path:
    def parts():
        yield SHEET_HEAD + header_row()
        batch = []
        for number in range(2, rows + 2):
            batch.append(f'<row r="{number}"><c r="A{number}"><v>1</v></c></row>')
            if len(batch) == 10_000:
                yield "".join(batch)
                batch = []
        yield "".join(batch) + "</sheetData></worksheet>"
    return write_xlsx(path, parts())


def huge_shared_string_xlsx(path: Path, megabytes: int = 1024) -> Path:
    """One shared string of `megabytes` MB, about 1 MB on disk for 1 GB.

    Deflating 1 GB takes seconds, so the member is assembled from one block compressed
    once: after a full flush the compressor starts afresh, so equal blocks give equal bytes."""
    head = (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
            b' count="1" uniqueCount="1"><si><t>')
    tail = b"</t></si></sst>"
    block = b"x" * (1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(head + block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    last = compressor.compress(tail) + compressor.flush()
    crc = zlib.crc32(head + block)
    for _ in range(megabytes - 1):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + megabytes * len(block) + len(tail)
    sheet = SHEET_HEAD + header_row() + '<row r="2"><c r="A2" t="s"><v>0</v></c></row></sheetData></worksheet>'
    members = [(name, _deflate(text.encode())) for name, text in (
        ("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS), ("xl/workbook.xml", _WORKBOOK),
        ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS), ("xl/worksheets/sheet1.xml", sheet))]
    members.append(("xl/sharedStrings.xml", ([first, *[repeated] * (megabytes - 1), last], crc, size)))
    _write_raw_zip(path, members)
    return path


def _deflate(data: bytes):
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return [compressor.compress(data) + compressor.flush()], zlib.crc32(data), len(data)


def _write_raw_zip(path: Path, members) -> None:
    """A zip of already-deflated members: (name, (chunks, crc, uncompressed size))."""
    central = []
    with path.open("wb") as out:
        for name, (chunks, crc, size) in members:
            offset = out.tell()
            encoded = name.encode()
            compressed = sum(len(chunk) for chunk in chunks)
            out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, compressed, size, len(encoded), 0))
            out.write(encoded)
            for chunk in chunks:
                out.write(chunk)
            central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, compressed,
                                       size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
        start = out.tell()
        for entry in central:
            out.write(entry)
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central),
                              out.tell() - start, start, 0))


def merged_ranges_xlsx(path: Path, ranges: int, *, tall: bool) -> Path:
    """`ranges` merged ranges after 30 data rows; `tall` ones span every row of the sheet."""
    def parts():
        yield SHEET_HEAD + header_row()
        yield "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>GX-{n}</t></is></c></row>' for n in range(2, 32))
        yield f'</sheetData><mergeCells count="{ranges}">'
        for start in range(0, ranges, 10_000):
            if tall:
                yield "".join(f'<mergeCell ref="{_column(i % 200)}2:{_column(i % 200)}1048576"/>'
                              for i in range(start, min(ranges, start + 10_000)))
            else:
                yield "".join(f'<mergeCell ref="N{i + 2}:O{i + 2}"/>' for i in range(start, min(ranges, start + 10_000)))
        yield "</mergeCells></worksheet>"
    return write_xlsx(path, parts())


def x_lines_csv(path: Path, megabytes: int) -> Path:
    header = (",".join(ZH) + "\n").encode("utf-8")
    path.write_bytes(header + b"x\n" * (megabytes * (1 << 19)))
    return path
