"""责任人画像 and 单位画像: one official's or one unit's record, with a 12-month trend.

The figures use the evaluation's own counting rules (`evaluation.milestone_measures`):
milestones due on or before `today`, cancelled milestones and stopped projects left out.
An official answers for a milestone when it is theirs (`responsible_person_id`): its own
owner, else its project's owner. A handful of indexed queries per page: the milestones
of one official or one unit are a small slice of the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import bindparam, case, desc, func, select, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from deadline_watch.board import charts, linked_facts
from deadline_watch.board.evaluation import (
    EvaluationRow,
    counts_of,
    linked_totals,
    milestone_measures,
    period_filter,
    row_of,
)
from deadline_watch.core.errors import NotFoundError
from deadline_watch.domain.models import (
    Milestone,
    MilestoneStatus,
    Notification,
    NotificationState,
    Person,
    Project,
    Unit,
    responsible_person_id,
)

__all__ = ["Figures", "TrendPoint", "Portrait", "official_portrait", "unit_portrait", "trend_months"]

EARLIEST, LATEST = date(1900, 1, 1), date(9999, 12, 31)
TREND_MONTHS = 12
NOTES_SHOWN = 10
OFFICIALS_SHOWN = 50
SENT_STATES = (NotificationState.SENT.value, NotificationState.DELIVERED.value, NotificationState.UNDELIVERED.value)


@dataclass(frozen=True)
class Figures:
    owned: int  # milestones they answer for (not cancelled), whatever the date
    led: int  # milestones of projects they lead (officials) / of the unit's projects (units)
    record: EvaluationRow  # milestones due up to today: on time, late, overdue, rates
    worst_days_late: int
    sms_received: int
    sms_delivered: int
    extensions: int | None = None  # None: not recorded (no reviews yet)
    returns: int | None = None
    referrals: int | None = None


@dataclass(frozen=True)
class TrendPoint:
    month: str  # 2026-11
    due: int
    on_time: int
    late: int
    overdue: int

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.due if self.due else None


@dataclass(frozen=True)
class Portrait:
    kind: str  # "official" | "unit"
    id: int
    name: str
    unit: str | None
    mobile: str | None
    figures: Figures
    trend: list[TrendPoint]
    notes: list[linked_facts.ProgressNote] = field(default_factory=list)
    officials: list[EvaluationRow] = field(default_factory=list)  # units only: its officials, worst first

    def chart_svg(self) -> str:
        months = [p.month[2:].replace("-", "/") for p in self.trend]
        notes = ["" if p.on_time_rate is None else f"{p.on_time_rate * 100:.0f}%" for p in self.trend]
        return charts.column_chart_svg(
            months,
            [
                charts.Series("按时完成", "#2e7d32", [p.on_time for p in self.trend]),
                charts.Series("逾期完成", "#f9a825", [p.late for p in self.trend]),
                charts.Series("仍逾期", "#c62828", [p.overdue for p in self.trend]),
            ],
            title=f"{self.name} 近12个月到期节点 (按截止月份)",
            ident="trend",
            notes=notes,
        )


def trend_months(today: date, months: int = TREND_MONTHS) -> list[str]:
    """The last `months` calendar months up to today's, oldest first ("2025-12" .. "2026-11")."""
    year, month = today.year, today.month
    keys = []
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return keys[::-1]


def _month_key(session: Session) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m", Milestone.due_date)
    return func.to_char(Milestone.due_date, "YYYY-MM")


def _responsible(person_id: int) -> ColumnElement[bool]:
    """Milestones a person answers for, spelled so each branch walks an index: as one
    condition with OR, PostgreSQL scanned every milestone (no bitmap OR over a subquery)."""
    own, of_project = aliased(Milestone), aliased(Milestone)
    return Milestone.id.in_(union_all(
        select(own.id).where(own.owner_id == person_id),
        select(of_project.id).join(Project, Project.id == of_project.project_id)
        .where(Project.owner_id == person_id, of_project.owner_id.is_(None)),
    ))


