"""A fast, print-ready .xlsx writer: the sheet XML is written directly, row by row.

openpyxl (even write-only) spends about 70 µs per cell building objects; an 85,000-row
dispatch backlog of 13 columns took 7 s. Here a row is one string join. Each sheet gets
what a meeting paper needs: a title row and a subtitle row above the header, the three
repeated on every printed page, A4 landscape fitted to the page width, page numbers in
the footer ("第 1 页,共 9 页"), the header frozen, thin borders, and subtotal rows in bold.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

__all__ = ["XlsxColumn", "XlsxSheet", "write_workbook", "EXCEL_EPOCH"]

EXCEL_EPOCH = date(1899, 12, 30)
KINDS = ("text", "date", "int", "percent", "float")
# the style index of (kind, variant): 0 is the default style, then title, subtitle, header
_FIRST_DATA_STYLE = 4
VARIANTS = ("plain", "subtotal", "total")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass(frozen=True)
class XlsxColumn:
    header: str
    kind: str = "text"  # text | date | int | percent | float
    width: float = 12


@dataclass
class XlsxSheet:
    name: str  # the tab (<= 31 characters)
    title: str  # row 1, merged over every column
    subtitle: str  # row 2
    columns: Sequence[XlsxColumn]
    rows: Iterable[Sequence[Any]]
    # row index -> "subtotal" | "total": printed bold on a shaded background
    row_variants: dict[int, str] = field(default_factory=dict)
    landscape: bool = True


def _style(kind: str, variant: str = "plain") -> int:
    return _FIRST_DATA_STYLE + VARIANTS.index(variant) * len(KINDS) + KINDS.index(kind)


def _text(value: str) -> str:
    return escape(_ILLEGAL.sub("", value))


def _cell(value: Any, kind: str, style: int) -> str:
    if value is None or value == "":
        return f'<c s="{style}"/>'
    if kind == "date" and isinstance(value, date):
        day = value.date() if isinstance(value, datetime) else value
        return f'<c s="{style}"><v>{(day - EXCEL_EPOCH).days}</v></c>'
    if kind in ("int", "percent", "float") and isinstance(value, (int, float)):
        return f'<c s="{style}"><v>{value}</v></c>'
    return f'<c s="{style}" t="inlineStr"><is><t xml:space="preserve">{_text(str(value))}</t></is></c>'


_EPOCH_ORDINAL = EXCEL_EPOCH.toordinal()


def _column_cells(kind: str, style: int, values: list[Any]) -> list[str]:
    empty = f'<c s="{style}"/>'
    if kind == "date":
        return [f'<c s="{style}"><v>{v.toordinal() - _EPOCH_ORDINAL}</v></c>' if isinstance(v, date) else
                (empty if v is None or v == "" else _cell(v, kind, style)) for v in values]
    if kind in ("int", "percent", "float"):
        return [empty if v is None or v == "" else
                f'<c s="{style}"><v>{v}</v></c>' if isinstance(v, (int, float)) else _cell(v, kind, style)
                for v in values]
    head, tail = f'<c s="{style}" t="inlineStr"><is><t xml:space="preserve">', "</t></is></c>"
    return [empty if v is None or v == "" else
            head + str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + tail
            for v in values]


def _sheet_xml(sheet: XlsxSheet) -> str:
    columns = list(sheet.columns)
    last = get_column_letter(len(columns))
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{c.width}" customWidth="1"/>' for i, c in enumerate(columns, start=1)
    )
    header = "".join(_cell(c.header, "text", 3) for c in columns)
    head = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="3" topLeftCell="A4" activePane="bottomLeft" '
        'state="frozen"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>'
        f'<row r="1" ht="24" customHeight="1">{_cell(sheet.title, "text", 1)}</row>'
        f'<row r="2">{_cell(sheet.subtitle, "text", 2)}</row>'
        f'<row r="3">{header}</row>'
    )
    rows = [tuple(row) for row in sheet.rows]
    # Column by column with inline expressions (no call per cell): ~4x quicker than a
    # function per cell, which is what keeps an 85,000-row backlog within a second or two.
    cells_by_column = [_column_cells(column.kind, _style(column.kind), [row[i] for row in rows])
                       for i, column in enumerate(columns)]
    body = ["".join(cells) for cells in zip(*cells_by_column, strict=True)] if columns else []
    for index, variant in sheet.row_variants.items():
        if 0 <= index < len(body):
            cells = zip(rows[index], columns, strict=True)
            body[index] = "".join(_cell(v, c.kind, _style(c.kind, variant)) for v, c in cells)
    parts = [head]
    parts.extend(f'<row r="{index}">{cells}</row>' for index, cells in enumerate(body, start=4))
    portrait = "portrait" if not sheet.landscape else "landscape"
    parts.append(
        '</sheetData>'
        f'<mergeCells count="2"><mergeCell ref="A1:{last}1"/><mergeCell ref="A2:{last}2"/></mergeCells>'
        '<printOptions horizontalCentered="1"/>'
        '<pageMargins left="0.4" right="0.4" top="0.5" bottom="0.6" header="0.3" footer="0.3"/>'
        f'<pageSetup paperSize="9" orientation="{portrait}" fitToWidth="1" fitToHeight="0"/>'
        '<headerFooter><oddFooter>&amp;C第 &amp;P 页,共 &amp;N 页</oddFooter></headerFooter>'
        '</worksheet>'
    )
    # characters XML 1.0 forbids (control codes from a pasted cell) are dropped once, here
    return _ILLEGAL.sub("", "".join(parts))


def _styles_xml() -> str:
    fonts = ('<fonts count="3"><font><sz val="11"/><name val="宋体"/></font>'
             '<font><b/><sz val="11"/><name val="宋体"/></font>'
             '<font><b/><sz val="16"/><name val="宋体"/></font></fonts>')
    fills = ('<fills count="4"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
             '</fill><fill><patternFill patternType="solid"><fgColor rgb="FFDDE6F0"/></patternFill></fill>'
             '<fill><patternFill patternType="solid"><fgColor rgb="FFF2F2F2"/></patternFill></fill></fills>')
    side = '<left style="thin"/><right style="thin"/><top style="thin"/><bottom style="thin"/>'
    borders = f'<borders count="2"><border/><border>{side}<diagonal/></border></borders>'
    num_fmts = ('<numFmts count="3"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
                '<numFmt numFmtId="165" formatCode="0.0%"/><numFmt numFmtId="166" formatCode="0.0"/></numFmts>')
    fmt_of = {"text": 0, "date": 164, "int": 1, "percent": 165, "float": 166}
    xfs = [
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',
        '<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
        '<alignment horizontal="center" vertical="center"/></xf>',
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',
        '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1" '
        'applyAlignment="1"><alignment horizontal="center" vertical="center" wrapText="1"/></xf>',
    ]
    for variant in VARIANTS:
        font, fill = (0, 0) if variant == "plain" else (1, 3)
        for kind in KINDS:
            wrap = '<alignment vertical="top" wrapText="1"/>' if kind == "text" else '<alignment vertical="top"/>'
            xfs.append(
                f'<xf numFmtId="{fmt_of[kind]}" fontId="{font}" fillId="{fill}" borderId="1" xfId="0" '
                f'applyNumberFormat="1" applyFont="1" applyFill="1" applyBorder="1" applyAlignment="1">{wrap}</xf>'
            )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'{num_fmts}{fonts}{fills}{borders}'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
    )


def _sheet_name(name: str) -> str:
    cleaned = "".join("_" if ch in '[]:*?/\\' else ch for ch in name)
    return cleaned[:31] or "Sheet"


def write_workbook(sheets: Sequence[XlsxSheet], *, title: str) -> bytes:
    """The workbook's bytes; the title goes into the document properties."""
    names = [_sheet_name(s.name) for s in sheets]
    workbook_sheets = "".join(
        f'<sheet name="{escape(n)}" sheetId="{i}" r:id="rId{i}"/>' for i, n in enumerate(names, start=1)
    )
    print_titles = "".join(
        f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">\'{escape(n)}\'!$1:$3</definedName>'
        for i, n in enumerate(names)
    )
    rels = "".join(
        f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        f'worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(sheets) + 1)
    )
    styles_id = len(sheets) + 1
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, len(sheets) + 1)
    )
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        package.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            f'{overrides}</Types>'
        ))
        package.writestr("_rels/.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
            'core-properties" Target="docProps/core.xml"/></Relationships>'
        ))
        package.writestr("docProps/core.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f'<dc:title>{_text(title)}</dc:title><dc:creator>deadline-watch</dc:creator></cp:coreProperties>'
        ))
        package.writestr("xl/workbook.xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<sheets>{workbook_sheets}</sheets><definedNames>{print_titles}</definedNames></workbook>'
        ))
        package.writestr("xl/_rels/workbook.xml.rels", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'{rels}<Relationship Id="rId{styles_id}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/styles" Target="styles.xml"/></Relationships>'
        ))
        package.writestr("xl/styles.xml", _styles_xml())
        for i, sheet in enumerate(sheets, start=1):
            package.writestr(f"xl/worksheets/sheet{i}.xml", _sheet_xml(sheet))
    return buffer.getvalue()
