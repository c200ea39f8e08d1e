"""Evaluation per unit and per official over a chosen period, with an SVG bar chart."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from deadline_watch.board import charts, evaluation
from deadline_watch.board.co_unit_records import co_unit_records
from deadline_watch.core.clock import parse_day
from deadline_watch.core.errors import DeadlineWatchError
from deadline_watch.core.logs import mask_mobile
from deadline_watch.domain import co_units
from deadline_watch.web.auth import unit_of_work
from deadline_watch.web.rendering import page

router = APIRouter(include_in_schema=False)
LONGEST_PERIOD = timedelta(days=3 * 366)
# The page lists the officials needing attention first; the full list is in the reports.
OFFICIALS_SHOWN = 200


class PeriodError(DeadlineWatchError):
    """The chosen evaluation period is not a valid date range."""


def parse_period(start: str | None, end: str | None, *, today: date) -> tuple[date, date]:
    """The period asked for; by default the current month up to its last day."""
    first = today.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    try:
        start_day = parse_day(start) if start else first
        end_day = parse_day(end) if end else next_month - timedelta(days=1)
    except ValueError:
        raise PeriodError("日期应为 2000-2100 年间的 YYYY-MM-DD", "dates must be YYYY-MM-DD within 2000-2100") from None
    if end_day < start_day:
        raise PeriodError("结束日期早于开始日期", "the end date is before the start date")
    if end_day - start_day > LONGEST_PERIOD:
        raise PeriodError("统计区间最长三年", "the period may span at most three years")
    return start_day, end_day


def evaluate_for(work, start: date, end: date, co_unit: str = "") -> evaluation.Evaluation:
    """The evaluation (of the projects `co_unit` assists, when given), with officials' mobiles
    masked for roles that do not see them."""
    result = evaluation.evaluate(work.session, start=start, end=end, today=work.today, co_unit=co_unit or None)
    if work.viewer.sees_mobiles:
        return result
    officials = [replace(row, mobile=mask_mobile(row.mobile) if row.mobile else None) for row in result.officials]
    return replace(result, officials=officials)


@router.get("/evaluation")
def evaluation_page(request: Request, start: str = "", end: str = "",
                    co_unit: str = Query("", max_length=200)) -> Response:
    with unit_of_work(request) as work:
        start_day, end_day = parse_period(start, end, today=work.today)
        co_unit = co_unit.strip()
        result = evaluate_for(work, start_day, end_day, co_unit)
        # a co-unit's record only when one is chosen: the default page costs what it did
        assisting = co_unit_records(work.session, start=start_day, end=end_day, today=work.today,
                                    co_unit=co_unit) if co_unit else []
        choices = co_units.co_unit_names(work.session)
        viewer = work.viewer
    # the rest works on plain rows: outside the transaction
    chart = charts.bar_chart_svg(
        result.units, title=f"各单位按时完成率 {start_day.isoformat()} 至 {end_day.isoformat()}"
    )
    officials = sorted(
        result.officials,
        key=lambda r: (-r.still_overdue, -r.completed_late, r.on_time_rate if r.on_time_rate is not None else 2.0,
                       r.name),
    )
    return page(
        request, "evaluation.html", viewer=viewer, nav="evaluation", result=result,
        chart=Markup(chart), start=start_day, end=end_day, officials=officials[:OFFICIALS_SHOWN],
        officials_total=len(officials), co_unit=co_unit, co_units=choices, assisting=assisting,
    )