def _of_unit(unit_id: int) -> ColumnElement[bool]:
    # a condition on the joined project: as "project_id IN (SELECT …)" beside the join,
    # PostgreSQL hashed it against a scan of every project. The id is written into the SQL:
    # psycopg prepares a statement run five times, and PostgreSQL's generic plan for "any
    # unit" counted the escalations in 0.5-1.8 s instead of 50 ms.
    return Project.unit_id == bindparam("unit_id", int(unit_id), literal_execute=True)


def _not_cancelled() -> ColumnElement[bool]:
    return Milestone.status.in_((MilestoneStatus.OPEN.value, MilestoneStatus.COMPLETED.value))


@dataclass
class _Tally:
    """Counts summed over groups of the one grouped query."""

    due: int = 0
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    days_late: int = 0
    escalations: int = 0
    worst: int = 0

    def add(self, counts: dict, worst: float | None) -> None:
        for name in ("due", "on_time", "late", "overdue", "days_late", "escalations"):
            setattr(self, name, getattr(self, name) + counts[name])
        self.worst = max(self.worst, int(round(worst or 0)))

    def row(self, name: str, **extra) -> EvaluationRow:
        return row_of(name=name, due=self.due, on_time=self.on_time, late=self.late, overdue=self.overdue,
                      days_late=self.days_late, escalations=self.escalations, **extra)


def _come_due(today: date) -> ColumnElement[bool]:
    return Milestone.due_date <= today


def _grouped(session: Session, scope: ColumnElement[bool], *, today: date, linked: bool) -> list:
    """One pass over the scope's milestones: the evaluation's measures per due month and
    due-yet flag, which the page's figures and trend are summed from."""
    month = _month_key(session).label("month")
    is_due = case((_come_due(today), 1), else_=0).label("is_due")
    return session.execute(
        select(month, is_due, *milestone_measures(session, today, linked=linked))
        .select_from(Milestone)
        .join(Project, Project.id == Milestone.project_id)
        .where(scope, *period_filter(EARLIEST, LATEST))
        .group_by(month, is_due)
    ).all()


def _figures_and_trend(session: Session, scope: ColumnElement[bool], *, today: date, name: str,
                       links_apart: bool = False) -> tuple[int, EvaluationRow, int, list[TrendPoint], tuple[int, int]]:
    """The figures and the trend. The counts taken from escalations and requests come with
    each milestone (correlated lookups), or with `links_apart` from one joined count each."""
    months = trend_months(today)
    owned, record = 0, _Tally()
    by_month = {m: _Tally() for m in months}
    extensions = returns = 0
    for r in _grouped(session, scope, today=today, linked=not links_apart):
        counts = counts_of(r)
        owned += counts["due"]
        # extensions granted and requests returned (the officials' reviews), whatever the due date
        extensions += counts["extensions_granted"]
        returns += counts["requests_returned"]
        if not r.is_due:
            continue
        record.add(counts, r.worst)
        if r.month in by_month:
            by_month[r.month].add(counts, r.worst)
    if links_apart:
        linked = linked_totals(session, [scope, *period_filter(EARLIEST, LATEST)], come_due=_come_due(today))
        record.escalations += linked.escalations
        extensions, returns = linked.extensions_granted, linked.requests_returned
    trend = [TrendPoint(month=m, due=t.due, on_time=t.on_time, late=t.late, overdue=t.overdue)
             for m, t in by_month.items()]
    return owned, record.row(name), record.worst, trend, (extensions, returns)


def _sms(session: Session, condition: ColumnElement[bool]) -> tuple[int, int]:
    received, delivered = session.execute(
        select(
            func.count(Notification.id),
            func.sum(case((Notification.state == NotificationState.DELIVERED.value, 1), else_=0)),
        ).where(condition, Notification.state.in_(SENT_STATES))
    ).one()
    return int(received or 0), int(delivered or 0)


def _milestone_ids(scope: ColumnElement[bool], *conditions: ColumnElement[bool]):
    """The ids of the scope's milestones (a scope is a condition on milestones and their project)."""
    return select(Milestone.id).join(Project, Project.id == Milestone.project_id).where(scope, *conditions)


