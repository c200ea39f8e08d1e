"""/reports: the weekly dispatch and monthly summary (.xlsx, .csv, .html) and the month's 通报 (.docx, .html)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response

from deadline_watch.core.clock import parse_day
from deadline_watch.core.errors import DeadlineWatchError
from deadline_watch.web.auth import unit_of_work
from deadline_watch.web.rendering import page

router = APIRouter(include_in_schema=False)

MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
REPORT_STYLESHEET = "/reports/report.css"
KINDS = {"weekly": "每周调度", "monthly": "每月汇总"}


class ReportRequestError(DeadlineWatchError):
    """A report was asked for with an unknown kind, format or date."""


def parse_at(text: str | None, *, today: date) -> date:
    if not text:
        return today
    try:
        return parse_day(text)
    except ValueError:
        raise ReportRequestError("日期应为 2000-2100 年间的 YYYY-MM-DD", "the date must be YYYY-MM-DD within 2000-2100") from None


@router.get("/reports")
def reports_page(request: Request) -> Response:
    with unit_of_work(request) as work:
        return page(request, "reports.html", viewer=work.viewer, nav="reports", today=work.today, kinds=KINDS)


@router.get("/reports/report.css")
def report_stylesheet() -> Response:
    """The web view's stylesheet (a file, so the board's CSP keeps `style-src 'self'`)."""
    from deadline_watch.board.report_files import HTML_STYLE

    return Response(HTML_STYLE, media_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600"})


@router.get("/reports/bulletin.css")
def bulletin_stylesheet() -> Response:
    from deadline_watch.board.bulletin_papers import stylesheet
    return Response(stylesheet(), media_type="text/css; charset=utf-8")


@router.get("/reports/bulletin.{fmt}")
def bulletin_download(request: Request, fmt: str, at: str = "") -> Response:
    """The month's 通报 (the month before `at`): .docx to download, .html as a print view."""
    from deadline_watch.board.bulletin import monthly_bulletin
    from deadline_watch.board.bulletin_papers import BULLETIN_FORMATS, render_bulletin
    if fmt not in BULLETIN_FORMATS:
        raise ReportRequestError(f"通报没有这种格式: {fmt}", f"no such bulletin format: {fmt}")
    with unit_of_work(request) as work:
        day = parse_at(at, today=work.today)
        settings = work.context.settings
        bulletin = monthly_bulletin(work.session, at=day, settings=settings)
    content = render_bulletin(bulletin, fmt, settings, stylesheet_href="/reports/bulletin.css")
    disposition = "inline" if fmt == "html" else "attachment"
    return Response(content, media_type=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'{disposition}; filename="{bulletin.slug}.{fmt}"'})


@router.get("/reports/{kind}.{fmt}")
def report_download(request: Request, kind: str, fmt: str, at: str = "") -> Response:
    from deadline_watch.board.report_files import render
    from deadline_watch.board.report_tables import build_report

    if kind not in KINDS or fmt not in MEDIA_TYPES or fmt == "docx":
        raise ReportRequestError(f"没有这种报表: {kind}.{fmt}", f"no such report: {kind}.{fmt}")
    with unit_of_work(request) as work:
        day = parse_at(at, today=work.today)
        report = build_report(work.session, kind, at=day, settings=work.context.settings)
    # rendered after the transaction: a large workbook takes seconds, the database is not needed
    content = render(report, fmt, stylesheet=REPORT_STYLESHEET)
    filename = f"{report.slug}.{fmt}"
    disposition = "inline" if fmt == "html" else "attachment"
    return Response(
        content,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )
