"""The board with 长期 and recurring tasks, and filtered by 协办单位 (issue 18)."""

from __future__ import annotations

from datetime import date

import pytest

import factories
from deadline_watch.core.db import transaction
from deadline_watch.domain import co_units
from deadline_watch.domain.models import Project


@pytest.fixture
def office_board(board):
    """The seeded board plus a 长期 task, a 每月25日前 task and 协办单位 rows:
    住房建设局 assists GX-2026-001 (it hosts GX-2026-003 itself), 规划局 assists GX-2026-002."""
    with transaction(board.sessions) as session:
        standing = factories.project(session, "RW-STANDING", name="优化营商环境", unit_name="行政审批局")
        standing.schedule, standing.deadline_phrase = "standing", "长期坚持"
        monthly = factories.project(session, "RW-MONTHLY", name="报送重点项目推进情况", unit_name="行政审批局")
        monthly.schedule, monthly.deadline_phrase = "monthly:25", "每月25日前"
        factories.milestone(session, date(2026, 10, 25), project_=monthly, name="2026年10月",
                            completed_on=date(2026, 10, 20))
        factories.milestone(session, date(2026, 11, 25), project_=monthly, name="2026年11月")
        ids = {code: pid for pid, code in session.query(Project.id, Project.code)}
        planning = factories.unit(session, "规划局")
        housing = factories.unit(session, "住房建设局")
        co_units.sync(session, {ids["GX-2026-001"]: [housing.id], ids["GX-2026-002"]: [planning.id]})
    return board


def _row_of(html: str, code: str) -> str:
    start = html.index(f">{code}</a>")
    return html[html.rindex("<tr", 0, start):html.index("</tr>", start)]


def test_standing_task_is_listed_as_changqi_never_as_a_light(office_board):
    client = office_board.login("viewer1")
    row = _row_of(client.get("/projects").text, "RW-STANDING")
    assert '<span class="tag standing">长期</span>' in row
    assert "light red" not in row and "light yellow" not in row
    for light in ("red", "yellow", "green"):
        assert "RW-STANDING" not in client.get("/projects", params={"light": light}).text
    page = client.get("/projects/RW-STANDING").text
    assert "长期(无截止日期,不提醒、不督办)" in page and "原文“长期坚持”" in page
    item = next(p for p in client.get("/api/projects", params={"unit": "行政审批局"}).json()["items"]
                if p["code"] == "RW-STANDING")
    assert item["schedule"] == "长期" and item["light"] == "grey" and item["milestones"] == []


def test_recurring_task_shows_its_series_beside_the_current_occurrence(office_board):
    client = office_board.login("viewer1")
    row = _row_of(client.get("/projects").text, "RW-MONTHLY")
    assert '<span class="tag series">每月25日前</span>' in row
    # the current occurrence (due in two days: yellow); the completed October one stays on the project page
    assert "2026年11月" in row and "2026年10月" not in row and "node yellow" in row
    page = client.get("/projects/RW-MONTHLY").text
    assert "2026年10月" in page and "本期 · 每月25日前" in page
    assert page.index("本期 · 每月25日前") > page.index("2026年11月") > page.index("2026年10月")
    item = next(p for p in client.get("/api/projects", params={"unit": "行政审批局"}).json()["items"]
                if p["code"] == "RW-MONTHLY")
    assert item["schedule"] == "每月25日前" and item["light"] == "yellow"


def test_projects_filter_by_co_unit_keeps_the_projects_it_assists(office_board):
    client = office_board.login("viewer1")
    html = client.get("/projects", params={"co_unit": "住房建设局"}).text
    assert "在建项目 1 个" in html and "GX-2026-001" in html and "GX-2026-003" not in html  # its own is not assisted
    assert '<option value="规划局"' in html  # the drop-down lists the units that assist a project
    body = client.get("/api/projects", params={"co_unit": "规划局"}).json()
    assert body["total"] == 1 and [p["code"] for p in body["items"]] == ["GX-2026-002"]
    assert client.get("/api/projects", params={"co_unit": "不存在的单位"}).json()["total"] == 0


def test_queue_filter_by_co_unit(office_board):
    client = office_board.login("super1")
    html = client.get("/", params={"co_unit": "住房建设局"}).text
    assert "GX-2026-001" in html and "GX-2026-003" not in html and "GX-2026-002" not in html
    items = client.get("/api/escalations", params={"co_unit": "规划局"}).json()["items"]
    assert [item["project_code"] for item in items] == ["GX-2026-002"]
    # the filter survives paging and actions: it is in the links the page builds
    assert "co_unit=%E4%BD%8F%E6%88%BF%E5%BB%BA%E8%AE%BE%E5%B1%80" in html


def test_evaluation_shows_a_co_units_record_and_filters_by_it(office_board):
    client = office_board.login("viewer1")
    period = {"start": "2026-10-01", "end": "2026-11-30"}
    body = client.get("/api/evaluation", params=period).json()
    assert body["co_units"] == []  # no co-unit chosen: the evaluation as before
    assert {row["name"] for row in body["units"]} == {"新经济发展局", "生态环境局", "住房建设局", "行政审批局"}
    assert "协办记录" not in client.get("/evaluation", params=period).text
    only = client.get("/api/evaluation", params={**period, "co_unit": "住房建设局"}).json()
    # 住房建设局 assists GX-2026-001 (新经济发展局's): its node 30 days overdue; its own GX-2026-003 is not counted
    assert [row["name"] for row in only["units"]] == ["新经济发展局"]
    assert [(row["name"], row["still_overdue"]) for row in only["co_units"]] == [("住房建设局", 1)]
    assert only["units"][0]["still_overdue"] == 1
    html = client.get("/evaluation", params={**period, "co_unit": "规划局"}).text
    assert "仅统计规划局作为协办单位参与的项目" in html and "协办记录" in html
    assert "生态环境局" in html and "新经济发展局" not in html.split("协办记录")[0].split("按责任单位")[1]


def test_co_unit_records_gives_each_assisting_unit_its_figures(office_board):
    from deadline_watch.board.co_unit_records import co_unit_records

    with office_board.sessions() as session:
        rows = co_unit_records(session, start=date(2026, 10, 1), end=date(2026, 11, 30), today=date(2026, 11, 23))
    assert {row.name: row.still_overdue for row in rows} == {"住房建设局": 1, "规划局": 1}