def official_portrait(session: Session, person_id: int, *, today: date) -> Portrait:
    """The 画像 of one official. Raises NotFoundError for an unknown id."""
    found = session.execute(
        select(Person.id, Person.name, Person.mobile, Unit.name.label("unit"))
        .outerjoin(Unit, Unit.id == Person.unit_id)
        .where(Person.id == person_id)
    ).first()
    if found is None:
        raise NotFoundError(f"责任人不存在: {person_id}", f"no official with id {person_id}")
    scope = _responsible(person_id)
    owned, record, worst, trend, (extensions, returns) = _figures_and_trend(
        session, scope, today=today, name=found.name)
    led = session.scalar(
        select(func.count(Milestone.id)).select_from(Milestone).join(Project, Project.id == Milestone.project_id)
        .where(Milestone.project_id.in_(select(Project.id).where(Project.lead_leader_id == person_id)),
               *period_filter(EARLIEST, LATEST))
    ) or 0
    received, delivered = _sms(session, Notification.recipient_id == person_id)
    unit = found.unit or session.scalar(
        select(func.min(Unit.name)).select_from(Project).join(Unit, Unit.id == Project.unit_id)
        .where(Project.owner_id == person_id))
    figures = Figures(owned=owned, led=led, record=record, worst_days_late=worst, sms_received=received,
                      sms_delivered=delivered, extensions=extensions, returns=returns)
    return Portrait(
        kind="official", id=found.id, name=found.name, unit=unit, mobile=found.mobile, figures=figures,
        trend=trend, notes=linked_facts.latest_progress(session, _milestone_ids(scope, _not_cancelled()), limit=NOTES_SHOWN),
    )


def unit_portrait(session: Session, unit_id: int, *, today: date) -> Portrait:
    """The 画像 of one unit: its projects' milestones, and its officials worst first."""
    found = session.execute(select(Unit.id, Unit.name).where(Unit.id == unit_id)).first()
    if found is None:
        raise NotFoundError(f"责任单位不存在: {unit_id}", f"no unit with id {unit_id}")
    scope = _of_unit(unit_id)
    # PostgreSQL runs the correlated counts (four per milestone, ~25,000 milestones) above its
    # parallel scan, ~150 ms; counted apart by joins, ~40 ms. For SQLite the correlated index
    # probes are the cheaper form (a joined count walked the unit's milestones again).
    owned, record, worst, trend, (extensions, returns) = _figures_and_trend(
        session, scope, today=today, name=found.name,
        links_apart=session.get_bind().dialect.name == "postgresql")
    received, delivered = _sms(session, Notification.milestone_id.in_(_milestone_ids(scope)))
    referrals = linked_facts.referral_counts_by_unit(session, start=EARLIEST, end=today)
    figures = Figures(
        owned=owned, led=owned, record=record, worst_days_late=worst, sms_received=received,
        sms_delivered=delivered, extensions=extensions, returns=returns,
        referrals=None if referrals is None else referrals.get(found.name, 0),
    )
    return Portrait(
        kind="unit", id=found.id, name=found.name, unit=None, mobile=None, figures=figures, trend=trend,
        notes=linked_facts.latest_progress(session, _milestone_ids(scope, _not_cancelled()), limit=NOTES_SHOWN),
        officials=_unit_officials(session, scope, today=today),
    )


def _unit_officials(session: Session, scope: ColumnElement[bool], *, today: date) -> list[EvaluationRow]:
    """The unit's officials over the trend's 12 months, most still overdue first (the
    first OFFICIALS_SHOWN: sorted and cut by the database, a unit may have thousands)."""
    first = date.fromisoformat(trend_months(today)[0] + "-01")
    measures = milestone_measures(session, today, linked=False)  # the table shows none of those counts
    rows = session.execute(
        select(Person.id, Person.name, Person.mobile, *measures)
        .select_from(Milestone)
        .join(Project, Project.id == Milestone.project_id)
        .join(Person, Person.id == responsible_person_id())
        .where(scope, *period_filter(first, today))
        .group_by(Person.id, Person.name, Person.mobile)
        .order_by(desc("overdue"), desc("late"), Person.name, Person.id)
        .limit(OFFICIALS_SHOWN)
    ).all()
    return [row_of(name=r.name, id=r.id, mobile=r.mobile, **counts_of(r)) for r in rows]
