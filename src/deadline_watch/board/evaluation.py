"""Evaluation of units and responsible officials over a period ("画像" of each official).

Counts are computed by the database with one GROUP BY (per official and project unit,
summed here into both tables), so a month out of a million milestones stays well under a
second. `today` comes in as a parameter: a completion dated after `today` does not count
yet, so a report for a past date reads the same whenever it is produced.

Which milestones count: due within [start, end], the milestone not cancelled, its
project active or completed (suspended and cancelled projects are left out; they were
stopped by decision, not missed), and not a 长期 task (no deadline; see board.standing).
Categories, as of `today`:
- completed on time: completed_on <= due_date (or marked completed without a date);
- completed late: completed_on > due_date;
- still overdue: not completed and due_date < today;
- the rest (due later in the period) is "not yet due".
The rows, the on-time rate and the 排名 rule are `board.evaluation_rows`.
`escalations_level2` counts overdue escalations of those milestones that reached level 2.
An official's unit is their own unit when the registry gives one, else the unit(s) of the
projects they answer for in the period.

An approved extension moves a milestone's due date but not its evaluation: "due date"
above is the original one (`original_due_date`, else `due_date`). The officials' side adds
`extensions_granted`, `requests_returned` and `evidence_completions` (completions approved
on a request that carried evidence files).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from operator import add, itemgetter
from types import SimpleNamespace

from sqlalchemy import Date, and_, case, func, literal, or_, select, text, union_all
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from deadline_watch.board.evaluation_rows import Evaluation, EvaluationRow, make_row, rank_rows
from deadline_watch.domain import co_units
from deadline_watch.domain.models import (
    Escalation,
    EscalationReason,
    EvidenceFile,
    Milestone,
    MilestoneStatus,
    OfficialRequest,
    Person,
    Project,
    ProjectStatus,
    RequestKind,
    RequestState,
    Unit,
    responsible_person_id,
)
from deadline_watch.domain.recurrence import has_deadline

__all__ = [
    "EvaluationRow",
    "Evaluation",
    "evaluate",
    "rank_rows",
    "COUNTED_PROJECT_STATUSES",
    "milestone_measures",
    "period_filter",
    "counts_of",
    "row_of",
    "extension_granted",
    "request_returned",
    "LinkedTotals",
    "linked_totals",
]

COUNTED_PROJECT_STATUSES = (ProjectStatus.ACTIVE.value, ProjectStatus.COMPLETED.value)
# spelled as IN (...) rather than != 'cancelled' so the (status, due_date) index is used
COUNTED_MILESTONE_STATUSES = (MilestoneStatus.OPEN.value, MilestoneStatus.COMPLETED.value)
ESCALATION_LEVEL = 2


def _days_between(session: Session, later: ColumnElement, earlier: ColumnElement) -> ColumnElement:
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return later - earlier  # PostgreSQL: date - date is an integer number of days


def evaluated_due_date() -> ColumnElement:
    """The due date evaluation counts by: the one before any approved extension."""
    return func.coalesce(Milestone.original_due_date, Milestone.due_date)


def _request_count(*conditions: ColumnElement) -> ColumnElement:
    return (
        select(func.count(OfficialRequest.id))
        .where(OfficialRequest.milestone_id == Milestone.id, *conditions)
        .correlate(Milestone)
        .scalar_subquery()
    )


def extension_granted() -> ColumnElement[bool]:
    """An official's request counted as an extension (延期): an extension request approved."""
    return and_(OfficialRequest.kind == RequestKind.EXTENSION.value, OfficialRequest.state == RequestState.APPROVED.value)


def request_returned() -> ColumnElement[bool]:
    """An official's request counted as returned (退回): a completion or extension sent back."""
    return OfficialRequest.state == RequestState.RETURNED.value


def _level2_escalation() -> list[ColumnElement[bool]]:
    """An overdue escalation that reached level 2 (counted per escalation, not per milestone)."""
    return [Escalation.level >= ESCALATION_LEVEL, Escalation.reason == EscalationReason.OVERDUE]


def _evidence_completion() -> ColumnElement[bool]:
    """A completion approved on a request that carried evidence files."""
    with_evidence = select(EvidenceFile.id).where(EvidenceFile.request_id == OfficialRequest.id).exists()
    return and_(OfficialRequest.kind == RequestKind.COMPLETION.value,
                OfficialRequest.state == RequestState.APPROVED.value, with_evidence)


