"""每月通报: rankings with ties, the wording from the (overridable) template, the .docx read back."""

from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest
from docx import Document

import factories as f
from deadline_watch.board import bulletin as bulletin_module
from deadline_watch.board.bulletin import monthly_bulletin
from deadline_watch.board.bulletin_papers import render_docx, render_html
from deadline_watch.core.config import Settings
from deadline_watch.core.db import transaction

AT = date(2026, 12, 1)  # the bulletin of November 2026


def d(day: int) -> date:
    return date(2026, 11, day)


@pytest.fixture
def registry(sessions):
    """甲局 2 of 3 on time; 乙局 and 丙局 1 of 2 each (a tie), 乙局 with one still overdue."""
    with transaction(sessions) as s:
        def node(unit: str, code: str, due: date, completed: date | None, name: str) -> None:
            project = f.project(s, code, unit_name=unit)
            f.milestone(s, due, project_=project, name=name, completed_on=completed)

        node("甲局", "J-1", d(3), d(2), "谋划立项")
        node("甲局", "J-2", d(10), d(10), "组织实施")
        node("甲局", "J-3", d(12), d(20), "阶段成果")  # 8 days late
        node("乙局", "Y-1", d(5), d(5), "谋划立项")
        node("乙局", "Y-2", d(21), None, "组织实施")  # still overdue on 12-01: 10 days
        node("丙局", "B-1", d(6), d(6), "谋划立项")
        node("丙局", "B-2", d(7), d(9), "组织实施")  # 2 days late
        node("丁局", "D-1", date(2026, 12, 20), None, "谋划立项")  # nothing due in November
    return sessions


def test_units_ranked_by_rate_with_shared_place_and_stated_tie_break(registry) -> None:
    with transaction(registry) as s:
        b = monthly_bulletin(s, at=AT, settings=Settings())
    assert [(u.rank, u.row.name) for u in b.units] == [(1, "甲局"), (2, "丙局"), (2, "乙局")]
    # 丙局 before 乙局: same rate, fewer still overdue
    assert (b.total.milestones_due, b.total.completed_on_time, b.total.still_overdue) == (7, 4, 1)
    assert [u.row.name for u in b.worst_units] == ["乙局", "丙局", "甲局"]
    assert [u.row.name for u in b.most_overdue_units] == ["乙局"]
    assert all(o.row.unit for o in b.officials)  # the unit on every official row
    assert b.referrals == 0  # referrals are recorded (board.referrals); none this month


def test_docx_reads_back_with_the_figures_in_prose_and_tables(registry) -> None:
    settings = Settings()
    with transaction(registry) as s:
        b = monthly_bulletin(s, at=AT, settings=settings)
    document = Document(BytesIO(render_docx(b, settings)))
    texts = [p.text for p in document.paragraphs if p.text]
    assert texts[0] == "关于2026年11月重点项目节点推进情况的通报"
    body = "\n".join(texts)
    assert "本月到期节点 7 个,按期完成 4 个,按期完成率 57.1%" in body
    assert "逾期完成 2 个,截至2026年12月1日仍逾期 1 个" in body
    assert "平均逾期 6.7 天" in body  # (8 + 10 + 2) / 3
    assert "乙局(按期完成率 50.0%,排第 2 名)" in body
    assert "仍逾期节点较多的单位是:乙局(1 个)。" in body
    assert "本月移交问责线索 0 条" in body
    units, officials = document.tables
    rows = [[c.text for c in row.cells] for row in units.rows]
    assert rows[0][:3] == ["排名", "责任单位", "到期节点"]
    assert [r[:2] for r in rows[1:4]] == [["1", "甲局"], ["2", "丙局"], ["2", "乙局"]]
    assert rows[1][2:7] == ["3", "2", "1", "0", "66.7%"]
    assert rows[-1][1:3] == ["合计", "7"]
    assert len(officials.rows) == 1 + 7
    assert document.sections[-1].orientation == 1  # the attachment is landscape


def test_admin_template_overrides_the_wording(registry, tmp_path) -> None:
    (tmp_path / "bulletin.txt.j2").write_text(
        "{{ b.month_label }}通报\n\n到期 {{ total.milestones_due }} 个。\n", encoding="utf-8")
    settings = Settings.model_validate({"reports": {"templates_dir": str(tmp_path)}})
    bulletin_module.clear_template_cache()
    with transaction(registry) as s:
        b = monthly_bulletin(s, at=AT, settings=settings)
    html = render_html(b, settings).decode()
    bulletin_module.clear_template_cache()
    assert "<h1>2026年11月通报</h1>" in html and "<p>到期 7 个。</p>" in html
    assert "附件1 2026年11月各责任单位节点完成情况排名表" in html
