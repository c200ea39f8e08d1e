"""The 通报 laid out: a .docx (python-docx) and an HTML print view, from the same words and tables.

The attachment tables are built as one WordprocessingML string and parsed once: python-docx
adds cells one object at a time (about 1 ms per row), and the official table of a large
registry has thousands of rows.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from deadline_watch.board.bulletin import Bulletin, bulletin_text, monthly_bulletin
from deadline_watch.board.ranking import Ranked
from deadline_watch.board.report_files import write_atomic
from deadline_watch.core.clock import local_date
from deadline_watch.core.config import Settings
from deadline_watch.core.db import transaction
from deadline_watch.core.errors import DeadlineWatchError
from deadline_watch.core.logs import mask_mobile

__all__ = [
    "BULLETIN_FORMATS",
    "render_bulletin",
    "render_docx",
    "render_html",
    "stylesheet",
    "attachment_tables",
    "write_scheduled_bulletin",
]

BULLETIN_FORMATS = ("docx", "html")

FIGURE_HEADERS = ["到期节点", "按期完成", "逾期完成", "仍逾期", "按期完成率", "平均逾期天数", "二级及以上督办"]
UNIT_HEADERS = ["排名", "责任单位", *FIGURE_HEADERS]
OFFICIAL_HEADERS = ["排名", "责任人", "手机", "所属单位", *FIGURE_HEADERS]


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _figures(r: Ranked) -> list[str]:
    row = r.row
    return [
        str(row.milestones_due), str(row.completed_on_time), str(row.completed_late), str(row.still_overdue),
        _pct(row.on_time_rate), "—" if row.avg_days_late is None else f"{row.avg_days_late:.1f}",
        str(row.escalations_level2),
    ]


def attachment_tables(bulletin: Bulletin) -> list[tuple[str, list[str], list[list[str]]]]:
    """(caption, headers, rows) of each attachment, as text: the same in .docx and HTML."""
    with_referrals = bulletin.referrals is not None
    with_standing = bool(bulletin.standing)  # 长期任务: counted apart, not in the rates
    unit_headers = UNIT_HEADERS + (["移交问责"] if with_referrals else []) + (["长期任务"] if with_standing else [])
    units = [
        ["—" if u.rank is None else str(u.rank), u.row.name, *_figures(u)] + ([str(u.referrals or 0)] if with_referrals
                                                                            else [])
        + ([str(bulletin.standing.get(u.row.name, 0))] if with_standing else [])
        for u in bulletin.units
    ]
    total = bulletin.total
    units.append(["", "合计", str(total.milestones_due), str(total.completed_on_time), str(total.completed_late),
                  str(total.still_overdue), _pct(total.on_time_rate),
                  "—" if total.avg_days_late is None else f"{total.avg_days_late:.1f}", str(total.escalations_level2)]
                 + ([str(bulletin.referrals)] if with_referrals else [])
                 + ([str(bulletin.standing_total)] if with_standing else []))
    officials = [
        ["—" if o.rank is None else str(o.rank), o.row.name, mask_mobile(o.row.mobile or ""), o.row.unit or "",
         *_figures(o)]
        for o in bulletin.officials
    ]
    return [
        (f"附件1 {bulletin.month_label}各责任单位节点完成情况排名表", unit_headers, units),
        (f"附件2 {bulletin.month_label}责任人节点完成情况表", OFFICIAL_HEADERS, officials),
    ]


# ---------------------------------------------------------------- docx

_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
_FONT = '<w:rFonts w:ascii="SimSun" w:hAnsi="SimSun" w:eastAsia="仿宋_GB2312"/>'


def _cell_xml(text: str, *, bold: bool = False) -> str:
    b = "<w:b/>" if bold else ""
    return (f'<w:tc><w:p><w:pPr><w:jc w:val="center"/><w:spacing w:before="0" w:after="0"/></w:pPr>'
            f'<w:r><w:rPr>{_FONT}{b}<w:sz w:val="18"/></w:rPr><w:t xml:space="preserve">{xml_escape(text)}</w:t>'
            f'</w:r></w:p></w:tc>')


def _table_xml(headers: list[str], rows: list[list[str]]) -> str:
    border = "".join(f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
                     for side in ("top", "left", "bottom", "right", "insideH", "insideV"))
    header_row = ('<w:tr><w:trPr><w:tblHeader/></w:trPr>' + "".join(_cell_xml(h, bold=True) for h in headers)
                  + "</w:tr>")
    body = "".join("<w:tr>" + "".join(_cell_xml(value) for value in row) + "</w:tr>" for row in rows)
    return (f'<w:tbl {_W}><w:tblPr><w:tblW w:w="5000" w:type="pct"/><w:tblBorders>{border}</w:tblBorders>'
            f'<w:tblLayout w:type="autofit"/></w:tblPr><w:tblGrid>'
            + "".join("<w:gridCol/>" for _ in headers) + f"</w:tblGrid>{header_row}{body}</w:tbl>")


def render_docx(bulletin: Bulletin, settings: Settings) -> bytes:
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.oxml import parse_xml
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    title, paragraphs = bulletin_text(bulletin, settings)
    document = Document()
    document.core_properties.title = title
    document.core_properties.author = bulletin.issuer
    normal = document.styles["Normal"]
    normal.font.name = "SimSun"
    normal.font.size = Pt(16)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "仿宋_GB2312")
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.6)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)

    heading = document.add_paragraph()
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = heading.add_run(title)
    run.bold = True
    run.font.size = Pt(22)
    run.font.name = "SimHei"
    run._element.rPr.rFonts.set(qn("w:eastAsia"), "方正小标宋简体")
    signature = {bulletin.issuer}
    for index, text in enumerate(paragraphs):
        paragraph = document.add_paragraph(text)
        paragraph.paragraph_format.line_spacing = Pt(28)
        if text in signature or index == len(paragraphs) - 1 and text.endswith("日"):
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        elif not text.endswith(":"):
            paragraph.paragraph_format.first_line_indent = Pt(32)

    # the attachment on its own landscape pages
    attachments = document.add_section()
    attachments.orientation = WD_ORIENT.LANDSCAPE
    attachments.page_width, attachments.page_height = Cm(29.7), Cm(21.0)
    attachments.top_margin = attachments.bottom_margin = Cm(2.0)
    attachments.left_margin = attachments.right_margin = Cm(2.0)
    for index, (caption, headers, rows) in enumerate(attachment_tables(bulletin)):
        if index:
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        label = document.add_paragraph()
        label.alignment = WD_ALIGN_PARAGRAPH.CENTER
        caption_run = label.add_run(caption)
        caption_run.bold = True
        caption_run.font.size = Pt(14)
        # before the body's closing sectPr, which must stay last
        document.element.body.sectPr.addprevious(parse_xml(_table_xml(headers, rows)))
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- html

STYLESHEET_PATH = Path(__file__).resolve().parents[1] / "templates" / "bulletin" / "bulletin.css"


def stylesheet() -> str:
    """The print view's CSS (inlined in a standalone file, served as a file by the board)."""
    return STYLESHEET_PATH.read_text(encoding="utf-8")


