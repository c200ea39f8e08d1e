"""Weekly dispatch (每周调度) and monthly summary (每月汇总) as plain tables.

`weekly_report` / `monthly_report` read the database into a `Report` (sheets of rows);
`board.report_files` turns a Report into xlsx, csv or html files. Periods:
- weekly: the last full Monday-Sunday week ending on or before `at` (so on Monday the
  9:00 job reports the week just ended), plus what is due in the week after it;
- monthly: the previous full calendar month before `at` (the job on the 1st reports
  the month just ended), evaluated as of `at`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from deadline_watch.board import charts, dispatch_sheet, linked_facts
from deadline_watch.board.evaluation import Evaluation, EvaluationRow, evaluate
from deadline_watch.board.ranking import ranked
from deadline_watch.board.reviews import Progress, latest_progress
from deadline_watch.board.standing import standing_counts_by_unit, with_standing_units
from deadline_watch.core.config import Settings
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
from deadline_watch.domain.recurrence import has_deadline
from deadline_watch.domain.workdays import days_overdue

__all__ = [
    "Column",
    "Sheet",
    "Report",
    "KINDS",
    "weekly_period",
    "monthly_period",
    "weekly_report",
    "monthly_report",
    "evaluation_sheets",
    "build_report",
]

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
    subtitle: str = ""  # the line under the title on the printed sheet
    widths: tuple[float, ...] | None = None  # column widths in characters (xlsx); fitted when None
    row_variants: dict[int, str] = field(default_factory=dict)  # row index -> "subtotal" | "total"


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
    Column("最新进展"),
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
            Milestone.id,
        )
        .select_from(Milestone)
        .join(Project, Project.id == Milestone.project_id)
        .join(Unit, Unit.id == Project.unit_id)
        .join(owner, owner.id == responsible_person_id())
        .where(*conditions)
        .order_by(*order_by)
    ).all()


def _with_days_overdue(rows: list[tuple], *, at: date, progress: dict[int, Progress] | None = None) -> list[tuple]:
    """Append days overdue (until completion when completed, else until `at`; 0 if not
    late) and the official's latest progress report (填报进展), if any."""
    out = []
    for code, name, unit, milestone, owner, due, completed_on, milestone_id in rows:
        latest = (progress or {}).get(milestone_id)
        text = "" if latest is None else latest.note + ("" if latest.percent is None else f"({latest.percent}%)")
        out.append((code, name, unit, milestone, owner, due, completed_on,
                    days_overdue(at, due, stopped_on=completed_on), text))
    return out


