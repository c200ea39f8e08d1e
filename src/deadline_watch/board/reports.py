"""Weekly dispatch (每周调度) and monthly summary (每月汇总): tables, and their writers.

`weekly_report` / `monthly_report` read the database into a `Report` (plain tables);
`render` turns a Report into xlsx, csv or html bytes; `write_scheduled_report` is what
the daemon's Monday and 1st-of-month jobs call. Periods:
- weekly: the last full Monday-Sunday week ending on or before `at` (so on Monday the
  9:00 job reports the week just ended), plus what is due in the week after it;
- monthly: the previous full calendar month before `at` (the job on the 1st reports
  the month just ended), evaluated as of `at`.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any, Literal

from openpyxl.utils import get_column_letter
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, sessionmaker

from deadline_watch.board.evaluation import Evaluation, EvaluationRow, bar_chart_svg, evaluate
from deadline_watch.core.clock import local_date
from deadline_watch.core.config import Settings
from deadline_watch.core.db import transaction
from deadline_watch.core.errors import DeadlineWatchError
from deadline_watch.core.logs import mask_mobile
from deadline_watch.domain.models import (
    Milestone,
    MilestoneStatus,
    Person,
    Project,
    ProjectStatus,
    Unit,
    responsible_person_id,
)

__all__ = [
    "Column",
    "Sheet",
    "Report",
    "FORMATS",
    "weekly_period",
    "monthly_period",
    "weekly_report",
    "monthly_report",
    "build_report",
    "render",
    "write_atomic",
    "write_scheduled_report",
]

Format = Literal["xlsx", "csv", "html"]
FORMATS: tuple[str, ...] = ("xlsx", "csv", "html")
Kind = Literal["weekly", "monthly"]
KINDS: tuple[str, ...] = ("weekly", "monthly")


@dataclass(frozen=True)
class Column:
    header: str
    kind: Literal["text", "date", "int", "percent", "float"] = "text"


@dataclass(frozen=True)
class Sheet:
    name: str  # worksheet name (short, <= 31 characters)
    title: str  # caption above the table in csv/html
    columns: list[Column]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class Report:
    kind: str
    title: str
    start: date
    end: date
    at: date
    slug: str  # file stem: weekly-2026-W47, monthly-2026-11
    sheets: list[Sheet]
    chart_svg: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def period(self) -> str:
        return f"{self.start.isoformat()} — {self.end.isoformat()}"

    def sheet(self, name: str) -> Sheet:
        return next(s for s in self.sheets if s.name == name)


# ---------------------------------------------------------------- periods


def weekly_period(at: date) -> tuple[date, date]:
    """Monday..Sunday of the last full week ending on or before `at`."""
    end = at - timedelta(days=(at.weekday() + 1) % 7)
    return end - timedelta(days=6), end


def monthly_period(at: date) -> tuple[date, date]:
    """First..last day of the calendar month before the one containing `at`."""
    end = at.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


# ---------------------------------------------------------------- weekly

MILESTONE_COLUMNS = [
    Column("项目编号"),
    Column("项目名称"),
    Column("责任单位"),
    Column("节点"),
    Column("责任人"),
    Column("截止日期", "date"),
    Column("完成日期", "date"),
    Column("逾期天数", "int"),
]


def _milestone_rows(session: Session, *conditions, order_by: list) -> list[tuple]:
    owner = aliased(Person)
    return session.execute(
        select(
            Project.code,
            Project.name,
            Unit.name,
            Milestone.name,
            owner.name,
            Milestone.due_date,
            Milestone.completed_on,
        )
        .select_from(Milestone)
        .join(Project, Project.id == Milestone.project_id)
        .join(Unit, Unit.id == Project.unit_id)
        .join(owner, owner.id == responsible_person_id())
        .where(*conditions)
        .order_by(*order_by)
    ).all()


def _with_days_overdue(rows: list[tuple], *, at: date) -> list[tuple]:
    """Append days overdue: until completion when completed, else until `at` (0 if not late)."""
    out = []
    for code, name, unit, milestone, owner, due, completed_on in rows:
        until = completed_on if completed_on is not None and completed_on <= at else at
        out.append((code, name, unit, milestone, owner, due, completed_on, max((until - due).days, 0)))
    return out


def weekly_report(session: Session, *, at: date, settings: Settings) -> Report:
    """每周调度: became overdue / completed during the week, due next week, still overdue at `at`."""
    start, end = weekly_period(at)
    next_start, next_end = end + timedelta(days=1), end + timedelta(days=7)
    active = Project.status == ProjectStatus.ACTIVE
    not_cancelled = Milestone.status.in_((MilestoneStatus.OPEN, MilestoneStatus.COMPLETED))
    by_due = [Milestone.due_date, Project.code, Milestone.position, Milestone.id]

    # overdue from the day after the due date: first overdue day within [start, end]
    became_overdue = _milestone_rows(
        session,
        not_cancelled,
        active,
        Milestone.due_date >= start - timedelta(days=1),
        Milestone.due_date <= end - timedelta(days=1),
        (Milestone.completed_on.is_(None) & (Milestone.status == MilestoneStatus.OPEN))
        | (Milestone.completed_on > Milestone.due_date),
        order_by=by_due,
    )
    completed = _milestone_rows(
        session,
        # "!=" rather than IN (...): leaves SQLite to read the week through ix_milestones_completed_on
        Milestone.status != MilestoneStatus.CANCELLED,
        Milestone.completed_on >= start,
        Milestone.completed_on <= end,
        Project.status != ProjectStatus.CANCELLED,
        order_by=[Milestone.completed_on, Milestone.due_date, Project.code, Milestone.position, Milestone.id],
    )
    due_next = _milestone_rows(
        session,
        Milestone.status == MilestoneStatus.OPEN,
        Milestone.completed_on.is_(None),
        active,
        Milestone.due_date >= next_start,
        Milestone.due_date <= next_end,
        order_by=by_due,
    )
    still_overdue = _milestone_rows(
        session,
        active,
        Milestone.due_date < at,
        # completed after `at` was still overdue on `at` (a report for a past date stays the
        # same). Each branch has its own index: (status, due_date) and completed_on.
        ((Milestone.status == MilestoneStatus.OPEN) & Milestone.completed_on.is_(None))
        | ((Milestone.completed_on > at) & (Milestone.status != MilestoneStatus.CANCELLED)),
        order_by=by_due,
    )
    year, week, _ = start.isocalendar()
    sheets = [
        Sheet("本周新增逾期", f"本周新增逾期 / became overdue {start} — {end}", MILESTONE_COLUMNS,
              _with_days_overdue(became_overdue, at=at)),
        Sheet("本周完成", f"本周完成 / completed {start} — {end}", MILESTONE_COLUMNS,
              _with_days_overdue(completed, at=at)),
        Sheet("下周到期", f"下周到期 / due next week {next_start} — {next_end}", MILESTONE_COLUMNS,
              _with_days_overdue(due_next, at=at)),
        Sheet("累计逾期", f"截至 {at} 仍逾期 / still overdue as of {at}", MILESTONE_COLUMNS,
              _with_days_overdue(still_overdue, at=at)),
    ]
    return Report(
        kind="weekly",
        title=f"每周调度 {year}年第{week}周 / weekly dispatch {year}-W{week:02d}",
        start=start,
        end=end,
        at=at,
        slug=f"weekly-{year}-W{week:02d}",
        sheets=sheets,
        notes=[
            f"统计周 / week: {start} — {end}; 下周 / next week: {next_start} — {next_end}; 截至 / as of {at}",
            "逾期天数: 已完成按完成日期计, 未完成按统计日计 / days overdue: to completion, else to the report date",
        ],
    )


# ---------------------------------------------------------------- monthly

EVALUATION_HEADERS = [
    Column("到期节点数", "int"),
    Column("按时完成", "int"),
    Column("逾期完成", "int"),
    Column("仍逾期", "int"),
    Column("尚未到期", "int"),
    Column("按时完成率", "percent"),
    Column("平均逾期天数", "float"),
    Column("升级至二级督办", "int"),
]


def _figures(row: EvaluationRow) -> tuple:
    return (
        row.milestones_due,
        row.completed_on_time,
        row.completed_late,
        row.still_overdue,
        row.not_yet_due,
        row.on_time_rate,
        None if row.avg_days_late is None else round(row.avg_days_late, 1),
        row.escalations_level2,
    )


def evaluation_sheets(result: Evaluation) -> list[Sheet]:
    """The evaluation as two tables: per unit (with a total row) and per official."""
    unit_rows = [(r.name, *_figures(r)) for r in result.units]
    if result.units:
        unit_rows.append((result.total.name, *_figures(result.total)))
    official_rows = [
        (r.name, mask_mobile(r.mobile or ""), r.unit or "", *_figures(r)) for r in result.officials
    ]
    return [
        Sheet("按单位", f"按责任单位 / by unit {result.start} — {result.end}",
              [Column("责任单位"), *EVALUATION_HEADERS], unit_rows),
        Sheet("按责任人", f"按责任人 / by official {result.start} — {result.end}",
              [Column("责任人"), Column("手机"), Column("所属单位"), *EVALUATION_HEADERS], official_rows),
    ]


def monthly_report(session: Session, *, at: date, settings: Settings) -> Report:
    """每月汇总: the evaluation per unit and per official for the month before `at`."""
    start, end = monthly_period(at)
    result = evaluate(session, start=start, end=end, today=at)
    label = f"{start.year}年{start.month}月"
    return Report(
        kind="monthly",
        title=f"每月汇总 {label} / monthly summary {start:%Y-%m}",
        start=start,
        end=end,
        at=at,
        slug=f"monthly-{start:%Y-%m}",
        sheets=evaluation_sheets(result),
        chart_svg=bar_chart_svg(result.units, title=f"{label} 各单位按时完成率"),
        notes=[
            f"统计期 / period: {start} — {end} (截止日期在此期间的节点 / milestones due in it); 截至 / as of {at}",
            "不含已取消节点及已暂停、已取消项目 / cancelled milestones and suspended or cancelled projects excluded",
        ],
    )


def build_report(session: Session, kind: str, *, at: date, settings: Settings) -> Report:
    if kind == "weekly":
        return weekly_report(session, at=at, settings=settings)
    if kind == "monthly":
        return monthly_report(session, at=at, settings=settings)
    raise DeadlineWatchError(f"未知报表类型: {kind}", f"unknown report kind {kind!r} (weekly|monthly)")


# ---------------------------------------------------------------- writers


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


def _render_xlsx(report: Report) -> bytes:
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
        summary.append([note])
    summary.append([])
    summary.append([cell(summary, "表 / table", font=bold), cell(summary, "行数 / rows", font=bold)])
    for sheet in report.sheets:
        summary.append([sheet.title, len(sheet.rows)])

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
                cell(ws, value, fmt=fmt) if fmt and value is not None else value
                for value, fmt in zip(row, formats)
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
            chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=last))
            chart.legend = None
            chart.height = max(7.5, 0.6 * last)
            ws.add_chart(chart, f"A{last + 3}")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _render_csv(report: Report) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([report.title])
    writer.writerow(["统计期 / period", report.start.isoformat(), report.end.isoformat(), "统计日 / as of", report.at.isoformat()])
    for sheet in report.sheets:
        writer.writerow([])
        writer.writerow([sheet.title])
        writer.writerow([c.header for c in sheet.columns])
        for row in sheet.rows:
            writer.writerow([_text(value, c.kind) for value, c in zip(row, sheet.columns)])
    # the BOM makes Excel on Windows read the file as UTF-8 instead of GBK
    return buffer.getvalue().encode("utf-8-sig")


_HTML_STYLE = """
body{font-family:'Noto Sans CJK SC','Microsoft YaHei','PingFang SC',sans-serif;margin:2rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
th{background:#dde6f0}td.num{text-align:right}
p.meta{color:#555}tr.total td{font-weight:bold}
"""


def _render_html(report: Report) -> bytes:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>{escape(report.title)}</title><style>{_HTML_STYLE}</style></head><body>",
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
            is_total = row and row[0] == "合计" and sheet.name == "按单位"
            parts.append('<tr class="total">' if is_total else "<tr>")
            for value, column in zip(row, sheet.columns):
                css = ' class="num"' if column.kind in ("int", "percent", "float") else ""
                parts.append(f"<td{css}>{escape(_text(value, column.kind))}</td>")
            parts.append("</tr>")
        parts.append("</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts).encode("utf-8")


def render(report: Report, fmt: str) -> bytes:
    """The report as a file's bytes: xlsx, csv (UTF-8 with BOM) or html."""
    if fmt == "xlsx":
        return _render_xlsx(report)
    if fmt == "csv":
        return _render_csv(report)
    if fmt == "html":
        return _render_html(report)
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
    sessions: sessionmaker[Session], settings: Settings, kind: str, *, now: datetime
) -> list[Path]:
    """The daemon's weekly/monthly job: build the report as of `now` and write xlsx + csv.

    Files go to `settings.reports.dir` as `<slug>.xlsx` and `<slug>.csv`; an existing
    file of the same name (a re-run) is replaced atomically.
    """
    at = local_date(now, settings.tz)
    with transaction(sessions) as session:
        report = build_report(session, kind, at=at, settings=settings)
    directory = Path(settings.reports.dir)
    paths = [write_atomic(directory / f"{report.slug}.{fmt}", render(report, fmt)) for fmt in ("xlsx", "csv")]
    return paths  # the daemon job logs report.written with these paths