def render_html(bulletin: Bulletin, settings: Settings, *, stylesheet_href: str | None = None) -> bytes:
    """The print view: A4 pages, the attachment tables from a new page with their header
    repeated. Standalone (inline CSS) unless `stylesheet_href` is given (the board's CSP
    forbids inline style, so it links /static/bulletin.css)."""
    title, paragraphs = bulletin_text(bulletin, settings)
    style = (f'<link rel="stylesheet" href="{escape(stylesheet_href)}">' if stylesheet_href
             else f"<style>{stylesheet()}</style>")
    parts = ['<!DOCTYPE html>', '<html lang="zh-CN"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{escape(title)}</title>{style}</head><body>",
             '<article class="page">', f"<h1>{escape(title)}</h1>"]
    for index, text in enumerate(paragraphs):
        css = "salute" if text.endswith(":") else "sign" if text == bulletin.issuer or (
            index == len(paragraphs) - 1 and text.endswith("日")) else ""
        parts.append(f'<p class="{css}">{escape(text)}</p>' if css else f"<p>{escape(text)}</p>")
    parts.append("</article>")
    for caption, headers, rows in attachment_tables(bulletin):
        parts.append(f'<section class="attachment"><h2>{escape(caption)}</h2><table><thead><tr>')
        parts.extend(f'<th scope="col">{escape(h)}</th>' for h in headers)
        parts.append("</tr></thead><tbody>")
        parts.extend("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in rows)
        parts.append("</tbody></table></section>")
    parts.append("</body></html>")
    return "\n".join(parts).encode("utf-8")



def render_bulletin(bulletin: Bulletin, fmt: str, settings: Settings, *, stylesheet_href: str | None = None) -> bytes:
    if fmt == "docx":
        return render_docx(bulletin, settings)
    if fmt == "html":
        return render_html(bulletin, settings, stylesheet_href=stylesheet_href)
    raise DeadlineWatchError(f"通报格式应为 docx 或 html: {fmt}", f"unknown bulletin format {fmt!r} (docx|html)")


def write_scheduled_bulletin(sessions, settings: Settings, *, now: datetime, writer: str = "") -> list[Path]:
    """The daemon's job on the 1st: the month's 通报 as .docx and .html in `reports.dir`.

    Written once per month, like the reports: the period's `report_runs` row (slug
    `bulletin-YYYY-MM`) is claimed in the same transaction; a second daemon gets [].
    """
    from deadline_watch.domain.report_runs import claim_period

    at = local_date(now, settings.tz)
    with transaction(sessions) as session:
        bulletin = monthly_bulletin(session, at=at, settings=settings)
        if not claim_period(session, "bulletin", bulletin.slug, now=now, writer=writer):
            return []
        directory = Path(settings.reports.dir)
        # written before the commit: a failed write rolls the claim back for the next try
        return [write_atomic(directory / f"{bulletin.slug}.{fmt}", render_bulletin(bulletin, fmt, settings))
                for fmt in BULLETIN_FORMATS]
