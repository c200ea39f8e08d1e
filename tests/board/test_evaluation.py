"""Evaluation per unit and per official: every category on a hand-built registry, both databases."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, select

import factories as f
from deadline_watch.board.charts import bar_chart_svg
from deadline_watch.board.evaluation import EvaluationRow, evaluate, period_filter
from deadline_watch.core.db import transaction
from deadline_watch.domain.models import Escalation, Milestone, MilestoneStatus, Project

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 20)
START, END = date(2026, 11, 1), date(2026, 11, 30)
SVG = "{http://www.w3.org/2000/svg}"


def d(day: int, month: int = 11) -> date:
    return date(2026, month, day)


def _escalate(s, milestone, level: int, *, reason: str = "overdue", key: str = "") -> None:
    s.add(Escalation(
        dedup_key=f"{reason}:{milestone.id}:{level}{key}", milestone_id=milestone.id, reason=reason,
        due_date=milestone.due_date, level=level, state="open", opened_at=NOW,
    ))


@pytest.fixture
def registry(sessions):
    """Unit 住建局 with every category, unit 教育局 with one late completion, plus exclusions."""
    with transaction(sessions) as s:
        wang = f.person(s, name="王强", mobile="+8613900000001")
        zhao = f.person(s, name="赵敏", mobile="+8613900000002")
        qian = f.person(s, name="钱进", mobile="+8613900000003")
        p1 = f.project(s, "E-1", unit_name="住建局", owner=wang)
        p2 = f.project(s, "E-2", unit_name="住建局", owner=wang)
        p3 = f.project(s, "E-3", unit_name="教育局", owner=qian)
        stopped = f.project(s, "E-4", unit_name="住建局", owner=wang, status="suspended")
        m = lambda due, project, name, completed_on=None: f.milestone(  # noqa: E731
            s, due, project_=project, name=name, completed_on=completed_on)

        m(d(5), p1, "按期", d(5))  # on time: completed on the due date
        late = m(d(10), p1, "逾期完成", d(13))  # late by 3
        overdue = m(d(12), p1, "仍逾期", None)  # 8 days overdue as of the 20th
        m(d(25), p1, "未到期", None)  # not yet due
        m(d(20), p1, "今日到期", None)  # due today: not overdue yet
        override = m(d(19), p2, "他人负责", None)  # 1 day overdue, owned by 赵敏
        override.owner_id = zhao.id
        m(d(15), p2, "完成在后", d(25))  # completed after `today`: still overdue (5) as of the 20th
        m(d(1), p2, "首日", d(30, 10))  # first day of the period, done early
        m(d(30), p2, "末日", d(18))  # last day of the period
        undated = m(d(9), p2, "无完成日期", None)  # completed without a date: on time
        undated.status = "completed"
        cancelled = m(d(8), p2, "已取消", None)
        cancelled.status = "cancelled"
        m(d(8), stopped, "暂停项目", None)
        outside_before = m(d(31, 10), p1, "上月", None)
        m(d(1, 12), p1, "下月", None)
        m(d(3), p3, "教育逾期完成", d(4))

        _escalate(s, overdue, 2)
        _escalate(s, overdue, 2, reason="unreachable")  # not about lateness: not counted
        _escalate(s, late, 3)
        _escalate(s, override, 1)  # below level 2
        _escalate(s, outside_before, 2)  # outside the period
    return sessions


def test_unit_rows_count_every_category(registry) -> None:
    with transaction(registry) as s:
        result = evaluate(s, start=START, end=END, today=TODAY)
    by_name = {r.name: r for r in result.units}
    assert [r.name for r in result.units] == ["住建局", "教育局"]  # ranking order (50 % before 0 %)
    housing = by_name["住建局"]
    assert (housing.milestones_due, housing.completed_on_time, housing.completed_late,
            housing.still_overdue, housing.not_yet_due) == (10, 4, 1, 3, 2)
    # 4 on time out of the 8 that have come due (2 are not due yet): blank-safe rate
    assert housing.on_time_rate == pytest.approx(0.5)
    assert housing.avg_days_late == pytest.approx((3 + 8 + 1 + 5) / 4)
    assert housing.escalations_level2 == 2
    education = by_name["教育局"]
    assert (education.milestones_due, education.completed_late, education.on_time_rate,
            education.avg_days_late, education.escalations_level2) == (1, 1, 0.0, 1.0, 0)
    total = result.total
    assert (total.milestones_due, total.completed_on_time, total.completed_late, total.still_overdue) == (11, 4, 2, 3)
    assert total.avg_days_late == pytest.approx(18 / 5)


def test_official_rows_use_milestone_owner_override(registry) -> None:
    with transaction(registry) as s:
        result = evaluate(s, start=START, end=END, today=TODAY)
    by_name = {r.name: r for r in result.officials}
    wang, zhao, qian = by_name["王强"], by_name["赵敏"], by_name["钱进"]
    assert (wang.milestones_due, wang.completed_on_time, wang.completed_late, wang.still_overdue) == (9, 4, 1, 2)
    assert wang.avg_days_late == pytest.approx((3 + 8 + 5) / 3)
    assert wang.mobile == "+8613900000001" and wang.label == "王强 (+8613900000001)"
    assert (zhao.milestones_due, zhao.still_overdue, zhao.avg_days_late, zhao.escalations_level2) == (1, 1, 1.0, 0)
    assert (qian.milestones_due, qian.completed_late) == (1, 1)


def test_period_is_inclusive_at_both_ends(registry) -> None:
    with transaction(registry) as s:
        first_day = evaluate(s, start=d(1), end=d(1), today=TODAY)
        last_day = evaluate(s, start=d(30), end=d(30), today=TODAY)
        october = evaluate(s, start=d(1, 10), end=d(31, 10), today=TODAY)
    assert [(r.name, r.milestones_due, r.completed_on_time) for r in first_day.units] == [("住建局", 1, 1)]
    assert [(r.name, r.milestones_due, r.completed_on_time) for r in last_day.units] == [("住建局", 1, 1)]
    assert [(r.name, r.milestones_due, r.still_overdue, r.escalations_level2) for r in october.units] == [
        ("住建局", 1, 1, 1)
    ]


def test_completion_counts_once_today_reaches_it(registry) -> None:
    with transaction(registry) as s:
        later = evaluate(s, start=START, end=END, today=d(1, 12))
    housing = next(r for r in later.units if r.name == "住建局")
    # on the 1st of December: 完成在后 is late (10 days), 未到期/今日到期 became overdue
    assert (housing.completed_on_time, housing.completed_late, housing.still_overdue, housing.not_yet_due) == (4, 2, 4, 0)


def test_empty_period_has_no_rows_and_no_rate(sessions) -> None:
    with transaction(sessions) as s:
        result = evaluate(s, start=START, end=END, today=TODAY)
    assert result.units == [] and result.officials == []
    assert result.total.on_time_rate is None and result.total.avg_days_late is None


def test_evaluation_is_one_grouped_query_for_both_tables(registry, engine) -> None:
    statements: list[str] = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        with transaction(registry) as s:
            evaluate(s, start=START, end=END, today=TODAY)
    finally:
        event.remove(engine, "before_cursor_execute", before)
    selects = [st for st in statements if st.lstrip().upper().startswith("SELECT")]
    # grouped by official and project unit: the unit table is summed from the same rows
    assert len(selects) == 1 and all("GROUP BY" in st for st in selects)


def _row(name: str, rate: float | None, due: int = 10) -> EvaluationRow:
    return EvaluationRow(name=name, milestones_due=due if rate is not None else 0, completed_on_time=0,
                         completed_late=0, still_overdue=0, on_time_rate=rate, avg_days_late=None,
                         escalations_level2=0)


def test_bar_chart_is_valid_svg_with_escaped_chinese_labels() -> None:
    svg = bar_chart_svg(
        [_row("住建局", 0.95), _row("教育局<&>", 0.5), _row("无节点单位", None)], title="11月 按时完成率 <督办>"
    )
    root = ET.fromstring(svg)  # well-formed: the "<&>" was escaped
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "11月 按时完成率 <督办>"
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "住建局" in texts and "教育局<&>" in texts and "95.0%" in texts and "无到期节点" in texts
    bars = [r for r in root.iter(f"{SVG}rect")]
    assert len(bars) == 2
    assert float(bars[0].get("width")) > float(bars[1].get("width"))
    per_bar_titles = [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g")]
    assert any("按时完成率 95.0%" in t for t in per_bar_titles)


def test_bar_chart_without_rows_says_so() -> None:
    root = ET.fromstring(bar_chart_svg([], title="空"))
    assert any("无数据" in (t.text or "") for t in root.iter(f"{SVG}text"))


def test_nothing_come_due_on_the_first_is_blank_not_zero(registry) -> None:
    with transaction(registry) as s:
        first = evaluate(s, start=date(2026, 12, 1), end=date(2026, 12, 31), today=date(2026, 12, 1))
    (housing,) = first.units
    assert housing.milestones_due == 1 and housing.come_due == 0
    assert housing.on_time_rate is None and housing.rank is None


def test_official_rows_carry_the_unit_of_their_projects(registry) -> None:
    with transaction(registry) as s:
        result = evaluate(s, start=START, end=END, today=TODAY)
    by_name = {r.name: r for r in result.officials}
    assert (by_name["王强"].unit, by_name["赵敏"].unit, by_name["钱进"].unit) == ("住建局", "住建局", "教育局")


def _ranked(name: str, on_time: int, late: int, overdue: int) -> EvaluationRow:
    come_due = on_time + late + overdue
    return EvaluationRow(name=name, milestones_due=come_due, completed_on_time=on_time, completed_late=late,
                         still_overdue=overdue, on_time_rate=on_time / come_due if come_due else None,
                         avg_days_late=None, escalations_level2=0)


def test_ranking_by_on_time_rate_shares_ties_and_breaks_them_by_overdue_then_late_then_name() -> None:
    from deadline_watch.board.evaluation import rank_rows

    rows = rank_rows([
        _ranked("丙局", 1, 1, 0),   # 50 %, none overdue
        _ranked("甲局", 3, 0, 0),   # 100 %
        _ranked("乙局", 2, 0, 2),   # 50 %, 2 overdue
        _ranked("丁局", 0, 0, 0),   # nothing came due
        _ranked("戊局", 2, 2, 0),   # 50 %, none overdue, 2 late
        _ranked("己局", 1, 2, 0),   # 33 %
    ])
    assert [(r.name, r.rank) for r in rows] == [
        ("甲局", 1), ("丙局", 2), ("戊局", 2), ("乙局", 2), ("己局", 5), ("丁局", None)]


def test_units_come_in_ranking_order(registry) -> None:
    with transaction(registry) as s:
        result = evaluate(s, start=START, end=END, today=TODAY)
    assert [(r.name, r.rank) for r in result.units] == [("住建局", 1), ("教育局", 2)]


def test_period_by_date_ranges_selects_what_the_evaluated_due_date_says(sessions) -> None:
    # (due date, original due date): inside / outside November in every combination, and
    # exactly on both edges
    cases = [(d(1), None), (d(30), None), (d(31, 10), None), (d(1, 12), None),
             (d(10, 12), d(30)), (d(10, 12), d(1)), (d(20), d(31, 10)), (d(5, 12), d(1, 12)), (d(15), d(10))]
    with transaction(sessions) as s:
        project = f.project(s, "P-1")
        for position, (due, original) in enumerate(cases):
            f.milestone(s, due, project_=project, name=f"节点{position}").original_due_date = original
        for position, (due, original) in enumerate(cases):  # never counted, extended or not
            cancelled = f.milestone(s, due, project_=project, name=f"撤销{position}")
            cancelled.original_due_date, cancelled.status = original, MilestoneStatus.CANCELLED
    with transaction(sessions) as s:
        def names(**spelling) -> set[str]:
            return set(s.scalars(select(Milestone.name).join(Project, Project.id == Milestone.project_id)
                                 .where(*period_filter(START, END, **spelling))))
        expected = {f"节点{i}" for i, (due, original) in enumerate(cases) if START <= (original or due) <= END}
        # each database's spelling, and the other one's too (both are plain SQL)
        assert names() == expected == names(by_due_date=True, dialect="sqlite") \
            == names(by_due_date=True, dialect="postgresql")
        assert expected == {"节点0", "节点1", "节点4", "节点5", "节点8"}
