"""长期任务 in the reports: counted per unit beside the figures, never in an on-time rate,
never listed as overdue (issue 18)."""

from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest
from docx import Document

import factories as f
from deadline_watch.board.bulletin import monthly_bulletin
from deadline_watch.board.bulletin_papers import render_docx
from deadline_watch.board.report_tables import monthly_report, weekly_report
from deadline_watch.core.config import Settings
from deadline_watch.core.db import transaction

AT = date(2026, 12, 1)  # the summary and 通报 of November 2026
MONDAY = date(2026, 11, 23)  # the weekly sheet of 16..22 November


def d(day: int, month: int = 11) -> date:
    return date(2026, month, day)


@pytest.fixture
def registry(sessions):
    """甲局: one dated task (1 of 2 on time, 1 still overdue) and one 长期 task; 戊局: only a
    长期 task. One 长期 task still carries an open node from before it became 长期 (data
    written without the import, which would have cancelled it): it is in no figure either."""
    with transaction(sessions) as s:
        dated = f.project(s, "J-1", unit_name="甲局")
        f.milestone(s, d(5), project_=dated, name="谋划立项", completed_on=d(5))
        f.milestone(s, d(16), project_=dated, name="组织实施")
        standing = f.project(s, "J-2", name="优化营商环境", unit_name="甲局")
        standing.schedule = "standing"
        f.milestone(s, d(16), project_=standing, name="旧节点")
        only_standing = f.project(s, "W-1", name="安全生产常态化", unit_name="戊局")
        only_standing.schedule = "standing"
    return sessions


def test_monthly_summary_counts_standing_tasks_per_unit_outside_the_rate(registry) -> None:
    with transaction(registry) as s:
        report = monthly_report(s, at=AT, settings=Settings())
    sheet = report.sheet("按单位")
    headers = [c.header for c in sheet.columns]
    assert headers[-1] == "长期任务"
    rows = {row[1]: row for row in sheet.rows}
    # 甲局: its two dated nodes only (the 长期 task's old node is not due, on time or overdue)
    assert rows["甲局"][2:6] == (2, 1, 0, 1) and rows["甲局"][-1] == 1
    assert rows["甲局"][headers.index("按时完成率")] == pytest.approx(0.5)
    # 戊局 has nothing due, only a 长期 task: a line with its count, no rate, no rank
    assert rows["戊局"][0] is None and rows["戊局"][2] == 0 and rows["戊局"][-1] == 1
    assert rows["戊局"][headers.index("按时完成率")] is None
    assert rows["合计"][2] == 2 and rows["合计"][-1] == 2
    assert any("长期任务 2 项" in note for note in report.notes)


def test_bulletin_states_the_standing_count_and_tables_it_per_unit(registry) -> None:
    settings = Settings()
    with transaction(registry) as s:
        bulletin = monthly_bulletin(s, at=AT, settings=settings)
    assert bulletin.standing == {"甲局": 1, "戊局": 1}
    assert (bulletin.total.milestones_due, bulletin.total.still_overdue) == (2, 1)
    assert [u.row.name for u in bulletin.worst_units] == ["甲局"]  # 戊局 has no rate to rank
    document = Document(BytesIO(render_docx(bulletin, settings)))
    body = "\n".join(p.text for p in document.paragraphs)
    assert "本月到期节点 2 个,按期完成 1 个,按期完成率 50.0%" in body
    assert "另有长期任务 2 项(无截止日期,单列,不计入按期完成率)" in body
    units = [[c.text for c in row.cells] for row in document.tables[0].rows]
    assert units[0][-1] == "长期任务"
    by_name = {row[1]: row for row in units[1:]}
    assert by_name["甲局"][-1] == "1" and by_name["戊局"][-1] == "1" and by_name["合计"][-1] == "2"


def test_weekly_sheet_lists_no_standing_task_as_overdue(registry) -> None:
    with transaction(registry) as s:
        report = weekly_report(s, at=MONDAY, settings=Settings())
    listed = [row for name in ("调度清单", "本周新增逾期", "下周到期") for row in report.sheet(name).rows]
    assert not any("旧节点" in row or "优化营商环境" in row for row in listed)
    assert [row[3] for row in report.sheet("本周新增逾期").rows] == ["组织实施"]