def _measures(session: Session, today: date, *, linked: bool = True) -> list[ColumnElement]:
    """The aggregate columns. `linked=False` leaves out the counts taken from escalations and
    requests (one correlated lookup per milestone each) for a table that does not show them."""
    today_ = literal(today, Date)
    due = evaluated_due_date()
    completed_known = and_(Milestone.completed_on.is_not(None), Milestone.completed_on <= today_)
    completed_undated = and_(Milestone.completed_on.is_(None), Milestone.status == MilestoneStatus.COMPLETED)
    on_time = or_(and_(completed_known, Milestone.completed_on <= due), completed_undated)
    late = and_(completed_known, Milestone.completed_on > due)
    not_done = or_(
        and_(Milestone.completed_on.is_(None), Milestone.status != MilestoneStatus.COMPLETED),
        Milestone.completed_on > today_,
    )
    overdue = and_(not_done, due < today_)
    days_late = case(
        (late, _days_between(session, Milestone.completed_on, due)),
        (overdue, _days_between(session, today_, due)),
        else_=0,
    )
    measures = [
        func.count(Milestone.id).label("due"),
        func.sum(case((on_time, 1), else_=0)).label("on_time"),
        func.sum(case((late, 1), else_=0)).label("late"),
        func.sum(case((overdue, 1), else_=0)).label("overdue"),
        func.sum(days_late).label("days_late"),
        func.max(days_late).label("worst"),
    ]
    if not linked:
        return measures
    escalations = (
        select(func.count(Escalation.id))
        .where(Escalation.milestone_id == Milestone.id, *_level2_escalation())
        .correlate(Milestone)
        .scalar_subquery()
    )
    return measures + [
        func.sum(escalations).label("escalations"),
        func.sum(_request_count(extension_granted())).label("extensions"),
        func.sum(_request_count(request_returned())).label("returned"),
        func.sum(_request_count(_evidence_completion())).label("evidence"),
    ]


@dataclass(frozen=True)
class LinkedTotals:
    escalations: int  # level-2 overdue escalations of the milestones come due
    extensions_granted: int  # of all the milestones, due or not
    requests_returned: int
    evidence_completions: int


def linked_totals(session: Session, conditions: list[ColumnElement[bool]], *,
                  come_due: ColumnElement[bool]) -> LinkedTotals:
    """The counts `_measures(linked=True)` takes from escalations and requests, summed over
    the milestones matching `conditions` (on Milestone and Project; escalations only of those
    also matching `come_due`), counted by joining those tables: the same definitions, for a
    caller that wants the totals of many milestones without one lookup per milestone."""
    escalations = session.scalar(
        select(func.count(Escalation.id))
        .select_from(Escalation)
        .join(Milestone, Milestone.id == Escalation.milestone_id)
        .join(Project, Project.id == Milestone.project_id)
        .where(*conditions, come_due, *_level2_escalation())
    )
    extensions, returned, evidence = session.execute(
        select(func.count().filter(extension_granted()), func.count().filter(request_returned()),
               func.count().filter(_evidence_completion()))
        .select_from(OfficialRequest)
        .join(Milestone, Milestone.id == OfficialRequest.milestone_id)
        .join(Project, Project.id == Milestone.project_id)
        .where(*conditions)
    ).one()
    return LinkedTotals(int(escalations or 0), int(extensions or 0), int(returned or 0), int(evidence or 0))


def _inside_by_date_ranges(start: date, end: date, *, sqlite: bool) -> ColumnElement[bool]:
    """Counted milestone whose evaluated due date is in [start, end], as two index ranges.

    PostgreSQL reads an OR of the two as a BitmapOr of both indexes. SQLite (without
    statistics) planned that OR from every project through its milestones, or read the
    extended branch off `status` alone (1.6-15 s at 1,000,000 milestones), so there the
    query is driven by the ids the two ranges select; the extended branch tests the status
    on an expression (`status || ''`) no index serves, which leaves it the partial
    original_due_date index (the month's query: 2.5-3.1 s -> 0.3 s)."""
    counted = Milestone.status.in_(COUNTED_MILESTONE_STATUSES)
    never_extended = and_(counted, Milestone.due_date >= start, Milestone.due_date <= end,
                          Milestone.original_due_date.is_(None))
    if not sqlite:
        return or_(never_extended, and_(counted, Milestone.original_due_date >= start,
                                        Milestone.original_due_date <= end))
    extended = and_(Milestone.original_due_date >= start, Milestone.original_due_date <= end,
                    Milestone.status.concat("").in_(COUNTED_MILESTONE_STATUSES))
    return Milestone.id.in_(union_all(select(Milestone.id).where(never_extended), select(Milestone.id).where(extended)))


def _period_filter(start: date, end: date, *, by_due_date: bool = False,
                   dialect: str | None = None) -> list[ColumnElement]:
    """Milestones counted for [start, end]: the evaluated due date inside, not cancelled,
    the project active or completed.

    `by_due_date=True` spells "evaluated due date inside" as two index ranges, for a query
    that finds its milestones by date (the evaluation): due_date for milestones never
    extended, original_due_date (a partial index) for the others; `dialect` (the session's)
    picks the spelling its planner reads as two ranges. A query that finds them by project
    (the 画像) keeps the plain form, which steers no planner onto a date range."""
    if by_due_date:
        return [_inside_by_date_ranges(start, end, sqlite=dialect == "sqlite"),
                Project.status.in_(COUNTED_PROJECT_STATUSES), has_deadline(Project.schedule)]
    return [
        Milestone.status.in_(COUNTED_MILESTONE_STATUSES),
        # an extension only moves a date later, so `due_date >= start` keeps the index range
        Milestone.due_date >= start,
        evaluated_due_date() >= start,
        evaluated_due_date() <= end,
        Project.status.in_(COUNTED_PROJECT_STATUSES),
        has_deadline(Project.schedule),  # 长期 tasks are counted apart (board.standing)
    ]