def weekly_report(session: Session, *, at: date, settings: Settings) -> Report:
    """每周调度: became overdue / completed during the week, due next week, still overdue at `at`."""
    start, end = weekly_period(at)
    next_start, next_end = end + timedelta(days=1), end + timedelta(days=7)
    active = (Project.status == ProjectStatus.ACTIVE) & has_deadline(Project.schedule)  # 长期: never overdue
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
    # still overdue at `at`: the dispatch sheet (dispatch_sheet.dispatch_blocks), with every meeting column
    year, week, _ = start.isocalendar()
    ids = {row[-1] for rows in (became_overdue, completed, due_next) for row in rows}
    progress = latest_progress(session, sorted(ids))
    title = f"每周一调度 {year}年第{week}周"
    blocks = dispatch_sheet.dispatch_blocks(session, at=at)
    dispatch_rows, variants = dispatch_sheet.dispatch_rows(blocks)
    week_text = f"统计周 {start} 至 {end}"
    sheets = [
        Sheet("调度清单", f"{title} 调度清单", [Column(c.header, c.kind) for c in dispatch_sheet.HEADERS],
              dispatch_rows, subtitle=dispatch_sheet.subtitle(at),
              widths=tuple(c.width for c in dispatch_sheet.HEADERS), row_variants=variants),
        Sheet("单位排名", f"{title} 单位排名", [Column(c.header, c.kind) for c in dispatch_sheet.RANKING_HEADERS],
              dispatch_sheet.ranking_rows(blocks), subtitle="按逾期事项从多到少排名, 并列同名次",
              widths=tuple(c.width for c in dispatch_sheet.RANKING_HEADERS)),
        Sheet("本周新增逾期", f"本周新增逾期 {start} 至 {end}", MILESTONE_COLUMNS,
              _with_days_overdue(became_overdue, at=at, progress=progress), subtitle=week_text),
        Sheet("本周完成", f"本周完成 {start} 至 {end}", MILESTONE_COLUMNS,
              _with_days_overdue(completed, at=at, progress=progress), subtitle=week_text),
        Sheet("下周到期", f"下周到期 {next_start} 至 {next_end}", MILESTONE_COLUMNS,
              _with_days_overdue(due_next, at=at, progress=progress), subtitle=f"下周 {next_start} 至 {next_end}"),
    ]
    return Report(
        kind="weekly",
        title=title,
        start=start,
        end=end,
        at=at,
        slug=f"weekly-{year}-W{week:02d}",
        sheets=sheets,
        notes=[
            f"统计周: {start} 至 {end}; 下周: {next_start} 至 {next_end}; 截至 {at}",
            "逾期天数: 已完成的算至完成日期, 未完成的算至统计日",
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
    Column("批准延期", "int"),
    Column("申报退回", "int"),
    Column("附佐证销号", "int"),
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
        row.extensions_granted,
        row.requests_returned,
        row.evidence_completions,
    )


def evaluation_sheets(result: Evaluation, referrals: dict[str, int] | None = None,
                      standing: dict[str, int] | None = None) -> list[Sheet]:
    """The evaluation as two ranked tables (`ranking.ranked`: on-time rate, ties share a
    place): per unit with a total row (and referrals made, once recorded; and the 长期
    tasks each unit carries, outside its figures), and per official with their unit on every row."""
    with_referrals = referrals is not None
    with_standing = standing is not None
    units = with_standing_units(result.units, standing) if standing else result.units
    unit_rows = [
        (u.rank, u.row.name, *_figures(u.row), *((u.referrals or 0,) if with_referrals else ()),
         *((standing.get(u.row.name, 0),) if standing is not None else ()))
        for u in ranked(units, referrals)
    ]
    if units:
        total_referrals = (sum(referrals.values()),) if with_referrals else ()
        total_standing = (sum(standing.values()),) if standing is not None else ()
        unit_rows.append((None, result.total.name, *_figures(result.total), *total_referrals, *total_standing))
    official_rows = [
        (o.rank, o.row.name, mask_mobile(o.row.mobile or ""), o.row.unit or "", *_figures(o.row))
        for o in ranked(result.officials)
    ]
    unit_columns = [Column("排名", "int"), Column("责任单位"), *EVALUATION_HEADERS]
    if with_referrals:
        unit_columns.append(Column("移交问责", "int"))
    if with_standing:
        unit_columns.append(Column("长期任务", "int"))
    return [
        Sheet("按单位", f"按责任单位 / by unit {result.start} — {result.end}", unit_columns, unit_rows),
        Sheet("按责任人", f"按责任人 / by official {result.start} — {result.end}",
              [Column("排名", "int"), Column("责任人"), Column("手机"), Column("所属单位"), *EVALUATION_HEADERS],
              official_rows),
    ]


def monthly_report(session: Session, *, at: date, settings: Settings) -> Report:
    """每月汇总: the evaluation per unit and per official for the month before `at`."""
    start, end = monthly_period(at)
    result = evaluate(session, start=start, end=end, today=at)
    referrals = linked_facts.referral_counts_by_unit(session, start=start, end=end)
    standing = standing_counts_by_unit(session)
    label = f"{start.year}年{start.month}月"
    return Report(
        kind="monthly",
        title=f"每月汇总 {label} / monthly summary {start:%Y-%m}",
        start=start,
        end=end,
        at=at,
        slug=f"monthly-{start:%Y-%m}",
        sheets=evaluation_sheets(result, referrals, standing),
        chart_svg=charts.bar_chart_svg(result.units, title=f"{label} 各单位按时完成率"),
        notes=[
            f"统计期 / period: {start} — {end} (截止日期在此期间的节点 / milestones due in it); 截至 / as of {at}",
            "不含已取消节点及已暂停、已取消项目 / cancelled milestones and suspended or cancelled projects excluded",
            f"长期任务 {sum(standing.values())} 项: 无截止日期, 单列计数, 不计入按时完成率 / "
            "standing tasks: no deadline, counted apart, not in the on-time rate",
        ],
    )


def build_report(session: Session, kind: str, *, at: date, settings: Settings) -> Report:
    if kind == "weekly":
        return weekly_report(session, at=at, settings=settings)
    if kind == "monthly":
        return monthly_report(session, at=at, settings=settings)
    raise DeadlineWatchError(f"未知报表类型: {kind}", f"unknown report kind {kind!r} (weekly|monthly)")
