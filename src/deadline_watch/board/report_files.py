"""Report files: a `Report` (board.report_tables) rendered as xlsx, csv (UTF-8 with BOM)
or html bytes, written atomically; `write_scheduled_report` is what the daemon's Monday
and 1st-of-month jobs call.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import unicodedata
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any, Literal

from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session, sessionmaker

from deadline_watch.board.report_tables import Report, Sheet, build_report
from deadline_watch.board.xlsx_writer import XlsxColumn, XlsxSheet, write_workbook
from deadline_watch.core.clock import local_date
from deadline_watch.core.config import Settings
from deadline_watch.core.db import transaction
from deadline_watch.core.errors import DeadlineWatchError
from deadline_watch.domain.sheet_cells import neutralise

__all__ = ["FORMATS", "render", "write_atomic", "write_scheduled_report"]

Format = Literal["xlsx", "csv", "html"]
FORMATS: tuple[str, ...] = ("xlsx", "csv", "html")


def _text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "percent":
        return f"{value * 100:.1f}%"
    if kind == "date":
        return value.isoformat()
    return str(value)


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _safe_sheet_title(name: str) -> str:
    cleaned = "".join("_" if ch in '[]:*?/\\' else ch for ch in name)
    return cleaned[:31] or "Sheet"


# dates need no styled cell: openpyxl gives a plain `date` value the yyyy-mm-dd format itself
_XLSX_FORMATS = {"percent": "0.0%", "float": "0.0"}


def _xlsx_sheet(sheet: Sheet) -> XlsxSheet:
    if sheet.widths is not None:
        widths = list(sheet.widths)
    else:
        widths = [
            min(max(max([_display_width(column.header)] + [_display_width(_text(row[index], column.kind))
                                                            for row in sheet.rows[:2000]]) + 2, 8), 60)
            for index, column in enumerate(sheet.columns)
        ]
    columns = [XlsxColumn(c.header, c.kind, w) for c, w in zip(sheet.columns, widths, strict=True)]
    return XlsxSheet(sheet.name, sheet.title, sheet.subtitle, columns, sheet.rows, sheet.row_variants)


def _render_print_xlsx(report: Report) -> bytes:
    """The weekly meeting paper: every sheet print-ready (title rows, A4 landscape fitted to
    width, page numbers), written directly as XML: the dispatch backlog runs to 85,000 rows."""
    return write_workbook([_xlsx_sheet(sheet) for sheet in report.sheets], title=report.title)


def _render_xlsx(report: Report) -> bytes:
    if report.kind == "weekly":
        return _render_print_xlsx(report)
    # write-only (streaming) mode: a weekly backlog of ~100,000 rows renders in seconds, not minutes
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font, PatternFill

    workbook = Workbook(write_only=True)
    workbook.properties.title = report.title
    workbook.properties.creator = "deadline-watch"
    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDE6F0")

    summary = workbook.create_sheet("概要")
    summary.column_dimensions["A"].width = 60
    summary.column_dimensions["B"].width = 14
    summary.column_dimensions["C"].width = 14

    def cell(ws, value, *, fmt: str | None = None, font: Font | None = None, fill=None):
        made = WriteOnlyCell(ws, value=value)
        if fmt:
            made.number_format = fmt
        if font:
            made.font = font
        if fill:
            made.fill = fill
        return made

    summary.append([cell(summary, report.title, font=Font(bold=True, size=14))])
    summary.append(["统计期 / period", cell(summary, report.start, fmt="yyyy-mm-dd"), cell(summary, report.end, fmt="yyyy-mm-dd")])
    summary.append(["统计日 / as of", cell(summary, report.at, fmt="yyyy-mm-dd")])
    for note in report.notes:
        summary.append([neutralise(note, summary)])
    summary.append([])
    summary.append([cell(summary, "表 / table", font=bold), cell(summary, "行数 / rows", font=bold)])
    for sheet in report.sheets:
        summary.append([neutralise(sheet.title, summary), len(sheet.rows)])

    for sheet in report.sheets:
        ws = workbook.create_sheet(_safe_sheet_title(sheet.name))
        # widths and panes must be set before the first row is streamed
        for index, column in enumerate(sheet.columns, start=1):
            widest = max(
                [_display_width(column.header)]
                + [_display_width(_text(row[index - 1], column.kind)) for row in sheet.rows[:2000]]
            )
            ws.column_dimensions[get_column_letter(index)].width = min(max(widest + 2, 8), 60)
        ws.freeze_panes = "A2"
        if sheet.rows:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(sheet.columns))}{len(sheet.rows) + 1}"
        ws.append([cell(ws, c.header, font=bold, fill=header_fill) for c in sheet.columns])
        formats = [_XLSX_FORMATS.get(c.kind) for c in sheet.columns]
        for row in sheet.rows:
            ws.append([
                cell(ws, value, fmt=fmt) if fmt and value is not None else neutralise(value, ws)
                for value, fmt in zip(row, formats, strict=False)
            ])
        if report.kind == "monthly" and sheet.name == "按单位" and sheet.rows:
            rate_col = 1 + [c.kind for c in sheet.columns].index("percent")
            chart = BarChart()
            chart.type = "bar"
            chart.title = "按时完成率 / on-time rate"
            chart.y_axis.numFmt = "0%"
            chart.y_axis.scaling.min = 0
            chart.y_axis.scaling.max = 1
            last = len(sheet.rows) + 1
            chart.add_data(Reference(ws, min_col=rate_col, min_row=1, max_row=last), titles_from_data=True)
            name_col = 1 + [c.header for c in sheet.columns].index("责任单位")
            chart.set_categories(Reference(ws, min_col=name_col, min_row=2, max_row=last))
            chart.legend = None
            chart.height = max(7.5, 0.6 * last)
            ws.add_chart(chart, f"A{last + 3}")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _render_csv(report: Report) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(report.title)])
    writer.writerow(["统计期 / period", report.start.isoformat(), report.end.isoformat(), "统计日 / as of", report.at.isoformat()])
    for sheet in report.sheets:
        writer.writerow([])
        writer.writerow([neutralise(sheet.title)])
        writer.writerow([c.header for c in sheet.columns])
        for row in sheet.rows:
            writer.writerow([neutralise(_text(value, c.kind)) for value, c in zip(row, sheet.columns, strict=False)])
    # the BOM makes Excel on Windows read the file as UTF-8 instead of GBK
    return buffer.getvalue().encode("utf-8-sig")


# The report's stylesheet: inline in a written file (it must read well on its own), linked
# as a file on the board (`web.routes.reports` serves this text), whose CSP allows no inline style.
HTML_STYLE = """
body{font-family:'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif;margin:2rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
th{background:#dde6f0}td.num{text-align:right}
p.meta{color:#555}tr.total td{font-weight:bold}
"""


def _render_html(report: Report, stylesheet: str | None = None) -> bytes:
    style = f'<link rel="stylesheet" href="{escape(stylesheet)}">' if stylesheet else f"<style>{HTML_STYLE}</style>"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{escape(report.title)}</title>{style}</head><body>",
        f"<h1>{escape(report.title)}</h1>",
        f'<p class="meta">统计期 / period: {report.start} — {report.end}; 统计日 / as of: {report.at}</p>',
    ]
    for note in report.notes:
        parts.append(f'<p class="meta">{escape(note)}</p>')
    if report.chart_svg:
        parts.append(f'<figure>{report.chart_svg}</figure>')
    for sheet in report.sheets:
        parts.append(f"<h2>{escape(sheet.title)}</h2>")
        if not sheet.rows:
            parts.append("<p>无 / none</p>")
            continue
        parts.append("<table><thead><tr>")
        parts.extend(f'<th scope="col">{escape(c.header)}</th>' for c in sheet.columns)
        parts.append("</tr></thead><tbody>")
        for row in sheet.rows:
            is_total = "合计" in row[:2] and sheet.name == "按单位"
            parts.append('<tr class="total">' if is_total else "<tr>")
            for value, column in zip(row, sheet.columns, strict=False):
                css = ' class="num"' if column.kind in ("int", "percent", "float") else ""
                parts.append(f"<td{css}>{escape(_text(value, column.kind))}</td>")
            parts.append("</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts).encode("utf-8")


def render(report: Report, fmt: str, *, stylesheet: str | None = None) -> bytes:
    """The report as a file's bytes: xlsx, csv (UTF-8 with BOM) or html (with `stylesheet`,
    an html page that links that URL instead of carrying its style inline)."""
    if fmt == "xlsx":
        return _render_xlsx(report)
    if fmt == "csv":
        return _render_csv(report)
    if fmt == "html":
        return _render_html(report, stylesheet)
    raise DeadlineWatchError(f"未知报表格式: {fmt}", f"unknown report format {fmt!r} (xlsx|csv|html)")


def write_atomic(path: Path, content: bytes) -> Path:
    """Write `content` to a temp file next to `path`, fsync, then rename over `path`.

    A reader (or a crash) never sees a half-written report.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise DeadlineWatchError(
            f"无法写入报表目录 {path.parent}: {exc.strerror}", f"cannot write to {path.parent}: {exc.strerror}"
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except OSError as exc:
        Path(temp_name).unlink(missing_ok=True)
        raise DeadlineWatchError(
            f"无法写入报表 {path}: {exc.strerror}", f"cannot write report {path}: {exc.strerror}"
        ) from None
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def write_scheduled_report(
    sessions: sessionmaker[Session], settings: Settings, kind: str, *, now: datetime, writer: str = ""
) -> list[Path]:
    """The daemon's weekly/monthly job: build the report as of `now` and write xlsx + csv.

    Files go to `settings.reports.dir` as `<slug>.xlsx` and `<slug>.csv`. Each period is
    written once: the period's row in `report_runs` (unique slug) is inserted in the same
    transaction as the files are written, so a second daemon (or a re-run) writes nothing
    and gets an empty list.
    """
    from deadline_watch.domain.report_runs import claim_period

    at = local_date(now, settings.tz)
    with transaction(sessions) as session:
        report = build_report(session, kind, at=at, settings=settings)
        if not claim_period(session, kind, report.slug, now=now, writer=writer):
            return []
        directory = Path(settings.reports.dir)
        # written before the commit: a failed write rolls the claim back for the next try
        return [write_atomic(directory / f"{report.slug}.{fmt}", render(report, fmt)) for fmt in ("xlsx", "csv")]