def _counts(row) -> dict:
    return {
        "due": int(row.due or 0),
        "on_time": int(row.on_time or 0),
        "late": int(row.late or 0),
        "overdue": int(row.overdue or 0),
        "days_late": int(round(row.days_late or 0)),
        # absent when measured with linked=False
        "escalations": int(getattr(row, "escalations", 0) or 0),
        "extensions_granted": int(getattr(row, "extensions", 0) or 0),
        "requests_returned": int(getattr(row, "returned", 0) or 0),
        "evidence_completions": int(getattr(row, "evidence", 0) or 0),
    }


# The counting rules as building blocks for other read models (the 画像 pages): the
# aggregate columns, the period filter, and a result row turned into an EvaluationRow.
milestone_measures = _measures
period_filter = _period_filter
counts_of = _counts
row_of = make_row


def evaluate(session: Session, *, start: date, end: date, today: date, co_unit: str | None = None) -> Evaluation:
    """Per-unit and per-official figures for milestones due within [start, end] (inclusive);
    with `co_unit`, only of the projects that unit assists as 协办单位."""
    if end < start:
        start, end = end, start
    counted = _period_filter(start, end, by_due_date=True, dialect=session.get_bind().dialect.name)
    if co_unit:
        counted.append(Project.id.in_(co_units.projects_assisted_by(co_unit)))
    if session.get_bind().dialect.name == "postgresql":
        # The correlated escalation count inflates the planner's cost estimate past
        # jit_above_cost; compiling the query then costs more than running it. And psycopg
        # prepares a statement on its sixth run, after which PostgreSQL may settle on a
        # generic plan for any period: 0.8-0.9 s instead of 0.65 s for a month at 1M milestones.
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    official_unit = aliased(Unit)
    # one query grouped by official and project unit, summed here twice: per unit (each
    # milestone belongs to one project unit), and per official, whose unit column names their
    # own unit, else the units of the projects they answer for (most milestones first). A
    # query of its own per unit was planned from units through every project on SQLite.
    result = session.execute(
        select(Person.id, Person.name, Person.mobile, official_unit.name.label("unit"),
               Unit.id.label("project_unit_id"), Unit.name.label("project_unit"), *_measures(session, today))
        .select_from(Milestone)
        .join(Project, Project.id == Milestone.project_id)
        .join(Unit, Unit.id == Project.unit_id)
        .join(Person, Person.id == responsible_person_id())
        .outerjoin(official_unit, official_unit.id == Person.unit_id)
        .where(*counted)
        .group_by(Person.id, Person.name, Person.mobile, official_unit.name, Unit.id, Unit.name)
        .order_by(Person.name, Person.id)
    )
    # Summed as plain numbers in row order (~34,000 rows at 1,000,000 milestones: per row,
    # two map(add)s instead of two dicts) and read by `_counts` once per unit and official.
    # Every group has a milestone, so no sum is NULL; days late are whole days, so summing
    # before `_counts` rounds gives the same totals.
    summed = ("due", "on_time", "late", "overdue", "days_late", "escalations", "extensions", "returned", "evidence")
    columns = list(result.keys())
    summed_of = itemgetter(*(columns.index(name) for name in summed))  # by position: Row attributes cost more
    merged: dict[int, dict] = {}
    by_unit: dict[tuple[str, int], list] = {}
    for r in result.all():
        person_id, name, mobile, own_unit, project_unit_id, project_unit = r[:6]
        values = summed_of(r)
        unit_key = (project_unit, project_unit_id)
        unit_totals = by_unit.get(unit_key)
        by_unit[unit_key] = values if unit_totals is None else list(map(add, unit_totals, values))
        entry = merged.get(person_id)
        if entry is None:
            merged[person_id] = {"name": name, "mobile": mobile, "unit": own_unit,
                                 "units": [(-values[0], project_unit)], "counts": values}
        else:
            entry["units"].append((-values[0], project_unit))
            entry["counts"] = list(map(add, entry["counts"], values))

    def counts(totals) -> dict:
        return _counts(SimpleNamespace(**dict(zip(summed, totals, strict=True))))

    officials = [
        make_row(name=e["name"], id=person_id, mobile=e["mobile"],
             unit=e["unit"] or "、".join(name for _, name in sorted(e["units"])), **counts(e["counts"]))
        for person_id, e in merged.items()
    ]
    units = rank_rows([make_row(name=name, id=unit_id, **counts(totals)) for (name, unit_id), totals in sorted(by_unit.items())])
    return Evaluation(start=start, end=end, today=today, units=units, officials=officials)
